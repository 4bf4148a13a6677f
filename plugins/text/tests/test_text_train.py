"""A few steps of each model on the CPU, through the real loop."""
import json

import pytest
import torch

from sparring.config import resolve
from sparring.registry import load_registry
from sparring.train import Trainer

LINES = ["a cat sits on the mat .", "a dog runs in the park .", "two birds fly over the sea .",
         "a man rides a red bike .", "the cat sleeps .", "a woman holds an umbrella ."] * 6
TINY = {
    "lstm": {"latent_dim": 4, "embed_dim": 8, "hidden_dim": 8},
    "gpt2": {"latent_dim": 4, "n_embd": 8, "n_layer": 1, "n_head": 2},
    "relgan": {"num_rep": 2, "embed_dim": 4, "num_filters": [4, 4, 4, 4], "hidden": 8},
    "transformer": {"hidden": 8, "layers": 1, "heads": 2, "intermediate": 16},
}


@pytest.fixture(scope="module")
def registry():
    return load_registry()


def _raw(tmp_path, g, d, steps=4, **dataset):
    path = tmp_path / "lines.txt"
    path.write_text("\n".join(LINES) + "\n", encoding="utf-8")
    return {"modality": "text", "out": str(tmp_path / "run"), "device": "cpu", "seed": 0,
            "trainer": {"steps": steps, "batch_size": 8, "pretrain_steps": 3, "log_every": 1,
                        "sample_every": steps, "n_samples": 8, "eval_samples": 8, "progress": False,
                        "checkpoint_every": steps},
            "generator": {"name": g, **TINY[g], "schedule": "linear", "beta_max": 5.0},
            "discriminator": {"name": d, **TINY[d.split(":")[0]]},
            "dataset": {"name": "text-file", "path": str(path), "tokenizer": "word", "max_len": 8,
                        "test_fraction": 0.2, **dataset}}


@pytest.mark.parametrize("g,d,arch", [("lstm", "relgan", None), ("gpt2", "transformer", "bert"),
                                      ("lstm", "transformer", "gpt2")])
def test_a_few_steps_of_each_model(tmp_path, registry, g, d, arch):
    raw = _raw(tmp_path, g, d)
    if arch:
        raw["discriminator"]["arch"] = arch
    trainer = Trainer(resolve(raw, registry), registry)
    G0 = {k: v.clone() for k, v in trainer.G.state_dict().items()}
    metrics = trainer.train()
    assert trainer.step == 4
    changed = [k for k, v in trainer.G.state_dict().items() if not torch.equal(v, G0[k])]
    assert changed, "the generator did not learn"
    assert trainer.G.beta == pytest.approx(5.0)  # linear schedule reached beta_max at the end
    assert {"nll_gen", "bleu2", "self_bleu2"} <= set(metrics)
    records = [json.loads(line) for line in (trainer.run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records if r.get("phase") == "pretrain"] == [1, 2, 3]
    assert all(r.get("skipped_steps", 0) == 0 for r in records)
    txt = trainer.run_dir / "samples" / "step_0000004.txt"
    rows = [json.loads(line) for line in txt.with_suffix(".jsonl").read_text().splitlines()]
    assert len(rows) == 8 and txt.read_text().splitlines() == [r["text"] for r in rows]
    tokenizer = trainer.dataset.tokenizer
    assert all(r["text"] == trainer.dataset.decode(r["ids"]) for r in rows)
    # the written text is the sample: it encodes back to the generated ids (up to the first pad)
    from sparring_text.tokenization import encode
    for r in rows:
        ids = r["ids"][:r["ids"].index(0)] if 0 in r["ids"] else r["ids"]
        assert encode(tokenizer, r["text"]) == ids


def test_tokenizer_travels_with_the_run_and_eval_reuses_it(tmp_path, registry):
    raw = _raw(tmp_path, "lstm", "relgan", steps=2, tokenizer="bpe", vocab_size=270, max_len=40)
    first = Trainer(resolve(raw, registry), registry)
    first.train()
    saved = first.run_dir / "tokenizer" / "tokenizer.json"
    assert saved.is_file()
    # The text changes; a resumed run (and `sparring eval`) must still decode with the saved one.
    (tmp_path / "lines.txt").write_text("\n".join(l.upper() for l in LINES) + "\n", encoding="utf-8")
    again = Trainer(resolve(raw, registry), registry, resume=True)
    assert again.config.dataset.params.tokenizer_path == str(saved.parent)
    assert again.dataset.tokenizer.get_vocab() == first.dataset.tokenizer.get_vocab()
    results = again.evaluate(8, reference=True)
    assert "nll_gen" in results and "real/bleu2" in results


def test_straight_through_gpt2_with_hard_feeding_trains(tmp_path, registry):
    raw = _raw(tmp_path, "gpt2", "relgan", steps=2)
    raw["generator"].update(straight_through=True, feed="hard", schedule="exponential")
    trainer = Trainer(resolve(raw, registry), registry)
    trainer.train()
    assert trainer.G.beta == pytest.approx(5.0)
    assert trainer.skipped_steps == 0
