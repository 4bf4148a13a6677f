"""Where a music run's voices rest, beside the chorales: silent steps, tutti rests (every
voice at once), rest and empty bars per voice.

    python benchmarks/music_rests.py RUN_DIR [RUN_DIR ...] --samples 4000

RUN_DIR is a music run folder (``sparring train music`` or ``benchmarks/audio.py --only
music``'s ``OUT/music``); its latest checkpoint's (EMA) generator is sampled with --seed.
The chorales rest mostly all together (tutti rests); a generator can match the
benchmark's empty-bar rate with one voice dropping out instead, and this table shows which.
"""
from __future__ import annotations

import argparse
import sys

VOICES = "SATB"


def row(name: str, profile: dict) -> str:
    by_voice = lambda key, fmt: " / ".join(fmt.format(v) for v in profile[key])  # noqa: E731
    return (f"| {name} | {profile['silent_steps']:.4f} | {profile['tutti_rest_steps']:.4f} | "
            f"{by_voice('rest_bars_by_track', '{:.3f}')} | {by_voice('empty_bars_by_track', '{:.4f}')} | "
            f"{profile['empty_in_tutti_bars']:.0%} |")


def header(tracks: int) -> list[str]:
    voices = "/".join(VOICES) if tracks == 4 else f"tracks 1-{tracks}"
    return [f"| rolls | silent steps | tutti rest steps | bars with a rest ({voices}) | empty bars ({voices}) "
            "| empty cells in tutti bars |", "|---|---|---|---|---|---|"]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", help="music run folders")
    parser.add_argument("--samples", type=int, default=4000, help="generated phrases per run")
    parser.add_argument("--seed", type=int, default=1, help="seed of the generated phrases")
    args = parser.parse_args(argv)

    from sparring.cli import _load_run
    from sparring.errors import SparringError
    from sparring.registry import load_registry
    from sparring_audio.music_metrics import rest_profile

    registry = load_registry()
    lines = []
    for run in args.runs:
        try:
            trainer = _load_run(run, registry)
        except SparringError as err:
            print(f"music_rests: {err}", file=sys.stderr)
            return 2
        if trainer.config.modality != "music" or not hasattr(trainer.dataset, "segments"):
            print(f"music_rests: '{run}' is a {trainer.config.modality} run, not a music run on piano rolls",
                  file=sys.stderr)
            return 2
        spb = getattr(trainer.dataset, "steps_per_bar", 16)
        if not lines:  # the data row, from the first run's dataset
            segments = trainer.dataset.segments.bool()
            lines = header(segments.shape[1]) + [row(f"training data ({len(segments)} segments)",
                                                     rest_profile(segments, spb))]
        generated = trainer.real_to_d(trainer.sample(args.samples, seed=args.seed))
        lines.append(row(f"{run} (step {trainer.step}, {args.samples} phrases)", rest_profile(generated, spb)))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
