"""What discriminator rejection sampling (``--d-keep``) does on the 2-D ring and grid.

Trains the mode-collapse benchmark's recipes briefly (``benchmarks/mode_collapse.py``:
the PacGAN paper's baseline GAN, which drops modes, and our ``best`` recipe), then scores
2,500 samples drawn plainly and as the best share of a larger draw by D's logit
(``Trainer.sample(n, d_keep=F)``, ``sparring.rejection``): modes captured, high-quality
share, reverse KL over the modes and the Frechet distance to the data, mean over seeds.

    python benchmarks/rejection.py                        # 2 seeds, minutes on one core
    python benchmarks/rejection.py --seeds 5 --keeps 0.9,0.5 --out benchmarks/results/rejection.md

One intra-op thread (OMP_NUM_THREADS=1); the runs live in a temporary folder.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

HERE = Path(__file__).resolve().parent
# (recipe, dataset, steps): short of convergence on purpose, where samples still miss
RUNS = (("gan", "ring", 4000), ("gan", "grid", 4000), ("best", "ring", 3000), ("best", "grid", 5000))
KEYS = ("modes", "high_quality", "reverse_kl", "fd")


def _mode_collapse():
    import importlib.util

    spec = importlib.util.spec_from_file_location("mode_collapse_bench", HERE / "mode_collapse.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def score_run(recipe: str, dataset: str, steps: int, seed: int, keeps: list, out: Path) -> dict:
    """One run trained, then {keep (None: plain): metrics} on 2,500 samples each."""
    from sparring.config import resolve
    from sparring.registry import load_registry
    from sparring.train import Trainer

    registry = load_registry()
    raw = _mode_collapse().run_config(recipe, dataset, seed, steps, str(out), device="cpu")
    raw["trainer"].update(eval_every=-1, sample_every=steps + 1, checkpoint_every=steps + 1)
    trainer = Trainer(resolve(raw, registry), registry)
    trainer.train()
    return {keep: trainer.evaluate(2500, d_keep=keep) for keep in [None, *keeps]}


def table(rows: dict, keeps: list, seeds: int) -> str:
    lines = [f"Mean over {seeds} seeds, 2,500 samples each (keep 1: the plain draw)", "",
             "| recipe, dataset, steps | keep | modes | high quality % | reverse KL | FD |",
             "|---|---|---|---|---|---|"]
    for (recipe, dataset, steps), per_seed in rows.items():
        for keep in [None, *keeps]:
            mean = {k: sum(s[keep][k] for s in per_seed) / len(per_seed) for k in KEYS}
            lines.append(f"| {recipe}, {dataset}, {steps} | {1.0 if keep is None else keep:g} | {mean['modes']:.2f} "
                         f"| {mean['high_quality']:.1f} | {mean['reverse_kl']:.3f} | {mean['fd']:.4f} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", type=int, default=2)
    p.add_argument("--keeps", default="0.8,0.5,0.25", help="comma list of shares to keep, each in (0, 1)")
    p.add_argument("--out", type=Path, help="also write the table here")
    args = p.parse_args(argv)
    from sparring.errors import ConfigError
    from sparring.rejection import check_d_keep

    try:
        keeps = [float(k) for k in args.keeps.split(",") if k]
        for keep in keeps:
            check_d_keep(keep)
    except (ValueError, ConfigError):
        p.error(f"--keeps takes fractions in (0, 1], got {args.keeps!r}")
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        for recipe, dataset, steps in RUNS:
            rows[(recipe, dataset, steps)] = []
            for seed in range(args.seeds):
                print(f"{recipe} {dataset} {steps} steps, seed {seed}", file=sys.stderr, flush=True)
                run = Path(tmp) / f"{recipe}-{dataset}-{seed}"
                rows[(recipe, dataset, steps)].append(score_run(recipe, dataset, steps, seed, keeps, run))
    text = table(rows, keeps, args.seeds)
    print(text)
    if args.out:
        args.out.write_text(f"`python benchmarks/rejection.py {' '.join(argv or sys.argv[1:])}`\n\n{text}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
