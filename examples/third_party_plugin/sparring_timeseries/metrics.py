"""A metric for series: how far the generated power spectra are from the real ones.

A GAN that collapses to a few frequencies, or adds high-frequency noise, shows here
before it shows in a plot.
"""
from __future__ import annotations

import torch

from sparring.metrics import frechet_distance_from_features


def power_spectra(series: torch.Tensor) -> torch.Tensor:
    """(N, channels, length) -> (N, channels * (length // 2 + 1)) normalised power spectra."""
    power = torch.fft.rfft(series.double(), dim=-1).abs().pow(2)
    power = power / power.sum(dim=-1, keepdim=True).clamp_min(1e-12)
    return power.reshape(series.shape[0], -1)


def spectrum_metrics(generated: torch.Tensor, real: torch.Tensor) -> dict:
    """``spectrum_l1``: L1 distance between the mean power spectra (0..2);
    ``spectrum_fd``: Frechet distance between the spectra as features;
    ``peak_freq_tv``: total variation between the histograms of each series' peak frequency."""
    g, r = power_spectra(generated), power_spectra(real)
    n_bins = generated.shape[-1] // 2 + 1
    peaks_g = torch.bincount(g.view(len(g), -1, n_bins).sum(1).argmax(1), minlength=n_bins).double()
    peaks_r = torch.bincount(r.view(len(r), -1, n_bins).sum(1).argmax(1), minlength=n_bins).double()
    return {
        "spectrum_l1": float((g.mean(0) - r.mean(0)).abs().sum()),
        "spectrum_fd": float(frechet_distance_from_features(g.float(), r.float())),
        "peak_freq_tv": float(0.5 * (peaks_g / peaks_g.sum() - peaks_r / peaks_r.sum()).abs().sum()),
    }
