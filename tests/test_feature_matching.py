"""Feature matching: L1 between D's features on real and generated samples, added to G's loss."""
import json

import pytest
import torch

from sparring import ModelSpec, hookimpl
from sparring.builtin.configs import MLPDiscriminatorConfig
from sparring.builtin.toy import MLPDiscriminator
from sparring.config import resolve
from sparring.errors import ConfigError
from sparring.losses import feature_matching_loss
from sparring.outputs import DiscriminatorOutput
from sparring.registry import load_registry
from sparring.train import Trainer


def test_feature_matching_loss_is_the_mean_l1_over_layers_and_stops_at_the_real_side():
    # The real features require a gradient (they come out of D): the loss must not send one back.
    real = [torch.zeros(2, 3, requires_grad=True), torch.ones(2, 4, requires_grad=True)]
    fake = [torch.full((2, 3), 2.0, requires_grad=True), torch.full((2, 4), 0.5, requires_grad=True)]
    loss = feature_matching_loss(real, fake)
    assert loss.item() == pytest.approx((2.0 + 0.5) / 2)
    loss.backward()
    assert real[0].grad is None and real[1].grad is None
    # d/dfake of mean |fake - real| over each layer's elements, averaged over the 2 layers.
    torch.testing.assert_close(fake[0].grad, torch.full((2, 3), 1 / (6 * 2)))
    torch.testing.assert_close(fake[1].grad, torch.full((2, 4), -1 / (8 * 2)))
    assert feature_matching_loss(real, [r.clone() for r in real]).item() == 0.0
    with pytest.raises(ValueError, match="same non-empty list"):
        feature_matching_loss(real, fake[:1])


class FeaturesD(MLPDiscriminator):
    """The toy MLP D, returning each hidden activation as a feature."""

    def forward(self, x, y=None):
        h, features = x.reshape(x.shape[0], -1), []
        for layer in self.net:
            h = layer(h)
            if isinstance(layer, torch.nn.LeakyReLU):
                features.append(h)
        return DiscriminatorOutput(h.squeeze(1), features)


class FeaturesPlugin:
    @hookimpl
    def sparring_discriminators(self):
        yield ModelSpec("mlp-features", "toy", lambda cfg, info: FeaturesD(cfg, info), MLPDiscriminatorConfig)


def run(tmp_path, name, weight, disc="mlp-features", steps=4):
    registry = load_registry(extra_plugins=[("features", FeaturesPlugin())], entry_points=False)
    raw = {"modality": "toy", "out": str(tmp_path / name), "seed": 0,
           "generator": {"name": "mlp", "hidden": 16, "layers": 2},
           "discriminator": {"name": disc, "hidden": 16, "layers": 2},
           "dataset": {"name": "ring", "size": 500},
           "trainer": {"steps": steps, "batch_size": 32, "log_every": 2, "eval_every": -1,
                       "sample_every": 100, "checkpoint_every": 100, "progress": False,
                       "feature_matching": weight}}
    trainer = Trainer(resolve(raw, registry), registry)
    trainer.train()
    return trainer


def test_feature_matching_is_logged_and_changes_what_g_learns(tmp_path):
    plain, matched = run(tmp_path, "plain", 0.0), run(tmp_path, "fm", 10.0)
    records = [json.loads(x) for x in (tmp_path / "fm" / "metrics.jsonl").read_text().splitlines()]
    values = [r["feature_matching"] for r in records if "feature_matching" in r]
    assert len(values) == 2 and all(v > 0 for v in values)
    assert all("feature_matching" not in x for x in (tmp_path / "plain" / "metrics.jsonl").read_text().splitlines())
    # D updates come first and see the same G, so D agrees after step 1; G must not.
    assert any(not torch.equal(a, b) for a, b in zip(plain.G.parameters(), matched.G.parameters()))


def test_feature_matching_with_a_discriminator_without_features_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="trainer.feature_matching.*'mlp' returns no features"):
        run(tmp_path, "nofeat", 1.0, disc="mlp")
