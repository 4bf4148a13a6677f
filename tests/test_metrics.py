"""Known-answer tests for sparring.metrics."""
import math

import numpy as np
import pytest
import torch

from sparring.metrics import frechet as frechet_module
from sparring.metrics.frechet import (
    feature_statistics,
    frechet_distance,
    frechet_distance_from_features,
)
from sparring.metrics.kid import kernel_inception_distance
from sparring.metrics.mixture import grid_centers, mixture_mode_metrics, ring_centers
from sparring.metrics.prdc import precision_recall_density_coverage


def random_rotation(dim, rng):
    q, _ = np.linalg.qr(rng.normal(size=(dim, dim)))
    return q


# ---------------------------------------------------------------- Frechet distance


def test_frechet_diagonal_closed_form():
    rng = np.random.default_rng(0)
    mu1, mu2 = rng.normal(size=6), rng.normal(size=6)
    s1, s2 = rng.uniform(0.1, 3.0, size=6), rng.uniform(0.1, 3.0, size=6)
    expected = np.sum((mu1 - mu2) ** 2) + np.sum(s1 + s2 - 2 * np.sqrt(s1 * s2))
    assert frechet_distance(mu1, np.diag(s1), mu2, np.diag(s2)) == pytest.approx(expected, rel=1e-10)


def test_frechet_shared_eigenbasis_closed_form():
    # Covariances that commute: Tr sqrt(S1 S2) = sum sqrt(a_i b_i) over shared eigenvalues.
    rng = np.random.default_rng(1)
    q = random_rotation(5, rng)
    a, b = rng.uniform(0.2, 2.0, size=5), rng.uniform(0.2, 2.0, size=5)
    s1, s2 = q @ np.diag(a) @ q.T, q @ np.diag(b) @ q.T
    mu1, mu2 = np.zeros(5), np.full(5, 0.5)
    expected = 5 * 0.25 + np.sum(a + b - 2 * np.sqrt(a * b))
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(expected, rel=1e-9)


def test_frechet_non_commuting_2d_closed_form():
    # For a 2x2 matrix with non-negative eigenvalues, Tr sqrt(M) = sqrt(tr M + 2 sqrt(det M)).
    s1 = np.array([[2.0, 0.7], [0.7, 1.0]])
    s2 = np.array([[0.5, -0.2], [-0.2, 3.0]])
    m = s1 @ s2
    tr_sqrt = math.sqrt(np.trace(m) + 2 * math.sqrt(np.linalg.det(m)))
    mu1, mu2 = np.array([1.0, -1.0]), np.array([0.0, 2.0])
    expected = 1.0 + 9.0 + np.trace(s1) + np.trace(s2) - 2 * tr_sqrt
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(expected, rel=1e-9)


def test_frechet_one_dimensional():
    # 1-D: (mu1 - mu2)^2 + (sigma1 - sigma2)^2 with standard deviations sigma.
    assert frechet_distance(1.0, 4.0, -2.0, 9.0) == pytest.approx(9.0 + 1.0)


def test_frechet_from_features_of_known_gaussians():
    rng = np.random.default_rng(2)
    n, dim = 50_000, 4
    mu_a, mu_b = np.zeros(dim), np.array([1.0, 0.0, -1.0, 0.5])
    sd_a, sd_b = np.array([1.0, 2.0, 0.5, 1.0]), np.array([1.5, 1.0, 0.5, 2.0])
    feats_a = mu_a + sd_a * rng.normal(size=(n, dim))
    feats_b = mu_b + sd_b * rng.normal(size=(n, dim))
    expected = np.sum((mu_a - mu_b) ** 2) + np.sum((sd_a - sd_b) ** 2)  # = 2.25 + 1.75
    assert frechet_distance_from_features(feats_a, feats_b) == pytest.approx(expected, abs=0.06)


