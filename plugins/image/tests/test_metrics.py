import math

import pytest
import torch

from sparring_image import metrics
from sparring_image.data import build_stacked_mnist, mnist_arrays
from sparring_image.configs import StackedMNISTConfig


@pytest.fixture(scope="module")
def mnist():
    x, y = mnist_arrays("all")
    perm = torch.randperm(len(x), generator=torch.Generator().manual_seed(0))
    return x[perm], y[perm]


def test_classifier_trains_caches_and_keeps_global_rng(throwaway_classifier, tmp_path, monkeypatch):
    tiny_classifier = throwaway_classifier
    monkeypatch.setenv("SPARRING_CACHE", str(tmp_path))
    metrics._LOADED.clear()
    state = torch.get_rng_state()
    model, acc = metrics.load_classifier(tiny_classifier)
    assert torch.equal(torch.get_rng_state(), state)  # training used its own RNG stream
    assert 0.0 <= acc <= 1.0
    files = list((tmp_path / "image").glob("mnist-cnn-*.pt"))
    assert len(files) == 1
    # A fresh process (simulated) loads the cached weights instead of training again.
    metrics._LOADED.clear()
    mtime = files[0].stat().st_mtime_ns
    again, acc2 = metrics.load_classifier(tiny_classifier)
    assert files[0].stat().st_mtime_ns == mtime and acc2 == acc
    x = torch.rand(3, 1, 28, 28) * 2 - 1
    assert torch.equal(model.features(x), again.features(x))


def test_corrupt_cache_is_retrained(throwaway_classifier, tmp_path, monkeypatch):
    monkeypatch.setenv("SPARRING_CACHE", str(tmp_path))
    metrics._LOADED.clear()
    path = metrics._cache_file(throwaway_classifier)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"garbage")
    model, _ = metrics.load_classifier(throwaway_classifier)
    assert path.stat().st_size > 1000  # replaced by real weights
    state = torch.load(path, weights_only=True)
    assert torch.equal(state["state_dict"]["head.weight"], model.head.weight)
    metrics._LOADED.clear()


def test_fd_real_vs_real_small_and_real_vs_noise_large(mnist, tiny_classifier):
    x, _ = mnist
    same = metrics.feature_metrics(x[:1000], x[1000:2000], classifier=tiny_classifier, kid_subsets=10)
    noise = metrics.feature_metrics(torch.rand(1000, 1, 28, 28) * 2 - 1, x[1000:2000],
                                    classifier=tiny_classifier, kid_subsets=10)
    assert same["fd"] < 3 * same["real/fd"] + 1e-3
    assert noise["fd"] > 20 * max(same["fd"], 1e-3)
    assert noise["kid"] > 20 * max(abs(same["kid"]), 1e-4)
    assert abs(same["real/kid"]) < noise["kid"] / 20
    assert same["precision"] > 0.8 and same["recall"] > 0.8 and same["coverage"] > 0.8
    # Noise collapses to one small cluster of features: no recall, no coverage, low density.
    # (Precision alone can stay high when that cluster falls inside a real k-NN ball.)
    assert noise["recall"] < 0.05 and noise["coverage"] < 0.05
    assert noise["density"] < 0.5 * same["density"]
    assert same["is"] > 3 * noise["is"]
    assert same["real/is"] == pytest.approx(noise["real/is"])  # same real halves
    assert 0.5 < same["classifier_acc"] <= 1


def test_feature_metrics_resize_and_rgb(mnist, tiny_classifier):
    x, _ = mnist
    x32 = torch.nn.functional.interpolate(x[:200], size=(32, 32), mode="bilinear")
    feats, probs = metrics.classify(x32.repeat(1, 3, 1, 1), tiny_classifier)
    assert feats.shape == (200, 3 * tiny_classifier.feature_dim)
    assert probs.shape == (200, 3, 10)
    assert torch.allclose(probs.sum(-1), torch.ones(200, 3, dtype=probs.dtype))


def test_too_few_samples(tiny_classifier):
    with pytest.raises(ValueError, match="at least 4"):
        metrics.feature_metrics(torch.zeros(3, 1, 28, 28), torch.zeros(3, 1, 28, 28),
                                classifier=tiny_classifier)


def test_mode_statistics():
    uniform = torch.arange(1000).repeat(3)
    assert metrics.mode_statistics(uniform, 1000) == (1000, pytest.approx(0.0, abs=1e-12))
    single = torch.full((500,), 7)
    modes, kl = metrics.mode_statistics(single, 1000)
    assert modes == 1 and kl == pytest.approx(math.log(1000))
    half = torch.cat([torch.zeros(5, dtype=torch.long), torch.ones(5, dtype=torch.long)])
    assert metrics.mode_statistics(half, 10) == (2, pytest.approx(math.log(5)))


def test_stacked_mnist_modes(tiny_classifier):
    ds = build_stacked_mnist(StackedMNISTConfig(num_samples=3000))
    real = ds.images
    out = metrics.mode_metrics(real[:1500], real[1500:], classifier=tiny_classifier)
    assert out["num_modes"] == 1000
    assert out["modes"] > 500 and out["real/modes"] > 500
    collapsed = real[:1].repeat(1500, 1, 1, 1)
    bad = metrics.mode_metrics(collapsed, real[1500:], classifier=tiny_classifier)
    assert bad["modes"] == 1 and bad["kl"] == pytest.approx(math.log(1000))


def test_gray_modes(mnist, tiny_classifier):
    x, y = mnist
    out = metrics.mode_metrics(x[:500], x[500:1000], classifier=tiny_classifier)
    assert out["num_modes"] == 10 and out["modes"] == 10 and out["kl"] < 0.1
    ones = x[y == 1][:200]
    bad = metrics.mode_metrics(ones, x[:200], classifier=tiny_classifier)
    assert bad["modes"] <= 3 and bad["kl"] > 1.0
