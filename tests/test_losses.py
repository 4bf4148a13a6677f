"""Each loss against its formula on fixed numbers; penalties against known gradients."""
from __future__ import annotations

import math

import pytest
import torch

from sparring import losses, regularizers

REAL = torch.tensor([2.0, -1.0, 0.5, 0.0])
FAKE = torch.tensor([-3.0, 1.5, 0.0, -0.5])


def sig(x):
    return 1.0 / (1.0 + math.exp(-x))


def mean(values):
    return sum(values) / len(values)


def test_minimax_d_loss_is_negative_log_likelihood_of_the_seed_objective():
    # D maximises log D(x) + log(1 - D(G(z))); the loss is its negative.
    expected = -mean([math.log(sig(r)) for r in REAL.tolist()]) - mean([math.log(1 - sig(f)) for f in FAKE.tolist()])
    assert losses.minimax_d_loss(REAL, FAKE).item() == pytest.approx(expected, rel=1e-6)


def test_minimax_g_loss_is_log_one_minus_d_of_fake():
    expected = mean([math.log(1 - sig(f)) for f in FAKE.tolist()])
    assert losses.minimax_g_loss(FAKE).item() == pytest.approx(expected, rel=1e-6)


def test_nonsaturating_g_loss_is_minus_log_d_of_fake():
    expected = -mean([math.log(sig(f)) for f in FAKE.tolist()])
    assert losses.nonsaturating_g_loss(FAKE).item() == pytest.approx(expected, rel=1e-6)


def test_hinge():
    d = mean([max(0, 1 - r) for r in REAL.tolist()]) + mean([max(0, 1 + f) for f in FAKE.tolist()])
    assert losses.hinge_d_loss(REAL, FAKE).item() == pytest.approx(d)
    assert losses.hinge_g_loss(FAKE).item() == pytest.approx(-mean(FAKE.tolist()))


def test_wasserstein():
    assert losses.wasserstein_d_loss(REAL, FAKE).item() == pytest.approx(mean(FAKE.tolist()) - mean(REAL.tolist()))
    assert losses.wasserstein_g_loss(FAKE).item() == pytest.approx(-mean(FAKE.tolist()))


def test_least_squares():
    d = 0.5 * mean([(r - 1) ** 2 for r in REAL.tolist()]) + 0.5 * mean([f**2 for f in FAKE.tolist()])
    assert losses.least_squares_d_loss(REAL, FAKE).item() == pytest.approx(d)
    assert losses.least_squares_g_loss(FAKE).item() == pytest.approx(0.5 * mean([(f - 1) ** 2 for f in FAKE.tolist()]))


def test_relativistic():
    d = -mean([math.log(sig(r - f)) for r, f in zip(REAL.tolist(), FAKE.tolist())])
    g = -mean([math.log(sig(f - r)) for r, f in zip(REAL.tolist(), FAKE.tolist())])
    assert losses.relativistic_d_loss(REAL, FAKE).item() == pytest.approx(d, rel=1e-6)
    assert losses.relativistic_g_loss(FAKE, REAL).item() == pytest.approx(g, rel=1e-6)


@pytest.mark.parametrize("spec", losses.BUILTIN_LOSSES, ids=lambda s: s.name)
def test_losses_stay_finite_with_extreme_logits(spec):
    big = torch.tensor([1e4, -1e4, 80.0, -80.0], requires_grad=True)
    other = torch.tensor([-1e4, 1e4, -80.0, 80.0], requires_grad=True)
    d = spec.d_loss(big, other)
    g = spec.g_loss(other, big)
    (d + g).backward()
    assert torch.isfinite(d) and torch.isfinite(g)
    assert torch.isfinite(big.grad).all() and torch.isfinite(other.grad).all()


def test_nonsaturating_gives_strong_gradient_where_minimax_saturates():
    # Early in training D rejects fakes confidently: logits very negative.
    fake = torch.tensor([-10.0], requires_grad=True)
    losses.minimax_g_loss(fake).backward()
    saturating = fake.grad.abs().item()
    fake.grad = None
    losses.nonsaturating_g_loss(fake).backward()
    assert fake.grad.abs().item() > 1000 * saturating


class LinearD(torch.nn.Module):
    """D(x) = w . x, so grad_x D = w everywhere."""

    def __init__(self, w):
        super().__init__()
        self.w = torch.nn.Parameter(torch.tensor(w))

    def forward(self, x, y=None):
        return x @ self.w


class QuadraticD(torch.nn.Module):
    """D(x) = 1/2 ||x||^2, so grad_x D = x."""

    def forward(self, x, y=None):
        return 0.5 * (x**2).sum(1)


def test_r1_is_half_the_squared_gradient_norm_on_reals():
    D = LinearD([3.0, 4.0])
    real = torch.randn(8, 2)
    assert regularizers.r1_penalty(D, real, real).item() == pytest.approx(0.5 * 25.0)


def test_r1_and_r2_read_reals_and_fakes_respectively():
    D = QuadraticD()
    real = torch.full((4, 2), 1.0)  # ||x||^2 = 2
    fake = torch.full((4, 2), 2.0)  # ||x||^2 = 8
    assert regularizers.r1_penalty(D, real, fake).item() == pytest.approx(1.0)
    assert regularizers.r2_penalty(D, real, fake).item() == pytest.approx(4.0)


def test_gradient_penalty_vanishes_for_a_one_lipschitz_critic():
    torch.manual_seed(0)
    assert regularizers.gradient_penalty(LinearD([0.6, 0.8]), torch.randn(16, 2), torch.randn(16, 2)).item() == pytest.approx(0.0, abs=1e-6)
    assert regularizers.gradient_penalty(LinearD([3.0, 4.0]), torch.randn(16, 2), torch.randn(16, 2)).item() == pytest.approx(16.0, rel=1e-5)


def test_penalties_are_differentiable_in_d_parameters():
    D = LinearD([3.0, 4.0])
    regularizers.r1_penalty(D, torch.randn(4, 2), None).backward()
    # d/dw 1/2 ||w||^2 = w
    assert torch.allclose(D.w.grad, torch.tensor([3.0, 4.0]))
