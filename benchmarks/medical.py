"""Medical benchmark: a 2-D slice GAN and a 3-D patch GAN on the MNI152 template.

Both train the plugin's DCGAN (spectral-norm D, hinge loss) on data that ships inside
nilearn, then print every medical metric for the untrained generator, the trained one
and real versus other real samples (the floor a perfect generator reaches with this
many samples):

- 2-D: axial slices of the 1 mm template, padded to square and resized to 64 x 64
  (~140 slices with brain in them).
- 3-D: random 32^3 patches of the template resampled to 2 mm (1,024 patches).

Metrics (see ``sparring_medical.metrics``): ``ms_ssim`` pairwise MS-SSIM among samples
(diversity; closer to real is better), ``mmd`` MONAI's linear-kernel MMD per voxel,
``ae_fd`` Frechet distance on a small autoencoder trained on the data (cached),
``ae_rec`` that autoencoder's reconstruction error, ``hist_w1`` / ``hist_w1_fg``
Wasserstein-1 between intensity histograms (all / foreground voxels).

    python benchmarks/medical.py                      # CPU defaults, ~30-60 min on a busy 2-core box
    python benchmarks/medical.py --quick              # smoke test, a few minutes
    python benchmarks/medical.py --steps-2d 5000 --steps-3d 5000 --device cuda

Run folders go under ``--out`` (default: a temporary folder); results are appended to
``benchmarks/results/medical.jsonl``.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

ROOT = Path(__file__).resolve().parent
RESULTS = ROOT / "results" / "medical.jsonl"
KEYS = ("ms_ssim", "mmd", "ae_fd", "ae_rec", "hist_w1", "hist_w1_fg")


def setting(name: str, args) -> dict:
    """The raw sparring configuration of one benchmark setting."""
    quick = args.quick
    if name == "2d-slices":
        dataset = {"name": "mni152", "mode": "slices", "axis": 2, "size": [64, 64]}
        steps, batch, channels = args.steps_2d, args.batch_2d, args.channels_2d
    else:
        dataset = {"name": "mni152", "mode": "patches", "spacing": [2.0, 2.0, 2.0], "size": [32, 32, 32],
                   "num_patches": 1024}
        steps, batch, channels = args.steps_3d, args.batch_3d, args.channels_3d
    if quick:
        steps, channels = min(steps, 20), min(channels, 8)
    return {
        "modality": "medical", "seed": args.seed, "device": args.device,
        "metrics": ["ms-ssim", "voxel-mmd", "ae-features", "intensity-hist"],
        "trainer": {"steps": steps, "batch_size": batch, "loss": "hinge", "lr_g": 2e-4, "lr_d": 2e-4,
                    "betas_g": [0.0, 0.99], "betas_d": [0.0, 0.99], "ema_halflife": 500.0 * batch / 64,
                    "log_every": 25, "sample_every": max(steps // 4, 1), "checkpoint_every": steps,
                    "n_samples": 32, "eval_samples": args.eval_samples, "progress": False},
        "generator": {"name": "medical-dcgan", "latent_dim": 128, "channels": channels},
        "discriminator": {"name": "medical-dcgan", "channels": channels, "norm": "spectral"},
        "dataset": dataset,
    }


def run_setting(name: str, args, out: Path) -> list[dict]:
    from sparring.config import resolve
    from sparring.registry import load_registry
    from sparring.train import Trainer

    raw = setting(name, args)
    raw["out"] = str(out / name)
    trainer = Trainer(resolve(raw, load_registry()))
    n = args.eval_samples
    print(f"[{name}] data {trainer.dataset!r}; {raw['trainer']['steps']} steps of batch "
          f"{raw['trainer']['batch_size']} on {trainer.device}", file=sys.stderr, flush=True)
    start = time.perf_counter()
    before = trainer.evaluate(n, reference=True)  # also trains / loads the feature autoencoder
    eval_time = time.perf_counter() - start
    start = time.perf_counter()
    trainer.config.metrics = []  # the loop's own final evaluation is replaced by ours below
    trainer.metrics = []
    trainer.train()
    train_time = time.perf_counter() - start
    if trainer.step < raw["trainer"]["steps"]:  # stopped by SIGINT/SIGTERM: these rows would mislead
        raise SystemExit(f"[{name}] stopped at step {trainer.step} of {raw['trainer']['steps']}; no rows recorded")
    trainer.metrics = [trainer.registry.get("metric", m, "medical") for m in raw["metrics"]]
    after = trainer.evaluate(n, reference=True)
    samples = trainer.write_samples(32, trainer.run_dir / "samples" / "final")
    steps = raw["trainer"]["steps"]
    rows = [
        {"setting": name, "what": "real vs real", "step": None, **{k: before.get(f"real/{k}") for k in KEYS}},
        {"setting": name, "what": "untrained G", "step": 0, **{k: before.get(k) for k in KEYS}},
        {"setting": name, "what": "trained G (EMA)", "step": steps, **{k: after.get(k) for k in KEYS}},
    ]
    for row in rows:
        row.update(samples=n, seconds_per_step=train_time / max(steps, 1), first_eval_s=eval_time,
                   quick=args.quick, seed=args.seed, files=[str(p) for p in samples] if args.out else [])
    return rows


def print_table(rows: list[dict]) -> None:
    header = ["setting", "generator", "step", *KEYS]
    lines = [header]
    for r in rows:
        step = "" if r["step"] is None else str(r["step"])
        lines.append([r["setting"], r["what"], step] + [
            "" if r[k] is None else f"{r[k]:.4g}" for k in KEYS])
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    for i, line in enumerate(lines):
        print("| " + " | ".join(c.ljust(w) for c, w in zip(line, widths)) + " |")
        if i == 0:
            print("|" + "|".join("-" * (w + 2) for w in widths) + "|")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--settings", default="2d-slices,3d-patches")
    parser.add_argument("--steps-2d", type=int, default=1500)
    parser.add_argument("--steps-3d", type=int, default=600)
    parser.add_argument("--batch-2d", type=int, default=32)
    parser.add_argument("--batch-3d", type=int, default=16)
    parser.add_argument("--channels-2d", type=int, default=32)
    parser.add_argument("--channels-3d", type=int, default=16)
    parser.add_argument("--eval-samples", type=int, default=64,
                        help="samples per side (generated and real; real vs real uses twice as many)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="20 steps, tiny models: a smoke test")
    parser.add_argument("--out", help="run folders (default: a temporary folder, removed)")
    args = parser.parse_args(argv)

    import torch

    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(args.out) if args.out else Path(tmp)
        for name in [s.strip() for s in args.settings.split(",") if s.strip()]:
            if name not in ("2d-slices", "3d-patches"):
                parser.error(f"unknown setting {name!r}: 2d-slices, 3d-patches")
            rows += run_setting(name, args, out)
    if not args.quick:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        with open(RESULTS, "a", encoding="utf-8") as fh:
            for row in rows:
                fh.write(json.dumps(row) + "\n")
    print_table(rows)
    for name in dict.fromkeys(r["setting"] for r in rows):
        r = next(r for r in rows if r["setting"] == name)
        print(f"{name}: {r['seconds_per_step']:.2f} s/step, first evaluation (incl. feature network) "
              f"{r['first_eval_s']:.0f} s, {r['samples']} samples per side")
    return 0


if __name__ == "__main__":
    sys.exit(main())
