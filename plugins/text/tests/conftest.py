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
