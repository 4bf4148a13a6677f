"""The loop: end to end, exact resume, the NaN guard, signals, hooks, options."""
from __future__ import annotations

import json
import os
import signal

import pytest
import torch

from sparring.checkpoint import latest_checkpoint, load_checkpoint
from sparring.config import resolve
from sparring.errors import ConfigError, TrainingDiverged
from sparring.train import Trainer, pack


def run(registry, raw, resume=False):
    trainer = Trainer(resolve(raw, registry), registry, resume=resume)
    metrics = trainer.train()
    return trainer, metrics


def params(module):
    return {k: v.clone() for k, v in module.state_dict().items()}


def test_toy_run_writes_samples_metrics_and_checkpoints(registry, tmp_path, tiny_toy):
    trainer, metrics = run(registry, tiny_toy(tmp_path / "run", steps=10))
    run_dir = tmp_path / "run"
    assert (run_dir / "config.toml").is_file()
    assert sorted(p.name for p in (run_dir / "samples").iterdir()) == ["step_0000005.png", "step_0000010.png"]
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    steps = [r["step"] for r in records if "d_loss" in r]
    assert steps == [5, 10]
    assert all(r["d_loss"] > 0 and r["step_time"] > 0 for r in records if "d_loss" in r)
    assert {"modes", "high_quality", "reverse_kl", "fd"} <= set(metrics)
    assert records[-1]["eval"]["modes"] == metrics["modes"]
    assert latest_checkpoint(run_dir).name == "step_0000010.pt"
    state = load_checkpoint(latest_checkpoint(run_dir))
    assert state["step"] == 10
    ema = trainer.ema.state_dict()
    assert state["G_ema"].keys() == ema.keys()
    for k, v in ema.items():
        assert torch.equal(state["G_ema"][k], v), k


def test_training_moves_toward_the_data(registry, tmp_path, tiny_toy):
    # Fixed seed, a few hundred steps: the generated cloud's Frechet distance to the
    # ring must fall well below that of the untrained generator.
    raw = tiny_toy(tmp_path / "a", steps=300, sample_every=1000, checkpoint_every=1000, ema_halflife=0.0)
    raw["generator"].update(hidden=64)
    raw["discriminator"].update(hidden=64)
    trainer = Trainer(resolve(raw, registry), registry)
    before = trainer.evaluate(500)["fd"]
    after = trainer.train()["fd"]
    assert after < 0.5 * before


@pytest.mark.parametrize("extra", [
    {},
    {"regularizer": "r1", "reg_interval": 3, "n_critic": 2},
    {"grad_accum": 2, "pack": 2, "loss": "rsgan"},
    {"g_steps": 2},
])
def test_resume_is_bitwise_equal_to_an_uninterrupted_run(registry, tmp_path, extra, tiny_toy):
    full, _ = run(registry, tiny_toy(tmp_path / "full", steps=12, checkpoint_every=6, **extra))
    first, _ = run(registry, tiny_toy(tmp_path / "half", steps=6, checkpoint_every=6, **extra))
    second, _ = run(registry, tiny_toy(tmp_path / "half", steps=12, checkpoint_every=6, **extra), resume=True)
    assert second.step == 12
    for name in ("G", "D"):
        a, b = params(getattr(full, name)), params(getattr(second, name))
        assert a.keys() == b.keys()
        for k in a:
            assert torch.equal(a[k], b[k]), f"{name}.{k} differs after resume"
    a, b = params(full.ema.model), params(second.ema.model)
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), f"G_ema.{k} differs after resume"


