"""Faults a long run must survive: SIGKILL, crashes mid-checkpoint, full disks, SIGTERM,
hostile checkpoints, and fuzzed configurations."""
from __future__ import annotations

import os
import pickle
import random
import signal
import subprocess
import sys
import time

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sparring import checkpoint as ckpt
from sparring.config import resolve
from sparring.errors import ConfigError, SparringError, UnknownNameError
from sparring.train import Trainer

# Hand-written and fuzzed pickles carry odd protocol numbers; torch warns about them before
# the checks these tests make refuse the file.
pytestmark = pytest.mark.filterwarnings("ignore:Detected pickle protocol:UserWarning")

TINY = ["--set", "generator.hidden=16", "--set", "generator.layers=2", "--set", "discriminator.hidden=16",
        "--set", "discriminator.layers=2", "--set", "dataset.size=2000", "--set", "trainer.progress=false",
        "--set", "trainer.sample_every=100000", "--set", "trainer.checkpoint_every=7",
        "--set", "trainer.eval_every=0", "--set", "trainer.log_every=5", "--batch-size", "32", "--seed", "3"]
STEPS = 200


def train_cmd(out, *extra):
    return [sys.executable, "-m", "sparring.cli", "train", "toy", "--out", str(out), "--steps", str(STEPS),
            *TINY, *extra]


def env():
    return dict(os.environ, OMP_NUM_THREADS="1")


def final_weights(run_dir):
    state = ckpt.load_checkpoint(ckpt.latest_checkpoint(run_dir))
    assert state["step"] == STEPS
    return state


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    out = tmp_path_factory.mktemp("ref") / "run"
    subprocess.run(train_cmd(out), check=True, env=env(), capture_output=True, timeout=600)
    return final_weights(out)


