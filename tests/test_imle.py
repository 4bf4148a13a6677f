"""IMLE's term: each real sample pulls its nearest generated candidate toward it."""
import json

import pytest
import torch

from sparring.config import resolve
from sparring.errors import ConfigError
from sparring.losses import imle_loss, nearest_candidate
from sparring.metrics.mixture import ring_centers
from sparring.train import Trainer


def test_nearest_candidate_picks_by_distance_and_respects_labels():
    real = torch.tensor([[0.0, 0.0], [5.0, 5.0]])
    candidates = torch.tensor([[4.0, 4.0], [0.1, 0.0], [5.0, 5.2], [-1.0, 0.0]])
    assert nearest_candidate(real, candidates).tolist() == [1, 2]
    # With labels a real sample may only pick a candidate of its own label.
    picks = nearest_candidate(real, candidates, torch.tensor([0, 1]), torch.tensor([1, 1, 1, 0]))
    assert picks.tolist() == [3, 2]
    # Samples of any shape are compared over all their entries.
    images = torch.zeros(2, 1, 2, 2)
    images[1] += 1
    assert nearest_candidate(images[:1] + 0.9, images).tolist() == [1]
    with pytest.raises(ValueError, match=r"\(2,\) and generated ones \(3,\)"):
        nearest_candidate(real, torch.zeros(4, 3))


def test_imle_loss_is_the_mean_squared_distance_and_pulls_toward_the_real_sample():
    real = torch.tensor([[1.0, 2.0], [0.0, 0.0]])
    fake = torch.tensor([[0.0, 2.0], [0.0, 3.0]], requires_grad=True)
    loss = imle_loss(fake, real)
    assert loss.item() == pytest.approx((1.0 + 9.0) / 4)
    loss.backward()
    assert fake.grad[0, 0].item() < 0 and fake.grad[1, 1].item() > 0  # a descent step moves fake to real
    assert fake.grad[0, 1].item() == 0


def run(registry, tiny_toy, tmp_path, name, weight, tuple_latents=False, train=True, g_hidden=16, **extra):
    raw = tiny_toy(tmp_path / name, steps=4, log_every=2, eval_every=-1, sample_every=100,
                   checkpoint_every=100, imle=weight, **extra)
    raw["generator"]["hidden"] = g_hidden
    if tuple_latents:
        raw.update(modality="toy-tuple", dataset={"name": "ring-tuple", "size": 500})
        raw["generator"]["name"] = raw["discriminator"]["name"] = "mlp-tuple"
    trainer = Trainer(resolve(raw, registry), registry)
    if train:
        trainer.train()
    return trainer


def test_imle_is_logged_and_changes_what_g_learns(tuple_latent_registry, tiny_toy, tmp_path):
    plain = run(tuple_latent_registry, tiny_toy, tmp_path, "plain", 0.0)
    imle = run(tuple_latent_registry, tiny_toy, tmp_path, "imle", 1.0, imle_candidates=2)
    records = [json.loads(x) for x in (tmp_path / "imle" / "metrics.jsonl").read_text().splitlines()]
    values = [r["imle"] for r in records if "imle" in r]
    assert len(values) == 2 and all(v > 0 for v in values)
    assert all("imle" not in x for x in (tmp_path / "plain" / "metrics.jsonl").read_text().splitlines())
    assert any(not torch.equal(a, b) for a, b in zip(plain.G.parameters(), imle.G.parameters()))


def test_imle_alone_spreads_g_over_every_mode_of_the_ring(tuple_latent_registry, tiny_toy, tmp_path):
    """The term's purpose: every real sample pulls on G, so no mode is left without a pull.
    200 updates of G on the term alone bring a sample near each of the ring's 8 centres."""
    trainer = run(tuple_latent_registry, tiny_toy, tmp_path, "alone", 1.0, train=False, g_hidden=32)
    torch.manual_seed(0)
    centers = ring_centers()

    def farthest_center():  # the distance from the worst-covered centre to its nearest sample
        with torch.no_grad():
            samples = trainer.G(torch.randn(512, trainer.G.latent_dim))
        return torch.cdist(centers, samples).min(dim=1).values.max().item()

    before = farthest_center()
    opt = torch.optim.Adam(trainer.G.parameters(), 1e-2)
    for _ in range(200):
        x_real, _ = trainer.stream.next()
        loss = trainer._imle(x_real, None)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert before > 0.3 and farthest_center() < 0.15


def test_imle_in_a_class_conditional_run_matches_labels(recorder_registry, tmp_path):
    raw = {"modality": "line", "out": str(tmp_path / "c"),
           "trainer": {"steps": 3, "batch_size": 8, "progress": False, "log_every": 1, "imle": 1.0}}
    trainer = Trainer(resolve(raw, recorder_registry), recorder_registry)
    assert trainer.num_classes == 2
    trainer.train()
    records = [json.loads(x) for x in (tmp_path / "c" / "metrics.jsonl").read_text().splitlines()]
    assert sum("imle" in r for r in records) == 3


def test_imle_without_tensor_latents_is_a_clear_error(tuple_latent_registry, tiny_toy, tmp_path):
    with pytest.raises(ConfigError, match="trainer.imle.*'mlp-tuple' takes tuple latents"):
        run(tuple_latent_registry, tiny_toy, tmp_path, "tuple", 1.0, tuple_latents=True)
    with pytest.raises(ConfigError, match="trainer.imle"):
        run(tuple_latent_registry, tiny_toy, tmp_path, "negative", -1.0)
    with pytest.raises(ConfigError, match="trainer.imle_candidates"):
        run(tuple_latent_registry, tiny_toy, tmp_path, "none", 1.0, imle_candidates=0)


def test_imle_compares_and_pulls_the_generators_view_when_it_has_one(tuple_latent_registry, tiny_toy, tmp_path):
    trainer = run(tuple_latent_registry, tiny_toy, tmp_path, "view", 1.0, train=False, imle_candidates=3)
    seen = []

    def first_coordinate(x):
        seen.append(x[:, :1])
        return seen[-1]

    trainer.G.imle_view = first_coordinate
    assert any(isinstance(m, torch.nn.BatchNorm1d) for m in trainer.G.modules())  # batch statistics, in training
    x_real, _ = trainer.stream.next()
    loss = trainer._imle(x_real, None)
    real, pool = seen  # the real batch and the candidates, each viewed
    assert real.shape == (len(x_real), 1) and pool.shape == (3 * len(x_real), 1)
    assert torch.equal(real, x_real[:, :1])
    # The pull is on the picked candidates themselves (not regenerated in a smaller batch,
    # which batch norm would change), each real sample's nearest in the view.
    assert loss.item() == pytest.approx(imle_loss(pool[nearest_candidate(real, pool.detach())], real).item())
    loss.backward()
    assert all(p.grad is not None for p in trainer.G.parameters())
    # A view that hides every difference leaves nothing to pull.
    trainer.G.imle_view = lambda x: x[:, :1] * 0
    assert trainer._imle(x_real, None).item() == 0.0
