import math

import pytest
import torch

from sparring.specs import DataInfo
from sparring_text.configs import GPT2GeneratorConfig, LSTMGeneratorConfig
from sparring_text.gumbel import generator_from, gumbel_softmax, inverse_temperature
from sparring_text.hf_models import GPT2Generator
from sparring_text.models import LSTMGenerator

INFO = DataInfo((6, 11))


def _generators(**kw):
    return [LSTMGenerator(LSTMGeneratorConfig(latent_dim=4, embed_dim=8, hidden_dim=8, **kw), INFO),
            GPT2Generator(GPT2GeneratorConfig(latent_dim=4, n_embd=8, n_layer=1, n_head=2, **kw), INFO)]


@pytest.mark.parametrize("straight_through", [False, True])
def test_gradients_reach_every_generator_parameter(straight_through):
    target = torch.randn(11)
    for G in _generators(straight_through=straight_through):
        out = G(torch.randn(5, 4))
        (out * target).sum().backward()  # a stand-in for D: any function of the one-hots
        missing = [n for n, p in G.named_parameters() if p.grad is None or p.grad.abs().sum() == 0]
        # With hard feeding (LSTM default) the token embedding only sees MLE gradients.
        allowed = {"embed.weight"} if G.feed == "hard" else set()
        assert set(missing) <= allowed, (type(G).__name__, missing)
        assert G.head.weight.grad.abs().sum() > 0 if hasattr(G, "head") else G.start.grad.abs().sum() > 0


def test_relaxed_sample_is_a_distribution_and_straight_through_is_one_hot():
    logits = torch.randn(3, 7, requires_grad=True)
    soft, ids = gumbel_softmax(logits, beta=2.0)
    assert torch.allclose(soft.sum(-1), torch.ones(3))
    assert (soft > 0).all() and (soft < 1).all()
    hard, ids = gumbel_softmax(logits, beta=2.0, straight_through=True)
    assert torch.equal(hard.detach(), torch.nn.functional.one_hot(ids, 7).float())
    hard[:, 0].sum().backward()
    assert logits.grad.abs().sum() > 0


def test_argmax_of_gumbel_noise_samples_the_softmax():
    logits = torch.tensor([1.0, 0.0, -1.0, 2.0])
    g = torch.Generator().manual_seed(0)
    _, ids = gumbel_softmax(logits.expand(40000, 4), 1.0, generator=g)
    freq = torch.bincount(ids, minlength=4).float() / 40000
    assert torch.allclose(freq, torch.softmax(logits, 0), atol=0.01)


def test_high_inverse_temperature_approaches_one_hot():
    logits = torch.randn(4, 9)
    g1, g2 = torch.Generator().manual_seed(1), torch.Generator().manual_seed(1)
    cold, ids = gumbel_softmax(logits, 1000.0, generator=g1)
    warm, _ = gumbel_softmax(logits, 1.0, generator=g2)
    assert (cold.max(-1).values > 0.99).all()
    assert warm.max(-1).values.min() < 0.99
    assert torch.equal(cold.argmax(-1), ids)


@pytest.mark.parametrize("schedule", ["constant", "linear", "exponential", "sigmoid"])
def test_schedules_go_from_one_to_the_maximum(schedule):
    values = [inverse_temperature(schedule, s, 100, 50.0) for s in range(101)]
    assert all(b <= a + 1e-9 for b, a in zip(values, values[1:])), "not monotone"
    assert values[-1] == pytest.approx(50.0, rel=1e-3)
    if schedule == "constant":
        assert values[0] == 50.0
    else:
        assert values[0] == pytest.approx(1.0, abs=0.01)
    assert inverse_temperature(schedule, 500, 100, 50.0) == pytest.approx(values[-1])  # clamped


def test_schedule_midpoints():
    assert inverse_temperature("linear", 50, 100, 101.0) == pytest.approx(51.0)
    assert inverse_temperature("exponential", 50, 100, 100.0) == pytest.approx(10.0)
    assert inverse_temperature("sigmoid", 50, 100, 101.0) == pytest.approx(51.0)
    with pytest.raises(ValueError, match=r"unknown temperature schedule 'cosine' \(.*linear.*\)"):
        inverse_temperature("cosine", 1, 2, 3.0)


def test_anneal_sets_beta_on_the_generator():
    G = _generators(schedule="linear", beta_max=11.0)[0]
    assert G.anneal(5, 10) == pytest.approx(6.0) and G.beta == pytest.approx(6.0)


def test_anneal_steps_fix_the_schedule_span_whatever_the_run_length():
    for G in _generators(schedule="exponential", beta_max=100.0, anneal_steps=5000):
        assert G.anneal(3000, 3000) == pytest.approx(100.0 ** 0.6)  # RelGAN's oracle runs end near 16
        assert G.anneal(10000, 3000) == pytest.approx(100.0)  # clamped past the span
    with pytest.raises(ValueError, match="'anneal_steps' must be >= 0"):
        LSTMGeneratorConfig(anneal_steps=-1)


def test_eval_mode_samples_are_hard_and_a_function_of_z():
    for G in _generators():
        G.eval()
        z = torch.randn(4, 4)
        with torch.no_grad():
            a, b, c = G(z), G(z), G(torch.randn(4, 4))
        assert torch.equal(a, b)
        assert not torch.equal(a, c)
        assert torch.equal(a.sum(-1), torch.ones(4, 6))
        assert set(a.unique().tolist()) <= {0.0, 1.0}
    assert generator_from(z).initial_seed() == generator_from(z.clone()).initial_seed()


def test_mle_pretraining_lowers_the_loss():
    G = _generators()[0]
    data = torch.tensor([[1, 2, 3, 4, 0, 0], [5, 6, 7, 0, 0, 0]] * 8)
    opt = torch.optim.Adam(G.parameters(), lr=3e-2)
    first = float(G.mle_loss(data).detach())
    assert first == pytest.approx(math.log(11), abs=0.3)
    for _ in range(60):
        opt.zero_grad()
        G.mle_loss(data).backward()
        opt.step()
    assert float(G.mle_loss(data).detach()) < 0.5 * first
