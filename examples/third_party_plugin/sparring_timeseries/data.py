"""Datasets: generated sine mixtures, and a reader for your own series.

Both keep every series in memory as one float tensor (N, 1, length) and expose it as
``.tensors``, so the loop indexes batches directly (and keeps them on the GPU).
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch

from sparring.errors import ConfigError, DataError

from .configs import CSVConfig, SinesConfig


class SeriesDataset(torch.utils.data.Dataset):
    """Series (N, channels, length) with optional integer labels (N,)."""

    def __init__(self, series: torch.Tensor, labels: torch.Tensor | None = None,
                 num_classes: int | None = None):
        self.series = series.float().contiguous()
        self.labels = labels
        # The loop trains class-conditionally only when a dataset sets num_classes.
        self.num_classes = num_classes if labels is not None else None

    @property
    def tensors(self):
        return (self.series,) if self.labels is None else (self.series, self.labels)

    def __len__(self):
        return self.series.shape[0]

    def __getitem__(self, i):
        if self.labels is None:
            return self.series[i]
        return self.series[i], int(self.labels[i])


def sine_mixture(n: int, cfg: SinesConfig, generator: torch.Generator):
    """``n`` series and their component counts (1..max_components)."""
    t = torch.arange(cfg.length, dtype=torch.float64) / cfg.length
    k = torch.randint(1, cfg.max_components + 1, (n,), generator=generator)
    freq = cfg.min_freq + (cfg.max_freq - cfg.min_freq) * torch.rand(n, cfg.max_components, 1,
                                                                      generator=generator, dtype=torch.float64)
    phase = 2 * math.pi * torch.rand(n, cfg.max_components, 1, generator=generator, dtype=torch.float64)
    weight = torch.rand(n, cfg.max_components, generator=generator, dtype=torch.float64) + 0.2
    weight = weight * (torch.arange(cfg.max_components) < k[:, None])  # only the first k components
    weight = weight / weight.sum(dim=1, keepdim=True) * (1.0 - 3 * cfg.noise)
    waves = (weight[..., None] * torch.sin(2 * math.pi * freq * t + phase)).sum(dim=1)
    waves = waves + cfg.noise * torch.randn(waves.shape, generator=generator, dtype=torch.float64)
    return waves.clamp(-1, 1).float()[:, None, :], k - 1


def build_sines(cfg: SinesConfig) -> SeriesDataset:
    if cfg.size < 1 or cfg.length < 8 or cfg.max_components < 1:
        raise ConfigError("dataset 'sines' needs size >= 1, length >= 8 and max_components >= 1")
    if not 0 < cfg.min_freq <= cfg.max_freq <= cfg.length / 2:
        raise ConfigError(f"dataset 'sines' needs 0 < min_freq <= max_freq <= length/2 = {cfg.length / 2}")
    series, k = sine_mixture(cfg.size, cfg, torch.Generator().manual_seed(cfg.seed))
    if cfg.labels:
        return SeriesDataset(series, k, num_classes=cfg.max_components)
    return SeriesDataset(series)


def build_csv(cfg: CSVConfig) -> SeriesDataset:
    path = Path(cfg.path).expanduser()
    if not cfg.path or not path.is_file():
        raise ConfigError(f"dataset 'csv' needs dataset.path: a CSV or .npy file (got '{cfg.path}')")
    try:
        array = np.load(path) if path.suffix == ".npy" else np.loadtxt(path, delimiter=",", ndmin=2)
    except ValueError as exc:
        raise DataError(f"'{path}' is not a table of numbers: {exc}") from None
    array = np.asarray(array, dtype=np.float32)
    if array.ndim != 2 or array.shape[0] < 2:
        raise DataError(f"'{path}' must hold at least 2 series of equal length, got shape {array.shape}")
    if not np.isfinite(array).all():
        raise DataError(f"'{path}' holds NaN or infinite values")
    series = torch.from_numpy(array)[:, None, :]
    if cfg.normalize:
        series = series / series.abs().max().clamp_min(1e-8)
    return SeriesDataset(series)
