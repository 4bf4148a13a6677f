"""The truncation trick: latents from the normal cut to [-t, t], for sampling and evaluation only."""
from __future__ import annotations

import json
import math

import pytest
import torch
from scipy import stats

from sparring import DatasetSpec, ModalitySpec, ModelSpec, hookimpl
from sparring.builtin import plugin as builtin
from sparring.builtin.configs import MLPDiscriminatorConfig, MLPGeneratorConfig, RingConfig
from sparring.builtin.toy import MLPDiscriminator, MLPGenerator
from sparring.config import resolve
from sparring.errors import ConfigError
from sparring.latents import truncated_normal
from sparring.registry import load_registry
from sparring.train import Trainer


def truncated_variance(t: float) -> float:
    """The variance of the standard normal cut to [-t, t]: 1 - 2 t phi(t) / (2 Phi(t) - 1)."""
    return 1.0 - 2.0 * t * stats.norm.pdf(t) / (2.0 * stats.norm.cdf(t) - 1.0)


@pytest.mark.parametrize("t", [0.1, 0.5, 1.0, 2.0])
def test_truncated_normal_is_the_cut_normal(t):
    z = truncated_normal((200_000,), t, torch.Generator().manual_seed(0))
    assert z.dtype == torch.float32 and z.abs().max() <= t
    assert z.mean().item() == pytest.approx(0.0, abs=0.01 * t)
    assert z.var().item() == pytest.approx(truncated_variance(t), rel=0.02)
    # its distribution, not just its moments: Kolmogorov-Smirnov against scipy's truncnorm
    sample = z[:5000].double().numpy()
    assert stats.kstest(sample, stats.truncnorm(-t, t).cdf).pvalue > 0.01


def test_a_large_threshold_is_the_plain_normal():
    z = truncated_normal((5000,), 50.0, torch.Generator().manual_seed(1)).double().numpy()
    assert stats.kstest(z, stats.norm.cdf).pvalue > 0.01


def test_the_same_seed_squeezes_the_same_draws():
    # one uniform per entry, mapped by a monotone function of t: each entry keeps its sign
    # and shrinks as the threshold falls, so a row of thresholds shows the same samples
    draws = [truncated_normal((1000,), t, torch.Generator().manual_seed(2)) for t in (2.0, 1.0, 0.5)]
    for wide, narrow in zip(draws, draws[1:]):
        assert torch.equal(torch.sign(wide), torch.sign(narrow))
        assert (narrow.abs() <= wide.abs() + 1e-6).all()
        assert (narrow.abs() < wide.abs()).float().mean() > 0.99


@pytest.mark.parametrize("bad", [0, -1.0, math.inf, math.nan, True, "1"])
def test_a_bad_threshold_is_a_config_error(bad):
    with pytest.raises(ConfigError, match="truncation must be a positive number"):
        truncated_normal((3,), bad)


def toy_trainer(tmp_path, registry, **raw_extra):
    raw = {"modality": "toy", "out": str(tmp_path / "run"), "seed": 0,
           "generator": {"name": "mlp", "hidden": 16, "layers": 2},
           "discriminator": {"name": "mlp", "hidden": 16, "layers": 2},
           "dataset": {"name": "ring", "size": 500},
           "trainer": {"steps": 20, "batch_size": 32, "log_every": 10, "eval_every": -1, "sample_every": 100,
                       "checkpoint_every": 100, "eval_samples": 200, "progress": False}}
    raw["trainer"]["steps"] = raw_extra.pop("steps", 20)
    raw.update(raw_extra)
    trainer = Trainer(resolve(raw, registry), registry)
    trainer.train()
    return trainer


def test_sampling_with_truncation_pulls_samples_toward_g_of_zero(tmp_path, registry):
    trainer = toy_trainer(tmp_path, registry)
    plain = trainer.sample(256, seed=5)
    assert torch.equal(trainer.sample(256, seed=5), plain)  # seeded: the same samples again
    with torch.no_grad():
        trainer.sampler.eval()
        centre = trainer.sampler(torch.zeros(1, trainer.sampler.latent_dim)).cpu()
    spread = {t: (trainer.sample(256, seed=5, truncation=t) - centre).norm(dim=1).mean().item()
              for t in (2.0, 0.5, 1e-4)}
    plain_spread = (plain - centre).norm(dim=1).mean().item()
    # a smaller threshold, samples closer to G(0); at 1e-4 they all are G(0)
    assert plain_spread > spread[0.5] > spread[1e-4]
    assert spread[2.0] > spread[0.5]
    assert spread[1e-4] < 1e-3 * plain_spread


def test_truncated_evaluation_is_returned_but_not_logged(tmp_path, registry):
    # trained long enough to cover several of the ring's modes
    trainer = toy_trainer(tmp_path, registry, generator={"name": "mlp", "hidden": 64, "layers": 2},
                          discriminator={"name": "mlp", "hidden": 64, "layers": 2}, steps=400)
    log = tmp_path / "run" / "metrics.jsonl"
    before = log.read_text()
    plain = trainer.evaluate(200)
    logged = log.read_text()
    assert len(logged.splitlines()) == len(before.splitlines()) + 1
    assert json.loads(logged.splitlines()[-1])["eval"]["fd"] == plain["fd"]
    squeezed = trainer.evaluate(200, truncation=1e-4)
    assert log.read_text() == logged  # the run's curves hold training's evaluations only
    # every sample at G(0): one point covers at most one of the ring's eight modes
    assert squeezed["modes"] <= 1.0 < plain["modes"]
    assert squeezed["fd"] > plain["fd"]
    with pytest.raises(ConfigError, match="truncation"):
        trainer.evaluate(200, truncation=-2.0)


class OwnLatentPlugin:
    """A modality that draws its own latents: sparring cannot truncate them."""

    @hookimpl
    def sparring_modalities(self):
        yield ModalitySpec("toy-own", generator="mlp-own", discriminator="mlp-own", dataset="ring-own",
                           sample_latent=lambda n, G, device, rng: torch.randn(n, G.latent_dim, generator=rng))

    @hookimpl
    def sparring_generators(self):
        yield ModelSpec("mlp-own", "toy-own", lambda cfg, info: MLPGenerator(cfg, info), MLPGeneratorConfig)

    @hookimpl
    def sparring_discriminators(self):
        yield ModelSpec("mlp-own", "toy-own", lambda cfg, info: MLPDiscriminator(cfg, info), MLPDiscriminatorConfig)

    @hookimpl
    def sparring_datasets(self):
        yield DatasetSpec("ring-own", "toy-own", builtin._ring, RingConfig)


def test_a_modality_with_its_own_latents_refuses_truncation(tmp_path):
    registry = load_registry(extra_plugins=[("own", OwnLatentPlugin())], entry_points=False)
    trainer = toy_trainer(tmp_path, registry, modality="toy-own",
                          generator={"name": "mlp-own", "hidden": 16, "layers": 2},
                          discriminator={"name": "mlp-own", "hidden": 16, "layers": 2},
                          dataset={"name": "ring-own", "size": 500})
    assert trainer.sample(4).shape == (4, 2)
    with pytest.raises(ConfigError, match="'toy-own' draws its own latents"):
        trainer.sample(4, truncation=1.0)
