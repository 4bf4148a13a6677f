"""Does a generated sample stay the same when it is generated again in a smaller batch?

    python benchmarks/imle_regeneration.py RUN_DIR [RUN_DIR ...] [--batches 10] [--seed 0]

IMLE picks each real sample's nearest of a pool of generated candidates. Until the
seventeenth session the core drew the pool without gradient and generated the picks again,
alone, to pull them. Where G reads batch statistics (batch norm in training mode) the
regenerated sample is not the one picked. For each run's latest checkpoint this prints, over
--batches real batches picked as trainer.imle picks them (in G's imle_view, if it has one):
the share of sample entries that change on regeneration (by more than 1e-3), the same share
in the view, and the mean distance to the real sample of the picks and of their regenerations.
"""
from __future__ import annotations

import argparse
import sys


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", help="run folders (any modality with tensor latents)")
    parser.add_argument("--batches", type=int, default=10, help="real batches to pick for")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    import torch

    from sparring.cli import _load_run
    from sparring.errors import SparringError
    from sparring.losses import imle_view, nearest_candidate
    from sparring.registry import load_registry

    registry = load_registry()
    print("| run | step | pool | entries changed | view entries changed | distance of picks | of regenerated |")
    print("|---|---|---|---|---|---|---|")
    for run in args.runs:
        try:
            trainer = _load_run(run, registry)
        except SparringError as err:
            print(f"imle_regeneration: {err}", file=sys.stderr)
            return 2
        G, t = trainer.G, trainer.config.trainer
        G.train()  # as in a training step: batch norm normalises by the batch's statistics
        view = imle_view(G)
        torch.manual_seed(args.seed)
        changed = changed_view = near = near_again = 0.0
        with torch.no_grad():
            for _ in range(args.batches):
                x_real, _ = trainer.stream.next()
                n = x_real.shape[0]
                real = view(trainer.real_to_d(x_real.to(trainer.device)))
                z, _ = trainer.noise(n * t.imle_candidates)  # as trainer.imle draws its pool
                pool = G(z)
                pick = nearest_candidate(real, view(pool))
                again = G(z[pick])
                changed += ((again - pool[pick]).abs() > 1e-3).float().mean().item()
                changed_view += ((view(again) - view(pool[pick])).abs() > 1e-3).float().mean().item()
                near += (view(pool[pick]) - real).flatten(1).norm(dim=1).mean().item()
                near_again += (view(again) - real).flatten(1).norm(dim=1).mean().item()
        k = args.batches
        print(f"| {run} | {trainer.step} | {n} x {t.imle_candidates} | {changed / k:.4f} | {changed_view / k:.4f} "
              f"| {near / k:.3f} | {near_again / k:.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
