"""A 1-D convolutional generator and discriminator (DCGAN-like, for series).

Both follow the loop's contract: ``G(z, y=None)`` returns a batch shaped like what D
sees, ``(N, channels, length)``; ``D(x, y=None)`` returns one logit per series. The
shapes come from :class:`sparring.specs.DataInfo`, which the loop fills from the data.
"""
from __future__ import annotations

import torch
from torch import nn

from sparring.errors import ConfigError
from sparring.specs import DataInfo

from .configs import ConvDiscriminatorConfig, ConvGeneratorConfig


def _check_length(length: int, blocks: int, who: str) -> None:
    if blocks < 1 or length % (2 ** blocks):
        raise ConfigError(f"{who}: series length {length} must be divisible by 2 ** blocks = {2 ** blocks}")


class ConvGenerator(nn.Module):
    def __init__(self, cfg: ConvGeneratorConfig, info: DataInfo):
        super().__init__()
        channels, length = info.shape
        _check_length(length, cfg.blocks, "generator 'conv'")
        self.latent_dim = cfg.latent_dim  # the loop draws z ~ N(0, I) of this size
        self.start = (cfg.channels, length // 2 ** cfg.blocks)
        self.embed = nn.Embedding(info.num_classes, cfg.latent_dim) if info.num_classes else None
        self.project = nn.Linear(cfg.latent_dim, cfg.channels * self.start[1])
        layers = []
        for _ in range(cfg.blocks):
            layers += [nn.Upsample(scale_factor=2), nn.Conv1d(cfg.channels, cfg.channels, 5, padding=2),
                       nn.BatchNorm1d(cfg.channels), nn.ReLU()]
        layers += [nn.Conv1d(cfg.channels, channels, 5, padding=2), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, z, y=None):
        if self.embed is not None and y is not None:
            z = z * self.embed(y)  # multiplicative conditioning: cheap and effective
        h = self.project(z).view(z.shape[0], *self.start)
        return self.net(torch.relu(h))


class ConvDiscriminator(nn.Module):
    def __init__(self, cfg: ConvDiscriminatorConfig, info: DataInfo):
        super().__init__()
        channels, length = info.shape
        _check_length(length, cfg.blocks, "discriminator 'conv'")
        layers, width = [], channels * info.pack  # PacGAN: m series side by side as channels
        for _ in range(cfg.blocks):
            layers += [nn.Conv1d(width, cfg.channels, 5, stride=2, padding=2), nn.LeakyReLU(0.2)]
            width = cfg.channels
        self.features = nn.Sequential(*layers, nn.Flatten())
        n_features = cfg.channels * (length // 2 ** cfg.blocks)
        self.head = nn.Linear(n_features, 1)
        # Projection discriminator (Miyato & Koyama 2018): logit += <embed(y), features>.
        self.embed = nn.Embedding(info.num_classes, n_features) if info.num_classes else None

    def forward(self, x, y=None):
        h = self.features(x)
        out = self.head(h).squeeze(1)
        if self.embed is not None and y is not None:
            out = out + (self.embed(y) * h).sum(dim=1)
        return out
