"""Where the chorales' empty bars come from, and how many samples resolve the goal's band.

The music goal asks for an empty-bar rate within 10% of the training data's. The data's
rate is about 0.003 of (segment, voice, bar) cells; this script lists the chorales those
cells come from, how many lie in bars where all four voices rest together (a silence in
the score, not a voice pausing), and the binomial standard error of the rate measured on
N generated phrases, beside the band the goal allows:

    python benchmarks/chorale_empty_bars.py
    python benchmarks/chorale_empty_bars.py --samples 500,1000,10000,100000

Reads the cached piano rolls (built on first use, as training does); no training.
"""
from __future__ import annotations

import argparse
import math
import os
import sys

os.environ.setdefault("OMP_NUM_THREADS", "1")

def empty_bar_sources(names, rolls, bars: int, steps_per_bar: int, hop_bars: int, lowest_pitch: int,
                      num_pitches: int) -> tuple[list[dict], int]:
    """``(rows, segments)``: one row per chorale with an empty cell in its training segments
    (the segments it gives, the empty cells among them, how many of those lie in bars where
    every voice is silent), and the segment count of all chorales. Segments are cut
    exactly as the dataset cuts them; empty cells are counted as the metric counts them."""
    from sparring_audio.music_data import cut_segments
    from sparring_audio.music_metrics import empty_bar_cells

    rows, total = [], 0
    for name, roll in zip(names, rolls):
        segments, _ = cut_segments([roll], bars, steps_per_bar, hop_bars, lowest_pitch, num_pitches)
        total += len(segments)
        if len(segments) == 0:
            continue
        empty = empty_bar_cells(segments, steps_per_bar)         # (N, voices, bars)
        if not empty.any():
            continue
        all_silent = empty.all(dim=1)                           # (N, bars): every voice rests
        rows.append({"chorale": name, "segments": len(segments), "empty_cells": int(empty.sum()),
                     "in_silent_bars": int(all_silent.sum()) * empty.shape[1],
                     "by_voice": [int(v) for v in empty.sum(dim=(0, 2))]})
    return sorted(rows, key=lambda r: -r["empty_cells"]), total


def resolution(rate: float, cells_per_sample: int, samples: int) -> float:
    """Binomial standard error of an empty-cell rate measured on ``samples`` phrases."""
    return math.sqrt(rate * (1 - rate) / (cells_per_sample * samples))


def report(rows, total_segments: int, tracks: int, bars: int, samples: list[int]) -> str:
    cells = total_segments * tracks * bars
    empty = sum(r["empty_cells"] for r in rows)
    rate = empty / cells if cells else 0.0
    lines = [f"{total_segments} training segments x {tracks} voices x {bars} bars = {cells} cells; "
             f"{empty} empty: rate {rate:.4f}", "",
             "| chorale | segments | empty cells | share of all | in bars where all voices rest | by voice (S/A/T/B) |",
             "|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['chorale']} | {r['segments']} | {r['empty_cells']} | "
                     f"{r['empty_cells'] / max(empty, 1):.0%} | {r['in_silent_bars']} | "
                     f"{'/'.join(str(v) for v in r['by_voice'])} |")
    band = 0.10 * rate
    lines += ["", f"The goal's band: {rate:.4f} +- {band:.4f} (10%). Standard error of the rate "
              f"measured on N generated phrases (if G matched the data):", "",
              "| N phrases | standard error | band / standard error |", "|---|---|---|"]
    for n in samples:
        se = resolution(rate, tracks * bars, n)
        lines.append(f"| {n} | {se:.5f} | {band / se if se else float('inf'):.2f} |")
    return "\n".join(lines)


def _ints(text: str) -> list[int]:
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a comma list of whole numbers, got {text!r}")
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"expected positive whole numbers, got {text!r}")
    return values


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=_ints, default=[500, 1000, 10000, 100000],
                        help="comma list of generated-phrase counts to give the standard error for")
    parser.add_argument("--max-chorales", type=int, default=0, help="0: all of them (as training uses)")
    args = parser.parse_args(argv)

    from sparring_audio import pianoroll
    from sparring_audio.configs import ChoralesConfig
    from sparring_audio.music_data import BEATS_PER_BAR

    cfg = ChoralesConfig(max_chorales=args.max_chorales)
    names, rolls, _ = pianoroll.chorale_rolls(cfg.max_chorales, cfg.steps_per_beat, cfg.workers)
    rows, segments = empty_bar_sources(names, rolls, cfg.bars, cfg.steps_per_beat * BEATS_PER_BAR, cfg.hop_bars,
                                       cfg.lowest_pitch, cfg.num_pitches)
    print(report(rows, segments, len(rolls[0]) if rolls else 4, cfg.bars, args.samples))
    return 0


if __name__ == "__main__":
    sys.exit(main())