def test_frechet_identical_features_is_zero_and_symmetric():
    rng = np.random.default_rng(3)
    a = rng.normal(size=(500, 8))
    b = rng.normal(size=(400, 8)) * 1.3 + 0.2
    assert abs(frechet_distance_from_features(a, a)) < 1e-6
    forward, backward = frechet_distance_from_features(a, b), frechet_distance_from_features(b, a)
    assert forward == pytest.approx(backward, rel=1e-8)
    assert frechet_distance_from_features(a, b) > 0.1


def test_feature_statistics_accepts_tensors():
    feats = torch.tensor([[0.0, 1.0], [2.0, 1.0], [4.0, 4.0]])
    mu, sigma = feature_statistics(feats)
    assert mu.dtype == np.float64
    np.testing.assert_allclose(mu, [2.0, 2.0])
    np.testing.assert_allclose(sigma, [[4.0, 3.0], [3.0, 3.0]])  # unbiased (N - 1) covariance


def test_feature_statistics_rejects_bad_shapes():
    with pytest.raises(ValueError, match=r"need at least 2 feature vectors for a covariance, got 1"):
        feature_statistics(np.zeros((1, 3)))
    with pytest.raises(ValueError, match=r"features must have shape \(N, D\), got \(5,\)"):
        feature_statistics(np.zeros(5))
    with pytest.raises(ValueError, match=r"feature dimensions differ: 3 and 2"):
        frechet_distance_from_features(np.zeros((4, 3)), np.zeros((4, 2)))


def test_frechet_retries_with_eps_offset_when_root_is_not_finite(monkeypatch):
    calls = []
    real_sqrtm = frechet_module._sqrtm

    def fake_sqrtm(matrix):
        calls.append(matrix.copy())
        return np.full_like(matrix, np.inf) if len(calls) == 1 else real_sqrtm(matrix)

    monkeypatch.setattr(frechet_module, "_sqrtm", fake_sqrtm)
    s1, s2 = np.diag([1.0, 4.0]), np.diag([4.0, 1.0])
    eps = 1e-2
    value = frechet_distance(np.zeros(2), s1, np.zeros(2), s2, eps=eps)
    assert len(calls) == 2
    np.testing.assert_allclose(calls[1], (s1 + eps * np.eye(2)) @ (s2 + eps * np.eye(2)))
    expected = 10.0 - 2 * 2 * math.sqrt((1 + eps) * (4 + eps))
    assert value == pytest.approx(expected, rel=1e-9)


def test_frechet_large_imaginary_part_raises():
    # Not a covariance: sqrt(diag(1, -1)) = diag(1, i).
    with pytest.raises(ValueError, match="imaginary"):
        frechet_distance(np.zeros(2), np.diag([1.0, -1.0]), np.zeros(2), np.eye(2))


# ---------------------------------------------------------------- KID


def test_kid_linear_kernel_full_set_matches_hand_formula():
    # degree 1, gamma 1, coef0 0: the unbiased MMD^2 is a closed form of sums of the features.
    rng = np.random.default_rng(4)
    x, y = rng.normal(size=(30, 3)), rng.normal(size=(30, 3)) + 0.3
    m = len(x)
    sx, sy = x.sum(0), y.sum(0)
    xx = (sx @ sx - np.sum(x * x)) / (m * (m - 1))
    yy = (sy @ sy - np.sum(y * y)) / (m * (m - 1))
    expected = xx + yy - 2 * (sx @ sy) / m**2
    mean, std = kernel_inception_distance(x, y, num_subsets=3, subset_size=m, degree=1, gamma=1.0, coef0=0)
    assert mean == pytest.approx(expected, rel=1e-10)
    assert std == pytest.approx(0.0, abs=1e-12)  # a full subset is the whole set every time


def test_kid_default_kernel_matches_brute_force():
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(6, 4)), rng.normal(size=(6, 4))

    def k(u, v):
        return (u @ v / 4 + 1) ** 3

    m = 6
    xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(m)) / m**2
    mean, _ = kernel_inception_distance(x, y, num_subsets=2, subset_size=100)  # clipped to 6
    assert mean == pytest.approx(xx + yy - 2 * xy, rel=1e-10)


