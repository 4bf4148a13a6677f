import pytest
import torch

# The test machines are small and shared: one thread avoids oversubscription.
torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Classifier weights go to a per-session temporary cache, never ~/.cache."""
    cache = tmp_path_factory.getbasetemp() / "sparring-cache"
    monkeypatch.setenv("SPARRING_CACHE", str(cache))
    yield


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)
    yield


@pytest.fixture(scope="session")
def tiny_classifier():
    from sparring_image.configs import ClassifierConfig

    return ClassifierConfig(width=8, feature_dim=32, epochs=2, batch_size=64, lr=3e-3)


@pytest.fixture(scope="session")
def throwaway_classifier():
    """For the cache mechanics only: trains in a second, is not accurate."""
    from sparring_image.configs import ClassifierConfig

    return ClassifierConfig(width=4, feature_dim=8, epochs=1, batch_size=64, train_images=256)
