"""Precision, recall, density and coverage of a generated sample against a real one.

Precision and recall follow Kynkaanniemi et al. 2019 ("Improved precision and recall metric
for assessing generative models"); density and coverage follow Naeem et al. 2020 ("Reliable
fidelity and diversity metrics for generative models"). Every set is represented by the union
of balls around its points, each ball's radius being the distance to the point's k-th nearest
neighbour within the same set.
"""
from __future__ import annotations

import torch


def _as_float64_tensor(x) -> torch.Tensor:
    """Return ``x`` as a float64 tensor, keeping the device of a tensor input."""
    if isinstance(x, torch.Tensor):
        return x.detach().to(torch.float64)
    return torch.as_tensor(x, dtype=torch.float64)


def _row_chunks(n: int, chunk_size: int):
    """Yield slices that cover ``range(n)`` in pieces of at most ``chunk_size`` rows."""
    for start in range(0, n, chunk_size):
        yield slice(start, min(start + chunk_size, n))


def knn_radii(points: torch.Tensor, k: int, chunk_size: int = 1024) -> torch.Tensor:
    """Distance from each row of ``points`` to its k-th nearest other row."""
    radii = torch.empty(points.shape[0], dtype=points.dtype, device=points.device)
    for rows in _row_chunks(points.shape[0], chunk_size):
        dist = torch.cdist(points[rows], points)
        # k + 1 smallest because each point is its own nearest neighbour at distance 0.
        radii[rows] = dist.topk(k + 1, dim=1, largest=False).values[:, -1]
    return radii


def precision_recall_density_coverage(real, fake, k: int = 5, chunk_size: int = 1024) -> dict:
    """PRDC of ``fake`` (M, D) against ``real`` (N, D); returns floats in a dict.

    - precision: share of fake points inside at least one real k-NN ball;
    - recall: share of real points inside at least one fake k-NN ball;
    - density: number of real balls containing each fake point, averaged and divided by k;
    - coverage: share of real balls that contain at least one fake point.

    "Inside" is strict (``distance < radius``), as in the reference implementations.
    Distances are computed ``chunk_size`` rows at a time, so memory grows as
    ``chunk_size * max(N, M)`` rather than ``N * M``.
    """
    real = _as_float64_tensor(real)
    fake = _as_float64_tensor(fake).to(real.device)
    if real.ndim != 2 or fake.ndim != 2 or real.shape[1] != fake.shape[1]:
        raise ValueError(
            f"features must have shapes (N, D) and (M, D), got {tuple(real.shape)} and {tuple(fake.shape)}"
        )
    if not 1 <= k < min(real.shape[0], fake.shape[0]):
        raise ValueError(
            f"k must be in [1, min(N, M) - 1], got k={k} for N={real.shape[0]}, M={fake.shape[0]}"
        )

    real_radii = knn_radii(real, k, chunk_size)
    fake_radii = knn_radii(fake, k, chunk_size)

    fake_in_real_ball = torch.zeros(fake.shape[0], dtype=torch.bool, device=real.device)
    real_balls_per_fake = torch.zeros(fake.shape[0], dtype=torch.float64, device=real.device)
    real_in_fake_ball = torch.empty(real.shape[0], dtype=torch.bool, device=real.device)
    real_ball_covered = torch.empty(real.shape[0], dtype=torch.bool, device=real.device)
    for rows in _row_chunks(real.shape[0], chunk_size):
        dist = torch.cdist(real[rows], fake)  # (chunk, M)
        inside_real = dist < real_radii[rows, None]
        fake_in_real_ball |= inside_real.any(dim=0)
        real_balls_per_fake += inside_real.sum(dim=0)
        real_in_fake_ball[rows] = (dist < fake_radii[None, :]).any(dim=1)
        real_ball_covered[rows] = dist.min(dim=1).values < real_radii[rows]

    return {
        "precision": fake_in_real_ball.double().mean().item(),
        "recall": real_in_fake_ball.double().mean().item(),
        "density": (real_balls_per_fake.mean() / k).item(),
        "coverage": real_ball_covered.double().mean().item(),
    }
