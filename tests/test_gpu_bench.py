"""benchmarks/gpu.py runs end to end on the CPU (tiny models) and reports every row."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "gpu.py"


def test_gpu_benchmark_script_runs_on_the_cpu_and_writes_its_rows(tmp_path):
    out = tmp_path / "gpu.json"
    proc = subprocess.run([sys.executable, str(SCRIPT), "--device", "cpu", "--tiny", "--no-compile",
                           "--batches", "8", "--ablation-batch", "8", "--json", str(out)],
                          capture_output=True, text=True, timeout=600, env=dict(os.environ, OMP_NUM_THREADS="1"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    data = json.loads(out.read_text())
    rows = {(r["model"], r["batch"], r["variant"]): r for r in data["results"]}
    assert not [r for r in data["results"] if "error" in r]
    for model in ("DCGAN-64", "SNGAN-32"):
        plain = rows[(model, 8, "plain fp32 eager")]
        ours = rows[(model, 8, "sparring defaults (auto)")]
        assert plain["samples_per_s"] > 0 and ours["samples_per_s"] > 0
        assert plain["flops_per_step"] > 0 and 0 < ours["mfu"] < 1
    fused = rows[("DCGAN-64", 8, "+ fused Adam, no host sync")]
    assert fused["fused"] and fused["lazy_finite"] and fused["precision"] == "bf16"
    assert "| DCGAN-64 | 8 |" in proc.stdout  # the markdown table


def test_a_row_in_its_own_process_reports_its_numbers():
    spec = {"model": "DCGAN-64", "batch": 4, "keys": {}, "device": "cpu", "tiny": True, "warmup": 1, "timed": 2}
    proc = subprocess.run([sys.executable, str(SCRIPT), "--one-row", json.dumps(spec)], capture_output=True,
                          text=True, timeout=300, env=dict(os.environ, OMP_NUM_THREADS="1"))
    assert proc.returncode == 0, proc.stderr
    row = json.loads(proc.stdout.strip().splitlines()[-1])
    assert row["samples_per_s"] > 0 and row["precision"] == "fp32" and not row["compile"]


def test_a_compile_row_past_its_timeout_is_killed_and_the_table_still_prints(tmp_path):
    out = tmp_path / "gpu.json"
    proc = subprocess.run([sys.executable, str(SCRIPT), "--device", "cpu", "--tiny", "--models", "DCGAN-64",
                           "--batches", "8", "--ablation-batch", "8", "--row-timeout", "0.5", "--json", str(out)],
                          capture_output=True, text=True, timeout=600, env=dict(os.environ, OMP_NUM_THREADS="1"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rows = {r["variant"]: r for r in json.loads(out.read_text())["results"]}
    compiled = rows["+ torch.compile (instead of the graph)"]
    assert "timed out after 0.5 s" in compiled["error"]
    assert rows["sparring defaults (auto)"]["samples_per_s"] > 0
    assert "| DCGAN-64 | 8 |" in proc.stdout
