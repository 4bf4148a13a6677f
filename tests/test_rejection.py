"""Discriminator rejection sampling as a top-k: keep the share of a larger draw D rates most real."""
from __future__ import annotations

import math

import pytest
import torch

from sparring.config import resolve
from sparring.errors import ConfigError
from sparring.rejection import candidates, check_d_keep, keep_most_real
from sparring.train import Trainer


def test_keep_most_real_takes_the_highest_logits_in_draw_order():
    logits = torch.tensor([0.1, 2.0, -1.0, 3.0, 0.5, 2.0])
    assert keep_most_real(logits, 3).tolist() == [1, 3, 5]
    assert keep_most_real(logits, 6).tolist() == list(range(6))  # keeping all changes nothing
    assert keep_most_real(logits.view(6, 1), 1).tolist() == [3]
    with pytest.raises(ValueError, match="cannot keep 7 of 6"):
        keep_most_real(logits, 7)


def test_conditional_ranking_stays_within_each_class_and_keeps_the_class_order():
    # drawn as classes 0, 1, 2, 0, 1, 2, ...: D prefers class 2 overall, yet each class keeps its share
    labels = torch.arange(12) % 3
    logits = torch.tensor([0.0, 5.0, 9.0, 1.0, 4.0, 8.0, 2.0, 6.0, 7.0, 3.0, 3.5, 9.5])
    chosen = keep_most_real(logits, 5, labels, 3)
    assert labels[chosen].tolist() == [0, 1, 2, 0, 1]  # position i holds class i % 3
    # two slots each for classes 0 and 1, one for 2: class 0's best two are draws 9 (3.0) and
    # 6 (2.0), class 1's are 7 (6.0) and 1 (5.0), class 2's best is 11 (9.5)
    assert sorted(chosen[labels[chosen] == 0].tolist()) == [6, 9]
    assert sorted(chosen[labels[chosen] == 1].tolist()) == [1, 7]
    assert chosen[labels[chosen] == 2].tolist() == [11]
    with pytest.raises(ValueError, match="num_classes"):
        keep_most_real(logits, 5, labels)


def test_candidates_is_enough_to_keep_n():
    assert candidates(500, 0.5) == 1000
    assert candidates(3, 0.3) == 10  # not 11 from 10.000000000000002
    assert candidates(10, 0.75) == 14
    assert candidates(7, 1.0) == 7


@pytest.mark.parametrize("bad", [0, -0.5, 1.5, math.nan, math.inf, True, "0.5"])
def test_a_bad_share_is_a_config_error(bad):
    with pytest.raises(ConfigError, match=r"d_keep must be the fraction of drawn samples to keep, in \(0, 1\]"):
        check_d_keep(bad)


def ring_trainer(tiny_toy, tmp_path, registry, steps=400, **trainer_extra):
    raw = tiny_toy(tmp_path / "run", steps=steps, log_every=50, eval_every=-1, sample_every=1000,
                   checkpoint_every=1000, eval_samples=400, **trainer_extra)
    raw["generator"]["hidden"] = raw["discriminator"]["hidden"] = 64
    trainer = Trainer(resolve(raw, registry), registry)
    trainer.train()
    return trainer


def test_ranked_samples_are_the_drawn_ones_d_rates_most_real(tiny_toy, tmp_path, registry):
    trainer = ring_trainer(tiny_toy, tmp_path, registry)
    drawn = trainer.sample(400, seed=5)
    kept = trainer.sample(100, seed=5, d_keep=0.25)
    logits = trainer.d_logits(drawn)
    assert trainer.D.training  # d_logits puts D back as it was
    top = logits.argsort(descending=True)[:100].sort().values
    assert torch.equal(kept, drawn[top])
    assert trainer.d_logits(kept).min() >= logits.quantile(0.75) - 1e-6  # the top quarter
    assert torch.equal(trainer.sample(100, seed=5, d_keep=1.0), trainer.sample(100, seed=5))  # keep all: plain


def test_ranked_evaluation_scores_the_ranked_samples_and_is_not_logged(tiny_toy, tmp_path, registry, monkeypatch):
    trainer = ring_trainer(tiny_toy, tmp_path, registry)
    log = tmp_path / "run" / "metrics.jsonl"
    plain = trainer.evaluate(400)
    logged = log.read_text()
    asked = []
    sample = Trainer.sample
    monkeypatch.setattr(Trainer, "sample", lambda self, *a, **k: asked.append(k.get("d_keep")) or sample(self, *a, **k))
    ranked = trainer.evaluate(400, d_keep=0.25)
    assert asked[0] == 0.25 and ranked != plain
    assert log.read_text() == logged  # the run's curves hold training's evaluations only
    with pytest.raises(ConfigError, match="d_keep"):
        trainer.evaluate(400, d_keep=2.0)


def test_a_packed_d_cannot_rank(tiny_toy, tmp_path, registry, monkeypatch):
    trainer = ring_trainer(tiny_toy, tmp_path, registry, steps=4, pack=2)
    drawn = []
    sample = Trainer.sample
    monkeypatch.setattr(Trainer, "sample", lambda self, *a, **k: drawn.append(a) or sample(self, *a, **k))
    with pytest.raises(ConfigError, match="'trainer.pack' is 2: D judges that many samples together"):
        trainer.sample(8, d_keep=0.5)
    assert len(drawn) == 1  # refused before the candidates were drawn
    with pytest.raises(ConfigError, match="'trainer.pack' is 2"):
        trainer.d_logits(torch.zeros(4, 2))


def test_conditional_ranking_keeps_the_asked_classes(tmp_path, recorder_registry):
    raw = {"modality": "line", "out": str(tmp_path / "line"), "seed": 0,
           "trainer": {"steps": 30, "batch_size": 16, "eval_every": -1, "sample_every": 1000,
                       "checkpoint_every": 1000, "progress": False}}
    trainer = Trainer(resolve(raw, recorder_registry), recorder_registry)
    trainer.train()
    assert trainer.num_classes == 2
    drawn = trainer.sample(20, seed=3)  # classes 0, 1, 0, 1, ...
    labels = torch.arange(20) % 2
    logits = trainer.d_logits(drawn, labels)
    kept = trainer.sample(10, seed=3, d_keep=0.5)
    for c in (0, 1):
        best = (labels == c).nonzero().flatten()[logits[labels == c].argsort(descending=True)[:5]].sort().values
        assert torch.equal(kept[c::2], drawn[best])


def test_the_ring_benchmark_scores_plain_and_ranked_samples(tmp_path, capsys):
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "rejection.py"
    spec = importlib.util.spec_from_file_location("rejection_bench", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    scores = bench.score_run("best", "ring", 30, 0, [0.5], tmp_path / "run")
    assert set(scores) == {None, 0.5} and scores[None] != scores[0.5]
    assert all(0 <= s["modes"] <= 8 and s["fd"] >= 0 for s in scores.values())
    text = bench.table({("best", "ring", 30): [scores, scores]}, [0.5], 2)
    assert f"| best, ring, 30 | 1 | {scores[None]['modes']:.2f} |" in text
    assert f"| best, ring, 30 | 0.5 | {scores[0.5]['modes']:.2f} |" in text
    with pytest.raises(SystemExit):
        bench.main(["--keeps", "0.5,2"])
    assert "--keeps takes fractions in (0, 1], got '0.5,2'" in capsys.readouterr().err
