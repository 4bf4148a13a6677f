"""benchmarks/imle_regeneration.py: a sample regenerated in a smaller batch changes where G
has batch norm, and only there."""
from __future__ import annotations

import importlib.util
from pathlib import Path

from sparring.config import resolve
from sparring.registry import load_registry
from sparring.train import Trainer

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def _bench():
    spec = importlib.util.spec_from_file_location("imle_regeneration_bench", BENCHMARKS / "imle_regeneration.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _row(capsys, out):
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("| run | step | pool |")
    cells = [c.strip() for c in lines[2].strip("|").split("|")]
    assert cells[0] == str(out) and cells[1] == "10" and cells[2] == "32 x 4"
    return [float(c) for c in cells[3:]]


def test_regenerated_picks_change_with_batch_norm_and_not_without(tiny_toy, tmp_path, capsys):
    bench = _bench()
    rows = {}
    for batch_norm in (True, False):
        out = tmp_path / f"bn-{batch_norm}"
        raw = tiny_toy(out)
        raw["generator"]["batch_norm"] = batch_norm
        Trainer(resolve(raw, load_registry()), load_registry()).train()
        assert bench.main([str(out), "--batches", "3"]) == 0
        rows[batch_norm] = _row(capsys, out)
    changed, changed_view, near, near_again = rows[True]
    assert changed > 0.5 and changed_view == changed  # no view: the view is the sample itself
    assert near > 0 and near_again > 0
    changed, _, near, near_again = rows[False]
    assert changed == 0 and near == near_again


def test_a_folder_that_is_not_a_run_is_a_clear_error(tmp_path, capsys):
    assert _bench().main([str(tmp_path / "missing")]) == 2
    assert "missing" in capsys.readouterr().err
