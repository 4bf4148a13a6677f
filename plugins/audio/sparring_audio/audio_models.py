"""WaveGAN and SpecGAN (Donahue, McAuley and Puckette 2019).

WaveGAN: 16,384 samples made by five transposed 1-D convolutions (kernel 25, stride 4);
its discriminator mirrors them with phase shuffle. SpecGAN: the DCGAN shape (5x5
kernels, stride 2) on 128x128 normalised log spectrograms.

Class-conditional variants (``num_classes`` set in ``DataInfo``: ``wavegan-cond``,
``specgan-cond``, e.g. "say seven") give G a learned code per class beside ``z``
(concatenated before the first layer, as in Mirza & Osindero's conditional GAN) and, with
``class_gains``, a per-class gain and bias on every layer's channels (FiLM, Perez et al.
2018: the class reaches every layer, as conditional batch norm gives the image models;
these Gs have no normalisation to carry it). D gets a projection head (Miyato & Koyama
2018): ``logit = psi(h) + <embed(y), sum of h over time (and frequency)>``.
"""
from __future__ import annotations

import torch
from torch import nn

from sparring.errors import ConfigError
from sparring.layers import append_minibatch_std, class_labels
from sparring.specs import DataInfo

WAVE_LENGTH, SPEC_SIZE = 16384, 128


def _expect(info: DataInfo, shape: tuple, model: str, hint: str) -> None:
    channels = info.shape[0] if info.shape else 0  # one sample's shape: packing adds D's input channels
    if tuple(info.shape[1:]) != shape[1:] or channels != shape[0]:
        raise ConfigError(f"{model} needs samples shaped {shape}, got {tuple(info.shape)}; {hint}")


class _ClassCode(nn.Module):
    """G's input: ``z``, or ``z`` beside a learned code of its class (same size, N(0, 1)
    like ``z``, so neither drowns the other at the start)."""

    def __init__(self, latent_dim: int, num_classes):
        super().__init__()
        self.num_classes = num_classes
        self.embed = nn.Embedding(num_classes, latent_dim) if num_classes else None
        self.width = latent_dim * (2 if num_classes else 1)

    def forward(self, z, y):
        y = class_labels(self, y)
        return z if y is None else torch.cat([z, self.embed(y)], dim=1)


class _ClassGain(nn.Module):
    """``h * (1 + gain[y]) + bias[y]`` per channel; both start at zero, so a new G starts
    as the one without them and learns how far each class bends each layer."""

    def __init__(self, num_classes: int, channels: int):
        super().__init__()
        self.gain = nn.Embedding(num_classes, channels)
        self.bias = nn.Embedding(num_classes, channels)
        nn.init.zeros_(self.gain.weight)
        nn.init.zeros_(self.bias.weight)

    def forward(self, h, y):
        shape = (len(h), -1) + (1,) * (h.dim() - 2)
        return h * (1 + self.gain(y).view(shape)) + self.bias(y).view(shape)


class _Generator(nn.Module):
    """What both generators share: the class code at the input, then ``net``'s
    (ReLU, transposed convolution) pairs and its tanh, each pair's input bent by its
    class gains when there are any."""

    def _init_class(self, cfg, info: DataInfo, dims: list[int]) -> None:
        self.code = _ClassCode(cfg.latent_dim, info.num_classes)
        self.gains = nn.ModuleList([_ClassGain(info.num_classes, c) for c in dims]) \
            if info.num_classes and cfg.class_gains else None

    def forward(self, z, y=None):
        y = class_labels(self.code, y)
        h = self.fc(self.code(z, y)).view(z.shape[0], self.first, *self.grid)
        if self.gains is None:
            return self.net(h)
        layers = list(self.net)
        for i, gain in enumerate(self.gains):
            h = layers[2 * i + 1](layers[2 * i](gain(h, y)))
        return layers[-1](h)


class _Discriminator(nn.Module):
    """What both discriminators share: the head after their convolutions. A linear logit
    from the flat features (and the minibatch deviation), plus, class-conditional, the
    projection of the class embedding onto the features summed over positions. Its
    parameters keep the names ``fc`` and ``embed`` on D itself (older checkpoints load)."""

    def _init_head(self, channels: int, positions: int, minibatch_std: bool, num_classes) -> None:
        self.num_classes, self.minibatch_std = num_classes, bool(minibatch_std)
        self.fc = nn.Linear(channels * positions + self.minibatch_std, 1)
        self.embed = nn.Embedding(num_classes, channels) if num_classes else None
        if self.embed is not None:
            # small, as in the image plugin: N(0, 1) would let <embed, h> dwarf the logit
            nn.init.normal_(self.embed.weight, 0.0, 0.02)

    def forward(self, x, y=None):
        y = class_labels(self, y)
        h = self.net(x)
        flat = h.flatten(1)
        if self.minibatch_std:
            flat = append_minibatch_std(flat)
        out = self.fc(flat).squeeze(1)
        if y is not None:
            out = out + (self.embed(y) * h.flatten(2).sum(2)).sum(1)
        return out


