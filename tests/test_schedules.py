"""Learning-rate schedules: the pure function, the trainer applying it, exact resume, bad keys."""
from __future__ import annotations

import json
import math

import pytest
import torch

from sparring import hookimpl
from sparring.config import resolve
from sparring.errors import ConfigError
from sparring.registry import load_registry
from sparring.schedules import lr_factor
from sparring.train import Trainer


def test_constant_is_one_everywhere():
    assert {lr_factor("constant", s, 100, 0.5, 0.1) for s in range(100)} == {1.0}


@pytest.mark.parametrize("schedule", ["linear", "cosine"])
def test_decay_holds_until_the_start_then_falls_to_final(schedule):
    factors = [lr_factor(schedule, s, 101, decay_start=0.5, final=0.1) for s in range(101)]
    assert factors[:51] == [1.0] * 51  # steps 0..50: the first half
    assert factors[-1] == pytest.approx(0.1)
    assert all(a >= b for a, b in zip(factors, factors[1:]))
    # Halfway through the decay (step 75): linear and cosine both sit at the midpoint.
    assert factors[75] == pytest.approx(0.55)


def test_cosine_differs_from_linear_between_the_ends():
    lin, cos = lr_factor("linear", 25, 101), lr_factor("cosine", 25, 101)
    assert lin == pytest.approx(0.75)
    assert cos == pytest.approx(0.5 * (1 + math.cos(math.pi / 4)))


def test_unknown_schedule_raises():
    with pytest.raises(ValueError, match="unknown learning-rate schedule 'step'; known: .*linear"):
        lr_factor("step", 5, 10, 0.5)


def test_trainer_applies_the_schedule_to_both_optimizers(registry, tmp_path, tiny_toy):
    raw = tiny_toy(tmp_path / "s", steps=10, log_every=1, lr_g=1e-3, lr_d=2e-3, regularizer="r1",
                   reg_interval=4, lr_schedule="linear", lr_decay_start=0.0, lr_final=0.2)
    trainer = Trainer(resolve(raw, registry), registry)
    trainer.train()
    logs = [json.loads(x) for x in (tmp_path / "s" / "metrics.jsonl").read_text().splitlines()]
    logs = [r for r in logs if "lr_g" in r]
    lr_g = [r["lr_g"] for r in logs]
    assert lr_g[0] == pytest.approx(1e-3) and lr_g[-1] == pytest.approx(2e-4)
    assert all(a > b for a, b in zip(lr_g, lr_g[1:]))
    # D's base rate carries the lazy-penalty correction k / (k + 1).
    assert logs[-1]["lr_d"] == pytest.approx(2e-3 * 4 / 5 * 0.2)


def test_resume_mid_decay_is_bitwise_equal_to_an_uninterrupted_run(tmp_path, tiny_toy):
    class StopAt:
        @hookimpl
        def sparring_step_end(self, trainer, step, logs):
            if step == 6 and trainer.run_dir.name == "half":
                trainer.request_stop("test: stop at 6")

    registry = load_registry(extra_plugins=[("stop", StopAt())], entry_points=False)
    extra = dict(steps=12, checkpoint_every=100, lr_schedule="cosine", lr_decay_start=0.25, lr_final=0.0)
    full = Trainer(resolve(tiny_toy(tmp_path / "full", **extra), registry), registry)
    full.train()
    half = Trainer(resolve(tiny_toy(tmp_path / "half", **extra), registry), registry)
    half.train()
    assert half.step == 6
    resumed = Trainer(resolve(tiny_toy(tmp_path / "half", **extra), registry), registry, resume=True)
    resumed.train()
    assert resumed.step == 12
    for name in ("G", "D"):
        a, b = getattr(full, name).state_dict(), getattr(resumed, name).state_dict()
        for k in a:
            assert torch.equal(a[k], b[k]), f"{name}.{k} differs after resume"
    assert resumed.opt_g.param_groups[0]["lr"] == full.opt_g.param_groups[0]["lr"]


@pytest.mark.parametrize("key, value, match", [
    ("lr_final", 1.5, "trainer.lr_final"),
    ("lr_decay_start", 2.0, "trainer.lr_decay_start"),
    ("lr_final", -0.1, "trainer.lr_final"),
    ("lr_schedule", "cosinus", "trainer.lr_schedule' must be one of .*'cosine', got 'cosinus'"),
])
def test_bad_schedule_keys_are_config_errors(registry, tmp_path, tiny_toy, key, value, match):
    with pytest.raises(ConfigError, match=match):
        resolve(tiny_toy(tmp_path / "bad", **{key: value}), registry)


def test_cuda_graph_refuses_a_schedule_by_name(registry, tmp_path, tiny_toy):
    raw = tiny_toy(tmp_path / "g", cuda_graph=True, lr_schedule="linear")
    with pytest.raises(ConfigError, match="lr_schedule"):
        Trainer(resolve(raw, registry), registry)
