"""SpecGAN's spectrogram representation and its inversion (Donahue et al. 2019, Sec. 3).

A 16,384-sample clip becomes a 128x128 log-magnitude STFT (n_fft 256, hop 128, the
Nyquist bin and the last frame dropped); each frequency bin is normalised with the
training data's mean and standard deviation, clipped to 3 deviations and divided by 3,
so values lie in [-1, 1]. Inversion undoes the scaling and runs Griffin-Lim (torchaudio,
16 iterations as in the paper).
"""
from __future__ import annotations

import torch

N_FFT, HOP, SIZE, CLIP_STD = 256, 128, 128, 3.0
LOG_EPS = 1e-6


def log_magnitude(wave: torch.Tensor) -> torch.Tensor:
    """(N, 1, 16384) waveforms -> (N, 1, 128, 128) log-magnitudes (frequency, time)."""
    x = wave.reshape(-1, wave.shape[-1]).float()
    window = torch.hann_window(N_FFT, device=x.device)
    spec = torch.stft(x, N_FFT, HOP, window=window, center=True, return_complex=True).abs()
    return torch.log(spec[:, :SIZE, :SIZE] + LOG_EPS).unsqueeze(1)


def bin_statistics(log_mag: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-frequency-bin mean and standard deviation, each (128,), over clips and frames."""
    x = log_mag.transpose(0, 2).reshape(SIZE, -1)  # (freq, everything else)
    return x.mean(1), x.std(1).clamp_min(1e-3)


def normalise(log_mag: torch.Tensor, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    z = (log_mag - mean.view(1, 1, -1, 1)) / std.view(1, 1, -1, 1)
    return z.clamp(-CLIP_STD, CLIP_STD) / CLIP_STD


def to_spectrogram(wave: torch.Tensor, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    return normalise(log_magnitude(wave), mean, std)


def invert(spec: torch.Tensor, mean: torch.Tensor, std: torch.Tensor, n_iter: int = 16,
           length: int = 16384, batch: int = 256) -> torch.Tensor:
    """(N, 1, 128, 128) normalised spectrograms -> (N, 1, length) waveforms by Griffin-Lim."""
    import torchaudio

    griffin_lim = torchaudio.transforms.GriffinLim(n_fft=N_FFT, n_iter=n_iter, hop_length=HOP,
                                                   power=1.0, length=length)
    out = []
    with torch.random.fork_rng(devices=[]):  # Griffin-Lim's random phases: not the run's RNG
        torch.manual_seed(0)
        for start in range(0, spec.shape[0], batch):
            s = spec[start:start + batch, 0].float().cpu()
            log_mag = s * CLIP_STD * std.view(1, -1, 1).cpu() + mean.view(1, -1, 1).cpu()
            mag = torch.exp(log_mag) - LOG_EPS
            mag = torch.nn.functional.pad(mag.clamp_min(0), (0, 1, 0, 1))  # Nyquist bin, last frame
            out.append(griffin_lim(mag).clamp(-1, 1).unsqueeze(1))
    return torch.cat(out)


def as_waveforms(x: torch.Tensor, dataset=None) -> torch.Tensor:
    """Waveforms (N, 1, L) from samples in either representation (spectrograms inverted
    with the dataset's bin statistics)."""
    if x.dim() == 3:
        return x
    mean = getattr(dataset, "spec_mean", None)
    std = getattr(dataset, "spec_std", None)
    if mean is None or std is None:
        raise ValueError("spectrogram samples need the dataset's spec_mean/spec_std to be inverted")
    return invert(x, mean, std)
