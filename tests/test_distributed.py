"""Two CPU ranks (gloo, torchrun) compute what one process with the same global batch does."""
from __future__ import annotations

import os
import subprocess
import sys

import torch

from sparring.checkpoint import latest_checkpoint, load_checkpoint

ARGS = ["train", "toy", "--steps", "12", "--batch-size", "32", "--seed", "5",
        "--set", "generator.batch_norm=false", "--set", "generator.hidden=32", "--set", "generator.layers=2",
        "--set", "discriminator.hidden=32", "--set", "discriminator.layers=2", "--set", "dataset.size=2000",
        "--set", "trainer.progress=false", "--set", "trainer.eval_every=-1", "--set", "trainer.checkpoint_every=6",
        "--set", "trainer.regularizer=\"r1\"", "--set", "trainer.reg_interval=4"]


def run(cmd, **kw):
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600, **kw)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # A rank that leaves before the others with gloo's threads alive aborts like this.
    assert "terminate called" not in proc.stderr, proc.stderr
    return proc


def test_two_gloo_ranks_match_one_process(tmp_path):
    single, double = tmp_path / "single", tmp_path / "double"
    run([sys.executable, "-m", "sparring.cli", *ARGS, "--out", str(single)])
    run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
         "-m", "sparring.cli", *ARGS, "--out", str(double)])
    a = load_checkpoint(latest_checkpoint(single))
    b = load_checkpoint(latest_checkpoint(double))
    assert a["step"] == b["step"] == 12
    for part in ("G", "D", "G_ema"):
        for key, value in a[part].items():
            assert torch.allclose(value, b[part][key], rtol=1e-4, atol=1e-5), f"{part}.{key}"
    # Only rank 0 wrote: one log line per logged step, not two.
    steps = [line for line in (double / "metrics.jsonl").read_text().splitlines() if '"d_loss"' in line]
    assert len(steps) == 2


def test_a_two_rank_run_resumes_on_one_rank(tmp_path):
    out = tmp_path / "mixed"
    args = [a if a != "12" else "6" for a in ARGS]
    run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
         "-m", "sparring.cli", *args, "--out", str(out)])
    run([sys.executable, "-m", "sparring.cli", "train", "--resume", str(out), "--steps", "12"])
    single = tmp_path / "single"
    run([sys.executable, "-m", "sparring.cli", *ARGS, "--out", str(single)])
    a, b = load_checkpoint(latest_checkpoint(single)), load_checkpoint(latest_checkpoint(out))
    for key, value in a["G"].items():
        assert torch.allclose(value, b["G"][key], rtol=1e-4, atol=1e-5), key
