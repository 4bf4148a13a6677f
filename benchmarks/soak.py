"""Soak run: many toy steps with samples, evaluations and checkpoints at short intervals.

Prints resident memory (RSS) and the run folder's size at intervals: memory must stay
flat and the folder bounded by ``trainer.keep_last`` (samples excepted: they are kept on
purpose, one small PNG per ``sample_every`` steps).

    python benchmarks/soak.py --steps 20000 --out /tmp/soak
"""
from __future__ import annotations

import argparse
import os
import shutil
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import torch  # noqa: E402

from sparring import hookimpl  # noqa: E402
from sparring.config import resolve  # noqa: E402
from sparring.registry import load_registry  # noqa: E402
from sparring.train import Trainer  # noqa: E402


def rss_mib() -> float:
    with open("/proc/self/statm") as fh:
        pages = int(fh.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def folder_mib(path: Path, pattern: str = "*") -> float:
    return sum(p.stat().st_size for p in path.rglob(pattern) if p.is_file()) / 2**20


class Probe:
    """Samples RSS and disk use every ``every`` steps through the step_end hook."""

    def __init__(self, run_dir: Path, every: int):
        self.run_dir, self.every, self.rows = run_dir, every, []

    @hookimpl
    def sparring_step_end(self, trainer, step, logs):
        if step % self.every == 0:
            ckpts = self.run_dir / "checkpoints"
            self.rows.append((step, rss_mib(), folder_mib(ckpts), len(list(ckpts.glob("step_*.pt"))),
                              folder_mib(self.run_dir / "samples"), time.perf_counter()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20000)
    parser.add_argument("--out", default="/tmp/sparring-soak")
    parser.add_argument("--probe-every", type=int, default=1000)
    args = parser.parse_args()
    torch.set_num_threads(1)
    out = Path(args.out)
    shutil.rmtree(out, ignore_errors=True)
    probe = Probe(out, args.probe_every)
    registry = load_registry(extra_plugins=[("soak-probe", probe)])
    cfg = resolve({
        "modality": "toy", "out": str(out),
        "trainer": {"steps": args.steps, "batch_size": 64, "sample_every": 100, "eval_every": 500,
                    "eval_samples": 500, "checkpoint_every": 50, "keep_last": 2, "log_every": 10,
                    "progress": False},
        "generator": {"hidden": 64, "layers": 3}, "discriminator": {"hidden": 64, "layers": 3},
    }, registry)
    start = time.perf_counter()
    Trainer(cfg, registry).train()
    print(f"soak: {args.steps} steps, checkpoint every 50, eval every 500, samples every 100, keep_last 2; "
          f"{time.perf_counter() - start:.0f} s")
    print(f"{'step':>7} {'RSS MiB':>8} {'ckpt MiB':>9} {'ckpts':>6} {'samples MiB':>12}")
    for step, rss, ck, n, samples, _ in probe.rows:
        print(f"{step:>7} {rss:>8.1f} {ck:>9.2f} {n:>6} {samples:>12.2f}")
    first, last = probe.rows[len(probe.rows) // 4], probe.rows[-1]
    print(f"RSS growth from step {first[0]} to {last[0]}: {last[1] - first[1]:+.1f} MiB; "
          f"checkpoint files at the end: {last[3]} (keep_last 2)")


if __name__ == "__main__":
    main()