def test_kid_same_distribution_is_near_zero_and_shift_is_positive():
    rng = np.random.default_rng(6)
    a, b = rng.normal(size=(1000, 16)), rng.normal(size=(1000, 16))
    shifted = rng.normal(size=(1000, 16)) + 1.0
    mean_same, std_same = kernel_inception_distance(a, b, num_subsets=20, subset_size=200)
    mean_shift, std_shift = kernel_inception_distance(a, shifted, num_subsets=20, subset_size=200)
    assert abs(mean_same) < 3 * std_same + 1e-3
    assert mean_shift > 10 * std_shift
    assert mean_shift > 50 * abs(mean_same)


def test_kid_is_deterministic_for_a_seed():
    rng = np.random.default_rng(7)
    a, b = rng.normal(size=(300, 8)), rng.normal(size=(300, 8)) + 0.2
    first = kernel_inception_distance(a, b, num_subsets=10, subset_size=50, seed=3)
    again = kernel_inception_distance(torch.tensor(a), torch.tensor(b), num_subsets=10, subset_size=50, seed=3)
    assert again == first
    assert kernel_inception_distance(a, b, num_subsets=10, subset_size=50, seed=4) != first


# ---------------------------------------------------------------- PRDC


def test_prdc_hand_computed_1d_k1():
    real = torch.tensor([[0.0], [1.0], [2.0], [3.0]])  # k=1 radii: 1, 1, 1, 1
    fake = torch.tensor([[0.5], [10.0]])  # k=1 radii: 9.5, 9.5
    out = precision_recall_density_coverage(real, fake, k=1)
    # precision: only 0.5 lies in a real ball; recall: every real point is within 9.5 of 0.5;
    # density: 0.5 lies in the balls of 0 and 1, 10 in none -> (2 + 0) / 2 / k;
    # coverage: only the balls of 0 and 1 contain a fake point.
    assert out == pytest.approx({"precision": 0.5, "recall": 1.0, "density": 1.0, "coverage": 0.5})


def test_prdc_hand_computed_1d_k2():
    real = torch.tensor([[0.0], [1.0], [2.0], [3.0]])  # k=2 radii: 2, 1, 1, 2
    fake = torch.tensor([[1.5], [10.0], [11.0]])  # k=2 radii: 9.5, 8.5, 9.5
    out = precision_recall_density_coverage(real, fake, k=2)
    # precision: only 1.5 lies in a real ball (in all four of them);
    # recall: every real point is within 1.5 of the fake point 1.5, whose radius is 9.5;
    # density: (4 + 0 + 0) / 3 / k; coverage: every real ball contains 1.5.
    assert out == pytest.approx({"precision": 1 / 3, "recall": 1.0, "density": 2 / 3, "coverage": 1.0})


def test_prdc_identical_sets():
    real = torch.randn(300, 5, generator=torch.Generator().manual_seed(0))
    out = precision_recall_density_coverage(real, real.clone(), k=5)
    assert out["precision"] == 1.0
    assert out["recall"] == 1.0
    assert out["coverage"] == 1.0


def test_prdc_far_apart_sets():
    gen = torch.Generator().manual_seed(1)
    real = torch.randn(200, 4, generator=gen)
    fake = torch.randn(150, 4, generator=gen) + 100.0
    out = precision_recall_density_coverage(real, fake, k=5)
    assert out == {"precision": 0.0, "recall": 0.0, "density": 0.0, "coverage": 0.0}


def test_prdc_half_of_the_modes():
    gen = torch.Generator().manual_seed(2)
    centers = 10.0 * ring_centers(8)
    real = centers.repeat_interleave(100, dim=0) + 0.1 * torch.randn(800, 2, generator=gen)
    fake_centers = centers[::2]  # 4 of the 8 modes
    fake = fake_centers.repeat_interleave(200, dim=0) + 0.1 * torch.randn(800, 2, generator=gen)
    out = precision_recall_density_coverage(real, fake, k=5)
    assert out["precision"] > 0.95
    assert out["recall"] == pytest.approx(0.5, abs=0.05)
    assert out["coverage"] == pytest.approx(0.5, abs=0.05)


