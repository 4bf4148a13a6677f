"""Music sample writers: one MIDI file per sample and a piano-roll PNG of them all.

Samples are ``(N, tracks, steps, pitches)``; values > 0 are "on" (G's tanh output is
binarised at 0). Pitch and grid facts come from the dataset when the loop passes it.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

#: RGB of soprano, alto, tenor, bass (then cycled)
TRACK_COLOURS = ((220, 50, 47), (38, 139, 210), (133, 153, 0), (211, 130, 0))


def _grid_facts(dataset):
    return (getattr(dataset, "steps_per_beat", 4), getattr(dataset, "lowest_pitch", 36),
            getattr(dataset, "track_names", None))


def _binary(samples) -> np.ndarray:
    x = samples.detach().float().cpu().numpy() if hasattr(samples, "detach") else np.asarray(samples)
    if x.ndim == 3:
        x = x[None]
    if x.ndim != 4:
        raise ValueError(f"piano-roll samples must be (N, tracks, steps, pitches), got {x.shape}")
    return x > 0


def roll_image(roll: np.ndarray) -> np.ndarray:
    """(tracks, steps, pitches) bool -> (pitches, steps, 3) uint8, high pitches on top,
    tracks in their colours on white (overlaps averaged), a grey line every bar of 16."""
    tracks, steps, pitches = roll.shape
    img = np.zeros((pitches, steps, 3), np.float32)
    count = np.zeros((pitches, steps, 1), np.float32)
    for t in range(tracks):
        on = roll[t].T[::-1, :, None].astype(np.float32)
        img += on * np.array(TRACK_COLOURS[t % len(TRACK_COLOURS)], np.float32)
        count += on
    out = np.where(count > 0, img / np.maximum(count, 1), 255.0)
    out[:, ::16][(count[:, ::16, 0] == 0)] = 210.0
    return out.astype(np.uint8)


def write_pianoroll_png(samples, path, dataset=None, max_samples: int = 16, scale: int = 3) -> list[Path]:
    """Up to ``max_samples`` piano rolls tiled in one PNG at ``path`` + ".png"."""
    from PIL import Image

    rolls = _binary(samples)[:max_samples]
    tiles = [roll_image(r) for r in rolls]
    h, w = tiles[0].shape[:2]
    cols = max(1, min(4, math.ceil(math.sqrt(len(tiles)))))
    rows = math.ceil(len(tiles) / cols)
    pad = 4
    canvas = np.full((rows * (h + pad) + pad, cols * (w + pad) + pad, 3), 90, np.uint8)
    for i, tile in enumerate(tiles):
        r, c = divmod(i, cols)
        canvas[pad + r * (h + pad):pad + r * (h + pad) + h, pad + c * (w + pad):pad + c * (w + pad) + w] = tile
    canvas = canvas.repeat(scale, 0).repeat(scale, 1)
    out = Path(str(path) + ".png")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    Image.fromarray(canvas).save(tmp, format="PNG")
    tmp.replace(out)
    return [out]


def write_midi_files(samples, path, dataset=None, tempo_bpm: float = 100.0) -> list[Path]:
    """One MIDI file per sample, ``path`` + "_000.mid", ... (one instrument per track)."""
    from .pianoroll import VOICES, roll_to_midi

    steps_per_beat, lowest, names = _grid_facts(dataset)
    rolls = _binary(samples)
    width = max(3, len(str(len(rolls) - 1)))
    paths = []
    for i, roll in enumerate(rolls):
        out = Path(f"{path}_{i:0{width}d}.mid")
        roll_to_midi(roll, out, steps_per_beat, tempo_bpm, lowest, names or VOICES)
        paths.append(out)
    return paths


def write_midi_and_png(samples, path, dataset=None) -> list[Path]:
    """The music modality's default writer: MIDI files plus one piano-roll PNG."""
    return write_pianoroll_png(samples, path, dataset) + write_midi_files(samples, path, dataset)
