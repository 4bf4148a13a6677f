import pytest
import torch


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Conversions, renders and classifiers go to a per-session cache, never ~/.cache."""
    monkeypatch.setenv("SPARRING_CACHE", str(tmp_path_factory.getbasetemp() / "sparring-cache"))
    yield


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)
    yield


@pytest.fixture(scope="session")
def two_chorales(tmp_path_factory):
    """The first two corpus chorales converted (bwv269 is 3/4 and skipped, bwv347 kept)."""
    import os

    from sparring_audio import pianoroll

    old = os.environ.get("SPARRING_CACHE")
    os.environ["SPARRING_CACHE"] = str(tmp_path_factory.getbasetemp() / "sparring-cache")
    try:
        return pianoroll.chorale_rolls(max_chorales=2, workers=1, progress=False)
    finally:
        if old is None:
            os.environ.pop("SPARRING_CACHE")
        else:
            os.environ["SPARRING_CACHE"] = old
