"""Metrics respond to what they measure: diversity, distribution shift, intensities."""
from __future__ import annotations

import pytest
import torch

from sparring_medical import metrics
from sparring_medical.configs import FeatureNetConfig, PhantomConfig
from sparring_medical.data import build_phantoms

TINY_AE = FeatureNetConfig(width=4, feature_dim=8, steps=150, batch_size=16, lr=5e-3)


@pytest.fixture(scope="module")
def phantoms2d():
    return build_phantoms(PhantomConfig(num=64, dims=2, size=16, seed=1))


@pytest.mark.parametrize("size", [16, 32, 64, 197])
def test_ms_ssim_setup_is_accepted_by_monai(size):
    kernel, weights = metrics.ms_ssim_setup(size)
    assert kernel >= 3 and abs(sum(weights) - 1) < 1e-9
    x = torch.rand(2, 1, size, size) * 2 - 1
    assert 0 <= metrics.pairwise_ms_ssim(x) <= 1


def test_ms_ssim_diversity(phantoms2d):
    x = phantoms2d.tensors[0]
    collapsed = x[:1].repeat(16, 1, 1, 1)
    assert metrics.pairwise_ms_ssim(collapsed) == pytest.approx(1.0, abs=1e-4)
    assert metrics.pairwise_ms_ssim(x[:16]) < 0.9
    volumes = build_phantoms(PhantomConfig(num=4, dims=3, size=16)).tensors[0]
    assert metrics.ms_ssim_metrics(volumes)["ms_ssim"] < 1.0


def test_mmd_and_histograms_see_a_shift(phantoms2d):
    x = phantoms2d.tensors[0]
    a, b = x[:32], x[32:]
    same = metrics.voxel_mmd(a, b)
    shifted = metrics.voxel_mmd((a + 0.5).clamp(-1, 1), b)
    assert shifted > 10 * abs(same) and shifted > 0.05
    assert metrics.histogram_w1(a.flatten(), a.flatten()) == 0.0
    # Every value moved up by 0.25 (128 bins over [-1, 1]: exact multiples of 1/64).
    values = torch.linspace(-0.9, 0.5, 1000)
    assert metrics.histogram_w1(values + 0.25, values) == pytest.approx(0.25, abs=0.02)
    hist = metrics.histogram_metrics(a, b)
    assert set(hist) == {"hist_w1", "hist_w1_fg"} and hist["hist_w1"] < 0.1


def test_autoencoder_features_are_cached_and_separate_real_from_noise(phantoms2d, monkeypatch):
    x = phantoms2d.tensors[0]
    out = metrics.feature_metrics(x[:32], x[32:], phantoms2d, cfg=TINY_AE)
    noise = metrics.feature_metrics(torch.rand(32, 1, 16, 16) * 2 - 1, x[32:], phantoms2d, cfg=TINY_AE)
    assert noise["ae_fd"] > 2 * out["ae_fd"] and noise["ae_rec"] > out["ae_rec"]
    cached = list(metrics.cache_dir().glob("ae-*.pt"))
    assert len(cached) == 1
    # A fresh process would read the file: no second training.
    metrics._LOADED.clear()
    monkeypatch.setattr(metrics, "_train_autoencoder", lambda *a: pytest.fail("trained again"))
    again = metrics.feature_metrics(x[:32], x[32:], phantoms2d, cfg=TINY_AE)
    assert again["ae_fd"] == pytest.approx(out["ae_fd"])


def test_autoencoder_training_leaves_the_global_rng_alone(phantoms2d):
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    metrics.load_autoencoder(phantoms2d.tensors[0][:20], FeatureNetConfig(width=4, feature_dim=8, steps=3))
    assert torch.equal(torch.rand(3), expected)


def test_3d_autoencoder_shapes():
    model = metrics.FeatureAutoencoder((1, 16, 16, 16), width=4, feature_dim=8)
    x = torch.rand(2, 1, 16, 16, 16)
    assert model(x).shape == x.shape and model.features(x).shape == (2, 8)
