"""Generators and discriminators for 2-D slices and 3-D volumes.

The number of spatial dimensions comes from the data (``DataInfo.shape`` is (C, H, W) or
(C, X, Y, Z)). Every generator maps ``z`` of size ``latent_dim`` to [-1, 1] (tanh) and
takes ``G(z, y=None)``; every discriminator takes ``D(x, y=None)`` with ``C * pack``
input channels (PacGAN) and returns raw logits, a list ending in logits (MONAI's
PatchDiscriminator) or a :class:`sparring.outputs.DiscriminatorOutput`.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from sparring.errors import ConfigError
from sparring.outputs import DiscriminatorOutput

from .configs import (
    DCGANDiscriminatorConfig,
    DCGANGeneratorConfig,
    MonaiDiscriminatorConfig,
    MonaiGeneratorConfig,
    MultiScalePatchDiscriminatorConfig,
    PatchDiscriminatorConfig,
)

_CONV = {2: nn.Conv2d, 3: nn.Conv3d}
_DECONV = {2: nn.ConvTranspose2d, 3: nn.ConvTranspose3d}
_BATCHNORM = {2: nn.BatchNorm2d, 3: nn.BatchNorm3d}


def spatial_of(info) -> tuple[int, tuple[int, ...]]:
    """(channels, spatial shape) of one sample; 2 or 3 spatial dimensions."""
    channels, *spatial = info.shape
    if len(spatial) not in (2, 3):
        raise ConfigError(f"medical models need samples of shape (C, H, W) or (C, X, Y, Z), got {info.shape}")
    return channels, tuple(spatial)


def grid_plan(spatial, name: str, min_size: int = 4, max_size: int = 8) -> tuple[int, tuple[int, ...]]:
    """How many x2 steps lead from a small grid to ``spatial``: (steps, smallest grid).

    Every size must be the smallest grid's size times the same power of two.
    """
    steps = max(0, int(math.floor(math.log2(min(spatial) / min_size))))
    while steps > 0 and any(s % 2 ** steps for s in spatial):
        steps -= 1
    start = tuple(s // 2 ** steps for s in spatial)
    if steps == 0 or max(start) > 4 * max_size:
        raise ConfigError(f"{name} cannot reach the sample size {list(spatial)} by doubling a small "
                          "grid: use sizes like 32, 64 or 48 x 64 (dataset.size)")
    return steps, start


def _monai_steps(spatial, count: int, name: str) -> tuple[int, ...]:
    factor = 2 ** count
    if any(s % factor for s in spatial):
        raise ConfigError(f"{name}: {count} x2 layers need every sample size divisible by {factor}, "
                          f"got {list(spatial)}; change the channels list or dataset.size")
    return tuple(s // factor for s in spatial)


class _NoLabel(nn.Module):
    """Shared by every model here: unconditional, so ``y`` is accepted and ignored."""

    conditional = False


# --- DCGAN in 2-D and 3-D ------------------------------------------------------------


class DCGANGenerator(_NoLabel):
    """z -> linear -> (C0, start grid) -> [ConvT x2, BN, ReLU] * k -> conv 3^d -> tanh."""

    def __init__(self, cfg: DCGANGeneratorConfig, info):
        super().__init__()
        out_channels, spatial = spatial_of(info)
        dims = len(spatial)
        steps, start = grid_plan(spatial, "generator 'medical-dcgan'")
        self.latent_dim = cfg.latent_dim
        widths = [min(cfg.max_channels, cfg.channels * 2 ** (steps - 1 - i)) for i in range(steps)]
        self.start = (widths[0], *start)
        self.project = nn.Sequential(nn.Linear(cfg.latent_dim, int(math.prod(self.start))),
                                     nn.Unflatten(1, self.start), _BATCHNORM[dims](widths[0]), nn.ReLU())
        layers = []
        width = widths[0]
        for nxt in widths[1:] + [widths[-1]]:
            layers += [_DECONV[dims](width, nxt, 4, 2, 1, bias=False), _BATCHNORM[dims](nxt), nn.ReLU()]
            width = nxt
        layers += [_CONV[dims](width, out_channels, 3, 1, 1), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        _dcgan_init(self)

    def forward(self, z, y=None):
        return self.net(self.project(z.flatten(1)))


class DCGANDiscriminator(_NoLabel):
    """[conv 4^d /2, LeakyReLU(0.2)] * k down to a small grid -> linear logit (N,)."""

    def __init__(self, cfg: DCGANDiscriminatorConfig, info):
        super().__init__()
        channels, spatial = spatial_of(info)
        dims = len(spatial)
        if cfg.norm not in ("spectral", "batch", "none"):
            raise ConfigError(f"config key 'discriminator.norm' must be 'spectral', 'batch' or 'none', got {cfg.norm!r}")
        steps, start = grid_plan(spatial, "discriminator 'medical-dcgan'")
        sn = nn.utils.parametrizations.spectral_norm if cfg.norm == "spectral" else (lambda m: m)
        layers, width = [], channels * info.pack
        for i in range(steps):
            nxt = min(cfg.max_channels, cfg.channels * 2 ** i)
            layers.append(sn(_CONV[dims](width, nxt, 4, 2, 1, bias=cfg.norm != "batch")))
            if cfg.norm == "batch" and i > 0:
                layers.append(_BATCHNORM[dims](nxt))
            layers.append(nn.LeakyReLU(0.2))
            width = nxt
        self.features = nn.Sequential(*layers)
        self.head = sn(nn.Linear(width * int(math.prod(start)), 1))
        _dcgan_init(self)

    def forward(self, x, y=None):
        return self.head(self.features(x).flatten(1)).squeeze(1)


def _dcgan_init(module: nn.Module) -> None:
    """N(0, 0.02) convolutions and N(1, 0.02) batch-norm scales (Radford et al. 2016)."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.Conv3d, nn.ConvTranspose2d, nn.ConvTranspose3d)):
            weight = m.parametrizations.weight.original if hasattr(m, "parametrizations") else m.weight
            nn.init.normal_(weight, 0.0, 0.02)
        elif isinstance(m, (nn.BatchNorm2d, nn.BatchNorm3d)):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


