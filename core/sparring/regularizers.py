"""Discriminator penalties. Each runs its own forward pass through ``D(x, y)``.

Lazy regularisation (StyleGAN2): with ``interval = k`` the penalty is applied every k
steps with its weight multiplied by k; the loop also corrects D's learning rate and
Adam betas by k/(k+1) so the effective optimisation matches the eager one.
"""
from __future__ import annotations

import torch

from .outputs import logits_of
from .specs import RegularizerSpec


def _grad_norm_sq(D, x: torch.Tensor, y=None) -> torch.Tensor:
    """Per-sample squared norm of dD(x)/dx, keeping the graph for the backward pass."""
    x = x.detach().requires_grad_(True)
    out = logits_of(D(x, y))
    (grad,) = torch.autograd.grad(out.sum(), x, create_graph=True)
    return grad.pow(2).reshape(grad.shape[0], -1).sum(dim=1)


def r1_penalty(D, real: torch.Tensor, fake: torch.Tensor, y=None) -> torch.Tensor:
    """R1 (Mescheder et al. 2018): 1/2 E ||grad D(x)||^2 on real data."""
    return 0.5 * _grad_norm_sq(D, real, y).mean()


def r2_penalty(D, real: torch.Tensor, fake: torch.Tensor, y=None) -> torch.Tensor:
    """R2: 1/2 E ||grad D(G(z))||^2 on generated data."""
    return 0.5 * _grad_norm_sq(D, fake, y).mean()


def gradient_penalty(D, real: torch.Tensor, fake: torch.Tensor, y=None) -> torch.Tensor:
    """WGAN-GP (Gulrajani et al. 2017): E (||grad D(x_hat)|| - 1)^2 on interpolates."""
    n = min(real.shape[0], fake.shape[0])
    real, fake = real[:n].detach(), fake[:n].detach()
    alpha = torch.rand((n,) + (1,) * (real.dim() - 1), device=real.device, dtype=real.dtype)
    x_hat = alpha * real + (1.0 - alpha) * fake
    norm = (_grad_norm_sq(D, x_hat, None if y is None else y[:n]) + 1e-12).sqrt()
    return ((norm - 1.0) ** 2).mean()


BUILTIN_REGULARIZERS = (
    RegularizerSpec("gp", gradient_penalty, weight=10.0, interval=1,
                    description="WGAN-GP gradient penalty on real/fake interpolates"),
    RegularizerSpec("r1", r1_penalty, weight=10.0, interval=16,
                    description="R1 penalty on reals, lazy every 16 steps"),
    RegularizerSpec("r2", r2_penalty, weight=10.0, interval=16,
                    description="R2 penalty on fakes, lazy every 16 steps"),
)
