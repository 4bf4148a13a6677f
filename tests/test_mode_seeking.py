"""Mode seeking (MSGAN): G's loss gains 1 / (sample distance / latent distance) over a batch's halves."""
import json

import pytest
import torch

from sparring.config import resolve
from sparring.errors import ConfigError
from sparring.losses import mode_seeking_loss
from sparring.train import Trainer


def test_mode_seeking_loss_pairs_the_two_halves_and_its_gradient_spreads_samples():
    z = torch.tensor([[0.0, 0.0], [1.0, 1.0], [2.0, 0.0], [1.0, 3.0]])
    fake = torch.tensor([[1.0], [1.0], [3.0], [2.0]], requires_grad=True)
    loss = mode_seeking_loss(fake, z)
    # pairs (0, 2) and (1, 3): sample distance mean(2, 1) = 1.5, latent distance mean(2, 0, 0, 2) = 1.0
    assert loss.item() == pytest.approx(1.0 / (1.5 + 1e-5))
    loss.backward()
    # Moving the samples of a pair apart lowers the loss.
    assert fake.grad[0].item() > 0 and fake.grad[2].item() < 0
    assert fake.grad[1].item() > 0 and fake.grad[3].item() < 0
    # Copies are the worst case: only eps keeps the value finite.
    same = mode_seeking_loss(torch.ones(4, 3), z)
    assert same.item() == pytest.approx(1e5)
    # An odd batch drops its last sample rather than failing.
    odd = torch.tensor([[1.0], [3.0], [100.0]])
    assert mode_seeking_loss(odd, z[:3]).item() == pytest.approx(1.0 / (2.0 / 1.0 + 1e-5))
    with pytest.raises(ValueError, match="at least 2 samples"):
        mode_seeking_loss(fake[:1], z[:1])


def run(registry, tmp_path, name, weight, modality="toy", model="mlp", dataset="ring", batch_size=32, grad_accum=1,
        steps=4):
    raw = {"modality": modality, "out": str(tmp_path / name), "seed": 0,
           "generator": {"name": model, "hidden": 16, "layers": 2},
           "discriminator": {"name": model, "hidden": 16, "layers": 2},
           "dataset": {"name": dataset, "size": 500},
           "trainer": {"steps": steps, "batch_size": batch_size, "grad_accum": grad_accum, "log_every": 2, "eval_every": -1,
                       "sample_every": 100, "checkpoint_every": 100, "progress": False,
                       "mode_seeking": weight}}
    trainer = Trainer(resolve(raw, registry), registry)
    trainer.train()
    return trainer


def test_mode_seeking_is_logged_and_changes_what_g_learns(tuple_latent_registry, tmp_path):
    plain, seeking = run(tuple_latent_registry, tmp_path, "plain", 0.0), run(tuple_latent_registry, tmp_path, "ms", 1.0)
    records = [json.loads(x) for x in (tmp_path / "ms" / "metrics.jsonl").read_text().splitlines()]
    values = [r["mode_seeking"] for r in records if "mode_seeking" in r]
    assert len(values) == 2 and all(v > 0 for v in values)
    assert all("mode_seeking" not in x for x in (tmp_path / "plain" / "metrics.jsonl").read_text().splitlines())
    # D updates come first and see the same G, so D agrees after step 1; G must not.
    assert any(not torch.equal(a, b) for a, b in zip(plain.G.parameters(), seeking.G.parameters()))


def test_mode_seeking_without_tensor_latents_or_pairs_is_a_clear_error(tuple_latent_registry, tmp_path):
    with pytest.raises(ConfigError, match="trainer.mode_seeking.*'mlp-tuple' takes tuple latents"):
        run(tuple_latent_registry, tmp_path, "tuple", 1.0, modality="toy-tuple", model="mlp-tuple", dataset="ring-tuple")
    with pytest.raises(ConfigError, match="trainer.mode_seeking.*holds 1"):
        run(tuple_latent_registry, tmp_path, "single", 1.0, batch_size=2, grad_accum=2)
    with pytest.raises(ConfigError, match="trainer.mode_seeking"):
        run(tuple_latent_registry, tmp_path, "negative", -1.0)
