"""Kernel Inception Distance: unbiased MMD^2 with a polynomial kernel, over random subsets."""
from __future__ import annotations

import numpy as np

from .frechet import as_float64_array


def _polynomial_kernel(x: np.ndarray, y: np.ndarray, degree: int, gamma: float, coef0: float) -> np.ndarray:
    """Kernel matrix ``(gamma x.y + coef0) ** degree``."""
    return (gamma * (x @ y.T) + coef0) ** degree


def _unbiased_mmd2(k_xx: np.ndarray, k_yy: np.ndarray, k_xy: np.ndarray) -> float:
    """Unbiased MMD^2 from kernel matrices of two equally sized samples."""
    m = k_xx.shape[0]
    # The diagonals k(x_i, x_i) are left out of the within-set means: that removes the bias.
    xx = (k_xx.sum() - np.trace(k_xx)) / (m * (m - 1))
    yy = (k_yy.sum() - np.trace(k_yy)) / (m * (m - 1))
    return float(xx + yy - 2.0 * k_xy.mean())


def kernel_inception_distance(
    feats_a,
    feats_b,
    num_subsets: int = 100,
    subset_size: int = 1000,
    degree: int = 3,
    gamma: float | None = None,
    coef0: float = 1,
    seed: int = 0,
) -> tuple[float, float]:
    """Mean and standard deviation of the unbiased MMD^2 between (N, D) feature sets.

    The kernel is ``k(x, y) = (gamma x.y + coef0) ** degree`` with ``gamma = 1 / D`` by default.
    Each of ``num_subsets`` rounds draws ``subset_size`` rows without replacement from each set
    (clipped to the smaller set size); the draws depend only on ``seed``.
    """
    a, b = as_float64_array(feats_a), as_float64_array(feats_b)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"features must have shapes (N, D) and (M, D), got {a.shape} and {b.shape}")
    if num_subsets < 1:
        raise ValueError(f"num_subsets must be >= 1, got {num_subsets}")
    m = min(subset_size, a.shape[0], b.shape[0])
    if m < 2:
        raise ValueError(f"need subsets of at least 2 rows, got {m}")
    if gamma is None:
        gamma = 1.0 / a.shape[1]

    rng = np.random.default_rng(seed)
    values = np.empty(num_subsets)
    for i in range(num_subsets):
        x = a[rng.choice(a.shape[0], m, replace=False)]
        y = b[rng.choice(b.shape[0], m, replace=False)]
        values[i] = _unbiased_mmd2(
            _polynomial_kernel(x, x, degree, gamma, coef0),
            _polynomial_kernel(y, y, degree, gamma, coef0),
            _polynomial_kernel(x, y, degree, gamma, coef0),
        )
    return float(values.mean()), float(values.std())
