"""Configuration dataclasses: one field per TOML key of ``[generator]``, ``[dataset]``...

Plain types only (str, int, float, bool, lists of them) so the run's config.toml can
hold them, and no torch import, so that ``sparring plugins`` stays fast.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass
class SinesConfig:
    """Series that are sums of 1..``max_components`` sines with random frequency and phase.

    Frequencies are drawn uniformly from [``min_freq``, ``max_freq``] cycles per series;
    amplitudes are split at random so that the sum stays within [-1, 1]. With ``labels``
    each series is labelled with its number of components minus one (conditional GANs).
    """

    size: int = 4096
    length: int = 64
    max_components: int = 3
    min_freq: float = 1.0
    max_freq: float = 6.0
    noise: float = 0.02
    labels: bool = False
    seed: int = 0


@dataclass
class CSVConfig:
    """Your own series: a CSV file (one series a row, comma-separated) or a .npy array
    of shape (N, length). Each series is scaled by the largest absolute value of all."""

    path: str = ""
    normalize: bool = True


@dataclass
class ConvGeneratorConfig:
    """Noise -> series: a linear layer, then upsampling 1-D convolutions, tanh output.

    The length must be divisible by 2 ** ``blocks``.
    """

    latent_dim: int = 32
    channels: int = 64
    blocks: int = 3


@dataclass
class ConvDiscriminatorConfig:
    """Series -> logit: strided 1-D convolutions with LeakyReLU, a linear head, and a
    projection term when class-conditional."""

    channels: int = 64
    blocks: int = 3
