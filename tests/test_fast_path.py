"""The GPU fast-path switches, checked on the CPU: fused optimisers, the lazy (on-device)
non-finite check with no host sync in the step, channels-last, and their config errors."""
from __future__ import annotations

import pytest
import torch

from sparring import hookimpl
from sparring.checkpoint import latest_checkpoint, load_checkpoint
from sparring.config import resolve
from sparring.errors import ConfigError, TrainingDiverged
from sparring.registry import load_registry
from sparring.specs import AugmentationSpec
from sparring.train import Trainer

LAZY = {"fused_optimizer": "yes", "finite_check": "log"}


def build(registry, raw, resume=False):
    return Trainer(resolve(raw, registry), registry, resume=resume)


def params(module):
    return {k: v.clone() for k, v in module.state_dict().items()}


def assert_same(a: torch.nn.Module, b: torch.nn.Module):
    pa, pb = params(a), params(b)
    assert pa.keys() == pb.keys()
    for k in pa:
        assert torch.equal(pa[k], pb[k]), k


def test_auto_switches_stay_off_on_the_cpu(registry, tmp_path, tiny_toy):
    trainer = build(registry, tiny_toy(tmp_path / "r"))
    assert not trainer.fused and not trainer.lazy_finite and not trainer.channels_last
    assert trainer.opt_g.defaults.get("fused") in (None, False)


def test_fused_optimizer_is_used_when_asked(registry, tmp_path, tiny_toy):
    trainer = build(registry, tiny_toy(tmp_path / "r", **LAZY))
    assert trainer.fused and trainer.lazy_finite
    assert trainer.opt_g.defaults["fused"] and trainer.opt_d.defaults["fused"]


def test_lazy_check_trains_exactly_like_the_per_step_check(registry, tmp_path, tiny_toy):
    eager = build(registry, tiny_toy(tmp_path / "a", steps=12, fused_optimizer="yes", finite_check="step"))
    eager.train()
    lazy = build(registry, tiny_toy(tmp_path / "b", steps=12, **LAZY))
    lazy.train()
    assert_same(eager.G, lazy.G)
    assert_same(eager.D, lazy.D)
    assert_same(eager.ema.model, lazy.ema.model)


def test_lazy_check_resumes_bitwise(registry, tmp_path, tiny_toy):
    full = build(registry, tiny_toy(tmp_path / "full", steps=12, checkpoint_every=6, **LAZY))
    full.train()
    build(registry, tiny_toy(tmp_path / "half", steps=6, checkpoint_every=6, **LAZY)).train()
    second = build(registry, tiny_toy(tmp_path / "half", steps=12, checkpoint_every=6, **LAZY), resume=True)
    second.train()
    assert_same(full.G, second.G)
    assert_same(full.D, second.D)


def _counting_syncs(monkeypatch):
    """Count the tensor methods that make the host wait for the device."""
    calls = []
    for name in ("item", "tolist", "__bool__", "__float__", "__int__", "cpu", "numpy"):
        original = getattr(torch.Tensor, name)

        def spy(self, *args, _name=name, _original=original, **kwargs):
            calls.append(_name)
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(torch.Tensor, name, spy)
    return calls


@pytest.mark.parametrize("extra", [{}, {"grad_clip": 1.0, "regularizer": "r1", "reg_interval": 1}])
def test_a_lazily_checked_step_never_syncs_with_the_device(registry, tmp_path, tiny_toy, monkeypatch, extra):
    lazy = build(registry, tiny_toy(tmp_path / "lazy", **LAZY, **extra))
    eager = build(registry, tiny_toy(tmp_path / "eager", fused_optimizer="yes", finite_check="step", **extra))
    for trainer in (lazy, eager):
        trainer.stream.next()  # the epoch's permutation is made once, outside the step
    calls = _counting_syncs(monkeypatch)
    for _ in range(3):
        x, _ = lazy.stream.next()
        finite = lazy.d_step(x, None)["finite"] & lazy.g_step(x, None)["finite"]
        lazy._guard(finite)
    assert calls == []
    x, _ = eager.stream.next()
    eager.d_step(x, None)
    eager.g_step(x, None)
    assert calls.count("item") == 2  # the spy does see the per-step check's syncs


