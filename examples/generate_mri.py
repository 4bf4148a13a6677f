"""Generate brain MRI: train a GAN on the MNI152 template (or your own scans, or load a
run), then write NIfTI files that open in any viewer and PNG montages.

    python examples/generate_mri.py                              # 2-D slices, trains runs/mri-example
    python examples/generate_mri.py --mode patches               # 3-D 32^3 patches instead
    python examples/generate_mri.py --scans ~/data/t1 --steps 2000   # your folder of NIfTI / DICOM
    python examples/generate_mri.py --out runs/mri-example --n 16 --seed 3   # more samples of that run
    python examples/generate_mri.py --out /tmp/mri --steps 2 --tiny  # seconds: a smoke test

Writes to ``<out>/generated/``: ``sample_NNN.nii.gz`` (one file per generated slice or
volume, RAS affine with the training data's voxel size), ``all.nii.gz`` (every sample in
one file: slices stacked, volumes as a 4-D series) and ``montage.png``. The default
training is short so it finishes on a laptop CPU; the samples get better with more
steps. Nothing is downloaded: the template ships inside nilearn.
"""
# requires: sparring_medical
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")


def new_config(args) -> dict:
    """A small, CPU-friendly configuration for the chosen data."""
    if args.scans:
        dataset = {"name": "scan-folder", "path": str(args.scans), "mode": args.mode}
    else:
        dataset = {"name": "mni152", "mode": args.mode}
    if args.mode == "patches":
        dataset.update(size=[32, 32, 32], spacing=[2.0, 2.0, 2.0])
        channels, batch = 16, 16
    elif args.mode == "volumes":
        dataset.update(size=[64, 64, 64])
        channels, batch = 16, 8
    else:
        dataset.update(size=[64, 64])
        channels, batch = 32, 32
    if args.tiny:
        dataset.update(size=[16] * len(dataset["size"]), slice_stride=4)
        dataset["patches_per_volume" if args.scans else "num_patches"] = 32
        channels, batch = 4, 8
    return {
        "modality": "medical", "out": str(args.out), "seed": 0, "device": args.device,
        "metrics": ["intensity-hist"],
        "generator": {"name": "medical-dcgan", "channels": channels},
        "discriminator": {"name": "medical-dcgan", "channels": channels},
        "dataset": dataset,
        "trainer": {"steps": args.steps, "batch_size": batch, "loss": "hinge", "betas_g": [0.0, 0.99],
                    "betas_d": [0.0, 0.99], "ema_halflife": 250.0, "sample_every": max(args.steps // 5, 1),
                    "n_samples": 16, "eval_samples": 64},
    }


def load_or_train(args):
    """A trainer at its latest checkpoint, trained up to ``--steps`` first when needed."""
    from sparring.checkpoint import latest_checkpoint
    from sparring.config import read_toml, resolve
    from sparring.registry import load_registry
    from sparring.train import Trainer

    registry = load_registry()
    if latest_checkpoint(args.out) is not None:
        raw = read_toml(args.out / "config.toml")
        raw["out"] = str(args.out)
        raw.setdefault("trainer", {})["steps"] = max(args.steps, raw["trainer"].get("steps", 0))
        trainer = Trainer(resolve(raw, registry), registry, resume=True)
    else:
        trainer = Trainer(resolve(new_config(args), registry), registry)
    if trainer.step < trainer.config.trainer.steps:
        print(f"training on {trainer.dataset!r}: steps {trainer.step}..{trainer.config.trainer.steps} "
              f"on {trainer.device}; run folder {args.out}", file=sys.stderr)
        trainer.train()
    return trainer


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("runs/mri-example"),
                        help="run folder: trained there, or loaded when it holds a checkpoint")
    parser.add_argument("--steps", type=int, default=300, help="train until this step (0: just load)")
    parser.add_argument("--mode", choices=("slices", "patches", "volumes"), default="slices",
                        help="2-D slices, 3-D patches, or (with --scans) whole volumes")
    parser.add_argument("--scans", type=Path, help="a folder of NIfTI files / DICOM series instead of MNI152")
    parser.add_argument("--n", type=int, default=8, help="samples to write")
    parser.add_argument("--seed", type=int, default=0, help="which samples to draw")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--tiny", action="store_true", help="tiny models and data: a smoke test in seconds")
    args = parser.parse_args(argv)
    if args.mode == "volumes" and not args.scans:
        parser.error("--mode volumes needs --scans: MNI152 is a single brain (use slices or patches)")

    from sparring_medical.writers import write_montage, write_nifti, write_volumes

    trainer = load_or_train(args)
    samples = trainer.sample(args.n, seed=args.seed)
    folder = trainer.run_dir / "generated"
    paths = write_volumes(samples, folder, trainer.dataset)
    paths += write_nifti(samples, folder / "all", trainer.dataset)
    paths += write_montage(samples, folder / "montage", trainer.dataset)
    for path in paths:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
