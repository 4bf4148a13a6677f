"""CLI smoke runs in subprocesses: train, resume, sample, eval, plugins, errors."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import torch

TINY = ["--set", "generator.hidden=16", "--set", "generator.layers=2", "--set", "discriminator.hidden=16",
        "--set", "discriminator.layers=2", "--set", "dataset.size=2000", "--set", "trainer.eval_samples=300",
        "--batch-size", "32"]


def sparring(*args, check=True):
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.run([sys.executable, "-m", "sparring.cli", *args], capture_output=True, text=True, env=env,
                          timeout=300)
    if check and proc.returncode != 0:
        raise AssertionError(f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
    return proc


@pytest.fixture(scope="module")
def toy_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "ring"
    proc = sparring("train", "toy", "--dataset", "ring", "--steps", "20", "--out", str(out), "--seed", "1", *TINY)
    return out, proc


def test_train_writes_a_run(toy_run):
    out, proc = toy_run
    assert (out / "samples" / "step_0000020.png").is_file()
    assert (out / "checkpoints" / "latest").read_text().strip() == "step_0000020.pt"
    assert "modes" in proc.stdout and "high_quality" in proc.stdout
    assert "seed = 1" in (out / "config.toml").read_text()


def test_resume_extends_a_run(toy_run, tmp_path):
    import shutil

    out = tmp_path / "copy"
    shutil.copytree(toy_run[0], out)
    before = (out / "checkpoints" / "step_0000020.pt").read_bytes()
    proc = sparring("train", "--resume", str(out), "--steps", "30")
    assert "steps 20..30" in proc.stderr  # picks up at the checkpoint, not at step 0
    assert (out / "checkpoints" / "latest").read_text().strip() == "step_0000030.pt"
    assert (out / "checkpoints" / "step_0000020.pt").read_bytes() == before
    logged = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [e["step"] for e in logged if "eval" not in e] == [10, 20, 30]  # appended, steps 1..20 not rerun
    assert [e["step"] for e in logged if "eval" in e] == [20, 30]


def test_sample_writes_through_the_writer_and_raw(toy_run, tmp_path):
    out, _ = toy_run
    proc = sparring("sample", str(out), "-n", "50", "--out", str(tmp_path / "s"), "--raw")
    assert (tmp_path / "s.png").is_file()
    raw = torch.load(tmp_path / "s.pt", weights_only=True)
    assert raw.shape == (50, 2) and torch.isfinite(raw).all()
    assert str(tmp_path / "s.png") in proc.stdout


def test_eval_prints_a_table_beside_real_vs_real(toy_run):
    out, _ = toy_run
    proc = sparring("eval", str(out), "-n", "300")
    header = proc.stdout.splitlines()[0]
    assert "generated" in header and "real vs real" in header
    saved = json.loads((out / "eval.json").read_text())
    assert saved["metrics"]["real/modes"] == 8.0  # real data covers every mode
    assert saved["metrics"]["real/high_quality"] > 99.0


def copy_of_run(toy_run, tmp_path):
    """A copy of the module's toy run without an evaluation file, and its metrics log."""
    import shutil

    out = tmp_path / "copy"
    shutil.copytree(toy_run[0], out)
    (out / "eval.json").unlink(missing_ok=True)  # an earlier test's
    return out, (out / "metrics.jsonl").read_text()


def test_truncated_eval_and_sample_keep_apart_from_the_plain_ones(toy_run, tmp_path):
    out, log = copy_of_run(toy_run, tmp_path)
    proc = sparring("eval", str(out), "-n", "300", "--truncation", "0.5")
    assert "generated" in proc.stdout.splitlines()[0]
    assert "generated from latents cut to [-0.5, 0.5]" in proc.stdout
    saved = json.loads((out / "eval-truncation-0.5.json").read_text())
    assert saved["truncation"] == 0.5 and saved["metrics"]["real/modes"] == 8.0
    assert not (out / "eval.json").exists()  # the report's plain evaluation is not overwritten
    assert (out / "metrics.jsonl").read_text() == log  # nor the run's curves added to
    proc = sparring("sample", str(out), "-n", "8", "--truncation", "0.5", "--raw")
    raw = torch.load(out / "samples" / "sample_step_0000020_truncation_0p5.pt", weights_only=True)
    assert raw.shape == (8, 2) and str(out / "samples" / "sample_step_0000020_truncation_0p5.png") in proc.stdout


