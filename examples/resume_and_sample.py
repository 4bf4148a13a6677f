"""Stop a run, resume it exactly, then sample and evaluate it, through the Python API.

A run folder holds everything needed to continue: config.toml and checkpoints with
G, D, the EMA generator, the optimizers and every random number generator's state. So a
run that stops halfway and resumes ends with the same weights as one that never
stopped; this script shows it, then writes samples through the modality's writer.
The command-line equivalent is ``sparring train --resume RUN`` then ``sparring sample RUN``.

    python examples/resume_and_sample.py --steps 1000 --out runs/resume-demo

Every example takes --out DIR, --steps N and --tiny (a seconds-long smoke run).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

from sparring.config import resolve
from sparring.registry import load_registry
from sparring.train import Trainer


def toy_config(out: Path, steps: int, tiny: bool) -> dict:
    raw = {"modality": "toy", "out": str(out), "seed": 0,
           "trainer": {"steps": steps, "checkpoint_every": max(1, steps // 2), "progress": False}}
    if tiny:
        raw["generator"] = {"hidden": 16, "layers": 2}
        raw["discriminator"] = {"hidden": 16, "layers": 2}
        raw["dataset"] = {"size": 1000}
        raw["trainer"].update(batch_size=32, eval_samples=200)
    return raw


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="runs/resume-demo")
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--tiny", action="store_true", help="small models and data: a smoke run")
    args = parser.parse_args(argv)
    out, steps = Path(args.out), max(2, args.steps)
    registry = load_registry()

    # 1. One run straight through, for comparison.
    straight = Trainer(resolve(toy_config(out / "straight", steps, args.tiny), registry), registry)
    straight.train()

    # 2. The same run, stopped halfway (as if killed after its checkpoint) ...
    half = toy_config(out / "resumed", steps // 2, args.tiny)
    half["trainer"]["checkpoint_every"] = max(1, steps // 2)
    Trainer(resolve(half, registry), registry).train()
    # ... and resumed: resume=True loads the latest checkpoint in the run folder.
    resumed = Trainer(resolve(toy_config(out / "resumed", steps, args.tiny), registry), registry, resume=True)
    print(f"resumed at step {resumed.step}")
    resumed.train()
    same = all(torch.equal(a, b) for a, b in zip(straight.G.state_dict().values(), resumed.G.state_dict().values()))
    print(f"resumed run ends with the same generator as the straight run: {same}")

    # 3. Sample from the EMA generator through the modality's writer, and keep the raw tensor.
    paths = resumed.write_samples(n=500, path=out / "resumed" / "final_samples")
    samples = resumed.sample(500, seed=123)
    torch.save(samples, out / "resumed" / "final_samples.pt")
    print("wrote", *map(str, paths), out / "resumed" / "final_samples.pt")

    # 4. Metrics of generated data, beside real-vs-real (the floor with this many samples).
    results = resumed.evaluate(200 if args.tiny else 2000, reference=True)
    for key in ("modes", "high_quality", "fd"):
        print(f"{key:14s} generated {results[key]:8.3f}   real vs real {results['real/' + key]:8.3f}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
