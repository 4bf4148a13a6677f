"""Train a DCGAN on the 5,000 MNIST digits that ship offline with the image plugin.

    python examples/train_mnist.py --steps 3000 --out runs/mnist

writes PNG grids to runs/mnist/samples/ as it trains, then prints FID-style metrics on
an offline MNIST classifier's features beside their real-vs-real values. The same run
from the shell: ``sparring train image --dataset mnist --steps 3000 --out runs/mnist``.

Every example takes --out DIR, --steps N and --tiny (a seconds-long smoke run).
"""
# requires: sparring_image
from __future__ import annotations

import argparse
import sys

from sparring.config import resolve
from sparring.registry import load_registry
from sparring.train import Trainer


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="runs/mnist")
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--conditional", action="store_true", help="class-conditional G and D (labels 0-9)")
    parser.add_argument("--tiny", action="store_true", help="small models, no metrics: a smoke run")
    args = parser.parse_args(argv)

    registry = load_registry()
    model = "dcgan-cond" if args.conditional else "dcgan"
    raw = {
        "modality": "image",
        "out": args.out,
        "generator": {"name": model, "latent_dim": 100, "channels": 64},
        "discriminator": {"name": model, "channels": 64},
        "dataset": {"name": "mnist"},
        "trainer": {"steps": args.steps, "batch_size": 64, "lr_g": 2e-4, "lr_d": 2e-4,
                    "sample_every": 500, "checkpoint_every": 1000, "ema_halflife": 10000.0},
    }
    if args.tiny:
        raw["generator"].update(latent_dim=8, channels=8)
        raw["discriminator"].update(channels=8)
        raw["trainer"].update(batch_size=16, progress=False)
    config = resolve(raw, registry)
    if args.tiny:
        config.metrics = []  # the metrics first train a small MNIST classifier: minutes on a CPU
    trainer = Trainer(config, registry)
    print(f"training {model} on MNIST ({len(trainer.dataset)} images) on {trainer.device}")
    metrics = trainer.train()
    for key, value in sorted(metrics.items()):
        print(f"{key:20s} {value:.4f}")
    print(f"samples in {trainer.run_dir / 'samples'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