def test_lazy_nan_guard_stops_at_the_log_step_with_the_state_kept(recorder_registry, tmp_path):
    raw = {"modality": "line", "out": str(tmp_path / "nan"),
           "trainer": {"steps": 50, "batch_size": 8, "loss": "always-nan", "nan_patience": 4,
                       "log_every": 10, "progress": False, **LAZY}}
    trainer = build(recorder_registry, raw)
    before = params(trainer.G)
    with pytest.raises(TrainingDiverged, match="10 consecutive steps.*read at the log step") as err:
        trainer.train()
    assert trainer.skipped_steps == 10 and trainer.step == 10
    for k, v in params(trainer.G).items():
        assert torch.equal(v, before[k])  # skipped on the device: nothing changed
    saved = latest_checkpoint(tmp_path / "nan")
    assert str(saved) in str(err.value)
    state = load_checkpoint(saved)
    assert state["step"] == 10 and state["skipped_steps"] == 10
    assert state["G"].keys() == before.keys()
    for k, v in state["G"].items():
        assert torch.equal(v, before[k])  # the kept state is the last good one


@pytest.mark.parametrize("trainer_keys, match", [
    ({"channels_last": "yes"}, "trainer.channels_last.*shape"),
    ({"optimizer": "rmsprop", "fused_optimizer": "yes"}, "trainer.fused_optimizer.*rmsprop"),
    ({"finite_check": "log"}, "trainer.finite_check.*fused"),
    ({"compile_mode": "fastest"}, "trainer.compile_mode"),
    ({"cuda_graph": True}, "trainer.cuda_graph.*CUDA device.*finite_check"),
    ({"cuda_graph": True, "compile": True, "compile_mode": "reduce-overhead"},
     "trainer.cuda_graph.*trainer.compile_mode = \"default\""),
])
def test_fast_path_options_that_cannot_apply_are_clear_errors(registry, tmp_path, tiny_toy, trainer_keys, match):
    with pytest.raises(ConfigError, match=match):
        build(registry, tiny_toy(tmp_path / "r", **trainer_keys))


def test_cuda_graph_combines_with_compile_in_its_default_mode(registry, tmp_path, tiny_toy):
    # Only the CPU is missing here: compile in default mode is not among the graph's needs.
    with pytest.raises(ConfigError) as err:
        build(registry, tiny_toy(tmp_path / "r", cuda_graph=True, compile=True))
    assert "CUDA device" in str(err.value) and "compile" not in str(err.value)


class _Augmentations:
    """A throwaway plugin: one augmentation that says it is graph-safe, one that does not."""

    @staticmethod
    def _noisy(cfg):
        return lambda x: x + 0.01 * torch.randn_like(x)

    @hookimpl
    def sparring_augmentations(self):
        safe = self._noisy
        yield AugmentationSpec("noise-unsafe", None, build=self._noisy)
        yield AugmentationSpec("noise-safe", None, build=lambda cfg: type("Safe", (), {
            "graph_safe": True, "__call__": lambda self, x: safe(cfg)(x)})())


def test_cuda_graph_takes_n_critic_g_steps_and_a_graph_safe_augmentation(tmp_path, tiny_toy):
    # On the CPU only the device is missing from the graph's needs: n_critic 2, g_steps 2 and
    # a graph-safe augmentation are allowed; an augmentation that does not say so is named.
    registry = load_registry(extra_plugins=[("augs", _Augmentations())])
    for name, named in (("noise-safe", False), ("noise-unsafe", True)):
        raw = tiny_toy(tmp_path / name, cuda_graph=True, n_critic=2, g_steps=2, **LAZY)
        raw["augment"] = {"name": name}
        with pytest.raises(ConfigError) as err:
            build(registry, raw)
        message = str(err.value)
        assert "CUDA device" in message and "n_critic" not in message and "g_steps" not in message
        assert ("graph_safe ('noise-unsafe'" in message) == named, message
