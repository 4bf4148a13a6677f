"""The Gumbel-softmax relaxation and the inverse-temperature schedules (RelGAN, Sec. 2.2).

A sample of softmax(o) is ``argmax(o + g)`` with g Gumbel(0, 1) noise; its relaxation is
``softmax(beta * (o + g))``, which tends to the one-hot as the inverse temperature
``beta`` grows. Training starts at beta = 1 and raises it to ``beta_max``.
"""
from __future__ import annotations

import hashlib
import math

import torch

from .configs import SCHEDULES


def inverse_temperature(schedule: str, step: int, total: int, beta_max: float) -> float:
    """beta at ``step`` of ``total``: 1 -> ``beta_max`` (constant: ``beta_max`` throughout)."""
    if schedule not in SCHEDULES:
        raise ValueError(f"unknown temperature schedule {schedule!r} ({', '.join(SCHEDULES)})")
    p = min(max(step / total, 0.0), 1.0) if total > 0 else 1.0
    if schedule == "constant":
        return float(beta_max)
    if schedule == "linear":
        return 1.0 + p * (beta_max - 1.0)
    if schedule == "exponential":
        return float(beta_max) ** p
    return 1.0 + (beta_max - 1.0) / (1.0 + math.exp(-20.0 * (p - 0.5)))  # sigmoid


def gumbel_noise(shape, device, generator: torch.Generator | None = None) -> torch.Tensor:
    u = torch.rand(shape, generator=generator, device=device if generator is None else generator.device)
    return -torch.log(-torch.log(u.to(device) + 1e-10) + 1e-10)


def gumbel_softmax(logits: torch.Tensor, beta: float, straight_through: bool = False,
                   generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """``(relaxed one-hot, sampled ids)`` over the last dimension.

    With ``straight_through`` the first value is the hard one-hot in the forward pass
    and carries the relaxed one's gradient.
    """
    noisy = logits + gumbel_noise(logits.shape, logits.device, generator)
    ids = noisy.argmax(-1)
    soft = torch.softmax(beta * noisy, dim=-1)
    if straight_through:
        hard = torch.nn.functional.one_hot(ids, logits.shape[-1]).to(soft.dtype)
        soft = hard + soft - soft.detach()
    return soft, ids


def generator_from(z: torch.Tensor) -> torch.Generator:
    """A CPU generator seeded by the bytes of ``z``: sampling in eval mode is a function
    of the latent alone, so it never touches (or depends on) the global RNG."""
    digest = hashlib.blake2b(z.detach().float().cpu().numpy().tobytes(), digest_size=8).digest()
    return torch.Generator().manual_seed(int.from_bytes(digest, "little") & (2**63 - 1))
