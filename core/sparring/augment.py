"""The modality-free half of differentiable augmentation: which transforms run, with what
probability, and ADA's adaptive probability.

A plugin subclasses :class:`ProbabilisticAugment`, names its transforms in ``KNOWN_OPS``
and implements ``apply(op, x)``; the loop then calls the object on real and generated
batches alike before D (DiffAugment, Zhao et al. 2020) and, after each D step,
``update(real_logits)``.

Each transform is applied to each sample with probability ``p``. With ``adaptive`` the
probability is tuned as in ADA (Karras et al. 2020, "Training Generative Adversarial
Networks with Limited Data"): every ``interval`` calls the overfitting heuristic
``r_t = E[sign(D(real))]`` is compared with ``target`` and ``p`` moves up (D too sure of
the reals: overfitting) or down by ``images / (ada_kimg * 1000)``.

The adaptive state (``p``, the running sign sum, the call count) lives in tensors on the
training device and is updated with tensor operations only: no host sync in the step
(the GPU keeps running ahead of Python), and the whole update can be captured in a CUDA
graph (``graph_safe``). ``p`` and ``rt`` read as floats when asked for.
"""
from __future__ import annotations

import torch

from .errors import ConfigError
from .outputs import logits_of


def per_sample_uniform(x: torch.Tensor) -> torch.Tensor:
    """One U(0, 1) draw per sample, shaped to broadcast over the rest of ``x``."""
    return torch.rand((x.shape[0],) + (1,) * (x.ndim - 1), dtype=x.dtype, device=x.device)


class ProbabilisticAugment:
    """``aug(x) -> x``: the ops of ``cfg.policy`` (comma-separated), each with probability ``p``.

    ``cfg`` is a :class:`sparring.specs.AugmentProbabilityConfig` (or a subclass adding the
    transforms' sizes, as the image and audio plugins' configs do).
    """

    KNOWN_OPS: tuple[str, ...] = ()
    graph_safe = True  # no host reads, no Python state that changes per step

    def __init__(self, cfg):
        ops = [o.strip() for o in str(cfg.policy).split(",") if o.strip()]
        unknown = [o for o in ops if o not in self.KNOWN_OPS]
        if unknown:
            raise ConfigError(f"unknown augmentation(s) {unknown} in augment.policy; known: {', '.join(self.KNOWN_OPS)}")
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

    def apply(self, op: str, x: torch.Tensor) -> torch.Tensor:
        """Transform every sample of ``x`` by ``op`` (one of ``KNOWN_OPS``)."""
        raise NotImplementedError

    @property
    def p(self) -> float:
        """The probability of each transform now (a host read when adaptive)."""
        return float(self._state[0]) if self.adaptive else self._fixed_p

    @property
    def rt(self) -> float:
        """The last measured E[sign(D(real))] (adaptive only; 0 before the first adjustment)."""
        return float(self._state[1])

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
            augmented = self.apply(op, x)
            if not self.adaptive and p >= 1.0:
                x = augmented
            else:
                keep = per_sample_uniform(x) >= p
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
        return f"{type(self).__name__}({','.join(self.ops)}, {mode})"
