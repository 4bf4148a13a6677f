"""Differentiable augmentation of sound for D (DiffAugment and ADA, made for audio).

The spoken-digit set has 1,440 clips; after a few hundred epochs SpecGAN's D calls the
training clips real and clips it has not seen (the same voices at other speeds and
pitches) fake: it memorises the set (``docs/benchmarks.md``, "D memorises the digits").
Augmenting real and generated clips alike before D is the remedy StyleGAN2-ADA and
DiffAugment use for images; these are the audio transforms, for waveforms (N, 1, L) and
SpecGAN's normalised spectrograms (N, 1, frequency, time) in [-1, 1]:

- ``shift``: move each clip by up to ``shift_ratio`` of its length in time (a waveform
  is filled with silence, a spectrogram repeats its edge frames);
- ``time_mask``: silence a stretch of ``time_mask_ratio`` of the clip (SpecAugment's time
  mask; a spectrogram's silence is its floor, -1);
- ``freq_mask``: silence a band of ``freq_mask_ratio`` of the frequency bins
  (spectrograms only);
- ``gain``: scale a waveform by up to +-``gain_db`` decibels, or add up to
  +-``spectrogram_level`` to a spectrogram (its normalised units).

Which transforms run and how often, fixed or adaptive (ADA), is the core's
:class:`sparring.augment.ProbabilisticAugment`.
"""
from __future__ import annotations

import torch

from sparring.augment import ProbabilisticAugment, per_sample_uniform
from sparring.errors import ConfigError

KNOWN_OPS = ("shift", "time_mask", "freq_mask", "gain")
SPECTROGRAM_FLOOR = -1.0  # spectral.normalise clips quiet bins to -1


def is_spectrogram(x: torch.Tensor) -> bool:
    return x.dim() == 4


def shift_time(x: torch.Tensor, ratio: float) -> torch.Tensor:
    """Move each clip by a random whole number of samples (or frames) up to ``ratio`` of its length."""
    b, length = x.shape[0], x.shape[-1]
    most = int(length * ratio + 0.5)
    if most == 0:
        return x
    shift = torch.randint(-most, most + 1, (b, 1), device=x.device)
    source = torch.arange(length, device=x.device)[None, :] - shift  # (B, T): where each output reads
    view = (b,) + (1,) * (x.dim() - 2) + (length,)
    out = torch.gather(x, -1, source.clamp(0, length - 1).view(view).expand_as(x))
    if is_spectrogram(x):
        return out  # edge frames repeated: a clip's first and last frames are its background
    inside = (source >= 0) & (source < length)
    return out * inside.view(view).to(x.dtype)  # a waveform's new edge is silence


def mask_band(x: torch.Tensor, ratio: float, dim: int, fill: float) -> torch.Tensor:
    """Set a band of ``ratio`` of the positions along ``dim`` (at a random centre per clip) to ``fill``."""
    b, size = x.shape[0], x.shape[dim]
    width = int(size * ratio + 0.5)
    if width == 0:
        return x
    start = torch.randint(0, size, (b, 1), device=x.device) - width // 2
    pos = torch.arange(size, device=x.device)[None, :]
    inside = (pos >= start) & (pos < start + width)  # (B, size)
    view = [b] + [1] * (x.dim() - 1)
    view[dim] = size
    return torch.where(inside.view(view), torch.full((), fill, dtype=x.dtype, device=x.device), x)


def change_gain(x: torch.Tensor, gain_db: float, spectrogram_level: float) -> torch.Tensor:
    """Louder or quieter: a waveform scaled by up to +-``gain_db`` dB, a spectrogram's level moved."""
    u = per_sample_uniform(x) * 2.0 - 1.0
    if is_spectrogram(x):
        return x + u * spectrogram_level
    return x * torch.pow(10.0, u * (gain_db / 20.0))


class AudioAugment(ProbabilisticAugment):
    """``aug(x) -> x`` for waveform or spectrogram batches; see the module docstring."""

    KNOWN_OPS = KNOWN_OPS

    def apply(self, op: str, x: torch.Tensor) -> torch.Tensor:
        cfg = self.cfg
        if op == "shift":
            return shift_time(x, cfg.shift_ratio)
        if op == "time_mask":
            return mask_band(x, cfg.time_mask_ratio, -1, SPECTROGRAM_FLOOR if is_spectrogram(x) else 0.0)
        if op == "freq_mask":
            if not is_spectrogram(x):
                raise ConfigError("augment.policy: 'freq_mask' needs spectrograms (SpecGAN, (N, 1, frequency, "
                                  f"time)); these samples are waveforms {tuple(x.shape)}")
            return mask_band(x, cfg.freq_mask_ratio, -2, SPECTROGRAM_FLOOR)
        return change_gain(x, cfg.gain_db, cfg.spectrogram_level)


def build_audio_augment(cfg) -> AudioAugment:
    for key in ("shift_ratio", "time_mask_ratio", "freq_mask_ratio"):
        value = float(getattr(cfg, key))
        if not 0.0 <= value <= 1.0:
            raise ConfigError(f"augment.{key} must be in [0, 1], got {value}")
    if cfg.gain_db < 0 or cfg.spectrogram_level < 0:
        raise ConfigError("augment.gain_db and augment.spectrogram_level must be >= 0")
    return AudioAugment(cfg)