def test_nan_guard_stops_with_a_clear_message_and_keeps_the_state(recorder, recorder_registry, tmp_path):
    raw = {"modality": "line", "out": str(tmp_path / "nan"),
           "trainer": {"steps": 50, "batch_size": 8, "loss": "always-nan", "nan_patience": 4, "progress": False}}
    trainer = Trainer(resolve(raw, recorder_registry), recorder_registry)
    before = params(trainer.G)
    with pytest.raises(TrainingDiverged, match="4 consecutive steps") as err:
        trainer.train()
    assert trainer.skipped_steps == 4
    for k, v in params(trainer.G).items():
        assert torch.equal(v, before[k])  # skipped steps change nothing
    saved = latest_checkpoint(tmp_path / "nan")
    assert str(saved) in str(err.value)  # the message says where the good state is
    state = load_checkpoint(saved)
    assert state["step"] == trainer.step and state["skipped_steps"] == 4
    assert state["G"].keys() == before.keys()
    for k, v in state["G"].items():
        assert torch.equal(v, before[k])  # the saved state is the last good one
    assert ("exception", "TrainingDiverged") in recorder.calls


@pytest.mark.parametrize("check", [{}, {"fused_optimizer": "yes", "finite_check": "log"}],
                         ids=["per-step check", "on-device check"])
def test_isolated_non_finite_steps_are_skipped_and_counted(registry, tmp_path, monkeypatch, tiny_toy, check):
    trainer = Trainer(resolve(tiny_toy(tmp_path / "r", steps=10, **check), registry), registry)
    original = trainer.loss
    calls = {"n": 0}

    def sometimes_nan(real, fake):
        calls["n"] += 1
        out = original.d_loss(real, fake)
        return out * float("nan") if calls["n"] in (3, 7) else out

    monkeypatch.setattr(trainer, "loss", type(original)(original.name, sometimes_nan, original.g_loss))
    before = params(trainer.D)
    trainer.train()
    assert trainer.step == 10 and trainer.skipped_steps == 2
    assert all(torch.isfinite(p).all() for p in list(trainer.G.parameters()) + list(trainer.D.parameters()))
    assert any(not torch.equal(v, before[k]) for k, v in params(trainer.D).items())


def test_lifecycle_hooks_are_called_in_order(recorder, recorder_registry, tmp_path):
    raw = {"modality": "line", "out": str(tmp_path / "h"),
           "trainer": {"steps": 4, "batch_size": 8, "sample_every": 2, "checkpoint_every": 4, "progress": False}}
    trainer, _ = run(recorder_registry, raw)
    names = recorder.names()
    assert names[0] == "train_start" and names[-1] == "train_end"
    assert names.count("step_end") == 4 and names.count("samples_written") == 2
    written = [c for c in recorder.calls if c[0] == "samples_written"]
    assert written[0][1] == 2 and written[0][2][0].suffix == ".txt" and written[0][2][0].is_file()
    state = load_checkpoint(latest_checkpoint(tmp_path / "h"))
    assert state["plugins"]["recorder"]["n_calls"] > 0
    Trainer(resolve(raw, recorder_registry), recorder_registry, resume=True)
    assert recorder.calls[-1][0] == "checkpoint_load"


def test_conditional_training_with_labels_read_item_by_item(recorder_registry, tmp_path):
    raw = {"modality": "line", "out": str(tmp_path / "c"), "trainer": {"steps": 3, "batch_size": 8, "progress": False}}
    trainer, _ = run(recorder_registry, raw)
    assert trainer.num_classes == 2 and trainer.info.num_classes == 2
    raw["trainer"]["conditional"] = "no"
    raw["out"] = str(tmp_path / "u")
    trainer, _ = run(recorder_registry, raw)
    assert trainer.num_classes is None


def test_conditional_yes_without_labels_is_a_config_error(registry, tmp_path, tiny_toy):
    with pytest.raises(ConfigError, match="no labels"):
        Trainer(resolve(tiny_toy(tmp_path / "x", conditional="yes"), registry), registry)


def test_sigint_saves_a_checkpoint_and_stops_cleanly(recorder, recorder_registry, tmp_path):
    class Interrupter:
        from sparring import hookimpl

        @hookimpl
        def sparring_step_end(self, trainer, step, logs):
            if step == 3:
                os.kill(os.getpid(), signal.SIGINT)

    recorder_registry.pm.register(Interrupter())
    raw = {"modality": "line", "out": str(tmp_path / "s"),
           "trainer": {"steps": 100, "batch_size": 8, "checkpoint_every": 50, "progress": False}}
    trainer = Trainer(resolve(raw, recorder_registry), recorder_registry)
    trainer._hooks["sparring_step_end"] = True
    # The handler in place before training (default_int_handler in a terminal, SIG_IGN in
    # a background job) must be the one in place after it.
    before = signal.getsignal(signal.SIGINT)
    trainer.train()
    assert trainer.step == 3 and trainer._stop_signal == "SIGINT"
    assert load_checkpoint(latest_checkpoint(tmp_path / "s"))["step"] == 3
    assert signal.getsignal(signal.SIGINT) is before


