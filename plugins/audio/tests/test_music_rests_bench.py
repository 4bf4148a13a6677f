"""benchmarks/music_rests.py: where a run's voices rest, beside the chorales."""
import runpy
from pathlib import Path

from sparring.config import resolve
from sparring.registry import load_registry
from sparring.train import Trainer

SCRIPT = Path(__file__).resolve().parents[3] / "benchmarks" / "music_rests.py"


def test_table_has_the_data_row_and_one_row_per_run(tmp_path, two_chorales, capsys):
    registry = load_registry()
    out = tmp_path / "run"
    raw = {"modality": "music", "out": str(out),
           "trainer": {"steps": 2, "batch_size": 4, "n_samples": 2, "eval_samples": 8, "n_critic": 1,
                       "progress": False},
           "generator": {"latent_per_part": 4, "channels": 32, "monophonic": True, "rest_gate": True},
           "discriminator": {"channels": 8},
           "dataset": {"max_chorales": 2, "transpose": 1, "workers": 1}}
    Trainer(resolve(raw, registry), registry).train()
    main = runpy.run_path(str(SCRIPT))["main"]
    assert main([str(out), "--samples", "6"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("| rolls | silent steps | tutti rest steps | bars with a rest (S/A/T/B)")
    assert lines[2].startswith("| training data (") and lines[3].startswith(f"| {out} (step 2, 6 phrases) |")
    assert all(line.count("|") == 7 for line in lines)
    # an untrained rest gate rests somewhere: the row is measured, not zeros
    assert lines[3].split("|")[2].strip() != "0.0000"


def test_a_folder_that_is_not_a_run_is_one_line(tmp_path, capsys):
    main = runpy.run_path(str(SCRIPT))["main"]
    assert main([str(tmp_path)]) == 2
    assert f"'{tmp_path}' is not a run folder" in capsys.readouterr().err


def test_a_run_of_another_modality_is_one_line(tmp_path, capsys):
    out = tmp_path / "toy"
    raw = {"modality": "toy", "out": str(out), "trainer": {"steps": 1, "batch_size": 8, "progress": False},
           "generator": {"name": "mlp", "hidden": 8, "layers": 2},
           "discriminator": {"name": "mlp", "hidden": 8, "layers": 2}, "dataset": {"name": "ring", "size": 64}}
    registry = load_registry()
    Trainer(resolve(raw, registry), registry).train()
    main = runpy.run_path(str(SCRIPT))["main"]
    assert main([str(out)]) == 2
    assert f"'{out}' is a toy run, not a music run on piano rolls" in capsys.readouterr().err
