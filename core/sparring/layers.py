"""Layers that plugins share.

``class_labels`` checks the labels a class-conditional model is given.

``spectral_norm`` divides a weight by its largest singular value, estimated by one power
iteration per training forward (Miyato et al. 2018), exactly as torch's parametrization
does, with one difference that matters under ``torch.compile``: torch's version updates
its ``u``/``v`` buffers in place inside the forward; compiled, the graph saves the mutated
buffers for backward, and D's second call in a step (real, then fake) overwrites what the
first call's backward still needs. Here the power iteration runs outside the graph and
sigma uses its fresh iterates, which nothing mutates afterwards.

Inside a compiled module that eager step is a graph break at every normalised layer, and
the code after each break is recompiled per weight shape. ``compile_with_spectral_norm``
avoids both: it advances every layer's power iteration eagerly before each call of the
compiled module (``SpectralNorm.advance``) and the compiled forward only reads the
fresh iterates, so D compiles as one graph with the same numbers.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.utils import parametrize


def append_minibatch_std(h: torch.Tensor) -> torch.Tensor:
    """``h`` (batch, features) with one more feature: the features' standard deviation over
    the batch, averaged to one number (ProGAN's minibatch deviation, one group).

    A discriminator's head that reads it can tell a batch of near-identical samples (a
    collapsed G) from a varied one. The statistic is computed in float32; ``+ 1e-8`` keeps
    sqrt's gradient finite when every sample is the same.
    """
    spread = (h.float().var(0, unbiased=False) + 1e-8).sqrt().mean()
    return torch.cat([h, spread.to(h.dtype).expand(h.shape[0], 1)], dim=1)


def class_labels(module: nn.Module, y):
    """``y`` as a flat long tensor for a class-conditional ``module`` (its ``num_classes``
    set), None for an unconditional one; a conditional module called without labels is a
    ValueError naming it."""
    if module.num_classes is None:
        return None
    if y is None:
        raise ValueError(f"{type(module).__name__} is class-conditional: pass labels y")
    return y.reshape(-1).long()


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
        self.advanced_outside = False  # set by compile_with_spectral_norm
        self._fresh_u = self._fresh_v = None

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

    @torch.no_grad()
    def advance(self, weight: torch.Tensor) -> None:
        """The next forward's power iteration, run now (eagerly); that forward reads it."""
        u, v = self._iterate(weight.detach().flatten(1), self.n_power_iterations)
        self._u.copy_(u)
        self._v.copy_(v)
        self._fresh_u, self._fresh_v = u, v  # new tensors each time: never mutated later

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        mat = weight.flatten(1)
        if self.training and self.advanced_outside and self._fresh_u is not None:
            u, v = self._fresh_u, self._fresh_v
        elif self.training:
            u, v = self._update(mat)
        else:
            u, v = self._u.clone(), self._v.clone()
        sigma = torch.dot(u, torch.mv(mat, v))
        return weight / sigma


def _spectral_norms(module: nn.Module):
    """(SpectralNorm, the weight it normalises) for every normalised layer in ``module``."""
    for m in module.modules():
        if parametrize.is_parametrized(m):
            for plist in m.parametrizations.values():
                for p in plist:
                    if isinstance(p, SpectralNorm):
                        yield p, plist.original


class compile_with_spectral_norm:  # noqa: N801 (used like torch.compile)
    """``torch.compile(module)``, with spectral norm's power iteration kept out of the graph.

    Each training-mode call first advances every layer's iteration eagerly, then runs the
    compiled module, whose spectral norms read those iterates: one graph, no breaks, and the
    numbers of an eager call. A module without spectral norm is compiled as it is.
    """

    def __init__(self, module: nn.Module, **compile_kwargs):
        self.module = module
        self.normalised = list(_spectral_norms(module))
        for sn, _ in self.normalised:
            sn.advanced_outside = True
        self.compiled = torch.compile(module, **compile_kwargs)

    def __call__(self, *args, **kwargs):
        if self.module.training:
            for sn, weight in self.normalised:
                sn.advance(weight)
        return self.compiled(*args, **kwargs)


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
