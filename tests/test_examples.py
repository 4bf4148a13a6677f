"""Every script in examples/ runs on a tiny setting.

The convention every example follows (plugin authors: yours too):

    python examples/NAME.py --out DIR --steps 2 --tiny

- ``--out DIR``: everything the example writes goes under DIR (it may create DIR);
- ``--steps N``: training steps (2 here: a smoke run, not a quality check);
- ``--tiny``: shrink models and data (and skip metrics that train a feature network) so
  the whole run takes seconds on one CPU core; nothing may download.
- A line ``# requires: sparring_audio`` (comma-separated import names) names the plugins
  the example needs; the test is skipped, with that reason, when one is not installed.

It must exit with status 0 and write at least one file under DIR. Examples run in this
process through ``runpy`` (``__name__ == "__main__"``, ``sys.argv`` set, the working
folder a temporary one): a separate interpreter would pay the torch import each time.
"""
from __future__ import annotations

import re
import runpy
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
SCRIPTS = sorted(EXAMPLES.glob("*.py"))


def required_modules(script: Path) -> list[str]:
    match = re.search(r"^# requires:\s*(.+)$", script.read_text(encoding="utf-8"), flags=re.M)
    return [m.strip() for m in match.group(1).split(",") if m.strip()] if match else []


def test_the_examples_the_docs_promise_exist():
    names = {p.name for p in SCRIPTS}
    assert {"custom_loss_plugin.py", "resume_and_sample.py", "train_mnist.py"} <= names


@pytest.mark.parametrize("script", SCRIPTS, ids=[p.stem for p in SCRIPTS])
def test_example_runs_on_a_tiny_setting(script, tmp_path, monkeypatch):
    for module in required_modules(script):
        pytest.importorskip(module, reason=f"{script.name} needs {module}")
    text = script.read_text(encoding="utf-8")
    for flag in ("--out", "--steps", "--tiny"):
        assert flag in text, f"{script.name} does not take {flag} (see the top of tests/test_examples.py)"
    out = tmp_path / "out"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(sys, "argv", [str(script), "--out", str(out), "--steps", "2", "--tiny"])
    monkeypatch.syspath_prepend(str(EXAMPLES))
    try:
        runpy.run_path(str(script), run_name="__main__")
    except SystemExit as exc:
        assert exc.code in (0, None), f"{script.name} exited with {exc.code}"
    written = [p for p in out.rglob("*") if p.is_file()]
    assert written, f"{script.name} wrote nothing under --out"
    stray = sorted(p.name for p in tmp_path.iterdir() if p != out)
    assert not stray, f"{script.name} wrote {stray} outside --out (in the working folder)"
