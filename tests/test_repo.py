"""The README's two commands are the ones CI runs."""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def quick_start_commands():
    text = (ROOT / "README.md").read_text()
    section = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    return [block.strip() for block in re.findall(r"```\n(.*?)```", section, flags=re.S)]


def test_readme_has_exactly_two_commands_and_ci_runs_them():
    install, test = quick_start_commands()
    ci = (ROOT / ".ci" / "run").read_text()
    assert test in ci.splitlines()
    install_part = install.split("&& .venv/bin/sparring")[0].strip()
    for piece in install_part.split("&&"):
        assert piece.strip() in ci, piece


def test_requirements_install_every_plugin():
    reqs = (ROOT / "requirements.txt").read_text()
    for plugin in sorted((ROOT / "plugins").glob("*/pyproject.toml")):
        assert f"-e plugins/{plugin.parent.name}" in reqs, plugin.parent.name