# --- MONAI networks ------------------------------------------------------------------


class MonaiGenerator(_NoLabel):
    """MONAI's ``Generator`` (transposed convolutions + residual units) with a tanh output."""

    def __init__(self, cfg: MonaiGeneratorConfig, info):
        super().__init__()
        from monai.networks.nets import Generator

        out_channels, spatial = spatial_of(info)
        if not cfg.channels:
            raise ConfigError("config key 'generator.channels' needs at least one width")
        start = _monai_steps(spatial, len(cfg.channels), "generator 'monai-generator'")
        self.latent_dim = cfg.latent_dim
        self.net = Generator(
            latent_shape=(cfg.latent_dim,), start_shape=(cfg.channels[0], *start),
            channels=list(cfg.channels) + [out_channels], strides=[2] * len(cfg.channels) + [1],
            kernel_size=cfg.kernel_size, num_res_units=cfg.num_res_units,
            act=cfg.act.upper(), norm=cfg.norm.upper())

    def forward(self, z, y=None):
        return torch.tanh(self.net(z))


class MonaiDiscriminator(_NoLabel):
    """MONAI's ``Discriminator`` without its sigmoid (logits), or its ``Critic``."""

    def __init__(self, cfg: MonaiDiscriminatorConfig, info, critic: bool = False):
        super().__init__()
        from monai.networks.nets import Critic, Discriminator

        channels, spatial = spatial_of(info)
        name = "monai-critic" if critic else "monai-discriminator"
        if not cfg.channels:
            raise ConfigError(f"config key 'discriminator.channels' of '{name}' needs at least one width")
        _monai_steps(spatial, len(cfg.channels), f"discriminator '{name}'")
        kwargs = dict(in_shape=(channels * info.pack, *spatial), channels=list(cfg.channels),
                      strides=[2] * len(cfg.channels), kernel_size=cfg.kernel_size,
                      num_res_units=cfg.num_res_units, act=cfg.act.upper(), norm=cfg.norm.upper(),
                      dropout=cfg.dropout or None)
        self.net = Critic(**kwargs) if critic else Discriminator(**kwargs, last_act=None)

    def forward(self, x, y=None):
        return self.net(x).reshape(x.shape[0])


def _patch_min_size(layers: int, kernel: int, last_kernel: int, norm: str) -> int:
    """The smallest power-of-two size a MONAI patch discriminator of ``layers`` accepts:
    ``layers`` halvings, a stride-1 ``kernel`` conv (instance norm needs two voxels out
    of it) and a ``last_kernel`` conv must fit."""
    least = 2 if norm.lower() == "instance" else 1
    pad, last_pad = (kernel - 1) // 2, (last_kernel - 1) // 2
    size = 2
    while True:
        f = size >> layers
        g = f + 2 * pad - kernel + 1
        if f >= 1 and g >= least and g + 2 * last_pad >= last_kernel:
            return size
        size *= 2


class PatchDiscriminator(_NoLabel):
    """MONAI's ``PatchDiscriminator``: returns its list (features..., patch logits)."""

    def __init__(self, cfg: PatchDiscriminatorConfig, info):
        super().__init__()
        from monai.networks.nets import PatchDiscriminator as MonaiPatch

        channels, spatial = spatial_of(info)
        need = _patch_min_size(cfg.num_layers, cfg.kernel_size, cfg.kernel_size, cfg.norm)
        if min(spatial) < need:
            raise ConfigError(f"'monai-patch' with {cfg.num_layers} layers needs samples "
                              f"of at least {need} voxels a side, got {list(spatial)}")
        self.net = MonaiPatch(spatial_dims=len(spatial), channels=cfg.channels,
                              in_channels=channels * info.pack, num_layers_d=cfg.num_layers,
                              kernel_size=cfg.kernel_size, norm=cfg.norm.upper(), dropout=cfg.dropout)

    def forward(self, x, y=None):
        return self.net(x)


class MultiScalePatchDiscriminator(_NoLabel):
    """MONAI's ``MultiScalePatchDiscriminator``: every scale's logits, flattened and
    concatenated, plus every scale's features, as a ``DiscriminatorOutput``."""

    def __init__(self, cfg: MultiScalePatchDiscriminatorConfig, info):
        super().__init__()
        from monai.networks.nets import MultiScalePatchDiscriminator as MonaiMultiScale

        channels, spatial = spatial_of(info)
        need = _patch_min_size(cfg.num_layers * cfg.num_d, cfg.kernel_size, 1, cfg.norm)
        if min(spatial) < need:
            raise ConfigError(f"'monai-multiscale-patch' with num_d={cfg.num_d} and num_layers={cfg.num_layers} "
                              f"needs samples of at least {need} voxels a side, "
                              f"got {list(spatial)}")
        self.net = MonaiMultiScale(num_d=cfg.num_d, num_layers_d=cfg.num_layers, spatial_dims=len(spatial),
                                   channels=cfg.channels, in_channels=channels * info.pack,
                                   kernel_size=cfg.kernel_size, norm=cfg.norm.upper(),
                                   dropout=cfg.dropout, minimum_size_im=min(spatial))

    def forward(self, x, y=None):
        logits, features = self.net(x)
        flat = torch.cat([out.flatten(1) for out in logits], dim=1)
        return DiscriminatorOutput(flat, [f for scale in features for f in scale])
