"""Image generators and discriminators: DCGAN and SNGAN (ResNet, spectral norm).

Contract (see ``sparring.specs.ModelSpec``): ``G(z, y=None) -> x`` with ``x`` in
[-1, 1] of shape (N, C, H, W) and ``G.latent_dim``; ``D(x, y=None) -> logits`` of
shape (N,). With PacGAN packing ``m`` (``info.pack``) D receives ``m`` images
concatenated along the channel dimension, so its input has ``C * m`` channels.

Class-conditional variants (``num_classes`` set in ``DataInfo``) use conditional batch
norm in G (a per-class gain and bias, de Vries et al. 2017) and a projection
discriminator (Miyato & Koyama 2018): ``logits = psi(h) + <embed(y), h>`` where ``h`` is
the globally sum-pooled last feature map. When D sees packed images and receives one
label per image, the packed images' label embeddings are summed.
"""
from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F
from sparring.layers import class_labels, spectral_norm

from sparring.errors import ConfigError


def resolution_plan(size: int) -> tuple[int, int]:
    """``(s0, n)`` with ``size == s0 * 2**n``, ``s0`` in (4, 7), ``n >= 1``."""
    for s0 in (4, 7):
        if size % s0 == 0:
            n = math.log2(size // s0)
            if n >= 1 and n == int(n):
                return s0, int(n)
    raise ConfigError(
        f"image size {size} is not supported: use 4*2**k (8, 16, 32, 64, 128) or 7*2**k (14, 28, 56)")


def stage_sizes(size: int, depth: int) -> list[int]:
    """Feature-map sizes from ``size`` down through ``depth`` stride-2 stages (each the
    ceiling of half the last, as TensorFlow's 'SAME' padding gives: 28, 14, 7, 4, 2)."""
    sizes = [size]
    for _ in range(depth):
        if sizes[-1] < 2:
            raise ConfigError(f"depth {depth} is too deep for {size}-pixel images: "
                              f"the feature map would shrink below 1x1 after {len(sizes) - 1} stages")
        sizes.append((sizes[-1] + 1) // 2)
    return sizes


def _dcgan_sizes(size: int, depth: int) -> list[int]:
    """Feature-map sizes from the image down to the lowest one, ``depth`` stages; ``depth``
    0 picks the fewest stages that reach 4x4 or 7x7 exactly."""
    if depth < 0:
        raise ConfigError(f"DCGAN depth must be 0 (automatic) or a positive number of stages, got {depth}")
    if depth == 0:
        try:
            depth = resolution_plan(size)[1]
        except ConfigError as err:
            raise ConfigError(f"{err}; or set the DCGAN's depth (stride-2 stages), which takes any size") from None
    return stage_sizes(size, depth)


def _image_shape(info) -> tuple[int, int]:
    shape = tuple(info.shape)
    if len(shape) != 3:
        raise ConfigError(f"image models need data of shape (C, H, W), got {shape}")
    c, h, w = shape
    if h != w:
        raise ConfigError(f"image models need square images, got {h}x{w}")
    return c, h


class ConditionalBatchNorm2d(nn.Module):
    """Batch norm without its own affine parameters, followed by a per-class gain and bias."""

    def __init__(self, num_features: int, num_classes: int):
        super().__init__()
        self.bn = nn.BatchNorm2d(num_features, affine=False)
        self.gain = nn.Embedding(num_classes, num_features)
        self.bias = nn.Embedding(num_classes, num_features)
        nn.init.ones_(self.gain.weight)
        nn.init.zeros_(self.bias.weight)

    def forward(self, x, y):
        out = self.bn(x)
        return out * self.gain(y)[:, :, None, None] + self.bias(y)[:, :, None, None]


class _Norm(nn.Module):
    """BatchNorm2d, or ConditionalBatchNorm2d when ``num_classes`` is set."""

    def __init__(self, num_features: int, num_classes=None):
        super().__init__()
        self.conditional = num_classes is not None
        self.norm = (ConditionalBatchNorm2d(num_features, num_classes) if self.conditional
                     else nn.BatchNorm2d(num_features))

    def forward(self, x, y=None):
        return self.norm(x, y) if self.conditional else self.norm(x)


def _packed_label_embedding(embed: nn.Module, y: torch.Tensor, batch: int) -> torch.Tensor:
    """Embedding per D input: one label per input, or the sum over ``m`` packed labels."""
    if y.numel() == batch:
        return embed(y)
    if y.numel() % batch == 0:
        return embed(y.view(batch, -1)).sum(dim=1)
    raise ValueError(f"got {y.numel()} labels for a batch of {batch} discriminator inputs")


# --- DCGAN ---------------------------------------------------------------------------


def _up_kernel(out_size: int) -> int:
    # ConvTranspose2d(k, stride 2, padding 1) maps s to 2s + k - 4: k 4 for even, 3 for odd.
    return 4 if out_size % 2 == 0 else 3


def _down_kernel(in_size: int) -> int:
    # Conv2d(k, stride 2, padding 1) maps s to (s + 2 - k) // 2 + 1: k 4 halves an even
    # size, k 3 gives the ceiling of half an odd one.
    return 4 if in_size % 2 == 0 else 3


def _dcgan_init(module):
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d) and m.affine:
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


class DCGANGenerator(nn.Module):
    """z -> linear to ``s0 x s0`` -> (ConvTranspose 4x4 stride 2, BN, ReLU)* -> tanh.

    A stage that lands on an odd size (7 from 4) uses a 3x3 kernel: 2s - 1 pixels."""

    def __init__(self, cfg, info):
        super().__init__()
        c, size = _image_shape(info)
        sizes = _dcgan_sizes(size, int(cfg.depth))[::-1]  # s0 ... size
        s0, n = sizes[0], len(sizes) - 1
        self.latent_dim = int(cfg.latent_dim)
        self.num_classes = info.num_classes
        self.image_shape = (c, size, size)
        widths = [min(cfg.channels * 2 ** (n - 1 - i), cfg.max_channels) for i in range(n)]
        self.s0, self.widths = s0, widths
        self.project = nn.Linear(self.latent_dim, widths[0] * s0 * s0, bias=False)
        self.norm0 = _Norm(widths[0], self.num_classes)
        self.ups = nn.ModuleList(
            nn.ConvTranspose2d(widths[i - 1], widths[i], _up_kernel(sizes[i]), 2, 1, bias=False)
            for i in range(1, n))
        self.norms = nn.ModuleList(_Norm(widths[i], self.num_classes) for i in range(1, n))
        self.to_image = nn.ConvTranspose2d(widths[-1], c, _up_kernel(sizes[n]), 2, 1)
        _dcgan_init(self)

    def forward(self, z, y=None):
        y = class_labels(self, y)
        h = self.project(z.reshape(z.shape[0], -1)).view(z.shape[0], self.widths[0], self.s0, self.s0)
        h = F.relu(self.norm0(h, y))
        for up, norm in zip(self.ups, self.norms):
            h = F.relu(norm(up(h), y))
        return torch.tanh(self.to_image(h))


class DCGANDiscriminator(nn.Module):
    """(Conv 4x4 stride 2, norm, LeakyReLU 0.2)* down to ``s0 x s0`` -> linear (+ projection).

    A stage reading an odd size (7) uses a 3x3 kernel: the ceiling of half (4)."""

    def __init__(self, cfg, info):
        super().__init__()
        c, size = _image_shape(info)
        sizes = _dcgan_sizes(size, int(cfg.depth))
        s0, n = sizes[-1], len(sizes) - 1
        if cfg.norm not in ("batch", "spectral", "none"):
            raise ConfigError(f"discriminator norm must be 'batch', 'spectral' or 'none', got {cfg.norm!r}")
        self.num_classes = info.num_classes
        self.pack = int(info.pack)
        sn = spectral_norm if cfg.norm == "spectral" else (lambda m: m)
        widths = [min(cfg.channels * 2 ** i, cfg.max_channels) for i in range(n)]
        layers = []
        in_ch = c * self.pack
        for i, w in enumerate(widths):
            layers.append(nn.Conv2d(in_ch, w, _down_kernel(sizes[i]), 2, 1,
                                    bias=(i == 0 or cfg.norm != "batch")))
            if i > 0 and cfg.norm == "batch":
                layers.append(nn.BatchNorm2d(w))
            layers.append(nn.LeakyReLU(0.2))
            if cfg.dropout > 0:
                layers.append(nn.Dropout(cfg.dropout))
            in_ch = w
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(widths[-1] * s0 * s0, 1)
        self.embed = nn.Embedding(self.num_classes, widths[-1]) if self.num_classes else None
        _dcgan_init(self)
        if self.embed is not None:
            # The head's scale: PyTorch's N(0, 1) default makes <embed(y), h> dwarf psi(h)
            # (measured with batch norm: D logits near +-35 after 500 MNIST steps).
            nn.init.normal_(self.embed.weight, 0.0, 0.02)
        if cfg.norm == "spectral":
            for m in list(self.features) + [self.head]:
                if isinstance(m, (nn.Conv2d, nn.Linear)):
                    sn(m)
            if self.embed is not None:
                sn(self.embed)

    def forward(self, x, y=None):
        y = class_labels(self, y)
        h = self.features(x)
        out = self.head(h.flatten(1)).squeeze(1)
        if self.embed is not None:
            pooled = h.sum(dim=(2, 3))
            out = out + (_packed_label_embedding(self.embed, y, x.shape[0]) * pooled).sum(dim=1)
        return out


# --- SNGAN (ResNet) ------------------------------------------------------------------


def _xavier(module, gain=1.0):
    nn.init.xavier_uniform_(module.weight, gain)
    if getattr(module, "bias", None) is not None:
        nn.init.zeros_(module.bias)
    return module


class GeneratorBlock(nn.Module):
    """BN-ReLU-up-conv3-BN-ReLU-conv3, plus an up-sampled 1x1 shortcut."""

    def __init__(self, in_ch: int, out_ch: int, num_classes=None):
        super().__init__()
        self.n1 = _Norm(in_ch, num_classes)
        self.c1 = _xavier(nn.Conv2d(in_ch, out_ch, 3, 1, 1), math.sqrt(2))
        self.n2 = _Norm(out_ch, num_classes)
        self.c2 = _xavier(nn.Conv2d(out_ch, out_ch, 3, 1, 1), math.sqrt(2))
        self.shortcut = _xavier(nn.Conv2d(in_ch, out_ch, 1))

    def forward(self, x, y=None):
        h = F.interpolate(F.relu(self.n1(x, y)), scale_factor=2, mode="nearest")
        h = self.c2(F.relu(self.n2(self.c1(h), y)))
        return h + self.shortcut(F.interpolate(x, scale_factor=2, mode="nearest"))


class DiscriminatorBlock(nn.Module):
    """(ReLU)-conv3-ReLU-conv3-(avgpool), plus a 1x1 shortcut; all spectrally normalised.

    ``first`` is SNGAN's "optimized" first block: no ReLU on the raw image, and the
    shortcut pools before its convolution.
    """

    def __init__(self, in_ch: int, out_ch: int, down: bool, first: bool = False):
        super().__init__()
        self.down, self.first = down, first
        self.c1 = spectral_norm(_xavier(nn.Conv2d(in_ch, out_ch, 3, 1, 1), math.sqrt(2)))
        self.c2 = spectral_norm(_xavier(nn.Conv2d(out_ch, out_ch, 3, 1, 1), math.sqrt(2)))
        self.learn_shortcut = first or down or in_ch != out_ch
        if self.learn_shortcut:
            self.shortcut = spectral_norm(_xavier(nn.Conv2d(in_ch, out_ch, 1)))

    def forward(self, x):
        h = x if self.first else F.relu(x)
        h = self.c2(F.relu(self.c1(h)))
        if self.down:
            h = F.avg_pool2d(h, 2)
        s = x
        if self.first:
            s = self.shortcut(F.avg_pool2d(s, 2) if self.down else s)
        elif self.learn_shortcut:
            s = self.shortcut(s)
            if self.down:
                s = F.avg_pool2d(s, 2)
        return h + s


class SNGANGenerator(nn.Module):
    """z -> linear to ``s0 x s0`` -> ResNet up-blocks -> BN-ReLU-conv3-tanh."""

    def __init__(self, cfg, info):
        super().__init__()
        c, size = _image_shape(info)
        s0, n = resolution_plan(size)
        self.latent_dim = int(cfg.latent_dim)
        self.num_classes = info.num_classes
        self.image_shape = (c, size, size)
        widths = [max(cfg.channels >> i, min(cfg.min_channels, cfg.channels)) for i in range(n + 1)]
        self.s0, self.widths = s0, widths
        self.project = _xavier(nn.Linear(self.latent_dim, widths[0] * s0 * s0))
        self.blocks = nn.ModuleList(
            GeneratorBlock(widths[i], widths[i + 1], self.num_classes) for i in range(n))
        self.norm = nn.BatchNorm2d(widths[-1])
        self.to_image = _xavier(nn.Conv2d(widths[-1], c, 3, 1, 1))

    def forward(self, z, y=None):
        y = class_labels(self, y)
        h = self.project(z.reshape(z.shape[0], -1)).view(z.shape[0], self.widths[0], self.s0, self.s0)
        for block in self.blocks:
            h = block(h, y)
        return torch.tanh(self.to_image(F.relu(self.norm(h))))


class SNGANDiscriminator(nn.Module):
    """ResNet down-blocks to 8x8 (7x7 for 28 px), one more block, ReLU, global sum pool,
    spectrally normalised linear head (plus projection when conditional)."""

    def __init__(self, cfg, info):
        super().__init__()
        c, size = _image_shape(info)
        resolution_plan(size)
        self.num_classes = info.num_classes
        self.pack = int(info.pack)
        downs, res = 0, size
        while res > 8 and res % 2 == 0:
            res //= 2
            downs += 1
        downs = max(downs, 1)
        widths = [max(cfg.channels >> (downs - 1 - i), 16) for i in range(downs)]
        widths = [min(w, cfg.max_channels) for w in widths]
        blocks = [DiscriminatorBlock(c * self.pack, widths[0], down=True, first=True)]
        for i in range(1, downs):
            blocks.append(DiscriminatorBlock(widths[i - 1], widths[i], down=True))
        blocks.append(DiscriminatorBlock(widths[-1], widths[-1], down=False))
        self.blocks = nn.Sequential(*blocks)
        self.head = spectral_norm(_xavier(nn.Linear(widths[-1], 1)))
        self.embed = None
        if self.num_classes:
            self.embed = spectral_norm(_xavier(nn.Embedding(self.num_classes, widths[-1])))

    def forward(self, x, y=None):
        y = class_labels(self, y)
        h = F.relu(self.blocks(x)).sum(dim=(2, 3))
        out = self.head(h).squeeze(1)
        if self.embed is not None:
            out = out + (_packed_label_embedding(self.embed, y, x.shape[0]) * h).sum(dim=1)
        return out
