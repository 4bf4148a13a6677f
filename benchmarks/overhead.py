"""Framework overhead: sparring's trainer against a plain hand-written PyTorch loop.

Both run the same DCGAN models (the image plugin's, 28x28 MNIST), the same
non-saturating loss, Adam optimisers, batch size and in-memory data. The two are
interleaved in one process in blocks of steps, so machine noise hits both alike; the
table gives each one's median step time and the ratio. Sparring runs as a user runs it:
hooks dispatched, metrics.jsonl logging, the NaN guard and a progress bar (forced on).
Peak memory (max RSS) is measured for each in a child process of its own, with how far
it rises above the peak after setup (models and data are built alike for both).

    python benchmarks/overhead.py --steps 300 --blocks 6 --batch-size 64
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

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from sparring import hookimpl  # noqa: E402
from sparring.config import resolve  # noqa: E402
from sparring.registry import load_registry  # noqa: E402
from sparring.train import Trainer  # noqa: E402


class StepClock:
    """Records the time between consecutive sparring_step_end calls."""

    def __init__(self):
        self.times, self._last = [], None

    @hookimpl
    def sparring_step_end(self, trainer, step, logs):
        now = time.perf_counter()
        if self._last is not None:
            self.times.append(now - self._last)
        self._last = now

    def reset_block(self):
        self._last = None


def sparring_trainer(args, out: Path, clock: StepClock):
    registry = load_registry(extra_plugins=[("clock", clock)])
    cfg = resolve({
        "modality": "image", "out": str(out), "seed": 0, "metrics": [],
        "dataset": {"name": "mnist"},
        "generator": {"name": "dcgan", "channels": args.width},
        "discriminator": {"name": "dcgan", "channels": args.width},
        "trainer": {"steps": 1, "batch_size": args.batch_size, "loss": "ns", "ema_halflife": 0.0,
                    "conditional": "no", "log_every": 10, "eval_every": -1, "sample_every": 10**9,
                    "checkpoint_every": 10**9, "progress": True},
    }, registry)
    trainer = Trainer(cfg, registry)
    trainer.force_progress = True
    return trainer


def run_sparring_block(trainer, clock, steps):
    """Extend the run by ``steps`` and train them (the block's last step checkpoints: the
    median ignores that one)."""
    trainer.config.trainer.steps = trainer.step + steps
    clock.reset_block()
    trainer.train()


class PlainLoop:
    """What a user writes by hand: the same models, loss, optimisers and data."""

    def __init__(self, trainer):
        # Same architectures, fresh copies with the same initialisation.
        import copy

        torch.manual_seed(0)
        self.G = copy.deepcopy(trainer.G)
        self.D = copy.deepcopy(trainer.D)
        t = trainer.config.trainer
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=t.lr_g, betas=tuple(t.betas_g))
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=t.lr_d, betas=tuple(t.betas_d))
        self.data = trainer.stream.tensors[0]
        self.device = self.data.device
        self.batch = t.batch_size
        self.latent_dim = trainer.G.latent_dim
        self.times = []
        self.step = 0
        self.log = None

    def train_step(self):
        """One D update and one G update, non-saturating loss, logged every 10 steps."""
        idx = torch.randint(self.data.shape[0], (self.batch,), device=self.device)
        real = self.data[idx]
        z = torch.randn(self.batch, self.latent_dim, device=self.device)
        fake = self.G(z)
        d_loss = F.softplus(-self.D(real)).mean() + F.softplus(self.D(fake.detach())).mean()
        self.opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        self.opt_d.step()
        g_loss = F.softplus(-self.D(self.G(torch.randn(self.batch, self.latent_dim, device=self.device)))).mean()
        self.opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        self.opt_g.step()
        self.step += 1
        if self.step % 10 == 0 and self.log is not None:
            print(json.dumps({"step": self.step, "d": d_loss.item(), "g": g_loss.item()}), file=self.log)

    def run_block(self, steps):
        last = None
        for _ in range(steps):
            self.train_step()
            now = time.perf_counter()
            if last is not None:
                self.times.append(now - last)
            last = now


def peak_rss_child(which: str, args) -> float:
    """Max RSS (MiB) of a child process that runs only ``which`` for a block."""
    cmd = [sys.executable, __file__, "--child", which, "--steps", str(args.steps), "--batch-size",
           str(args.batch_size), "--width", str(args.width)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, env=dict(os.environ, OMP_NUM_THREADS="1"))
    peak, rise = out.stdout.strip().splitlines()[-1].split()
    return float(peak), float(rise)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200, help="steps per block")
    parser.add_argument("--blocks", type=int, default=6, help="blocks per side, interleaved")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--width", type=int, default=32, help="DCGAN channels")
    parser.add_argument("--child", choices=["sparring", "plain"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    torch.set_num_threads(1)

    with tempfile.TemporaryDirectory() as tmp:
        clock = StepClock()
        trainer = sparring_trainer(args, Path(tmp) / "run", clock)
        plain = PlainLoop(trainer)
        plain.log = open(Path(tmp) / "plain.jsonl", "w")
        if args.child:
            # Both children build models and data the same way; what differs is the
            # training loop, so report how far the peak rises above the setup's peak.
            setup_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            (run_sparring_block(trainer, clock, args.steps) if args.child == "sparring"
             else plain.run_block(args.steps))
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            print(f"{peak} {peak - setup_peak}")
            return
        # Warm-up both (allocator, first-call costs), then interleave timed blocks.
        run_sparring_block(trainer, clock, 20)
        plain.run_block(20)
        clock.times.clear()
        plain.times.clear()
        for _ in range(args.blocks):
            run_sparring_block(trainer, clock, args.steps)
            plain.run_block(args.steps)
        plain.log.close()

    ours, theirs = statistics.median(clock.times), statistics.median(plain.times)
    rss_ours, rss_theirs = peak_rss_child("sparring", args), peak_rss_child("plain", args)
    print(f"DCGAN-28 on MNIST, batch {args.batch_size}, width {args.width}, {args.blocks} interleaved blocks "
          f"of {args.steps} steps each, torch {torch.__version__}, {torch.get_num_threads()} thread(s)")
    print(f"{'loop':<10} {'median step ms':>15} {'steps timed':>12} {'peak RSS MiB':>13} {'rise in loop MiB':>17}")
    print(f"{'sparring':<10} {ours * 1e3:>15.2f} {len(clock.times):>12} {rss_ours[0]:>13.0f} {rss_ours[1]:>17.1f}")
    print(f"{'plain':<10} {theirs * 1e3:>15.2f} {len(plain.times):>12} {rss_theirs[0]:>13.0f} {rss_theirs[1]:>17.1f}")
    print(f"ratio sparring / plain: {ours / theirs:.3f} (goal <= 1.03)")


if __name__ == "__main__":
    main()