def _dims(dim: int) -> list[int]:
    if dim < 1:
        raise ConfigError(f"model dim must be >= 1, got {dim}")
    return [16 * dim, 8 * dim, 4 * dim, 2 * dim, dim]


class PhaseShuffle(nn.Module):
    """Shift each sample's activations by a random -n..n steps, reflect-padded (WaveGAN)."""

    def __init__(self, n: int):
        super().__init__()
        self.n = n

    def forward(self, x):
        if self.n == 0 or not self.training:
            return x
        b, c, length = x.shape
        shifts = torch.randint(-self.n, self.n + 1, (b,), device=x.device)
        padded = nn.functional.pad(x, (self.n, self.n), mode="reflect")
        index = (torch.arange(length, device=x.device)[None] + self.n - shifts[:, None])
        return padded.gather(2, index[:, None].expand(b, c, length))


class WaveGANGenerator(_Generator):
    def __init__(self, cfg, info: DataInfo):
        super().__init__()
        _expect(info, (1, WAVE_LENGTH), "wavegan", "use representation = \"waveform\"")
        self.latent_dim = cfg.latent_dim
        dims = _dims(cfg.dim)
        k, pad = cfg.kernel, (cfg.kernel - 3) // 2  # output length exactly 4x the input
        if k < 5 or k % 2 == 0:
            raise ConfigError(f"generator.kernel must be odd and >= 5 (25 in the paper), got {k}")
        self._init_class(cfg, info, dims)
        self.fc = nn.Linear(self.code.width, dims[0] * 16)
        layers = []
        for cin, cout in zip(dims, dims[1:] + [1]):
            layers += [nn.ReLU(), nn.ConvTranspose1d(cin, cout, k, 4, padding=pad, output_padding=1)]
        self.net = nn.Sequential(*layers, nn.Tanh())
        self.first, self.grid = dims[0], (16,)


class WaveGANDiscriminator(_Discriminator):
    def __init__(self, cfg, info: DataInfo):
        super().__init__()
        _expect(info, (1, WAVE_LENGTH), "wavegan", "use representation = \"waveform\"")
        dims = _dims(cfg.dim)[::-1]
        k = cfg.kernel
        if k < 5 or k % 2 == 0:
            raise ConfigError(f"discriminator.kernel must be odd and >= 5 (25 in the paper), got {k}")
        layers, cin = [], info.pack
        for i, cout in enumerate(dims):
            layers += [nn.Conv1d(cin, cout, k, 4, padding=k // 2 - 1), nn.LeakyReLU(0.2)]
            if i < len(dims) - 1:
                layers.append(PhaseShuffle(cfg.phase_shuffle))
            cin = cout
        self.net = nn.Sequential(*layers)
        self._init_head(dims[-1], 16, cfg.minibatch_std, info.num_classes)


class SpecGANGenerator(_Generator):
    def __init__(self, cfg, info: DataInfo):
        super().__init__()
        _expect(info, (1, SPEC_SIZE, SPEC_SIZE), "specgan", "use representation = \"spectrogram\"")
        self.latent_dim = cfg.latent_dim
        dims = _dims(cfg.dim)
        self._init_class(cfg, info, dims)
        self.fc = nn.Linear(self.code.width, dims[0] * 16)
        layers = []
        for cin, cout in zip(dims, dims[1:] + [1]):
            layers += [nn.ReLU(), nn.ConvTranspose2d(cin, cout, 5, 2, padding=2, output_padding=1)]
        self.net = nn.Sequential(*layers, nn.Tanh())
        self.first, self.grid = dims[0], (4, 4)


class SpecGANDiscriminator(_Discriminator):
    def __init__(self, cfg, info: DataInfo):
        super().__init__()
        _expect(info, (1, SPEC_SIZE, SPEC_SIZE), "specgan", "use representation = \"spectrogram\"")
        dims = _dims(cfg.dim)[::-1]
        layers, cin = [], info.pack
        for cout in dims:
            layers += [nn.Conv2d(cin, cout, 5, 2, padding=2), nn.LeakyReLU(0.2)]
            cin = cout
        self.net = nn.Sequential(*layers)
        self._init_head(dims[-1], 16, cfg.minibatch_std, info.num_classes)
