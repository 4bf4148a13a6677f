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
    latent_dim: int = 2
    hidden: int = 400
    layers: int = 4
    batch_norm: bool = True


@dataclass
class MLPDiscriminatorConfig:
    hidden: int = 200
    layers: int = 3


