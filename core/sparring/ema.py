"""Exponential moving average of the generator (StyleGAN2-ADA's half-life in samples)."""
from __future__ import annotations

import copy

import torch
from torch import nn


class EMA:
    """A frozen copy of G whose parameters trail G's: sampling and evaluation use it.

    The decay per step is 0.5 ** (batch / half-life), so the half-life is counted in
    samples and does not depend on the batch size; with a ramp-up the half-life is at
    most ``rampup * samples_seen``, so early, random weights are forgotten quickly.
    """

    def __init__(self, model: nn.Module, halflife: float, rampup: float):
        self.halflife = halflife
        self.rampup = rampup
        self.model = copy.deepcopy(model).eval().requires_grad_(False)
        self._params = list(self.model.parameters())
        self._buffers = list(self.model.buffers())

    def beta(self, batch_size: int, samples_seen: int) -> float:
        halflife = self.halflife
        if self.rampup > 0:
            halflife = min(halflife, samples_seen * self.rampup)
        return 0.5 ** (batch_size / max(halflife, 1e-8))

    @torch.no_grad()
    def update(self, model: nn.Module, batch_size: int, samples_seen: int) -> None:
        beta = self.beta(batch_size, samples_seen)
        torch._foreach_lerp_(self._params, list(model.parameters()), 1.0 - beta)
        for b_ema, b in zip(self._buffers, model.buffers()):
            b_ema.copy_(b)

    def state_dict(self) -> dict:
        return self.model.state_dict()

    def load_state_dict(self, state: dict) -> None:
        self.model.load_state_dict(state)
