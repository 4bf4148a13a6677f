"""Mode-collapse metrics for 2-D Gaussian mixtures (the VEEGAN / PacGAN protocol)."""
from __future__ import annotations

import math

import torch


def ring_centers(n_modes: int = 8, radius: float = 1.0) -> torch.Tensor:
    """Mode centres (n_modes, 2) on a circle, at angles ``2 pi k / n_modes``."""
    angles = 2 * math.pi * torch.arange(n_modes, dtype=torch.float64) / n_modes
    return (radius * torch.stack([angles.cos(), angles.sin()], dim=1)).to(torch.get_default_dtype())


def grid_centers(values=(-4, -2, 0, 2, 4)) -> torch.Tensor:
    """Mode centres (len(values)**2, 2) on the grid ``values x values``."""
    v = torch.as_tensor(values, dtype=torch.get_default_dtype())
    return torch.cartesian_prod(v, v)


def mixture_mode_metrics(samples, centers, std: float, threshold: float = 3.0) -> dict:
    """Modes captured, share of high-quality samples and reverse KL for mixture samples.

    Each sample is assigned to its nearest centre (Euclidean distance). A sample is
    *high quality* when that distance is ``<= threshold * std``. Returns:

    - ``modes``: number of centres that are the nearest centre of at least one
      high-quality sample;
    - ``high_quality``: percentage (0-100) of all samples that are high quality;
    - ``reverse_kl``: ``KL(p || uniform)``, where ``p`` is the histogram over centres of the
      nearest-centre assignments of the high-quality samples only (low-quality samples are
      not counted, as in PacGAN's evaluation); ``0 log 0 = 0``. It is ``inf`` when no sample
      is high quality.
    """
    samples = torch.as_tensor(samples).detach().to(torch.float64)
    centers = torch.as_tensor(centers).detach().to(dtype=torch.float64, device=samples.device)
    if samples.ndim != 2 or centers.ndim != 2 or samples.shape[1] != centers.shape[1]:
        raise ValueError(
            f"samples and centers must have shapes (N, D) and (K, D), "
            f"got {tuple(samples.shape)} and {tuple(centers.shape)}"
        )
    if samples.shape[0] == 0 or centers.shape[0] == 0:
        raise ValueError("need at least one sample and one centre")
    if std <= 0:
        raise ValueError(f"std must be positive, got {std}")

    nearest_dist, nearest = torch.cdist(samples, centers).min(dim=1)
    high_quality = nearest_dist <= threshold * std
    counts = torch.bincount(nearest[high_quality], minlength=centers.shape[0]).to(torch.float64)

    n_hq = counts.sum()
    if n_hq == 0:
        reverse_kl = float("inf")
    else:
        p = counts[counts > 0] / n_hq  # dropping empty bins is the 0 log 0 = 0 convention
        reverse_kl = (p * torch.log(p * centers.shape[0])).sum().item()

    return {
        "modes": int((counts > 0).sum().item()),
        "high_quality": 100.0 * high_quality.double().mean().item(),
        "reverse_kl": reverse_kl,
    }
