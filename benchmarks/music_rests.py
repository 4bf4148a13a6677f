"""Where a music run's voices rest, beside the chorales: silent steps, tutti rests (every
voice at once), rest and empty bars per voice.

    python benchmarks/music_rests.py RUN_DIR [RUN_DIR ...] --samples 4000 [--critic] [--gates]

RUN_DIR is a music run folder (``sparring train music`` or ``benchmarks/audio.py --only
music``'s ``OUT/music``); its latest checkpoint's (EMA) generator is sampled with --seed.
The chorales rest mostly all together (tutti rests); a generator can match the
benchmark's empty-bar rate with one voice dropping out instead, and this table shows which.
Why a generator does not learn them: ``--critic`` prints D's mean score of the real phrases
that hold a tutti rest, as they are and with those rests filled by the step before (if D
scores them higher filled, its gradient asks G for sound there); ``--gates`` prints the rest
logits of a ``generator.rest_gate`` G (rest where > 0), per voice and of the shared gate.
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


def fill_tutti_rests(rolls):
    """(N, tracks, steps, P) 0/1 rolls with every step where all tracks rest filled by the
    step before (its notes held on); a rest at step 0 stays."""
    filled = rolls.clone()
    for step in range(1, filled.shape[2]):
        rest = ~filled[:, :, step].bool().any(-1).any(1)
        filled[rest, :, step] = filled[rest, :, step - 1]
    return filled


def critic_lines(trainer, generated) -> list[str]:
    """D's mean score of the real phrases with a tutti rest, as they are and filled."""
    import torch

    from sparring.outputs import logits_of
    from sparring.train import pack

    m = trainer.config.trainer.pack
    D = trainer.D.eval()

    def score(x):  # per packed group of m phrases, as D is trained (m = trainer.pack)
        x = trainer.real_to_d(x)[: len(x) // m * m].to(trainer.device)
        with torch.no_grad():
            return torch.cat([logits_of(D(pack(x[i:i + 256], m))).float().reshape(-1).cpu()
                              for i in range(0, len(x), 256)])

    segments = trainer.dataset.segments
    tutti = ~segments.bool().any(-1).any(1)                               # (N, steps)
    chosen = segments[tutti.any(1) & ~tutti[:, 0]]
    if len(chosen) < m:
        return ["critic: no real phrase with a tutti rest after its first step"]
    as_is, filled, fake = score(chosen), score(fill_tutti_rests(chosen)), score(generated)
    change = filled - as_is
    return [f"critic: {len(chosen)} real phrases with a tutti rest; D's mean score as they are "
            f"{as_is.mean():.2f} (sd {as_is.std():.2f}), their tutti rests filled {filled.mean():.2f} "
            f"(paired change {change.mean():+.2f}, sd {change.std():.2f}); generated {fake.mean():.2f}"]


def gate_lines(trainer, samples: int, seed: int) -> list[str]:
    """Quantiles of the rest logits of the sampling G's per-voice and shared rest gates, per
    note-grid cell: the mean of each cell's per-step logits, which is what the gate decides on
    (per step they can swing either side of 0 within one cell)."""
    import torch

    G = trainer.sampler
    if not getattr(G, "rest_gate", False):
        return ["gates: this generator has no rest gate (generator.rest_gate)"]
    seen = {}
    hooks = [module.register_forward_hook(lambda mod, args, out, name=name: seen.setdefault(name, []).append(out))
             for name, module in (("voices", G.rest), ("shared", G.tutti)) if module is not None]
    try:
        trainer.sample(samples, seed=seed)
    finally:
        for hook in hooks:
            hook.remove()
    lines = []
    for name, outs in seen.items():
        k = G.note_grid  # (B * bars, gates, steps_per_bar, 1) -> one logit per grid cell
        logits = torch.cat([o.detach().float().reshape(*o.shape[:2], -1, k).mean(-1).flatten() for o in outs])
        q = torch.quantile(logits[:1_000_000], torch.tensor([0.01, 0.5, 0.99]))
        lines.append(f"gates, {name}: rest logit 1st / 50th / 99th percentile {q[0]:.2f} / {q[1]:.2f} / "
                     f"{q[2]:.2f}; above 0 (rest) in {(logits > 0).float().mean():.4f} of them")
    return lines


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", help="music run folders")
    parser.add_argument("--samples", type=int, default=4000, help="generated phrases per run")
    parser.add_argument("--seed", type=int, default=1, help="seed of the generated phrases")
    parser.add_argument("--critic", action="store_true",
                        help="also D's score of real phrases with their tutti rests and with them filled")
    parser.add_argument("--gates", action="store_true", help="also the rest gates' logits (generator.rest_gate)")
    args = parser.parse_args(argv)

    from sparring.cli import _load_run
    from sparring.errors import SparringError
    from sparring.registry import load_registry
    from sparring_audio.music_metrics import rest_profile

    registry = load_registry()
    lines, notes = [], []
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
        if args.critic or args.gates:
            notes.append(f"{run} (step {trainer.step}):")
            notes += ["  " + line for line in (critic_lines(trainer, generated) if args.critic else [])]
            notes += ["  " + line for line in (gate_lines(trainer, args.samples, args.seed) if args.gates else [])]
    print("\n".join(lines + ([""] + notes if notes else [])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
