"""MuseGAN's objective metrics for multi-track piano rolls (Dong et al. 2018, Sec. 5).

Every function takes binary rolls ``(N, tracks, steps, pitches)`` (bool, or floats where
> 0 means "on": the form G produces and D reads) and returns a float:

* ``empty_bars``: fraction of (sample, track, bar) cells without a note (EB).
* ``rest_bars``: fraction of (sample, track, bar) cells with at least one silent step (empty
  bars included): how often a voice rests at all (not MuseGAN's; the chorales' 0.06 is
  mostly a beat's rest, and a G whose rest choice never wins scores 0).
* ``used_pitch_classes``: distinct pitch classes per non-empty bar and track (UPC).
* ``qualified_notes``: fraction of notes lasting at least ``min_steps`` steps (QN;
  3 sixteenths here; MuseGAN's 3 of 24 steps per beat is a 32nd note).
* ``polyphony``: fraction of sounding (sample, track, step) cells where the track plays
  two or more pitches at once (chorale voices are monophonic: about 0).
* ``in_scale``: fraction of sounding note-steps whose pitch class lies in the major
  scale that fits the sample best (key-independent, so transposition does not matter).
* ``tonal_distance``: Harte et al.'s tonal-centroid distance between the chroma of two
  voices in the same bar, averaged over bars where both sound and over voice pairs (TD).

Beside them, because every metric above is a per-bar average that a generator playing one
good phrase over and over can match:

* ``diversity``: the mean Jaccard distance between the notes of two samples (sample k
  against sample k + N/2): 1 when they share no (track, step, pitch) cell, 0 when equal.
"""
from __future__ import annotations

import math

import torch

MAJOR_SCALE = (0, 2, 4, 5, 7, 9, 11)


def binarize(x) -> torch.Tensor:
    x = torch.as_tensor(x)
    return x if x.dtype == torch.bool else x > 0


def _bars(x: torch.Tensor, steps_per_bar: int) -> torch.Tensor:
    """(N, tracks, steps, P) -> (N, tracks, bars, steps_per_bar, P) (a partial bar is dropped)."""
    n, t, s, p = x.shape
    bars = s // steps_per_bar
    return x[:, :, :bars * steps_per_bar].reshape(n, t, bars, steps_per_bar, p)


def pitch_class_matrix(pitches: int, lowest_pitch: int) -> torch.Tensor:
    """(pitches, 12) one-hot: pitch index -> pitch class of MIDI note ``lowest_pitch + i``."""
    pcs = (torch.arange(pitches) + lowest_pitch) % 12
    return torch.nn.functional.one_hot(pcs, 12).float()


def empty_bar_cells(x, steps_per_bar: int = 16) -> torch.Tensor:
    """(N, tracks, bars) bool: the (sample, track, bar) cells without a note."""
    return ~_bars(binarize(x), steps_per_bar).any(dim=(3, 4))


def empty_bars(x, steps_per_bar: int = 16) -> float:
    return float(empty_bar_cells(x, steps_per_bar).float().mean())


def _silent_steps(x, steps_per_bar: int) -> torch.Tensor:
    """(N, tracks, bars, steps_per_bar) bool: the steps where a track sounds no pitch."""
    return ~_bars(binarize(x), steps_per_bar).any(dim=4)


def rest_bars(x, steps_per_bar: int = 16) -> float:
    return float(_silent_steps(x, steps_per_bar).any(dim=3).float().mean())


def rest_profile(x, steps_per_bar: int = 16) -> dict:
    """Where the voices rest: the share of silent (sample, track, step) cells, of steps where
    every track rests at once (``tutti``), rest and empty bars per track, and the share of
    empty cells that lie in bars where every track is empty. The chorales rest mostly all
    together (a tutti rest); a G can match ``empty_bars`` with one
    voice dropping out instead, which this tells apart."""
    bars = _silent_steps(x, steps_per_bar)                                # (N, T, bars, steps)
    empty = bars.all(dim=3)                                               # (N, T, bars)
    in_tutti = (empty & empty.all(dim=1, keepdim=True)).sum()
    return {
        "silent_steps": float(bars.float().mean()),
        "tutti_rest_steps": float(bars.all(dim=1).float().mean()),
        "rest_bars_by_track": [float(v) for v in bars.any(dim=3).float().mean(dim=(0, 2))],
        "empty_bars_by_track": [float(v) for v in empty.float().mean(dim=(0, 2))],
        "empty_in_tutti_bars": float(in_tutti / empty.sum()) if empty.any() else 0.0,
    }


def used_pitch_classes(x, steps_per_bar: int = 16, lowest_pitch: int = 36) -> float:
    bars = _bars(binarize(x), steps_per_bar).any(dim=3).float()         # (N, T, bars, P)
    classes = (bars @ pitch_class_matrix(bars.shape[-1], lowest_pitch)) > 0
    count = classes.sum(-1).float()
    sounding = count > 0
    return float(count[sounding].mean()) if sounding.any() else 0.0


