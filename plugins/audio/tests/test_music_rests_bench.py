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


def test_fill_tutti_rests_holds_the_step_before_only_where_every_voice_rests():
    import torch

    fill = runpy.run_path(str(SCRIPT))["fill_tutti_rests"]
    rolls = torch.zeros(1, 2, 6, 3, dtype=torch.uint8)
    rolls[0, 0, :, 1] = 1
    rolls[0, 1, :, 2] = 1
    rolls[0, :, 3] = 0           # both voices rest at step 3: filled from step 2
    rolls[0, 0, 5] = 0           # only voice 0 rests at step 5: left alone
    filled = fill(rolls)
    assert filled[0, 0, 3].tolist() == [0, 1, 0] and filled[0, 1, 3].tolist() == [0, 0, 1]
    assert filled[0, 0, 5].sum() == 0 and torch.equal(filled[:, :, :3], rolls[:, :, :3])
    assert rolls[0, :, 3].sum() == 0  # the input is not changed


def test_critic_and_gate_lines(tmp_path, two_chorales, capsys):
    import torch

    registry = load_registry()
    out = tmp_path / "run"
    raw = {"modality": "music", "out": str(out),
           "trainer": {"steps": 2, "batch_size": 4, "n_samples": 2, "eval_samples": 8, "n_critic": 1,
                       "progress": False, "pack": 2},
           "generator": {"latent_per_part": 4, "channels": 32, "monophonic": True, "rest_gate": True,
                         "tutti_gate": True, "note_grid": 2},
           "discriminator": {"channels": 8, "voices_stream": True},
           "dataset": {"max_chorales": 2, "transpose": 1, "workers": 1}}
    Trainer(resolve(raw, registry), registry).train()
    script = runpy.run_path(str(SCRIPT))
    assert script["main"]([str(out), "--samples", "6", "--critic", "--gates"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[5] == f"{out} (step 2):"
    critic, voices, shared = lines[6:9]
    assert critic.startswith("  critic: ")
    assert voices.startswith("  gates, voices: rest logit 1st / 50th / 99th percentile ")
    # the shared gate starts open (rest logit -2) and two steps move it little
    assert shared.startswith("  gates, shared: ") and shared.endswith("above 0 (rest) in 0.0000 of them")
    # so a voice rests exactly where its own gate says so, and the line counts those decisions
    from sparring.cli import _load_run

    trainer = _load_run(str(out), registry)
    x = trainer.sample(6, seed=1)  # the script's default seed
    silent = (x <= 0).all(-1).float().mean().item()  # per (voice, step); a grid cell's two steps agree
    assert voices.endswith(f"above 0 (rest) in {silent:.4f} of them") and 0 < silent < 1
    # per-step logits swinging +-10 within each grid cell change no decision, nor the line
    swing = torch.tensor([10.0, -10.0]).repeat(8).reshape(1, 1, 16, 1)
    trainer.sampler.rest.register_forward_hook(lambda module, args, out: out + swing)
    assert torch.equal(trainer.sample(6, seed=1), x)
    assert script["gate_lines"](trainer, 6, 1)[0] == voices.strip()
    # D's view of tutti rests: phrases with one, scored as they are and filled
    segments = trainer.dataset.segments.clone()
    segments[:4, :, 8:12] = 0  # four phrases rest all together for a beat
    trainer.dataset.segments = segments
    line = script["critic_lines"](trainer, trainer.sample(4, seed=0))[0]
    assert line.startswith("critic: ") and "real phrases with a tutti rest" in line and "paired change" in line
    n = int(line.split()[1])
    assert n >= 4 and n == int(((~segments.bool().any(-1).any(1)).any(1)
                                & segments.bool()[:, :, 0].any(-1).any(1)).sum())
