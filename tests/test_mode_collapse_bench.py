"""The mode-collapse benchmark script: runs append results, reruns resume, the table."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "mode_collapse.py"


@pytest.fixture
def mc(monkeypatch):
    spec = importlib.util.spec_from_file_location("mode_collapse_bench", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    tiny = {
        "modality": "toy",
        "trainer": {"batch_size": 32, "ema_halflife": 100.0},
        "generator": {"name": "mlp", "hidden": 16, "layers": 2, "batch_norm": False},
        "discriminator": {"name": "mlp", "hidden": 16, "layers": 2},
    }
    monkeypatch.setitem(module.RECIPES, "tiny", {"title": "tiny", "config": tiny, "steps": {"ring": 20, "grid": 20}})
    return module


def test_runs_are_appended_and_a_rerun_skips_them(mc, tmp_path, capsys):
    results = tmp_path / "results.jsonl"
    argv = ["--recipes", "tiny", "--datasets", "ring", "--seeds", "2", "--workers", "1",
            "--results", str(results), "--plots", str(tmp_path / "plots"), "--work", str(tmp_path / "work")]
    assert mc.main(argv) == 0
    assert not any((tmp_path / "work").iterdir())  # recorded runs leave no folder behind
    records = [json.loads(line) for line in results.read_text().splitlines()]
    assert [(r["recipe"], r["dataset"], r["seed"], r["steps"]) for r in records] == [
        ("tiny", "ring", 0, 20), ("tiny", "ring", 1, 20)]
    assert all(0 <= r["modes"] <= 8 and 0 <= r["high_quality"] <= 100 for r in records)
    assert records[0]["sampler"] == "ema" and records[0]["ms_per_step"] > 0
    # Evaluations along the way (every 20 // 8 = 2 steps), before the final one.
    steps = [p["step"] for p in records[0]["trajectory"]]
    assert steps == list(range(2, 20, 2))
    assert all(0 <= p["modes"] <= 8 and 0 <= p["high_quality"] <= 100 for p in records[0]["trajectory"])
    assert (tmp_path / "plots" / "tiny-ring-s0-20.png").is_file()  # seed 0 only
    assert not (tmp_path / "plots" / "tiny-ring-s1-20.png").exists()
    out = capsys.readouterr().out
    assert "published: GAN (PacGAN paper)" in out and "ours: tiny" in out and "(n=2 of 10)" in out
    assert "--recipes tiny --datasets ring --seeds 10" in out

    # A killed run leaves half a line: it is skipped, and nothing finished is redone.
    with open(results, "a") as fh:
        fh.write('{"recipe": "tiny", "dat')
    assert mc.main(argv + ["--seeds", "3"]) == 0
    seeds = [r["seed"] for r in mc.load_results(results)]
    assert seeds == [0, 1, 2]

    # The trajectory table: one line per evaluation step, the last the final value.
    table = mc.format_trajectories(mc.load_results(results), ["tiny"]).splitlines()
    assert [line.split(" | ")[2] for line in table[2:]] == [str(s) for s in range(2, 21, 2)]
    assert all(line.split(" | ")[3] == "3" for line in table[2:])
    finals = [r for r in mc.load_results(results)]
    mean_hq = sum(r["high_quality"] for r in finals) / 3
    assert table[-1].split(" | ")[5].startswith(f"{mean_hq:.1f}")


def test_table_mean_standard_error_and_stale_fingerprints(mc):
    fp = mc.fingerprint("tiny", "ring")
    recs = [{"recipe": "tiny", "dataset": "ring", "seed": s, "steps": 20, "fingerprint": fp,
             "modes": m, "high_quality": hq, "reverse_kl": kl, "sampler": "G", "ms_per_step": 1.0}
            for s, (m, hq, kl) in enumerate([(8, 98.0, 0.01), (6, 96.0, 0.03)])]
    stale = dict(recs[0], seed=5, fingerprint="old", modes=1)
    rows = mc.current_rows(mc.summarize(recs + [stale]))
    assert len(rows) == 1 and rows[0]["n"] == 2 and not rows[0]["all_modes"]
    mean, se = rows[0]["modes"]
    assert mean == 7.0 and se == pytest.approx(1.0)
    table = mc.format_table(recs + [stale])
    assert "7.00 ± 1.00 (n=2 of 10)" in table and "97.0 ± 1.0" in table and "0.020 ± 0.010" in table


def test_fingerprint_changes_with_the_recipe_but_not_the_steps(mc, monkeypatch):
    before = mc.fingerprint("tiny", "ring")
    assert mc.run_config("tiny", "ring", 3, 50, "x")["trainer"]["steps"] == 50
    monkeypatch.setitem(mc.RECIPES["tiny"]["config"]["trainer"], "lr_g", 1e-3)
    assert mc.fingerprint("tiny", "ring") != before
    assert mc.fingerprint("gan", "ring") != mc.fingerprint("gan", "grid")


def test_a_stopped_run_continues_from_its_checkpoint(mc, tmp_path, monkeypatch):
    """A run stopped mid-way (a signal, a session's end) is checkpointed in its work folder;
    the next call continues it, and the result equals an uninterrupted run's."""
    from sparring.train import Trainer

    def job(work):
        return {"recipe": "tiny", "dataset": "ring", "seed": 3, "steps": 20,
                "fingerprint": mc.fingerprint("tiny", "ring"), "work_dir": str(work), "device": "cpu"}

    whole = mc.train_one(job(tmp_path / "whole"))
    assert whole["resumed_from"] == 0

    step = Trainer.train_step

    def stop_at_step_11(self):
        if self.step == 11:
            self.request_stop("test")
        return step(self)

    monkeypatch.setattr(Trainer, "train_step", stop_at_step_11)
    interrupted = job(tmp_path / "cut")
    assert mc.train_one(interrupted) is None
    assert list((mc.run_dir(interrupted) / "checkpoints").iterdir())  # the stop left a checkpoint
    monkeypatch.setattr(Trainer, "train_step", step)
    resumed = mc.train_one(interrupted)
    assert resumed["resumed_from"] == 12
    for key in ("modes", "high_quality", "reverse_kl"):
        assert resumed[key] == pytest.approx(whole[key])
    assert resumed["trajectory"] == whole["trajectory"]

    # Once recorded, the run's folder is removed; the results file holds it.
    results = tmp_path / "results.jsonl"
    argv = ["--recipes", "tiny", "--datasets", "ring", "--seeds", "1", "--first-seed", "3", "--workers", "1",
            "--results", str(results), "--plots", str(tmp_path / "plots"), "--work", str(tmp_path / "cut")]
    assert mc.main(argv) == 0
    assert not mc.run_dir(interrupted).exists()
    assert [r["seed"] for r in mc.load_results(results)] == [3]
