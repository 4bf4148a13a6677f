"""The text plugin passes the contract every plugin runs on itself (sparring.testing)."""
import pytest

from sparring.testing import contract_test
from sparring_text.data import resolve_path

TINY_GUMBEL = {"latent_dim": 4, "beta_max": 10.0}
LINES = ["a cat sits on the mat .", "a dog runs in the park .", "two birds fly over the sea .",
         "a man rides a red bike .", "the cat sleeps .", "a woman holds an umbrella ."] * 4


def _text_file(tmp_path):
    path = tmp_path / "lines.txt"
    path.write_text("\n".join(LINES) + "\n", encoding="utf-8")
    return {"path": str(path), "max_len": 12, "tokenizer": "word"}


def _coco(tmp_path):
    if not resolve_path("../shared/data/coco_captions/train.txt").is_file():
        pytest.skip("the shared COCO captions are not next to this checkout")
    return {"max_lines": 200, "vocab_size": 300, "max_len": 20}


test_text_contract = contract_test(
    "text",
    overrides={
        "generator:lstm": {**TINY_GUMBEL, "embed_dim": 8, "hidden_dim": 8},
        "generator:gpt2": {**TINY_GUMBEL, "n_embd": 8, "n_layer": 1, "n_head": 2},
        "discriminator:relgan": {"num_rep": 2, "embed_dim": 4, "num_filters": [4, 4, 4, 4], "hidden": 8},
        "discriminator:transformer": {"hidden": 8, "layers": 1, "heads": 2, "intermediate": 16},
        "dataset:oracle": {"vocab_size": 40, "size": 64, "test_size": 16, "seq_len": 8},
        "dataset:text-file": _text_file,
        "dataset:coco": _coco,
    },
)
