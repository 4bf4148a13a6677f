"""Differentiable image augmentation with an optional adaptive probability.

The transforms follow DiffAugment (Zhao et al. 2020, "Differentiable Augmentation for
Data-Efficient GAN Training"): colour (brightness, saturation, contrast), translation
by up to ``translation_ratio`` of the image side, and cutout of a square of
``cutout_ratio`` of the side. All are differentiable with respect to the input, so the
same augmentation is applied to real and generated images and G's gradient passes
through it.

Which transforms run and how often, fixed or adaptive (ADA), is the core's
:class:`sparring.augment.ProbabilisticAugment`; this module adds the image transforms.
"""
from __future__ import annotations

import torch

from sparring.augment import ProbabilisticAugment, per_sample_uniform

KNOWN_OPS = ("color", "translation", "cutout")


def augment_color(x: torch.Tensor) -> torch.Tensor:
    """Random brightness (+-0.5), saturation (x0..2) and contrast (x0.5..1.5) per sample."""
    x = x + (per_sample_uniform(x) - 0.5)
    mean_c = x.mean(dim=1, keepdim=True)
    x = (x - mean_c) * (per_sample_uniform(x) * 2.0) + mean_c
    mean_all = x.mean(dim=(1, 2, 3), keepdim=True)
    x = (x - mean_all) * (per_sample_uniform(x) + 0.5) + mean_all
    return x


def augment_translation(x: torch.Tensor, ratio: float = 0.125) -> torch.Tensor:
    """Shift each sample by up to ``ratio`` of its height/width (edge pixels repeated)."""
    b, _, h, w = x.shape
    max_y, max_x = int(h * ratio + 0.5), int(w * ratio + 0.5)
    if max_y == 0 and max_x == 0:
        return x
    dev = x.device
    dy = torch.randint(-max_y, max_y + 1, (b, 1), device=dev)
    dx = torch.randint(-max_x, max_x + 1, (b, 1), device=dev)
    rows = (torch.arange(h, device=dev)[None, :] - dy).clamp_(0, h - 1)  # (B, H)
    cols = (torch.arange(w, device=dev)[None, :] - dx).clamp_(0, w - 1)  # (B, W)
    batch = torch.arange(b, device=dev)[:, None, None]
    out = x.permute(0, 2, 3, 1)[batch, rows[:, :, None], cols[:, None, :]]  # (B, H, W, C)
    return out.permute(0, 3, 1, 2)


def augment_cutout(x: torch.Tensor, ratio: float = 0.5) -> torch.Tensor:
    """Zero a square of ``ratio`` of the side at a random centre in each sample."""
    b, _, h, w = x.shape
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    if ch == 0 or cw == 0:
        return x
    dev = x.device
    cy = torch.randint(0, h, (b, 1, 1), device=dev)
    cx = torch.randint(0, w, (b, 1, 1), device=dev)
    ys = torch.arange(h, device=dev)[None, :, None]
    xs = torch.arange(w, device=dev)[None, None, :]
    top, left = cy - ch // 2, cx - cw // 2
    inside = (ys >= top) & (ys < top + ch) & (xs >= left) & (xs < left + cw)  # (B, H, W)
    return x * (~inside).unsqueeze(1).to(x.dtype)


class DiffAugment(ProbabilisticAugment):
    """``aug(x) -> x`` for image batches (N, C, H, W); see the module docstring."""

    KNOWN_OPS = KNOWN_OPS

    def apply(self, op: str, x: torch.Tensor) -> torch.Tensor:
        if op == "color":
            return augment_color(x)
        if op == "translation":
            return augment_translation(x, self.cfg.translation_ratio)
        return augment_cutout(x, self.cfg.cutout_ratio)


def build_diffaugment(cfg) -> DiffAugment:
    return DiffAugment(cfg)
