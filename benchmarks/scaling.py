"""How step time and memory grow with batch size and model width (DCGAN-28 on MNIST, CPU).

Each point runs in a child process of its own so that its peak memory (max RSS) is its
own; the step time is the median over the timed steps after a warm-up.

    python benchmarks/scaling.py --steps 20
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")


def measure(batch: int, width: int, steps: int) -> dict:
    """Run in the child: build the trainer, train ``steps`` steps, time each one."""
    import torch

    from sparring import hookimpl
    from sparring.config import resolve
    from sparring.registry import load_registry
    from sparring.train import Trainer

    torch.set_num_threads(1)
    stamps = []

    class Clock:
        @hookimpl
        def sparring_step_end(self, trainer, step, logs):
            stamps.append(time.perf_counter())

    registry = load_registry(extra_plugins=[("clock", Clock())])
    with tempfile.TemporaryDirectory() as tmp:
        cfg = resolve({
            "modality": "image", "out": str(Path(tmp) / "run"), "metrics": [],
            "generator": {"name": "dcgan", "channels": width},
            "discriminator": {"name": "dcgan", "channels": width},
            "trainer": {"steps": steps + 3, "batch_size": batch, "eval_every": -1, "conditional": "no",
                        "sample_every": 10**9, "checkpoint_every": 10**9, "progress": False},
        }, registry)
        trainer = Trainer(cfg, registry)
        params = sum(p.numel() for p in trainer.G.parameters()) + sum(p.numel() for p in trainer.D.parameters())
        trainer.train()
    gaps = [b - a for a, b in zip(stamps[2:-1], stamps[3:-1])]  # skip warm-up and the final step
    return {"batch": batch, "width": width, "params": params, "step_ms": 1e3 * statistics.median(gaps),
            "rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--batches", default="16,32,64,128")
    parser.add_argument("--widths", default="16,32,64")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        batch, width = map(int, args.child.split(","))
        print(json.dumps(measure(batch, width, args.steps)))
        return
    batches = [int(b) for b in args.batches.split(",")]
    widths = [int(w) for w in args.widths.split(",")]
    points = [(b, 32) for b in batches] + [(64, w) for w in widths if w != 32]
    rows = []
    for batch, width in points:
        out = subprocess.run([sys.executable, __file__, "--child", f"{batch},{width}", "--steps", str(args.steps)],
                             capture_output=True, text=True, check=True)
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
        print(f"measured batch {batch} width {width}", file=sys.stderr)
    print(f"DCGAN-28 on MNIST, sparring trainer, CPU, 1 thread, median of {args.steps} steps")
    print(f"{'batch':>6} {'width':>6} {'params':>10} {'step ms':>9} {'ms/sample':>10} {'peak RSS MiB':>13}")
    for r in sorted(rows, key=lambda r: (r["width"], r["batch"])):
        print(f"{r['batch']:>6} {r['width']:>6} {r['params']:>10,} {r['step_ms']:>9.1f} "
              f"{r['step_ms'] / r['batch']:>10.3f} {r['rss_mib']:>13.0f}")


if __name__ == "__main__":
    main()