def test_a_failing_hook_keeps_the_runs_checkpoint(recorder, recorder_registry, tmp_path):
    class Failing:
        from sparring import hookimpl

        @hookimpl
        def sparring_step_end(self, trainer, step, logs):
            if step == 4:
                raise RuntimeError("plugin bug")

    recorder_registry.pm.register(Failing(), name="failing")
    raw = {"modality": "line", "out": str(tmp_path / "f"),
           "trainer": {"steps": 100, "batch_size": 8, "checkpoint_every": 50, "progress": False}}
    trainer = Trainer(resolve(raw, recorder_registry), recorder_registry)
    with pytest.raises(RuntimeError, match="plugin bug"):
        trainer.train()
    assert load_checkpoint(latest_checkpoint(tmp_path / "f"))["step"] == 4
    assert ("exception", "RuntimeError") in recorder.calls


def test_lazy_regularization_corrects_lr_and_betas(registry, tmp_path, tiny_toy):
    trainer = Trainer(resolve(tiny_toy(tmp_path / "l", regularizer="r1", reg_interval=4, lr_d=1e-3), registry), registry)
    group = trainer.opt_d.param_groups[0]
    assert group["lr"] == pytest.approx(1e-3 * 4 / 5)
    assert group["betas"][1] == pytest.approx(0.999 ** 0.8)
    trainer.train()
    assert trainer.d_updates == 10
    logs = [json.loads(x) for x in (tmp_path / "l" / "metrics.jsonl").read_text().splitlines() if "reg" in x]
    # Penalty steps are 0, 4, 8: the logged value at step 5 (update 4) is a real penalty.
    assert logs[0]["reg"] > 0


def test_gradient_penalty_and_wasserstein_train(registry, tmp_path, tiny_toy):
    trainer, _ = run(registry, tiny_toy(tmp_path / "w", loss="wasserstein", regularizer="gp", n_critic=3))
    assert trainer.d_updates == 30 and trainer.skipped_steps == 0


def test_g_steps_updates_the_generator_that_many_times_per_step(registry, tmp_path, tiny_toy):
    trainer, _ = run(registry, tiny_toy(tmp_path / "g2", steps=5, g_steps=2, n_critic=3))
    g_state = trainer.opt_g.state[next(trainer.G.parameters())]
    d_state = trainer.opt_d.state[next(trainer.D.parameters())]
    assert int(g_state["step"]) == 10 and int(d_state["step"]) == 15
    assert trainer.d_updates == 15 and trainer.skipped_steps == 0
    # Two updates a step are not one update twice as large: the second sees a new G.
    once, _ = run(registry, tiny_toy(tmp_path / "g1", steps=5, n_critic=3))
    assert not torch.equal(next(trainer.G.parameters()), next(once.G.parameters()))


def test_gradient_clipping_bounds_the_update(registry, tmp_path, tiny_toy):
    trainer = Trainer(resolve(tiny_toy(tmp_path / "g", steps=1, grad_clip=1e-3, lr_d=1.0, optimizer="sgd",
                                       betas_d=[0.0, 0.999]), registry), registry)
    before = torch.cat([p.detach().flatten().clone() for p in trainer.D.parameters()])
    x, y = trainer.stream.next()
    logs = trainer.d_step(x, y)
    after = torch.cat([p.detach().flatten() for p in trainer.D.parameters()])
    assert logs["grad_norm_d"] > 1e-3
    assert (after - before).norm().item() == pytest.approx(1e-3, rel=1e-3)


