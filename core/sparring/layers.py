"""Layers that plugins share.

``spectral_norm`` divides a weight by its largest singular value, estimated by one power
iteration per training forward (Miyato et al. 2018), exactly as torch's parametrization
does, with one difference that matters under ``torch.compile``: torch's version updates
its ``u``/``v`` buffers in place inside the forward; compiled, the graph saves the mutated
buffers for backward, and D's second call in a step (real, then fake) overwrites what the
first call's backward still needs. Here the power iteration runs outside the graph and
sigma uses its fresh iterates, which nothing mutates afterwards.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.utils import parametrize


class SpectralNorm(nn.Module):
    """Parametrization ``W -> W / sigma(W)``; ``W`` is viewed as (out, rest)."""

    def __init__(self, weight: torch.Tensor, n_power_iterations: int = 1, eps: float = 1e-12):
        super().__init__()
        if n_power_iterations < 1:
            raise ValueError(f"n_power_iterations must be at least 1, got {n_power_iterations}")
        self.n_power_iterations = n_power_iterations
        self.eps = eps
        mat = weight.detach().flatten(1)
        u = F.normalize(mat.new_empty(mat.shape[0]).normal_(0, 1), dim=0, eps=eps)
        v = F.normalize(mat.new_empty(mat.shape[1]).normal_(0, 1), dim=0, eps=eps)
        self.register_buffer("_u", u)
        self.register_buffer("_v", v)
        with torch.no_grad():
            u, v = self._iterate(mat, 15)  # start from a good estimate, as torch does
            self._u.copy_(u)
            self._v.copy_(v)

    def _iterate(self, mat: torch.Tensor, n: int):
        u, v = self._u, self._v
        for _ in range(n):
            v = F.normalize(torch.mv(mat.t(), u), dim=0, eps=self.eps)
            u = F.normalize(torch.mv(mat, v), dim=0, eps=self.eps)
        return u, v

    @torch.compiler.disable
    @torch.no_grad()
    def _update(self, mat: torch.Tensor):
        """One training step's power iteration, run eagerly: a compiled graph never mutates
        the buffers, it receives fresh ``u`` and ``v`` as inputs instead."""
        u, v = self._iterate(mat.detach(), self.n_power_iterations)
        self._u.copy_(u)
        self._v.copy_(v)
        return u, v

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        mat = weight.flatten(1)
        if self.training:
            u, v = self._update(mat)
        else:
            u, v = self._u.clone(), self._v.clone()
        sigma = torch.dot(u, torch.mv(mat, v))
        return weight / sigma


def spectral_norm(module: nn.Module, name: str = "weight", n_power_iterations: int = 1,
                  eps: float = 1e-12) -> nn.Module:
    """Spectrally normalise ``module.<name>`` (Linear, Conv and Embedding weights: dim 0 is out).

    The state-dict keys are those of ``torch.nn.utils.parametrizations.spectral_norm``.
    """
    weight = getattr(module, name)
    if isinstance(module, (nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)):
        raise ValueError("spectral_norm here normalises dim 0; transpose convolutions need dim 1")
    parametrize.register_parametrization(module, name, SpectralNorm(weight, n_power_iterations, eps))
    return module
