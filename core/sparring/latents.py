"""G's input noise for sampling: the standard normal, optionally truncated.

The truncation trick (Brock et al. 2019, BigGAN) draws each latent entry from the
standard normal restricted to [-threshold, threshold]: samples move toward the typical
ones, trading variety for fidelity. It is a sampling choice, never used in training.

Drawn by the inverse CDF (``u`` uniform, ``z = Phi^-1(Phi(-t) + u (Phi(t) - Phi(-t)))``)
rather than by redrawing the entries that fall outside: exact at any threshold, no loop,
and the same seed at two thresholds gives the same sample squeezed by different amounts,
so a row of thresholds shows one sample each.
"""
from __future__ import annotations

import math

import torch

from .errors import ConfigError


def check_truncation(threshold) -> None:
    """A clear error unless ``threshold`` is None (no truncation) or a positive finite number."""
    ok = threshold is None or (isinstance(threshold, (int, float)) and not isinstance(threshold, bool)
                               and math.isfinite(threshold) and threshold > 0)
    if not ok:
        raise ConfigError(f"truncation must be a positive number (a latent entry's largest "
                          f"absolute value, e.g. 1.0), got {threshold!r}")


def truncated_normal(shape, threshold: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """Standard normal draws restricted to [-threshold, threshold] (float32, on the CPU)."""
    if threshold is None:  # check_truncation lets None (no truncation) through
        raise ConfigError("truncated_normal needs a threshold")
    check_truncation(threshold)
    u = torch.rand(shape, generator=generator, dtype=torch.float64)
    low = torch.special.ndtr(torch.tensor(-float(threshold), dtype=torch.float64))
    z = torch.special.ndtri(low + u * (1.0 - 2.0 * low))  # Phi(t) - Phi(-t) = 1 - 2 Phi(-t)
    # ndtri is exact in float64; the clamp only guards u's endpoints at large thresholds
    return z.clamp_(-threshold, threshold).float()