def qualified_notes(x, min_steps: int = 3) -> float:
    x = binarize(x)
    padded = torch.nn.functional.pad(x.float(), (0, 0, 1, min_steps)).bool()  # silence around
    onsets = padded[:, :, 1:1 + x.shape[2]] & ~padded[:, :, :x.shape[2]]
    long_enough = onsets.clone()
    for k in range(1, min_steps):
        long_enough &= padded[:, :, 1 + k:1 + k + x.shape[2]]
    n = int(onsets.sum())
    return float(long_enough.sum()) / n if n else 0.0


def polyphony(x) -> float:
    count = binarize(x).sum(-1)
    sounding = count > 0
    return float((count[sounding] >= 2).float().mean()) if sounding.any() else 0.0


def in_scale(x, lowest_pitch: int = 36) -> float:
    x = binarize(x).float()
    hist = x.sum(dim=(1, 2)) @ pitch_class_matrix(x.shape[-1], lowest_pitch)   # (N, 12)
    scale = torch.zeros(12)
    scale[list(MAJOR_SCALE)] = 1.0
    keys = torch.stack([torch.roll(scale, r) for r in range(12)], dim=1)       # (12 pcs, 12 roots)
    total = hist.sum(1)
    fit = (hist @ keys).max(dim=1).values
    ok = total > 0
    return float((fit[ok] / total[ok]).mean()) if ok.any() else 0.0


def tonal_centroid_matrix() -> torch.Tensor:
    """(12, 6): Harte, Sandler and Gasser (2006), radii 1, 1, 0.5 for fifths, minor and
    major thirds."""
    rows = []
    for pc in range(12):
        row = []
        for radius, angle in ((1.0, 7 * math.pi / 6), (1.0, 3 * math.pi / 2), (0.5, 2 * math.pi / 3)):
            row += [radius * math.sin(pc * angle), radius * math.cos(pc * angle)]
        rows.append(row)
    return torch.tensor(rows)


def tonal_distance(x, steps_per_bar: int = 16, lowest_pitch: int = 36) -> float:
    bars = _bars(binarize(x), steps_per_bar).float().sum(dim=3)               # (N, T, bars, P)
    chroma = bars @ pitch_class_matrix(bars.shape[-1], lowest_pitch)          # (N, T, bars, 12)
    total = chroma.sum(-1, keepdim=True)
    centroid = (chroma / total.clamp_min(1e-9)) @ tonal_centroid_matrix()     # (N, T, bars, 6)
    sounding = total.squeeze(-1) > 0
    tracks = chroma.shape[1]
    distances = []
    for i in range(tracks):
        for j in range(i + 1, tracks):
            both = sounding[:, i] & sounding[:, j]
            if both.any():
                distances.append((centroid[:, i] - centroid[:, j]).norm(dim=-1)[both].mean())
    return float(torch.stack(distances).mean()) if distances else 0.0


def diversity(x) -> float:
    x = binarize(x)
    half = x.shape[0] // 2
    if half == 0:
        return 0.0
    a, b = x[:half].flatten(1), x[half:2 * half].flatten(1)
    union = (a | b).sum(1)
    shared = (a & b).sum(1)
    distance = torch.where(union > 0, 1.0 - shared / union.clamp(min=1), torch.zeros(()))
    return float(distance.mean())


def musegan_metrics(x, steps_per_bar: int = 16, lowest_pitch: int = 36) -> dict:
    """Every metric above for one set of rolls."""
    x = binarize(x)
    return {
        "empty_bars": empty_bars(x, steps_per_bar),
        "rest_bars": rest_bars(x, steps_per_bar),
        "used_pitch_classes": used_pitch_classes(x, steps_per_bar, lowest_pitch),
        "qualified_notes": qualified_notes(x),
        "polyphony": polyphony(x),
        "in_scale": in_scale(x, lowest_pitch),
        "tonal_distance": tonal_distance(x, steps_per_bar, lowest_pitch),
        "diversity": diversity(x),
    }


#: the metrics whose relative gap to the training data the benchmark's goal bounds
GAP_KEYS = ("empty_bars", "used_pitch_classes", "qualified_notes")


def compute(generated, real, dataset=None) -> dict:
    """The MuseGAN metrics of ``generated`` plus ``gap``: the mean relative difference
    of EB, UPC and QN to the same metrics of ``real`` (0 = identical statistics)."""
    steps_per_bar = getattr(dataset, "steps_per_bar", 16)
    lowest = getattr(dataset, "lowest_pitch", 36)
    gen = musegan_metrics(generated, steps_per_bar, lowest)
    ref = musegan_metrics(real, steps_per_bar, lowest)
    gaps = [abs(gen[k] - ref[k]) / max(abs(ref[k]), 1e-3) for k in GAP_KEYS]
    gen["gap"] = sum(gaps) / len(gaps)
    return gen


HIGHER_IS_BETTER = {"gap": False}
