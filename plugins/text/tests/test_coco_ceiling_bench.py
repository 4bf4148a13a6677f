"""benchmarks/coco_ceiling.py: the curated pick trades BLEU for diversity; the table runs."""
from __future__ import annotations

import json

import pytest


@pytest.fixture(scope="module")
def ceiling(benchmark_script):
    return benchmark_script("coco_ceiling")


def test_curated_pick_takes_the_best_scores_without_weight_and_avoids_repeats_with_it(ceiling):
    captions = [["a", "dog", "runs"], ["a", "dog", "runs"], ["a", "dog", "sits"], ["two", "cats", "sleep"]]
    scores = [0.9, 0.9, 0.8, 0.5]
    assert ceiling.curated(captions, scores, [0, 1, 2, 3], 2, weight=0.0) == [0, 1]
    # Weight 1: the copy of caption 0 is fully covered (0.9 - 1.0); "a dog sits" shares 3 of 5
    # grams (0.8 - 0.6); the cat caption shares none (0.5), so it comes second.
    assert ceiling.curated(captions, scores, [0, 1, 2, 3], 2, weight=1.0) == [0, 3]


def test_the_table_marks_random_real_captions_outside_the_goal(ceiling, tmp_path, capsys):
    root = tmp_path / "coco"
    root.mkdir()
    words = ["a", "man", "woman", "dog", "cat", "on", "the", "street", "beach", "with", "red", "kite"]
    lines = [" ".join(words[(i * k) % len(words)] for k in range(1, 7)) + " ." for i in range(60)]
    (root / "train.txt").write_text("\n".join(lines[:40]) + "\n")
    (root / "test.txt").write_text("\n".join(lines[20:]) + "\n")
    out = tmp_path / "rows.jsonl"
    assert ceiling.main(["--coco-root", str(root), "--samples", "10", "--draws", "2", "--keep", "0.5",
                         "--weights", "0.5", "--pool", "12", "--json", str(out)]) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["row"].split(":")[0].split(" (")[0] for r in rows] == ["random", "quality filter", "curated"]
    random_row, filtered = rows[0], rows[1]
    assert random_row["draws"] == 2 and 0.0 < random_row["bleu2"] <= 1.0
    assert filtered["bleu2"] >= random_row["bleu2"]  # the top half by BLEU-2 scores no lower
    assert "| random (2 draws" in capsys.readouterr().out


def test_a_missing_captions_file_is_a_clear_error(ceiling, tmp_path):
    with pytest.raises(SystemExit, match="train.txt not found"):
        ceiling.main(["--coco-root", str(tmp_path)])
