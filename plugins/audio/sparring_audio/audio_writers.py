"""Audio sample writers: a 16-bit WAV per sample (soundfile) and a log-mel spectrogram PNG.

Samples are waveforms (N, 1, L) in [-1, 1] or SpecGAN spectrograms (N, 1, 128, 128),
which are inverted with Griffin-Lim using the dataset's bin statistics first.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch


def _waveforms(samples, dataset=None) -> torch.Tensor:
    from .spectral import as_waveforms

    x = torch.as_tensor(samples).detach().float().cpu()
    if x.dim() == 2:
        x = x[:, None]
    if x.dim() not in (3, 4):
        raise ValueError(f"audio samples must be (N, 1, L) or (N, 1, 128, 128), got {tuple(x.shape)}")
    return as_waveforms(x, dataset)


def write_wav(wave, path, sample_rate: int = 16000) -> Path:
    """One mono waveform (any shape with L samples) as a 16-bit WAV at ``path``."""
    import soundfile as sf

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = np.nan_to_num(np.asarray(torch.as_tensor(wave).detach().float().cpu()).reshape(-1))
    tmp = path.with_name(path.name + ".tmp")
    sf.write(str(tmp), np.clip(data, -1.0, 1.0), int(sample_rate), subtype="PCM_16", format="WAV")
    tmp.replace(path)
    return path


def write_wav_files(samples, path, dataset=None) -> list[Path]:
    """``path`` + "_000.wav", ... one per sample."""
    waves = _waveforms(samples, dataset)
    rate = getattr(dataset, "sample_rate", 16000)
    width = max(3, len(str(len(waves) - 1)))
    return [write_wav(w, f"{path}_{i:0{width}d}.wav", rate) for i, w in enumerate(waves)]


def log_mel_image(wave: torch.Tensor, sample_rate: int = 16000) -> np.ndarray:
    """(n_mels 80, frames) log-mel in dB, scaled to [0, 1] over an 80 dB range, low bins last."""
    import torchaudio

    mel = torchaudio.transforms.MelSpectrogram(sample_rate, n_fft=1024, hop_length=128, n_mels=80)(
        wave.reshape(-1).float())
    db = 10 * torch.log10(mel.clamp_min(1e-10))
    db = (db - db.max() + 80.0).clamp_min(0) / 80.0
    return db.flip(0).numpy()


def write_spectrogram_png(samples, path, dataset=None, max_samples: int = 16) -> list[Path]:
    """Up to ``max_samples`` log-mel spectrograms tiled in one PNG (magma colours)."""
    from matplotlib import colormaps
    from PIL import Image

    waves = _waveforms(samples[:max_samples], dataset)
    rate = getattr(dataset, "sample_rate", 16000)
    tiles = [log_mel_image(w, rate) for w in waves]
    h, w = tiles[0].shape
    cols = max(1, min(4, math.ceil(math.sqrt(len(tiles)))))
    rows, pad = math.ceil(len(tiles) / cols), 3
    canvas = np.zeros((rows * (h + pad) + pad, cols * (w + pad) + pad), np.float32)
    for i, tile in enumerate(tiles):
        r, c = divmod(i, cols)
        canvas[pad + r * (h + pad):pad + r * (h + pad) + h, pad + c * (w + pad):pad + c * (w + pad) + w] = tile
    rgb = (colormaps["magma"](canvas)[..., :3] * 255).astype(np.uint8).repeat(2, 0).repeat(2, 1)
    out = Path(str(path) + ".png")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    Image.fromarray(rgb).save(tmp, format="PNG")
    tmp.replace(out)
    return [out]


def write_wav_and_png(samples, path, dataset=None) -> list[Path]:
    """The audio modality's default writer: WAV files plus a spectrogram PNG. Spectrogram
    samples are inverted once and shared by both."""
    waves = _waveforms(samples, dataset)
    return write_spectrogram_png(waves, path, dataset) + write_wav_files(waves, path, dataset)