def test_prdc_chunking_does_not_change_the_result():
    gen = torch.Generator().manual_seed(3)
    real, fake = torch.randn(97, 3, generator=gen), torch.randn(61, 3, generator=gen) * 1.2
    whole = precision_recall_density_coverage(real, fake, k=3)
    chunked = precision_recall_density_coverage(real.numpy(), fake.numpy(), k=3, chunk_size=7)
    assert chunked == pytest.approx(whole)


@pytest.mark.parametrize("k", [0, 5])
def test_prdc_rejects_bad_k(k):
    with pytest.raises(ValueError, match=rf"k must be in \[1, min\(N, M\) - 1\], got k={k} for N=5, M=6"):
        precision_recall_density_coverage(torch.zeros(5, 2), torch.zeros(6, 2), k=k)


# ---------------------------------------------------------------- mixture metrics


def test_ring_and_grid_centers():
    ring = ring_centers(8, radius=2.0)
    assert ring.shape == (8, 2)
    torch.testing.assert_close(ring.norm(dim=1), torch.full((8,), 2.0))
    torch.testing.assert_close(ring[0], torch.tensor([2.0, 0.0]))
    torch.testing.assert_close(ring[2], torch.tensor([0.0, 2.0]), atol=1e-6, rtol=0)
    grid = grid_centers()
    assert grid.shape == (25, 2)
    assert len({tuple(p) for p in grid.tolist()}) == 25
    assert set(grid.flatten().tolist()) == {-4.0, -2.0, 0.0, 2.0, 4.0}


def test_mixture_all_modes_exact():
    centers = ring_centers(8)
    out = mixture_mode_metrics(centers.repeat(10, 1), centers, std=0.02)
    assert out["modes"] == 8
    assert out["high_quality"] == pytest.approx(100.0)
    assert out["reverse_kl"] == pytest.approx(0.0, abs=1e-12)


def test_mixture_single_mode():
    centers = ring_centers(8)
    out = mixture_mode_metrics(centers[3].repeat(50, 1), centers, std=0.02)
    assert out["modes"] == 1
    assert out["high_quality"] == pytest.approx(100.0)
    assert out["reverse_kl"] == pytest.approx(math.log(8))


def test_mixture_far_points_are_not_high_quality():
    centers = grid_centers()
    samples = torch.full((20, 2), 100.0)
    out = mixture_mode_metrics(samples, centers, std=0.05)
    assert out["modes"] == 0
    assert out["high_quality"] == 0.0
    assert out["reverse_kl"] == float("inf")


def test_mixture_hand_computed_unequal_counts():
    centers = ring_centers(8)
    std = 0.02
    offset = torch.tensor([0.03, 0.0])  # 1.5 std: still high quality at threshold 3
    samples = torch.cat([
        centers[0].repeat(3, 1) + offset,  # 3 high-quality samples at mode 0
        centers[5].repeat(1, 1),  # 1 high-quality sample at mode 5
        centers[2].repeat(4, 1) + torch.tensor([0.0, 0.1]),  # 5 std off mode 2: low quality
    ])
    out = mixture_mode_metrics(samples, centers, std=std)
    assert out["modes"] == 2
    assert out["high_quality"] == pytest.approx(50.0)
    # p = (3/4, 1/4) over the high-quality samples only; KL(p || uniform over 8).
    assert out["reverse_kl"] == pytest.approx(0.75 * math.log(0.75 * 8) + 0.25 * math.log(0.25 * 8))


def test_mixture_threshold_is_applied_to_euclidean_distance():
    centers = torch.zeros(1, 2)
    samples = torch.tensor([[0.2, 0.2], [0.25, 0.25]])  # distances 0.283 and 0.354
    out = mixture_mode_metrics(samples, centers, std=0.1, threshold=3.0)
    assert out["high_quality"] == pytest.approx(50.0)