def test_ema_trails_the_generator(registry, tmp_path, tiny_toy):
    trainer, _ = run(registry, tiny_toy(tmp_path / "e", steps=10, ema_halflife=1e6, ema_rampup=0.0))
    moved = [not torch.equal(a, b) for a, b in zip(trainer.G.parameters(), trainer.ema.model.parameters())]
    assert all(moved)
    trainer, _ = run(registry, tiny_toy(tmp_path / "e2", steps=10, ema_halflife=1e-6, ema_rampup=0.0))
    for a, b in zip(trainer.G.parameters(), trainer.ema.model.parameters()):
        assert torch.allclose(a, b)


def test_sample_draws_from_the_ema_copy_unless_given_a_generator(registry, tmp_path, tiny_toy):
    trainer, _ = run(registry, tiny_toy(tmp_path / "s", steps=10, ema_halflife=1e6, ema_rampup=0.0))
    ema, raw = trainer.sample(64, seed=5), trainer.sample(64, seed=5, generator=trainer.G)
    assert torch.equal(ema, trainer.sample(64, seed=5))  # its own RNG: the same draw again
    assert not torch.allclose(ema, raw)
    z = trainer.latent(64, torch.Generator().manual_seed(5))
    trainer.G.eval()
    with torch.no_grad():
        assert torch.allclose(raw, trainer.G(z))
    assert trainer.G.training is False  # left in the mode it was given in


def test_pack_concatenates_consecutive_samples():
    x = torch.arange(24.0).reshape(4, 3, 2)
    p = pack(x, 2)
    assert p.shape == (2, 6, 2)
    assert torch.equal(p[1, 3:], x[3])


def test_existing_run_needs_resume(tmp_path, capsys):
    from sparring.cli import main

    out = str(tmp_path / "dup")
    assert main(["train", "toy", "--steps", "2", "--out", out, "--set", "trainer.progress=false",
                 "--set", "generator.hidden=8", "--set", "discriminator.hidden=8"]) == 0
    capsys.readouterr()
    assert main(["train", "toy", "--steps", "2", "--out", out]) == 2
    err = capsys.readouterr().err
    assert f"run folder '{out}' already holds checkpoints" in err and f"--resume {out}" in err


def test_unwritable_run_folder_is_reported_before_training(registry, tmp_path, tiny_toy):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    trainer = Trainer(resolve(tiny_toy(blocker / "run"), registry), registry)
    from sparring.errors import SparringError

    with pytest.raises(SparringError, match="not writable"):
        trainer.train()


def test_generator_pretraining_runs_first_with_the_modalitys_loss(recorder_registry, tmp_path):
    import dataclasses

    spec, provider = recorder_registry._specs["modality"]["line"]
    seen = []

    def regression_to_data(G, x, y):
        seen.append(x.shape[0])
        return ((G(torch.randn(x.shape[0], G.latent_dim), y) - x) ** 2).mean()

    recorder_registry._specs["modality"]["line"] = (dataclasses.replace(spec, pretrain_loss=regression_to_data), provider)
    raw = {"modality": "line", "out": str(tmp_path / "p"),
           "trainer": {"steps": 2, "batch_size": 8, "pretrain_steps": 30, "lr_pretrain": 1e-2, "log_every": 10,
                       "progress": False, "conditional": "no"}}
    trainer = Trainer(resolve(raw, recorder_registry), recorder_registry)
    trainer.train()
    assert trainer.pretrain_step == 30 and trainer.step == 2 and len(seen) == 30
    records = [json.loads(x) for x in (tmp_path / "p" / "metrics.jsonl").read_text().splitlines()]
    pre = [r["pretrain_loss"] for r in records if r.get("phase") == "pretrain"]
    assert len(pre) == 3 and pre[-1] < pre[0]  # the pre-training loss fell
    assert load_checkpoint(latest_checkpoint(tmp_path / "p"))["pretrain_step"] == 30


