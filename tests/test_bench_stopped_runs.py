"""Benchmark scripts: a run that a signal stopped early records no row (image, medical,
text, audio); the image and audio benchmarks' --set overrides reach the run; the music
table does not count a collapsed run's goal rows."""
from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import pytest

from sparring import hookimpl

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def _load(name):
    spec = importlib.util.spec_from_file_location(f"{name}_bench", BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def bench():
    pytest.importorskip("sparring_image")
    return _load("image")


class _StopAt:
    """Stops the run after ``step`` the way SIGTERM does (checkpoint, then return)."""

    def __init__(self, step):
        self.step = step

    @hookimpl
    def sparring_step_end(self, trainer, step, logs):
        if step == self.step:
            trainer._stop_signal = "the test"


def test_a_run_stopped_early_writes_no_row(bench, tmp_path, monkeypatch, capsys):
    import sparring.registry

    results = tmp_path / "image.jsonl"
    monkeypatch.setattr(bench, "RESULTS", results)
    load = sparring.registry.load_registry

    def load_with_stop(*args, **kwargs):
        registry = load(*args, **kwargs)
        registry.add_plugin(_StopAt(3), name="stop-at-3")
        return registry

    monkeypatch.setattr(sparring.registry, "load_registry", load_with_stop)
    monkeypatch.setitem(bench.RECIPES["dcgan"][0]["trainer"], "batch_size", 8)
    assert bench.main(["--recipes", "dcgan", "--steps", "10"]) == 1
    assert "stopped at step 3 of 10; no row recorded" in capsys.readouterr().err
    assert not results.exists()


@pytest.mark.parametrize("name, argv", [
    ("medical", ["--quick", "--settings", "2d-slices", "--eval-samples", "4"]),
    ("text", ["--only", "oracle", "--pretrain-steps", "2", "--adv-steps", "5", "--samples", "8"]),
    ("audio", ["--only", "music", "--music-steps", "2", "--music-channels", "32", "--music-samples", "8"]),
])
def test_other_benchmarks_refuse_a_stopped_run(name, argv, tmp_path, monkeypatch):
    """A run that a signal ends before its last step (here: before its first) is no row."""
    pytest.importorskip("sparring_audio" if name == "audio" else f"sparring_{name}")
    if name == "audio":
        argv = argv + ["--out", str(tmp_path / "audio")]
    import sparring.train

    module = _load(name)
    if hasattr(module, "RESULTS"):
        monkeypatch.setattr(module, "RESULTS", tmp_path / "results.jsonl")
    monkeypatch.setattr(sparring.train.Trainer, "train", lambda self: {})
    with pytest.raises(SystemExit, match=r"stopped at step 0 of \d+; no rows"):
        module.main(argv)
    assert not (tmp_path / "results.jsonl").exists()
    assert not (tmp_path / "audio" / "music.json").exists()


class _Seen:
    def __init__(self):
        self.trainer_config = None

    @hookimpl
    def sparring_train_start(self, trainer):
        self.trainer_config = trainer.config.trainer


def test_overrides_reach_the_run_and_name_the_row(bench, monkeypatch):
    import sparring.registry

    seen, load = _Seen(), sparring.registry.load_registry

    def load_and_watch(*args, **kwargs):
        registry = load(*args, **kwargs)
        registry.add_plugin(seen, name="seen")
        return registry

    monkeypatch.setattr(sparring.registry, "load_registry", load_and_watch)
    monkeypatch.setitem(bench.RECIPES["dcgan"][0]["trainer"], "batch_size", 8)
    row = bench.run_recipe("dcgan", 3, 200, 0, True, ("trainer.g_steps=2", "trainer.lr_d=1e-4"))
    assert row["recipe"] == "dcgan trainer.g_steps=2 trainer.lr_d=1e-4"
    assert seen.trainer_config.g_steps == 2 and seen.trainer_config.lr_d == 1e-4
    assert bench.RECIPES["dcgan"][0]["trainer"].get("g_steps") is None  # the recipe itself is untouched


def test_a_bad_override_is_one_line(bench, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(bench, "RESULTS", tmp_path / "image.jsonl")
    assert bench.main(["--recipes", "dcgan", "--steps", "2", "--set", "trainer.nope=1"]) == 2
    err = capsys.readouterr().err
    assert "image benchmark: unknown config key 'trainer.nope'" in err and "Traceback" not in err
    assert not (tmp_path / "image.jsonl").exists()


def test_a_time_limited_run_records_the_steps_it_reached(bench, monkeypatch):
    monkeypatch.setitem(bench.RECIPES["dcgan"][0]["trainer"], "batch_size", 8)
    row = bench.run_recipe("dcgan", 10**6, 200, 0, True, time_limit=1e-4)  # 6 ms: a step or two
    assert 1 <= row["steps"] < 10**6 and row["time_limit_min"] == 1e-4
    assert row["fd"] > 0 and row["hardware"] == "cpu"


def test_fd500_scores_real_digits_through_the_recipes_own_resize(bench):
    # A 32 px recipe: held-out digits taken through the same 28 -> 32 -> 28 path score
    # about what they do at 28 px; against raw 28 px digits they would score about 6.
    row = bench.run_recipe("sngan", 2, 500, 0, True)
    assert 0.5 < row["fd500_heldout"] < 2.0
    assert row["fd500"] > row["fd500_heldout"]  # two steps of training are far from the data


def test_the_trajectory_scores_along_the_way_without_changing_training(bench, monkeypatch):
    monkeypatch.setitem(bench.RECIPES["dcgan"][0]["trainer"], "batch_size", 8)
    monkeypatch.setitem(bench.RECIPES["dcgan"][0]["trainer"], "ema_rampup", 0.0)  # EMA trails G
    plain = bench.run_recipe("dcgan", 6, 200, 0, True)
    traced = bench.run_recipe("dcgan", 6, 200, 0, True, eval_every=2)
    # Points before the last step only (the row's own fd500 is the last one).
    assert [p["step"] for p in traced["trajectory"]] == [2, 4]
    assert all(p["fd500"] > traced["fd500_heldout"] for p in traced["trajectory"])
    # The EMA copy samples; the raw G is scored beside it, and differs from it.
    assert all(p["fd500_raw"] > 0 and p["fd500_raw"] != p["fd500"] for p in traced["trajectory"])
    assert traced["fd500_raw"] != traced["fd500"]
    assert "trajectory" not in plain
    # Sampling draws from its own RNG and the classifier is fixed: the same training.
    assert traced["fd500"] == plain["fd500"] and traced["fd"] == plain["fd"]


def test_a_kept_run_resumes_where_it_stopped(bench, tmp_path, monkeypatch):
    monkeypatch.setitem(bench.RECIPES["dcgan"][0]["trainer"], "batch_size", 8)
    first = bench.run_recipe("dcgan", 3, 200, 0, True, keep=tmp_path)
    assert first["steps"] == 3 and "resumed_from" not in first
    assert (tmp_path / "dcgan" / "checkpoints").is_dir()
    second = bench.run_recipe("dcgan", 5, 200, 0, True, keep=tmp_path, resume=True)
    assert second["steps"] == 5 and second["resumed_from"] == 3
    fresh = bench.run_recipe("dcgan", 2, 200, 0, True, keep=tmp_path / "other", resume=True)
    assert fresh["steps"] == 2 and "resumed_from" not in fresh  # nothing to resume: starts anew


def test_resume_needs_keep(bench, capsys):
    with pytest.raises(SystemExit) as exit_info:
        bench.main(["--recipes", "dcgan", "--resume"])
    assert exit_info.value.code == 2 and "--resume needs --keep" in capsys.readouterr().err


def test_an_audio_override_reaches_the_run_and_a_bad_one_is_one_line(tmp_path, capsys):
    pytest.importorskip("sparring_audio")
    audio = _load("audio")
    argv = ["--only", "music", "--music-steps", "2", "--music-channels", "32", "--music-samples", "8",
            "--out", str(tmp_path)]
    assert audio.main(argv + ["--set", "trainer.nope=1"]) == 2
    err = capsys.readouterr().err
    assert "audio benchmark: unknown config key 'trainer.nope'" in err and "Traceback" not in err
    assert audio.main(argv + ["--set", "trainer.loss=wasserstein"]) == 0
    config = (tmp_path / "music" / "config.toml").read_text()
    assert 'loss = "wasserstein"' in config
    assert "trainer.loss=wasserstein" in capsys.readouterr().out  # the table names the override


def test_the_text_benchmark_times_its_first_adversarial_step(capsys):
    """A slow first step (kernel selection on a GPU) shows apart from the phase's total."""
    pytest.importorskip("sparring_text")
    text = _load("text")
    assert text.main(["--only", "oracle", "--pretrain-steps", "2", "--adv-steps", "3", "--samples", "8",
                      "--num-filters", "8", "--num-rep", "2"]) == 0
    out, err = capsys.readouterr()
    assert re.search(r"\[oracle\] first adversarial step: \d+\.\d\d s; all 3: \d+\.\d s", err)
    assert "+3 adv. steps" in out


def test_the_text_benchmark_measures_along_the_adversarial_phase(tmp_path, capsys):
    """--eval-every scores the generator on the way; the training itself is unchanged."""
    pytest.importorskip("sparring_text")
    text = _load("text")
    argv = ["--only", "oracle", "--pretrain-steps", "2", "--adv-steps", "5", "--samples", "8",
            "--num-filters", "8", "--num-rep", "2"]
    assert text.main(argv + ["--json", str(tmp_path / "plain.jsonl")]) == 0
    assert text.main(argv + ["--eval-every", "2", "--json", str(tmp_path / "traced.jsonl")]) == 0
    out = capsys.readouterr().out
    assert "oracle, along the adversarial phase (8 samples a point)" in out
    plain = [json.loads(line) for line in (tmp_path / "plain.jsonl").read_text().splitlines()]
    traced = [json.loads(line) for line in (tmp_path / "traced.jsonl").read_text().splitlines()]
    points = [r for r in traced if r["row"].startswith("adversarial step")]
    assert [p["step"] for p in points] == [2, 4]  # the last step is the GAN row itself
    assert all(p["nll_oracle"] > 0 and p["nll_gen"] > 0 for p in points)
    # The end rows (oracle data, MLE, GAN) are the same numbers with and without the points.
    ends = [r for r in traced if not r["row"].startswith("adversarial step")]
    untimed = [r["row"].rsplit(",", 1)[0] for r in ends]  # a row's name ends with its minutes
    assert untimed == [r["row"].rsplit(",", 1)[0] for r in plain] and len(ends) == 3
    assert [r["nll_oracle"] for r in ends] == pytest.approx([r["nll_oracle"] for r in plain])


def test_the_text_benchmark_measures_the_mle_generator_cooled(tmp_path):
    """--mle-temperatures adds rows of the MLE generator sampled cooler; temperature 1 is the
    MLE row itself, and the generator is restored for the adversarial phase."""
    pytest.importorskip("sparring_text")
    text = _load("text")
    argv = ["--only", "oracle", "--pretrain-steps", "30", "--adv-steps", "2", "--samples", "16",
            "--num-filters", "8", "--num-rep", "2", "--lr-pretrain", "3e-2"]
    assert text.main(argv + ["--json", str(tmp_path / "plain.jsonl")]) == 0
    assert text.main(argv + ["--mle-temperatures", "1,0.25", "--json", str(tmp_path / "swept.jsonl")]) == 0
    plain = [json.loads(line) for line in (tmp_path / "plain.jsonl").read_text().splitlines()]
    swept = {r["row"].rsplit(",", 1)[0]: r for r in
             (json.loads(line) for line in (tmp_path / "swept.jsonl").read_text().splitlines())}
    mle = swept["ours: MLE, 30 steps"]
    at_one = swept["ours: the same MLE sampled at temperature 1"]
    cold = swept["ours: the same MLE sampled at temperature 0.25"]
    assert (at_one["nll_oracle"], at_one["nll_gen"]) == (mle["nll_oracle"], mle["nll_gen"])
    assert cold["nll_oracle"] != mle["nll_oracle"] and cold["nll_gen"] > mle["nll_gen"]
    gan = [r for r in plain if r["row"].startswith("ours: Gumbel GAN")][0]
    after = swept["ours: Gumbel GAN after it, +2 adv. steps"]
    assert (after["nll_oracle"], after["nll_gen"]) == (gan["nll_oracle"], gan["nll_gen"])
    with pytest.raises(SystemExit):
        text.main(argv + ["--mle-temperatures", "0.5,0"])


def test_the_text_trajectory_carries_the_logged_losses(tmp_path, monkeypatch):
    """On log steps a point also holds D's and G's losses; --straight-through reaches G and
    --n-critic and --pack the trainer."""
    pytest.importorskip("sparring_text")
    text = _load("text")
    build, seen = text._config, {}

    def logging_every_step(args, case, out):
        config = build(args, case, out)
        config["trainer"]["log_every"] = 1
        seen.update(config["generator"], n_critic=config["trainer"]["n_critic"], pack=config["trainer"]["pack"])
        return config

    monkeypatch.setattr(text, "_config", logging_every_step)
    assert text.main(["--only", "oracle", "--pretrain-steps", "2", "--adv-steps", "3", "--samples", "8",
                      "--num-filters", "8", "--num-rep", "2", "--straight-through", "--eval-every", "1",
                      "--n-critic", "2", "--anneal-steps", "50", "--pack", "2", "--batch-size", "8",
                      "--json", str(tmp_path / "t.jsonl")]) == 0
    assert seen["straight_through"] is True and seen["n_critic"] == 2 and seen["anneal_steps"] == 50
    assert seen["pack"] == 2
    points = [json.loads(line) for line in (tmp_path / "t.jsonl").read_text().splitlines()
              if json.loads(line)["row"].startswith("adversarial step")]
    assert [p["step"] for p in points] == [1, 2]
    assert all(0 < p["d_loss"] < 10 and p["grad_norm_g"] >= 0 and "g_loss" in p for p in points)


def test_the_music_table_does_not_count_a_collapsed_run(tmp_path):
    audio = _load("audio")
    data = {"empty_bars": 0.003, "used_pitch_classes": 3.316, "qualified_notes": 0.590, "polyphony": 0.0,
            "in_scale": 0.942, "tonal_distance": 0.846, "diversity": 0.954}
    row = {"part": "music", "segments": 3010, "steps": 1500, "train_seconds": 60.0, "device": "cpu",
           "samples": 500, "data": data}
    for name, diversity in (("varied", 0.9), ("collapsed", 0.114)):
        out = tmp_path / name
        out.mkdir()
        generated = {**data, "used_pitch_classes": 3.445, "diversity": diversity}
        (out / "music.json").write_text(json.dumps({**row, "generated": generated}))
        text = audio.table(out)
        assert ("| used_pitch_classes | 3.445 | 3.316 | 4% | met, but collapsed |" in text) == (name == "collapsed")
        assert ("| used_pitch_classes | 3.445 | 3.316 | 4% | met |" in text) == (name == "varied")
        assert ("Collapsed: diversity 0.114" in text) == (name == "collapsed")
    old = {k: v for k, v in data.items() if k != "diversity"}  # a result from before the metric
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "music.json").write_text(json.dumps({**row, "data": old, "generated": old}))
    assert "| qualified_notes | 0.590 | 0.590 | 0% | met |" in audio.table(tmp_path / "old")


def test_the_digit_table_splits_the_score_into_digits_covered_and_doubt(tmp_path):
    audio = _load("audio")
    real = {"digit_is": 9.8, "digit_fd": 4.6, "classifier_acc": 1.0}
    generated = {"digit_is": 3.0, "digit_classes": 9.0, "digit_doubt": 3.0, "digit_fd": 140.0, "classifier_acc": 1.0}
    row = {"part": "specgan", "steps": 9500, "real": real, "generated": generated,
           "real_griffin_lim": {**real, "digit_is": 9.7, "digit_classes": 9.9, "digit_doubt": 1.02}}
    (tmp_path / "specgan.json").write_text(json.dumps(row))
    text = audio.table(tmp_path)
    assert "| specgan | 9500 | 3.00 | 9.00 / 3.00 | 140.0 | 9.80 | 0.31 | 0.66 | 1.000 |" in text
    assert "| real through SpecGAN's spectrogram + Griffin-Lim | | 9.70 | 9.90 / 1.02 | 4.6 |" in text
    old = {k: v for k, v in generated.items() if k not in ("digit_classes", "digit_doubt")}
    (tmp_path / "specgan.json").write_text(json.dumps({"part": "specgan", "steps": 9500, "real": real,
                                                        "generated": old}))
    assert "| specgan | 9500 | 3.00 |  | 140.0 | 9.80 | 0.31 |" in audio.table(tmp_path)  # before the split
    assert "Which digits" not in audio.table(tmp_path)  # nor a breakdown


def test_the_digit_table_says_which_digits_the_clips_are(tmp_path):
    audio = _load("audio")
    metrics = {"digit_is": 3.0, "digit_fd": 140.0, "classifier_acc": 1.0}
    generated = {"shares": [0.5, 0.5] + [0.0] * 8, "confidence": [0.6, 0.8] + [float("nan")] * 8}
    real = {"shares": [0.1] * 10, "confidence": [0.99] * 10}
    row = {"part": "specgan", "steps": 100, "real": metrics, "generated": metrics,
           "digits": {"generated": generated, "real": real}}
    (tmp_path / "specgan.json").write_text(json.dumps(row))
    text = audio.table(tmp_path)
    assert "| specgan (generated) | 50% (0.60) | 50% (0.80) | 0% | 0% |" in text
    assert "| real clips | " + " | ".join(["10% (0.99)"] * 10) + " |" in text


class _Models:
    @hookimpl
    def sparring_train_start(self, trainer):
        self.trainer = trainer


def test_the_conditional_sngan_recipe_trains_conditional_models_at_28_px(bench, monkeypatch):
    import sparring.registry

    seen, load = _Models(), sparring.registry.load_registry

    def load_and_watch(*args, **kwargs):
        registry = load(*args, **kwargs)
        registry.add_plugin(seen, name="models")
        return registry

    monkeypatch.setattr(sparring.registry, "load_registry", load_and_watch)
    row = bench.run_recipe("sngan-cond+ada", 2, 200, 0, True)
    trainer = seen.trainer
    assert trainer.num_classes == 10 and trainer.G.num_classes == 10
    assert trainer.D.embed is not None  # the projection term
    assert trainer.G.widths == [8, 8, 8]  # --quick narrows it (the recipe says 64)
    assert trainer.sample(4, seed=0).shape[-2:] == (28, 28)
    # 28 px: held-out digits are scored without a resize round trip (1.7, not the 32 px 1.2).
    assert 1.5 < row["fd500_heldout"] < 2.0 and row["recipe"] == "sngan-cond+ada"


def test_digit_curves_group_saved_results_by_run_and_plot_them(tmp_path, capsys):
    audio = _load("audio")
    real = {"digit_is": 10.0}
    for name, steps, score in (("w16", 2000, 4.0), ("w16", 500, 3.0), ("w8", 900, 2.5)):
        (tmp_path / f"{name}-{steps}.json").write_text(json.dumps(
            {"part": "specgan", "steps": steps, "generated": {"digit_is": score}, "real": real}))
    (tmp_path / "music.json").write_text(json.dumps({"part": "music", "generated": {"empty_bars": 0.0}}))
    curves = audio.digit_curves(tmp_path)
    assert curves == {"w16": [(500, 0.3), (2000, 0.4)], "w8": [(900, 0.25)]}
    assert audio.main(["--curves", str(tmp_path), "--plot", str(tmp_path / "c.png")]) == 0
    assert "w16: 500 steps 0.30, 2000 steps 0.40" in capsys.readouterr().out
    from PIL import Image

    assert Image.open(tmp_path / "c.png").size == (1080, 432)  # 9 x 3.6 in at 120 dpi: the legend beside the axes
    (tmp_path / "empty").mkdir()
    assert audio.main(["--curves", str(tmp_path / "empty")]) == 2
    assert "no spoken-digit results" in capsys.readouterr().err


def test_d_says_real_compares_training_unseen_and_generated_clips(tmp_path, monkeypatch, capsys):
    pytest.importorskip("sparring_audio")
    import types

    import numpy as np
    import torch

    from sparring_audio import spoken_digits

    audio = _load("audio")
    monkeypatch.setenv("SPARRING_CACHE", str(tmp_path))
    monkeypatch.setattr(spoken_digits, "espeak_binary", lambda: None)
    trainer = types.SimpleNamespace(
        dataset=types.SimpleNamespace(items=torch.full((40, 1, 16384), 0.5), spec_mean=None, spec_std=None),
        config=types.SimpleNamespace(trainer=types.SimpleNamespace(pack=1)), device=torch.device("cpu"),
        d_forward=lambda x: x.mean(dim=(1, 2)) - 0.1)  # "real" where the clip's mean is over 0.1
    assert audio.d_says_real(trainer, torch.zeros(8, 1, 16384)) is None  # no espeak-ng, no unseen file
    assert "D's memorisation not measured" in capsys.readouterr().err
    spoken_digits.unseen_path().parent.mkdir(parents=True)
    spoken_digits.unseen_path().write_bytes(b"not an npz")
    assert audio.d_says_real(trainer, torch.zeros(8, 1, 16384)) is None
    assert "unreadable" in capsys.readouterr().err
    clips = np.zeros((20, 16384), np.int16)
    clips[:5] = 16000  # a quarter of the unseen clips loud enough to pass as real
    np.savez_compressed(spoken_digits.unseen_path(), clips=clips, labels=np.arange(20) % 10)
    generated = torch.cat([torch.ones(6, 1, 16384), torch.zeros(2, 1, 16384)])
    shares = audio.d_says_real(trainer, generated)
    # the loud clips are 0..4, one each of digits 0-4 (of two per digit): logit 16000/32767 - 0.1
    loud = 16000 / 32767 - 0.1
    assert shares.pop("unseen_logit_by_digit") == pytest.approx([(loud - 0.1) / 2] * 5 + [-0.1] * 5)
    assert shares == {"training": 1.0, "unseen": 0.25, "generated": 0.75}
    metrics = {"digit_is": 3.0, "digit_fd": 140.0, "classifier_acc": 1.0}
    by_digit = [2.5, None] + [0.0] * 8  # a result may lack a digit
    (tmp_path / "specgan.json").write_text(json.dumps({"part": "specgan", "steps": 100, "real": metrics,
                                                        "generated": metrics,
                                                        "d_says_real": {**shares, "unseen_logit_by_digit": by_digit}}))
    text = audio.table(tmp_path)
    assert "| specgan | 100% | 25% | 75% |" in text
    assert "| specgan | 2.50 |  | 0.00 | 0.00 |" in text
    # packed, one logit reads two clips of different digits: no per-digit figure
    trainer.config.trainer.pack = 2
    trainer.d_forward = lambda x: x.view(len(x) // 2, -1).mean(1) - 0.1
    assert "unseen_logit_by_digit" not in audio.d_says_real(trainer, generated)


def test_a_run_on_another_spoken_digit_set_is_scored_against_the_standard_set(tmp_path, monkeypatch, capsys):
    pytest.importorskip("sparring_audio")
    import numpy as np

    from sparring_audio import spoken_digits

    audio = _load("audio")
    monkeypatch.setenv("SPARRING_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(spoken_digits, "espeak_binary", lambda: None)  # nothing is built here
    rng = np.random.default_rng(0)

    def clip_file(path, n):
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(path, clips=rng.integers(-3000, 3000, (n, 16384)).astype(np.int16),
                            labels=np.arange(n) % 10)
        return path

    argv = ["--only", "specgan", "--audio-steps", "2", "--dim", "2", "--n-critic", "1", "--audio-samples", "16",
            "--out", str(tmp_path / "out"), "--set", f"dataset.path={clip_file(tmp_path / 'own.npz', 60)}"]
    assert audio.main(argv) == 2  # no standard set to score against, and no espeak-ng to build it
    err = capsys.readouterr().err
    assert "spoken-digits-v1.npz" in err and "build_spoken_digits.py" in err and "Traceback" not in err
    clip_file(spoken_digits.default_path(), 20)
    assert audio.main(argv) == 0
    result = json.loads((tmp_path / "out" / "specgan.json").read_text())
    # 10 = half the standard set's 20 clips; scored against the run's own 60 it would be 16
    assert result["reference"] == "standard spoken-digits set" and result["samples"] == 10
    # The truncation trick scored beside it, from the finished run (no more training); what
    # truncation does to the samples is tested in tests/test_truncation.py.
    from sparring.train import Trainer

    asked, sample = [], Trainer.sample
    monkeypatch.setattr(Trainer, "sample", lambda self, *a, **k: asked.append(k.get("truncation")) or
                        sample(self, *a, **k))
    assert audio.main(argv + ["--truncation", "0.5", "1e-4"]) == 0
    again = json.loads((tmp_path / "out" / "specgan.json").read_text())
    assert again["steps"] == 2 and again["generated"] == result["generated"]
    assert [cut["truncation"] for cut in again["truncated"]] == [0.5, 1e-4] and None in asked
    assert [t for t in asked if t is not None] == [0.5, 1e-4]
    assert all(cut["generated"]["digit_is"] >= 1.0 and len(cut["digits"]["shares"]) == 10
               for cut in again["truncated"])
    out = capsys.readouterr().out
    assert "| specgan, latents cut to ±0.5 | 2 |" in out and "| specgan, latents cut to ±0.0001 | 2 |" in out
    with pytest.raises(SystemExit) as exit_info:  # refused before any training
        audio.main(argv + ["--truncation", "1", "-0.5"])
    assert exit_info.value.code == 2 and "--truncation takes positive numbers, got 1 -0.5" in capsys.readouterr().err
    # D's ranking scored beside it the same way (what it keeps: tests/test_rejection.py)
    kept = []
    monkeypatch.setattr(Trainer, "sample", lambda self, *a, **k: kept.append(k.get("d_keep")) or
                        sample(self, *a, **k))
    assert audio.main(argv + ["--d-keep", "0.5"]) == 0
    ranked = json.loads((tmp_path / "out" / "specgan.json").read_text())["d_ranked"]
    assert [r["d_keep"] for r in ranked] == [0.5] and ranked[0]["drawn"] == 20 and 0.5 in kept
    assert ranked[0]["generated"]["digit_is"] >= 1.0 and len(ranked[0]["digits"]["shares"]) == 10
    assert "| specgan, D's best 10 of 20 | 2 |" in capsys.readouterr().out
    # another draw of the same G, nothing trained: every row's clips come from that seed
    seeds = []
    monkeypatch.setattr(Trainer, "sample", lambda self, *a, **k: seeds.append(k.get("seed")) or
                        sample(self, *a, **k))
    assert audio.main(argv + ["--sample-seed", "7", "--d-keep", "0.5"]) == 0
    other = json.loads((tmp_path / "out" / "specgan.json").read_text())
    assert other["sample_seed"] == 7 and other["steps"] == 2 and 7 in seeds and 1 not in seeds
    for bad, said in ((["--d-keep", "1.5"], "--d-keep takes fractions in (0, 1], got 1.5"),
                      (["--d-keep", "0.5", "--set", "trainer.pack=2"], "a packed D (trainer.pack > 1) cannot")):
        with pytest.raises(SystemExit) as exit_info:  # refused before any training
            audio.main(argv + bad)
        assert exit_info.value.code == 2 and said in capsys.readouterr().err


def test_the_conditional_specgan_row_says_how_often_the_asked_digit_is_heard(tmp_path, monkeypatch, capsys):
    pytest.importorskip("sparring_audio")
    import numpy as np

    from sparring_audio import spoken_digits

    audio = _load("audio")
    monkeypatch.setenv("SPARRING_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(spoken_digits, "espeak_binary", lambda: None)
    rng = np.random.default_rng(0)
    spoken_digits.default_path().parent.mkdir(parents=True)
    np.savez_compressed(spoken_digits.default_path(), clips=rng.integers(-3000, 3000, (40, 16384)).astype(np.int16),
                        labels=np.arange(40) % 10)
    unseen = rng.integers(-3000, 3000, (20, 16384)).astype(np.int16)
    np.savez_compressed(spoken_digits.unseen_path(), clips=unseen, labels=np.arange(20) % 10)
    argv = ["--only", "specgan-cond", "--audio-steps", "2", "--dim", "2", "--n-critic", "1",
            "--audio-samples", "20", "--out", str(tmp_path / "out"), "--set", "trainer.loss=ns",
            "--set", "trainer.regularizer=r1"]
    assert audio.main(argv) == 0
    result = json.loads((tmp_path / "out" / "specgan-cond.json").read_text())
    heard = result["asked_digit_heard"]
    assert len(heard["by_digit"]) == 10 and 0.0 <= heard["agreement"] <= 1.0
    assert heard["agreement"] == pytest.approx(np.nanmean(heard["by_digit"]))  # two clips asked of each digit
    assert set(result["d_says_real"]) == {"training", "unseen", "generated", "unseen_logit_by_digit"}
    out = capsys.readouterr().out
    assert re.search(r"\| specgan-cond \| 2 \| [\d.]+ \| .* \| none \|", out)  # no paper ratio for it
    assert f"| specgan-cond | {100 * heard['agreement']:.0f}% | " in out
