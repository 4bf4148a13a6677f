"""Add an adversarial loss without writing a package: register a module as a plugin.

The loss is one-sided label smoothing (Salimans et al. 2016): D is trained towards 0.9,
not 1, on real data, which keeps it from growing over-confident. Any module (or object)
with ``@hookimpl`` functions is a plugin; ``load_registry(extra_plugins=...)`` adds it
beside the installed ones, and from then on the loss is a name like any other:

    python examples/custom_loss_plugin.py --steps 2000 --out runs/smooth-ring

Every example takes --out DIR, --steps N and --tiny (a seconds-long smoke run).
"""
from __future__ import annotations

import argparse
import sys

import torch.nn.functional as F

from sparring import hookimpl
from sparring.specs import LossSpec

SMOOTH = 0.9  # the target for real data


def smooth_d_loss(real, fake):
    """Binary cross-entropy with targets 0.9 (real) and 0 (fake), on D's logits."""
    return F.binary_cross_entropy_with_logits(real, real.new_full(real.shape, SMOOTH)) + F.softplus(fake).mean()


def smooth_g_loss(fake, real=None):
    """The non-saturating generator loss, -log D(G(z)); ``real`` is not needed."""
    return F.softplus(-fake).mean()


@hookimpl
def sparring_losses():
    yield LossSpec("ns-smooth", d_loss=smooth_d_loss, g_loss=smooth_g_loss,
                   description="non-saturating loss, one-sided label smoothing at 0.9")


@hookimpl
def sparring_train_end(trainer):
    # Lifecycle hooks work the same way: this one runs once, after the final checkpoint.
    print(f"trained {trainer.step} steps with loss '{trainer.loss.name}'")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="runs/smooth-ring")
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--tiny", action="store_true", help="small models and data: a smoke run")
    args = parser.parse_args(argv)

    from sparring.config import resolve
    from sparring.registry import load_registry
    from sparring.train import Trainer

    # This very module is the plugin: its hookimpls above are registered under a name.
    registry = load_registry(extra_plugins=[("custom-loss", sys.modules[__name__])])
    raw = {"modality": "toy", "out": args.out,
           "trainer": {"steps": args.steps, "loss": "ns-smooth", "progress": False}}
    if args.tiny:
        raw["generator"] = {"hidden": 16, "layers": 2}
        raw["discriminator"] = {"hidden": 16, "layers": 2}
        raw["dataset"] = {"size": 1000}
        raw["trainer"].update(batch_size=32, eval_samples=200)
    trainer = Trainer(resolve(raw, registry), registry)
    metrics = trainer.train()
    print({k: round(v, 4) for k, v in metrics.items()})
    print(f"samples in {trainer.run_dir / 'samples'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
