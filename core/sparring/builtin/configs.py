"""Configuration dataclasses of the toy modality (cheap to import: no torch)."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class RingConfig:
    """8 Gaussians on a circle of radius 1 with std 0.01 (VEEGAN, PacGAN)."""

    n_modes: int = 8
    radius: float = 1.0
    std: float = 0.01
    size: int = 100_000
    seed: int = 0


@dataclass
class GridConfig:
    """25 Gaussians at {-4,-2,0,2,4}^2 with std 0.05 (VEEGAN, PacGAN)."""

    values: list[float] = field(default_factory=lambda: [-4.0, -2.0, 0.0, 2.0, 4.0])
    std: float = 0.05
    size: int = 100_000
    seed: int = 0


@dataclass
class MLPGeneratorConfig:
    """`layers` hidden ReLU layers of `hidden` units (batch-normalised if `batch_norm`) on a
    `latent_dim` Gaussian; `init_std` > 0 draws every weight from N(0, init_std^2) with zero
    biases (the PacGAN code's 0.02), 0 keeps PyTorch's default init."""

    latent_dim: int = 2
    hidden: int = 400
    layers: int = 4
    batch_norm: bool = True
    # 0: PyTorch's default init; > 0: weights N(0, init_std^2), biases 0 (PacGAN's 0.02)
    init_std: float = 0.0


@dataclass
class MLPDiscriminatorConfig:
    """`layers` hidden layers of `hidden` units: LeakyReLU(0.2) when `maxout` is 1, maxout
    units of `maxout` pieces otherwise (the PacGAN code's D: 5); `init_std` as the
    generator's."""

    hidden: int = 200
    layers: int = 3
    # 1: LeakyReLU(0.2) units; k > 1: maxout units of k pieces (PacGAN's D uses 5)
    maxout: int = 1
    # 0: PyTorch's default init; > 0: weights N(0, init_std^2), biases 0 (PacGAN's 0.02)
    init_std: float = 0.0


