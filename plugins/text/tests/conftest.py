import os

import pytest
import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Oracle data go to a per-session temporary cache, never ~/.cache."""
    monkeypatch.setenv("SPARRING_CACHE", str(tmp_path_factory.getbasetemp() / "sparring-cache"))
    yield


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)
    yield


@pytest.fixture(scope="session")
def benchmark_script():
    """``benchmark_script("text")``: a script under benchmarks/ imported as a module."""
    return _import_benchmark


def _import_benchmark(name: str):
    import importlib.util
    from pathlib import Path

    script = Path(__file__).resolve().parents[3] / "benchmarks" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"{name}_bench", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
