"""benchmarks/text.py's reranked rows: the scores are the samples' own, the best are kept."""
from __future__ import annotations

import pytest
import torch

from sparring.config import resolve
from sparring.registry import load_registry
from sparring.train import Trainer

LINES = ["a cat sits on the mat .", "a dog runs in the park .", "two birds fly over the sea .",
         "a man rides a red bike .", "the cat sleeps .", "a woman holds an umbrella ."] * 6


@pytest.fixture(scope="module")
def bench(benchmark_script):
    return benchmark_script("text")


def tiny_text_run(tmp_path, name: str, **trainer_keys) -> Trainer:
    """A tiny LSTM / RelGAN run on LINES; ``trainer_keys`` override the trainer table."""
    path = tmp_path / "lines.txt"
    path.write_text("\n".join(LINES) + "\n", encoding="utf-8")
    registry = load_registry()
    raw = {"modality": "text", "out": str(tmp_path / name), "device": "cpu", "seed": 0,
           "trainer": {"steps": 2, "batch_size": 8, "pretrain_steps": 5, "progress": False, **trainer_keys},
           "generator": {"name": "lstm", "latent_dim": 4, "embed_dim": 8, "hidden_dim": 8},
           "discriminator": {"name": "relgan", "num_rep": 2, "embed_dim": 4, "num_filters": [4] * 4, "hidden": 8},
           "dataset": {"name": "text-file", "path": str(path), "tokenizer": "word", "max_len": 8,
                       "test_fraction": 0.2}}
    return Trainer(resolve(raw, registry), registry)


@pytest.fixture
def trainer(tmp_path):
    t = tiny_text_run(tmp_path, "run")
    t.pretrain(None)
    return t


def test_scores_are_the_samples_own_nll_up_to_the_first_pad_and_d_logits(bench, trainer):
    ids, scores = bench.scored_samples(trainer, 12, seed=5)
    assert torch.equal(ids, trainer.sample(12, seed=5).argmax(-1))  # the same draw as sample()
    # Step by step, independently of teacher forcing: -log p of each token until the pad.
    G = trainer.sampler
    G.eval()
    z = trainer.latent(12, torch.Generator().manual_seed(5))
    with torch.no_grad():
        inp, state = G.begin(z)
        logp = []
        for t in range(ids.shape[1]):
            logits, state = G.step(inp, state)
            logp.append(torch.log_softmax(logits, -1).gather(1, ids[:, t:t + 1])[:, 0])
            inp = torch.nn.functional.embedding(ids[:, t], G.embedding)
        logp = torch.stack(logp, 1)
        expected = []
        for row, lp in zip(ids.tolist(), logp):
            end = row.index(0) + 1 if 0 in row else len(row)
            expected.append(-lp[:end].mean())
        assert torch.allclose(scores["nll"], torch.stack(expected), atol=1e-5)
        onehot = torch.nn.functional.one_hot(ids, G.vocab_size).float()
        trainer.D.eval()
        assert torch.allclose(scores["d"], -trainer.D(onehot).mean(-1), atol=1e-5)


def test_reranking_keeps_the_lowest_scores_of_the_pool(bench, trainer, monkeypatch):
    import sparring_text.metrics as metrics

    seen = []

    def words_of(dataset, ids):  # records which samples were kept
        seen.append(ids.clone())
        return [["a", "cat"]] * len(ids)

    monkeypatch.setattr(metrics, "_words", words_of)
    rows = bench.measure_reranked(trainer, 6, [1.0, 0.5], ["nll"])
    assert [name for name, _ in rows] == ["reranked by own NLL, best 6 of 6", "reranked by own NLL, best 6 of 12"]
    ids, scores = bench.scored_samples(trainer, 12, trainer.config.seed + 2)
    assert sorted(map(tuple, seen[0].tolist())) == sorted(map(tuple, ids[:6].tolist()))
    best = scores["nll"].argsort(stable=True)[:6]
    assert torch.equal(seen[1], ids[best])
    assert all(0.0 <= row["bleu2"] <= 1.0 and "self_bleu2" in row for _, row in rows)


def test_mode_seeking_option_reaches_the_config_and_spreads_gumbel_samples(bench, tmp_path, monkeypatch):
    """``--mode-seeking W`` sets trainer.mode_seeking; on text the term reads G's relaxed
    one-hots, and its gradient moves G where the adversarial loss alone does not."""
    import json

    captured = {}

    def no_training(args, case, registry, trajectory=None):
        captured["args"] = args
        return []

    monkeypatch.setattr(bench, "run_case", no_training)
    assert bench.main(["--only", "coco", "--mode-seeking", "0.001"]) == 0
    config = bench._config(captured["args"], "coco", str(tmp_path))
    assert config["trainer"]["mode_seeking"] == 0.001

    runs = {}
    for name, weight in (("plain", 0.0), ("ms", 0.001)):
        t = tiny_text_run(tmp_path, name, pretrain_steps=3, log_every=1, mode_seeking=weight,
                          sample_every=100, checkpoint_every=100)
        t.metrics = []
        t.train()
        runs[name] = t
    records = [json.loads(x) for x in (tmp_path / "ms" / "metrics.jsonl").read_text().splitlines()]
    values = [r["mode_seeking"] for r in records if "mode_seeking" in r]
    assert values and all(v > 0 for v in values)
    assert any(not torch.equal(a, b) for a, b in zip(runs["plain"].G.parameters(), runs["ms"].G.parameters()))