def test_sigkill_at_random_points_then_resume_is_exact(reference, tmp_path):
    rng = random.Random(1234)
    for attempt in range(3):
        out = tmp_path / f"killed{attempt}"
        proc = subprocess.Popen(train_cmd(out), env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 120
        while not (out / "checkpoints" / "latest").exists() and time.time() < deadline:
            if proc.poll() is not None:
                break
            time.sleep(0.01)
        time.sleep(rng.uniform(0.0, 0.4))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        killed_at = ckpt.load_checkpoint(ckpt.latest_checkpoint(out))["step"]
        subprocess.run([sys.executable, "-m", "sparring.cli", "train", "--resume", str(out)], check=True,
                       env=env(), capture_output=True, timeout=600)
        resumed = final_weights(out)
        for part in ("G", "D", "G_ema"):
            for key, value in reference[part].items():
                assert torch.equal(value, resumed[part][key]), f"{part}.{key} differs (killed after step {killed_at})"
        steps = [int(line.split('"step": ')[1].split(",")[0].rstrip("}"))
                 for line in (out / "metrics.jsonl").read_text().splitlines() if '"d_loss"' in line]
        assert steps == sorted(set(steps)), "log records were duplicated by the resume"


def test_sigterm_writes_a_checkpoint_and_exits_cleanly(tmp_path):
    out = tmp_path / "term"
    proc = subprocess.Popen(train_cmd(out, "--set", "trainer.checkpoint_every=100000", "--steps", "100000"),
                            env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while not (out / "metrics.jsonl").exists() and time.time() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 143
    assert "stopped by SIGTERM" in err and "--resume" in err and "Traceback" not in err
    assert ckpt.load_checkpoint(ckpt.latest_checkpoint(out))["step"] > 0


def test_crash_while_writing_a_checkpoint_keeps_the_previous_one(registry, tmp_path, tiny_toy, monkeypatch):
    trainer = Trainer(resolve(tiny_toy(tmp_path / "c", steps=5), registry), registry)
    trainer.train()
    good = ckpt.latest_checkpoint(tmp_path / "c")
    real_save = torch.save

    def dying_save(obj, fh, *a, **k):
        fh.write(b"half a checkpoint")
        raise KeyboardInterrupt  # the process dies mid-write

    monkeypatch.setattr(torch, "save", dying_save)
    trainer.step = 10
    with pytest.raises(KeyboardInterrupt):
        trainer.save_checkpoint()
    monkeypatch.setattr(torch, "save", real_save)
    assert ckpt.latest_checkpoint(tmp_path / "c") == good
    assert ckpt.load_checkpoint(good)["step"] == 5
    assert not [p for p in (tmp_path / "c" / "checkpoints").iterdir() if ".tmp" in p.name]


def test_full_disk_at_a_checkpoint_is_reported_and_keeps_the_last_good(registry, tmp_path, tiny_toy, monkeypatch):
    import errno

    trainer = Trainer(resolve(tiny_toy(tmp_path / "d", steps=5), registry), registry)
    trainer.train()

    def full(obj, fh, *a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(torch, "save", full)
    trainer.step = 10
    with pytest.raises(SparringError, match="No space left on device.*previous checkpoint is kept"):
        trainer.save_checkpoint()
    assert ckpt.load_checkpoint(ckpt.latest_checkpoint(tmp_path / "d"))["step"] == 5


def test_too_little_free_space_is_reported_before_training(registry, tmp_path, tiny_toy, monkeypatch):
    import shutil
    from collections import namedtuple

    trainer = Trainer(resolve(tiny_toy(tmp_path / "e"), registry), registry)
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage(10**9, 10**9 - 1000, 1000))
    with pytest.raises(SparringError, match="MiB free"):
        trainer.train()
    assert trainer.step == 0


class Payload:
    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_a_checkpoint_whose_pickle_runs_code_is_refused(tmp_path):
    victim = tmp_path / "pwned"
    folder = tmp_path / "run" / "checkpoints"
    folder.mkdir(parents=True)
    bad = folder / "step_0000001.pt"
    torch.save({"step": 1, "evil": Payload(str(victim))}, bad)
    (folder / "latest").write_text(bad.name)
    with pytest.raises(SparringError, match="cannot be loaded safely"):
        ckpt.load_checkpoint(ckpt.latest_checkpoint(tmp_path / "run"))
    assert not victim.exists()
    plain = tmp_path / "plain.pt"
    plain.write_bytes(pickle.dumps({"step": 1, "evil": Payload(str(victim))}))
    with pytest.raises(SparringError, match=r"plain\.pt' cannot be loaded safely"):
        ckpt.load_checkpoint(plain)
    assert not victim.exists()


def test_a_latest_pointer_leading_out_of_the_run_is_ignored(tmp_path):
    folder = tmp_path / "run" / "checkpoints"
    folder.mkdir(parents=True)
    torch.save({"step": 3}, folder / "step_0000003.pt")
    outside = tmp_path / "elsewhere.pt"
    torch.save({"step": 99}, outside)
    for pointer in ("../../elsewhere.pt", str(outside), "..", "sub/../../../elsewhere.pt"):
        (folder / "latest").write_text(pointer)
        assert ckpt.latest_checkpoint(tmp_path / "run") == folder / "step_0000003.pt", pointer


SCALARS = st.one_of(st.integers(-5, 10**6), st.floats(allow_nan=True), st.text(max_size=8), st.booleans(),
                    st.lists(st.integers(-3, 3), max_size=3))
KEYS = st.sampled_from(["steps", "batch_size", "lr_g", "betas_d", "loss", "pack", "grad_accum", "precision",
                        "stepz", "regularizer", "n_critic", "ema_halflife", "conditional"])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(trainer=st.dictionaries(KEYS, SCALARS, max_size=4),
       top=st.dictionaries(st.sampled_from(["seed", "device", "modality", "writer", "oops"]), SCALARS, max_size=2),
       generator=st.dictionaries(st.sampled_from(["name", "hidden", "latent_dim", "bogus"]), SCALARS, max_size=2))
def test_fuzzed_configurations_resolve_or_fail_with_a_named_key(registry, trainer, top, generator):
    raw = {"modality": "toy", **top, "trainer": trainer, "generator": generator}
    try:
        cfg = resolve(raw, registry)
    except (ConfigError, UnknownNameError) as exc:
        msg = str(exc)
        # The message names the offending key as written ('trainer.stepz', 'seed', ...) or the unknown value.
        keys = [f"'{k}'" for k in top] + [f"'trainer.{k}'" for k in trainer] + [f"'generator.{k}'" for k in generator]
        names = [f"unknown {kind} '{value}'" for kind, value in (
            ("modality", raw["modality"]), ("writer", top.get("writer")), ("loss", trainer.get("loss")),
            ("regularizer", trainer.get("regularizer")), ("generator", generator.get("name")))]
        if raw["modality"] == "":
            names.append("no modality given")
        assert any(k in msg for k in keys + names), msg
        return
    assert cfg.trainer.steps >= 1 and cfg.trainer.batch_size >= 1


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=300))
def test_fuzzed_config_files_never_crash_the_reader(tmp_path_factory, data):
    from sparring.config import read_toml

    path = tmp_path_factory.mktemp("fuzz") / "run.toml"
    path.write_bytes(data)
    try:
        read_toml(path)
    except ConfigError as exc:
        assert "run.toml" in str(exc)


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=2000))
def test_fuzzed_checkpoint_files_are_refused_cleanly(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("fuzzck") / "step_0000001.pt"
    path.write_bytes(data)
    with pytest.raises(SparringError, match=r"checkpoint '.*step_0000001\.pt' (cannot be loaded safely|is not a sparring)"):
        ckpt.load_checkpoint(path)