def test_d_ranked_eval_and_sample_keep_apart_from_the_plain_ones(toy_run, tmp_path):
    out, log = copy_of_run(toy_run, tmp_path)
    proc = sparring("eval", str(out), "-n", "200", "--d-keep", "0.5")
    assert "generated: the 0.5 share of a larger draw that D rates most real" in proc.stdout
    saved = json.loads((out / "eval-d-keep-0.5.json").read_text())
    assert saved["d_keep"] == 0.5 and saved["metrics"]["real/modes"] == 8.0
    assert not (out / "eval.json").exists() and (out / "metrics.jsonl").read_text() == log
    proc = sparring("sample", str(out), "-n", "8", "--d-keep", "0.5", "--truncation", "2", "--raw")
    raw = torch.load(out / "samples" / "sample_step_0000020_truncation_2_dkeep_0p5.pt", weights_only=True)
    assert raw.shape == (8, 2)
    bad = sparring("sample", str(out), "--d-keep", "3", check=False)
    assert bad.returncode != 0 and "d_keep must be the fraction" in bad.stderr and "Traceback" not in bad.stderr


def test_plugins_lists_the_builtin(tmp_path):
    listing = json.loads(sparring("plugins", "--json").stdout)
    builtin = next(p for p in listing if p["name"] == "builtin")
    assert builtin["distribution"] == "sparring" and "toy" in builtin["registers"]["modality"]
    assert "sparring_losses" in builtin["hooks"]
    text = sparring("plugins").stdout
    assert "loss: minimax, ns, hinge" in text


@pytest.mark.parametrize("args, words", [
    (["train", "toy", "--set", "trainer.stepz=3"], ["trainer.stepz", "trainer.steps"]),
    (["train", "toy", "--dataset", "rign"], ["unknown dataset 'rign'", "did you mean 'ring'"]),
    (["train", "toy", "--config", "/nonexistent/run.toml"], ["/nonexistent/run.toml", "does not exist"]),
    (["train", "toy", "--device", "cuda:7"], ["config key 'device'", "'cuda:7'"]),
    (["train", "toy", "--device", "gpu"], ["config key 'device'", "unknown device 'gpu'"]),
    (["sample", "/nonexistent/run"], ["not a run folder"]),
    (["sample", "/nonexistent/run", "--truncation", "0"], ["truncation must be a positive number", "got 0.0"]),
    (["eval", "/nonexistent/run", "--truncation", "nan"], ["truncation must be a positive number", "got nan"]),
])
def test_bad_input_is_a_message_not_a_traceback(args, words, tmp_path):
    proc = sparring(*args, "--out", str(tmp_path / "x"), check=False) if args[0] == "train" else sparring(*args, check=False)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    for word in words:
        assert word in proc.stderr


def test_corrupt_checkpoint_is_a_clear_error(toy_run, tmp_path):
    import shutil

    out = tmp_path / "broken"
    shutil.copytree(toy_run[0], out)
    (out / "checkpoints" / "step_0000020.pt").write_bytes(b"garbage")
    proc = sparring("sample", str(out), check=False)
    assert proc.returncode == 2 and "cannot be loaded safely" in proc.stderr and "Traceback" not in proc.stderr


def test_config_file_and_overrides(tmp_path):
    cfg = tmp_path / "run.toml"
    cfg.write_text('modality = "toy"\n[trainer]\nsteps = 4\nloss = "hinge"\n[dataset]\nname = "grid"\nsize = 500\n')
    out = tmp_path / "grid"
    sparring("train", "--config", str(cfg), "--out", str(out), "--set", "trainer.lr_d=1e-3", *TINY[:8])
    written = (out / "config.toml").read_text()
    assert 'loss = "hinge"' in written and "lr_d = 0.001" in written and 'name = "grid"' in written