def test_a_plugin_can_stop_the_run_early_with_a_checkpoint(tmp_path, tiny_toy):
    from sparring import hookimpl
    from sparring.registry import load_registry

    class EarlyStop:
        @hookimpl
        def sparring_eval_end(self, trainer, step, metrics):
            if step == 4:
                trainer.request_stop("early stop at step 4")

    registry = load_registry(extra_plugins=[("early", EarlyStop())], entry_points=False)
    trainer = Trainer(resolve(tiny_toy(tmp_path / "e", steps=20, eval_every=2, checkpoint_every=100), registry),
                      registry)
    assert trainer.stopped is None
    trainer.train()
    assert trainer.step == 4 and trainer.stopped == "early stop at step 4"
    assert latest_checkpoint(tmp_path / "e").name == "step_0000004.pt"
    resumed = Trainer(resolve(tiny_toy(tmp_path / "e", steps=6, eval_every=2, checkpoint_every=100), registry),
                      registry, resume=True)
    assert resumed.step == 4 and resumed.stopped is None


def test_a_cuda_index_beyond_the_machines_devices_is_a_config_error(monkeypatch):
    from sparring.train import resolve_device

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    assert resolve_device("cuda:0") == torch.device("cuda:0")
    with pytest.raises(ConfigError, match=r"'cuda:7' but this machine has 1 CUDA device\(s\): cuda:0 to cuda:0"):
        resolve_device("cuda:7")


def test_time_limit_ends_the_run_like_its_last_step(registry, tmp_path, tiny_toy, monkeypatch):
    # A fake clock that advances one second per reading: the 0.2-minute limit (12 s)
    # runs out a few steps in, whatever the machine's speed.
    import sparring.train as train_module

    ticks = iter(range(10**6))
    monkeypatch.setattr(train_module.time, "perf_counter", lambda: float(next(ticks)))
    raw = tiny_toy(tmp_path / "t", steps=1000, time_limit=0.2, sample_every=1000, checkpoint_every=1000)
    trainer = Trainer(resolve(raw, registry), registry)
    metrics = trainer.train()
    assert 1 <= trainer.step < 12 and trainer.out_of_time and trainer.stopped is None
    # ... and finished as the last step would: samples, a checkpoint and the evaluation.
    assert latest_checkpoint(tmp_path / "t").name == f"step_{trainer.step:07d}.pt"
    assert (tmp_path / "t" / "samples" / f"step_{trainer.step:07d}.png").is_file()
    assert "modes" in metrics
    records = [json.loads(line) for line in (tmp_path / "t" / "metrics.jsonl").read_text().splitlines()]
    assert records[-1]["eval"]["modes"] == metrics["modes"]


def test_time_limit_also_bounds_pretraining(recorder_registry, tmp_path, monkeypatch):
    import dataclasses

    import sparring.train as train_module

    spec, provider = recorder_registry._specs["modality"]["line"]
    recorder_registry._specs["modality"]["line"] = (
        dataclasses.replace(spec, pretrain_loss=lambda G, x, y: G(torch.randn(x.shape[0], G.latent_dim), y).pow(2).mean()),
        provider)
    ticks = iter(range(10**6))
    monkeypatch.setattr(train_module.time, "perf_counter", lambda: float(next(ticks)))
    raw = {"modality": "line", "out": str(tmp_path / "p"),
           "trainer": {"steps": 5, "batch_size": 8, "pretrain_steps": 10**6, "time_limit": 0.5,
                       "progress": False, "conditional": "no"}}
    trainer = Trainer(resolve(raw, recorder_registry), recorder_registry)
    trainer.train()
    assert 1 <= trainer.pretrain_step < 30 and trainer.step == 0
    assert load_checkpoint(latest_checkpoint(tmp_path / "p"))["pretrain_step"] == trainer.pretrain_step


def test_time_limit_is_refused_across_ranks(registry, tmp_path, tiny_toy, monkeypatch):
    from sparring import distributed

    monkeypatch.setattr(distributed, "init_from_env",
                        lambda device: distributed.Context(rank=0, world=2, local_rank=0))
    with pytest.raises(ConfigError, match="trainer.time_limit"):
        Trainer(resolve(tiny_toy(tmp_path / "r", time_limit=1.0), registry), registry)
