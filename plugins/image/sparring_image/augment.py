"""Differentiable image augmentation with an optional adaptive probability.

The transforms follow DiffAugment (Zhao et al. 2020, "Differentiable Augmentation for
Data-Efficient GAN Training"): colour (brightness, saturation, contrast), translation
by up to ``translation_ratio`` of the image side, and cutout of a square of
``cutout_ratio`` of the side. All are differentiable with respect to the input, so the
same augmentation is applied to real and generated images and G's gradient passes
through it.

Each transform is applied to each sample with probability ``p``. With
``adaptive = true`` ``p`` is tuned as in ADA (Karras et al. 2020, "Training Generative
Adversarial Networks with Limited Data"): the loop calls :meth:`update` with D's logits
on real images after each D step; every ``interval`` calls the overfitting heuristic
``r_t = E[sign(D(real))]`` is compared with ``target`` and ``p`` moves up (D too sure
of the reals: overfitting) or down by ``images / (ada_kimg * 1000)``.

The adaptive state (``p``, the running sign sum, the call count) lives in tensors on the
training device and is updated with tensor operations only: no host sync in the step
(the GPU keeps running ahead of Python), and the whole update can be captured in a CUDA
graph (``graph_safe``). ``p`` and ``rt`` read as floats when asked for.
"""
from __future__ import annotations

import torch
from torch.nn import functional as F

from sparring.errors import ConfigError
from sparring.outputs import logits_of

KNOWN_OPS = ("color", "translation", "cutout")


def _per_sample(x, shape_tail=(1, 1, 1)):
    return torch.rand((x.shape[0], *shape_tail), dtype=x.dtype, device=x.device)


def augment_color(x: torch.Tensor) -> torch.Tensor:
    """Random brightness (+-0.5), saturation (x0..2) and contrast (x0.5..1.5) per sample."""
    x = x + (_per_sample(x) - 0.5)
    mean_c = x.mean(dim=1, keepdim=True)
    x = (x - mean_c) * (_per_sample(x) * 2.0) + mean_c
    mean_all = x.mean(dim=(1, 2, 3), keepdim=True)
    x = (x - mean_all) * (_per_sample(x) + 0.5) + mean_all
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


class DiffAugment:
    """``aug(x) -> x`` for image batches (N, C, H, W); see the module docstring."""

    def __init__(self, cfg):
        ops = [o.strip() for o in str(cfg.policy).split(",") if o.strip()]
        unknown = [o for o in ops if o not in KNOWN_OPS]
        if unknown:
            raise ConfigError(f"unknown augmentation(s) {unknown}; known: {', '.join(KNOWN_OPS)}")
        for key in ("p", "p_init", "p_max", "target"):
            value = float(getattr(cfg, key))
            if not 0.0 <= value <= 1.0:
                raise ConfigError(f"augment.{key} must be in [0, 1], got {value}")
        if cfg.interval < 1 or cfg.ada_kimg <= 0:
            raise ConfigError("augment.interval must be >= 1 and augment.ada_kimg > 0")
        self.cfg = cfg
        self.ops = ops
        self.adaptive = bool(cfg.adaptive)
        self._fixed_p = float(cfg.p)
        # [p, rt, sign sum, sign count, images, calls]: float64, moved to the logits' device.
        self._state = torch.tensor([float(cfg.p_init), 0.0, 0.0, 0.0, 0.0, 0.0], dtype=torch.float64)

    graph_safe = True  # no host reads, no Python state that changes per step

    @property
    def p(self) -> float:
        """The probability of each transform now (a host read when adaptive)."""
        return float(self._state[0]) if self.adaptive else self._fixed_p

    @property
    def rt(self) -> float:
        """The last measured E[sign(D(real))] (adaptive only; 0 before the first adjustment)."""
        return float(self._state[1])

    def _apply(self, op: str, x: torch.Tensor) -> torch.Tensor:
        if op == "color":
            return augment_color(x)
        if op == "translation":
            return augment_translation(x, self.cfg.translation_ratio)
        return augment_cutout(x, self.cfg.cutout_ratio)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if not self.ops:
            return x
        if self.adaptive:  # p on the device: every transform drawn, kept per sample (no sync)
            p = self._on(x.device)[0]
        else:
            p = self._fixed_p
            if p <= 0.0:
                return x
        for op in self.ops:
            augmented = self._apply(op, x)
            if not self.adaptive and p >= 1.0:
                x = augmented
            else:
                keep = _per_sample(x) >= p
                x = torch.where(keep, x, augmented)
        return x

    def _on(self, device) -> torch.Tensor:
        if self._state.device != torch.device(device):
            self._state = self._state.to(device)
        return self._state

    # -- ADA ------------------------------------------------------------------------

    def update(self, real_logits) -> None:
        """Accumulate ``sign(D(real))``; every ``interval`` calls adjust ``p`` (adaptive only)."""
        if not self.adaptive:
            return
        logits = logits_of(real_logits).detach()
        s = self._on(logits.device)
        p, rt, sign_sum, count, images, calls = s.unbind()
        # In place, in the same tensor each time: a captured graph replays this update.
        sign_sum.add_(torch.sign(logits).sum().to(s.dtype))
        count.add_(logits.numel())
        images.add_(int(logits.shape[0]) if logits.ndim else 1)
        calls.add_(1)
        due = torch.remainder(calls, self.cfg.interval) == 0
        measured = sign_sum / count.clamp(min=1)
        direction = torch.where(measured > self.cfg.target, 1.0, -1.0).to(s.dtype)
        moved = (p + direction * images / (self.cfg.ada_kimg * 1000.0)).clamp(0.0, float(self.cfg.p_max))
        p.copy_(torch.where(due, moved, p))
        rt.copy_(torch.where(due, measured, rt))
        for running in (sign_sum, count, images):
            running.mul_((~due).to(s.dtype))  # reset after an adjustment

    def state_dict(self) -> dict:
        p, rt, sign_sum, count, images, calls = self._state.tolist()
        return {"p": p if self.adaptive else self._fixed_p, "rt": rt, "sign_sum": sign_sum,
                "sign_count": int(count), "images": int(images), "calls": int(calls)}

    def load_state_dict(self, state: dict) -> None:
        values = [float(state["p"]), float(state.get("rt", 0.0)), float(state.get("sign_sum", 0.0)),
                  float(state.get("sign_count", 0)), float(state.get("images", 0)), float(state.get("calls", 0))]
        if not self.adaptive:
            self._fixed_p = values[0]
        self._state.copy_(torch.tensor(values, dtype=torch.float64))

    def __repr__(self):
        mode = f"adaptive p={self.p:.3f} target={self.cfg.target}" if self.adaptive else f"p={self.p}"
        return f"DiffAugment({','.join(self.ops)}, {mode})"


def build_diffaugment(cfg) -> DiffAugment:
    return DiffAugment(cfg)
