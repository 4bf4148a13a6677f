"""Music datasets: chorale and MIDI-folder piano-roll segments with transposition.

Items are uint8 rolls ``(tracks, bars * steps_per_bar, num_pitches)`` with values 0/1;
the music modality's ``real_to_d`` turns them into floats in {-1, 1}, the form G
produces (tanh) and D reads. Without transposition the segments are exposed as
``.tensors`` (the loop indexes them directly); with it each item is transposed on the
fly, deterministically by its index, so memory stays one copy of the segments.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
import torch

from sparring.errors import ConfigError, DataError

from . import pianoroll

log = logging.getLogger("sparring.audio")

BEATS_PER_BAR = 4


def _check_grid(cfg) -> None:
    if cfg.num_pitches < 12 or cfg.num_pitches % 12:
        raise ConfigError(f"dataset.num_pitches must be a positive multiple of 12, got {cfg.num_pitches}")
    if not 0 <= cfg.lowest_pitch <= 128 - cfg.num_pitches:
        raise ConfigError(f"dataset.lowest_pitch must be in 0..{128 - cfg.num_pitches}, got {cfg.lowest_pitch}")
    for key in ("bars", "steps_per_beat", "hop_bars"):
        if getattr(cfg, key) < 1:
            raise ConfigError(f"dataset.{key} must be >= 1, got {getattr(cfg, key)}")
    if cfg.transpose < 0 or cfg.transpose > 11:
        raise ConfigError(f"dataset.transpose must be in 0..11, got {cfg.transpose}")


def cut_segments(rolls, bars: int, steps_per_bar: int, hop_bars: int, lowest_pitch: int,
                 num_pitches: int) -> tuple[np.ndarray, int]:
    """``(segments, dropped)``: every ``bars``-bar window of each (tracks, steps, 128) roll
    starting each ``hop_bars`` bars, cropped to the pitch range; windows with notes outside
    the range, or with no note at all, are dropped and counted."""
    length = bars * steps_per_bar
    out, dropped = [], 0
    hi = lowest_pitch + num_pitches
    for roll in rolls:
        n_bars = roll.shape[1] // steps_per_bar
        for b in range(0, n_bars - bars + 1, hop_bars):
            seg = roll[:, b * steps_per_bar:b * steps_per_bar + length]
            if not seg.any() or seg[..., :lowest_pitch].any() or seg[..., hi:].any():
                dropped += 1
                continue
            out.append(seg[..., lowest_pitch:hi])
    if not out:
        return np.zeros((0, 0, length, num_pitches), np.uint8), dropped
    return np.stack(out).astype(np.uint8), dropped


class PianoRollDataset(torch.utils.data.Dataset):
    """Piano-roll segments (N, tracks, steps, pitches), uint8, each optionally transposed
    by every shift in -k..+k that keeps its notes in range (item ``i``: segment
    ``i // (2k+1)``, shift ``i % (2k+1) - k``, clamped to the segment's room)."""

    def __init__(self, segments: np.ndarray, transpose: int = 0, steps_per_beat: int = 4,
                 lowest_pitch: int = 36, names=pianoroll.VOICES, name: str = "piano rolls"):
        self.segments = torch.from_numpy(np.ascontiguousarray(segments, dtype=np.uint8))
        self.transpose = int(transpose)
        self.steps_per_beat = steps_per_beat
        self.steps_per_bar = steps_per_beat * BEATS_PER_BAR
        self.lowest_pitch = lowest_pitch
        self.track_names = tuple(names)
        self.name = name
        used = self.segments.bool().any(dim=2).any(dim=1)  # (N, pitches)
        idx = torch.arange(used.shape[1])
        low = torch.where(used, idx, used.shape[1]).min(dim=1).values
        high = torch.where(used, idx, -1).max(dim=1).values
        self._room_down, self._room_up = low, used.shape[1] - 1 - high

    @property
    def tensors(self):
        # Only without transposition: the loop then indexes the segments directly.
        return (self.segments,) if self.transpose == 0 else None

    @property
    def shape(self):
        return tuple(self.segments.shape[1:])

    def __len__(self):
        return self.segments.shape[0] * (2 * self.transpose + 1)

    def __getitem__(self, index):
        seg, k = divmod(int(index), 2 * self.transpose + 1)
        x = self.segments[seg]
        shift = k - self.transpose
        shift = max(-int(self._room_down[seg]), min(int(self._room_up[seg]), shift))
        if shift == 0:
            return x
        return torch.roll(x, shift, dims=-1)

    def __repr__(self):
        return f"PianoRollDataset({self.name}, segments={self.segments.shape[0]}, shape={self.shape}, " \
               f"transpose=±{self.transpose})"


def build_chorales(cfg) -> PianoRollDataset:
    _check_grid(cfg)
    names, rolls, skipped = pianoroll.chorale_rolls(cfg.max_chorales, cfg.steps_per_beat, cfg.workers)
    if skipped:
        log.info("chorales: skipped %d (e.g. %s: %s)", len(skipped), *skipped[0])
    segments, dropped = cut_segments(rolls, cfg.bars, cfg.steps_per_beat * BEATS_PER_BAR, cfg.hop_bars,
                                     cfg.lowest_pitch, cfg.num_pitches)
    if len(segments) == 0:
        raise DataError(f"no chorale segment of {cfg.bars} bars fits the pitch range "
                        f"{cfg.lowest_pitch}..{cfg.lowest_pitch + cfg.num_pitches - 1} "
                        f"({len(names)} chorales read, {len(skipped)} skipped)")
    ds = PianoRollDataset(segments, cfg.transpose, cfg.steps_per_beat, cfg.lowest_pitch,
                          name=f"chorales[{len(names)}]")
    ds.chorales, ds.skipped, ds.dropped_segments = names, skipped, dropped
    return ds


def _list_files(root: Path, extensions) -> list[Path]:
    files = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        dirnames.sort()
        files += [Path(dirpath) / f for f in sorted(filenames) if Path(f).suffix.lower() in extensions]
    return sorted(files)


MAX_LOGGED = 5


def report_skipped(kind: str, root: Path, skipped, total: int) -> None:
    """Log how many files were skipped and the first reasons."""
    if skipped:
        first = "; ".join(f"{p}: {r}" for p, r in skipped[:MAX_LOGGED])
        log.warning("%s folder %s: skipped %d of %d files that could not be read; first: %s",
                    kind, root, len(skipped), total, first)


def build_midi_folder(cfg) -> PianoRollDataset:
    _check_grid(cfg)
    if not cfg.path:
        raise ConfigError("the midi-folder dataset needs a path: --set dataset.path=FOLDER")
    root = Path(os.path.expanduser(cfg.path))
    if not root.is_dir():
        raise DataError(f"MIDI folder '{root}' does not exist or is not a folder")
    files = _list_files(root, {".mid", ".midi"})
    if cfg.max_files > 0:
        files = files[:cfg.max_files]
    rolls, skipped = [], []
    for path in files:
        try:
            rolls.append(pianoroll.midi_to_roll(path, cfg.tracks, cfg.steps_per_beat))
        except Exception as exc:  # mido/pretty_midi raise many kinds on a broken file
            skipped.append((str(path), f"{type(exc).__name__}: {exc}"))
    report_skipped("MIDI", root, skipped, len(files))
    segments, dropped = cut_segments(rolls, cfg.bars, cfg.steps_per_beat * BEATS_PER_BAR, cfg.hop_bars,
                                     cfg.lowest_pitch, cfg.num_pitches)
    if len(segments) == 0:
        detail = f"; {len(skipped)} unreadable, first: {skipped[0][0]}: {skipped[0][1]}" if skipped else ""
        raise DataError(f"MIDI folder '{root}' gave no {cfg.bars}-bar segment within pitches "
                        f"{cfg.lowest_pitch}..{cfg.lowest_pitch + cfg.num_pitches - 1} "
                        f"({len(files)} .mid/.midi files, {len(rolls)} readable{detail})")
    names = pianoroll.VOICES if cfg.tracks == 4 else tuple(f"track {i}" for i in range(cfg.tracks))
    ds = PianoRollDataset(segments, cfg.transpose, cfg.steps_per_beat, cfg.lowest_pitch, names,
                          name=f"midi-folder:{root}")
    ds.files_found, ds.skipped, ds.skipped_reasons = len(files), len(skipped), skipped
    ds.dropped_segments = dropped
    return ds


def roll_to_d(x: torch.Tensor) -> torch.Tensor:
    """The music modality's ``real_to_d``: 0/1 rolls to floats in {-1, 1}; floats pass."""
    if x.dtype in (torch.uint8, torch.bool):
        return x.float() * 2.0 - 1.0
    return x
