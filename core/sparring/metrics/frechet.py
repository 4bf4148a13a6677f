"""Frechet distance between Gaussians fitted to feature sets (the FID formula)."""
from __future__ import annotations

import warnings

import numpy as np
from scipy import linalg


def as_float64_array(x) -> np.ndarray:
    """Return ``x`` (numpy array, torch tensor or sequence) as a float64 numpy array."""
    # Duck-typed so this module does not need to import torch.
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    return np.asarray(x, dtype=np.float64)


def _sqrtm(matrix: np.ndarray) -> np.ndarray:
    """Principal square root; singular input is reported through non-finite entries."""
    with warnings.catch_warnings():
        # The caller checks the result for finiteness and retries, so the warning is noise.
        warnings.simplefilter("ignore", linalg.LinAlgWarning)
        return linalg.sqrtm(matrix)


def frechet_distance(mu1, sigma1, mu2, sigma2, eps: float = 1e-6) -> float:
    """Frechet distance ``||mu1-mu2||^2 + Tr(S1 + S2 - 2 sqrt(S1 S2))`` between two Gaussians.

    Computed in float64. When ``sqrt(S1 S2)`` is not finite (near-singular product),
    ``eps * I`` is added to both covariances and the root is recomputed. A tiny imaginary
    part left by numerical error is dropped; a large one raises ``ValueError``.
    """
    mu1, mu2 = np.atleast_1d(as_float64_array(mu1)), np.atleast_1d(as_float64_array(mu2))
    sigma1, sigma2 = np.atleast_2d(as_float64_array(sigma1)), np.atleast_2d(as_float64_array(sigma2))
    if mu1.ndim != 1 or mu1.shape != mu2.shape:
        raise ValueError(f"mean vectors must be 1-D of equal length, got {mu1.shape} and {mu2.shape}")
    dim = mu1.shape[0]
    if sigma1.shape != (dim, dim) or sigma2.shape != (dim, dim):
        raise ValueError(
            f"covariances must have shape ({dim}, {dim}), got {sigma1.shape} and {sigma2.shape}"
        )

    diff = mu1 - mu2
    covmean = _sqrtm(sigma1 @ sigma2)
    if not np.isfinite(covmean).all():
        offset = np.eye(dim) * eps
        covmean = _sqrtm((sigma1 + offset) @ (sigma2 + offset))
    if np.iscomplexobj(covmean):
        max_imag = np.max(np.abs(np.diagonal(covmean).imag))
        if max_imag > 1e-3:
            raise ValueError(f"sqrt(S1 S2) has a large imaginary component ({max_imag:g})")
        covmean = covmean.real

    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * np.trace(covmean))


def feature_statistics(features) -> tuple[np.ndarray, np.ndarray]:
    """Mean (D,) and unbiased covariance (D, D) of ``features`` of shape (N, D), N >= 2, in float64."""
    feats = as_float64_array(features)
    if feats.ndim != 2:
        raise ValueError(f"features must have shape (N, D), got {feats.shape}")
    if feats.shape[0] < 2:
        raise ValueError(f"need at least 2 feature vectors for a covariance, got {feats.shape[0]}")
    mu = feats.mean(axis=0)
    # atleast_2d: np.cov returns a 0-d array when D == 1.
    sigma = np.atleast_2d(np.cov(feats, rowvar=False))
    return mu, sigma


def frechet_distance_from_features(feats_a, feats_b) -> float:
    """Frechet distance between Gaussians fitted to two (N, D) feature sets."""
    mu_a, sigma_a = feature_statistics(feats_a)
    mu_b, sigma_b = feature_statistics(feats_b)
    if mu_a.shape != mu_b.shape:
        raise ValueError(f"feature dimensions differ: {mu_a.shape[0]} and {mu_b.shape[0]}")
    return frechet_distance(mu_a, sigma_a, mu_b, sigma_b)
