"""Every model's shapes in 2-D and 3-D, packing, and a few training steps on the CPU."""
from __future__ import annotations

import json

import pytest
import torch

from sparring.config import resolve
from sparring.errors import ConfigError
from sparring.outputs import DiscriminatorOutput, logits_of, split_output
from sparring.registry import load_registry
from sparring.specs import DataInfo
from sparring.train import Trainer
from sparring_medical import models
from sparring_medical.configs import (
    DCGANDiscriminatorConfig,
    DCGANGeneratorConfig,
    MonaiDiscriminatorConfig,
    MonaiGeneratorConfig,
    MultiScalePatchDiscriminatorConfig,
    PatchDiscriminatorConfig,
)

SHAPES = {2: (1, 16, 16), 3: (1, 16, 16, 16)}
GENERATORS = {
    "medical-dcgan": lambda info: models.DCGANGenerator(DCGANGeneratorConfig(latent_dim=8, channels=4), info),
    "monai-generator": lambda info: models.MonaiGenerator(
        MonaiGeneratorConfig(latent_dim=8, channels=[8, 4], num_res_units=0), info),
}
DISCRIMINATORS = {
    "medical-dcgan": lambda info: models.DCGANDiscriminator(DCGANDiscriminatorConfig(channels=4), info),
    "medical-dcgan-batch": lambda info: models.DCGANDiscriminator(
        DCGANDiscriminatorConfig(channels=4, norm="batch"), info),
    "monai-discriminator": lambda info: models.MonaiDiscriminator(
        MonaiDiscriminatorConfig(channels=[4, 8], num_res_units=0), info),
    "monai-critic": lambda info: models.MonaiDiscriminator(
        MonaiDiscriminatorConfig(channels=[4, 8], num_res_units=0), info, critic=True),
    "monai-patch": lambda info: models.PatchDiscriminator(PatchDiscriminatorConfig(num_layers=2, channels=4), info),
    "monai-multiscale-patch": lambda info: models.MultiScalePatchDiscriminator(
        MultiScalePatchDiscriminatorConfig(num_d=2, num_layers=1, channels=4), info),
}


@pytest.mark.parametrize("dims", [2, 3])
@pytest.mark.parametrize("name", sorted(GENERATORS))
def test_generator_shapes(name, dims):
    info = DataInfo(SHAPES[dims])
    G = GENERATORS[name](info)
    out = G(torch.randn(3, G.latent_dim), None)
    assert out.shape == (3, *SHAPES[dims])
    assert out.abs().max() <= 1.0  # tanh: the data's range
    out.mean().backward()
    assert all(p.grad is not None for p in G.parameters() if p.requires_grad)


@pytest.mark.parametrize("dims", [2, 3])
@pytest.mark.parametrize("name", sorted(DISCRIMINATORS))
def test_discriminator_shapes_with_packing(name, dims):
    info = DataInfo(SHAPES[dims], pack=2)
    D = DISCRIMINATORS[name](info)
    x = torch.randn(3, 2 * SHAPES[dims][0], *SHAPES[dims][1:], requires_grad=True)
    out = D(x, None)
    logits, features = split_output(out)
    assert logits.shape[0] == 3 and torch.isfinite(logits).all()
    if name == "monai-patch":
        assert isinstance(out, list) and logits.ndim == dims + 2 and len(features) >= 2
    if name == "monai-multiscale-patch":
        assert isinstance(out, DiscriminatorOutput) and logits.ndim == 2 and len(features) >= 2
    if name in ("medical-dcgan", "monai-discriminator", "monai-critic"):
        assert logits.shape == (3,)
    logits.sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_spectral_norm_bounds_the_dcgan_discriminator():
    D = models.DCGANDiscriminator(DCGANDiscriminatorConfig(channels=4), DataInfo(SHAPES[3]))
    with torch.no_grad():
        for p in D.parameters():
            p.mul_(100.0)
    D.train()
    x = torch.randn(2, *SHAPES[3])
    for _ in range(5):  # power iterations converge
        D(x)
    head = D.head.parametrizations.weight
    weight = D.head.weight
    assert head is not None and torch.linalg.matrix_norm(weight, ord=2) < 1.2


def test_sizes_that_cannot_be_reached_are_config_errors():
    with pytest.raises(ConfigError, match="dataset.size"):
        models.DCGANGenerator(DCGANGeneratorConfig(), DataInfo((1, 18, 25)))
    with pytest.raises(ConfigError, match="divisible by 16"):
        models.MonaiGenerator(MonaiGeneratorConfig(channels=[8, 8, 8, 8]), DataInfo((1, 24, 24)))
    with pytest.raises(ConfigError, match="at least 64"):
        models.MultiScalePatchDiscriminator(MultiScalePatchDiscriminatorConfig(num_d=2, num_layers=2),
                                            DataInfo((1, 32, 32)))
    # The smallest size it names works, with instance norm, in training mode.
    D = models.MultiScalePatchDiscriminator(MultiScalePatchDiscriminatorConfig(num_d=2, num_layers=2, channels=2),
                                            DataInfo((1, 64, 64)))
    assert D(torch.randn(2, 1, 64, 64)).logits.shape[0] == 2


def _run(tmp_path, dims, generator, discriminator, loss="hinge", steps=3, **trainer_keys):
    raw = {
        "modality": "medical", "out": str(tmp_path / f"run{dims}"), "device": "cpu", "seed": 0,
        "metrics": ["intensity-hist"],
        "trainer": {"steps": steps, "batch_size": 4, "log_every": 1, "sample_every": steps,
                    "checkpoint_every": steps, "n_samples": 4, "eval_samples": 8, "progress": False,
                    "loss": loss, **trainer_keys},
        "generator": generator, "discriminator": discriminator,
        "dataset": {"name": "phantoms", "num": 8, "dims": dims, "size": 16},
    }
    trainer = Trainer(resolve(raw, load_registry()))
    before = [p.detach().clone() for p in trainer.G.parameters()]
    metrics = trainer.train()
    return trainer, before, metrics


@pytest.mark.parametrize("dims, generator, discriminator, loss", [
    (2, {"name": "monai-generator", "latent_dim": 8, "channels": [8, 4], "num_res_units": 0},
     {"name": "monai-patch", "num_layers": 2, "channels": 4}, "lsgan"),
    (3, {"name": "medical-dcgan", "latent_dim": 8, "channels": 4},
     {"name": "medical-dcgan", "channels": 4}, "hinge"),
    (3, {"name": "monai-generator", "latent_dim": 8, "channels": [8, 4], "num_res_units": 0},
     {"name": "monai-multiscale-patch", "num_d": 2, "num_layers": 1, "channels": 4}, "ns"),
])
def test_a_few_training_steps(tmp_path, dims, generator, discriminator, loss):
    trainer, before, metrics = _run(tmp_path, dims, generator, discriminator, loss)
    assert trainer.step == 3 and trainer.skipped_steps == 0
    assert any(not torch.equal(a, b) for a, b in zip(before, trainer.G.parameters()))
    assert set(metrics) == {"hist_w1", "hist_w1_fg"}
    written = sorted(p.name for p in (trainer.run_dir / "samples").iterdir())
    assert written == ["step_0000003.nii.gz", "step_0000003.png"]
    assert trainer.sample(2).shape == (2, 1) + (16,) * dims
    assert logits_of(trainer.D(trainer.sample(4), None)).shape[0] == 4


@pytest.mark.parametrize("dims, generator, discriminator", [
    (2, {"name": "monai-generator", "latent_dim": 8, "channels": [8, 4], "num_res_units": 0},
     {"name": "monai-patch", "num_layers": 2, "channels": 4}),
    (2, {"name": "medical-dcgan", "latent_dim": 8, "channels": 4}, {"name": "medical-dcgan", "channels": 4}),
])
def test_two_dimensional_models_train_channels_last(tmp_path, dims, generator, discriminator):
    """The memory layout CUDA runs get by default (trainer.channels_last = auto)."""
    trainer, before, _ = _run(tmp_path, dims, generator, discriminator, channels_last="yes")
    assert trainer.step == 3 and trainer.skipped_steps == 0
    assert any(not torch.equal(a, b) for a, b in zip(before, trainer.G.parameters()))


@pytest.mark.parametrize("dims, discriminator", [
    (2, {"name": "monai-patch", "num_layers": 2, "channels": 4}),
    (3, {"name": "monai-multiscale-patch", "num_d": 2, "num_layers": 1, "channels": 4}),
])
def test_patch_discriminator_features_drive_feature_matching(tmp_path, dims, discriminator):
    generator = {"name": "monai-generator", "latent_dim": 8, "channels": [8, 4], "num_res_units": 0}
    trainer, before, _ = _run(tmp_path, dims, generator, discriminator, "lsgan", feature_matching=10.0)
    records = [json.loads(x) for x in (trainer.run_dir / "metrics.jsonl").read_text().splitlines()]
    matched = [r["feature_matching"] for r in records if "feature_matching" in r]
    assert len(matched) == 3 and all(v > 0 for v in matched)
    assert any(not torch.equal(a, b) for a, b in zip(before, trainer.G.parameters()))
