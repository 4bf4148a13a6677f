"""Top-k training (Sinha et al. 2020): G's loss counts only the samples D rates most real."""
import pytest
import torch
import torch.nn.functional as F

from sparring.config import resolve
from sparring.errors import ConfigError
from sparring.losses import nonsaturating_g_loss, relativistic_g_loss, top_k_fraction, top_k_logits
from sparring.train import Trainer


def test_the_kept_share_halves_each_halflife_down_to_its_floor():
    assert top_k_fraction(0, 1.0, 100.0) == 1.0  # off
    assert top_k_fraction(5_000, 1.0, 0.0) == 1.0
    assert top_k_fraction(0, 0.5, 0.0) == 0.5  # no annealing: the floor from the first step
    assert top_k_fraction(0, 0.5, 100.0) == 1.0
    assert top_k_fraction(50, 0.5, 100.0) == pytest.approx(2 ** -0.5)
    assert top_k_fraction(100, 0.5, 100.0) == pytest.approx(0.5)
    assert top_k_fraction(10_000, 0.5, 100.0) == 0.5  # never below the floor


def test_top_k_keeps_the_rows_d_rates_most_real_and_pairs_the_real_logits():
    fake = torch.tensor([0.3, -2.0, 1.5, 0.0, 4.0])
    real = torch.tensor([10.0, 11.0, 12.0, 13.0, 14.0])
    kept, paired = top_k_logits(fake, 2, real)
    assert sorted(kept.tolist()) == [1.5, 4.0]
    assert sorted(paired.tolist()) == [12.0, 14.0]  # the same rows
    # Patch logits (one map a sample) rank by their mean.
    patches = torch.tensor([[[5.0, -5.0]], [[1.0, 1.0]], [[-1.0, -1.0]]])
    kept, none = top_k_logits(patches, 1)
    assert none is None and kept.tolist() == [[[1.0, 1.0]]]
    # Real logits of another batch size (a mean-based loss) stay whole.
    _, whole = top_k_logits(fake, 2, real[:3])
    assert whole.tolist() == [10.0, 11.0, 12.0]
    for k in (0, 6):
        with pytest.raises(ValueError, match="between 1 and 5"):
            top_k_logits(fake, k)


def test_dropped_samples_get_no_gradient():
    fake = torch.tensor([0.3, -2.0, 1.5, 0.0], requires_grad=True)
    kept, _ = top_k_logits(fake, 2)
    nonsaturating_g_loss(kept).backward()
    assert fake.grad[1] == 0 and fake.grad[3] == 0
    assert fake.grad[0] < 0 and fake.grad[2] < 0  # kept: pushed toward "real"
    # and the loss is the plain loss over the kept rows
    assert nonsaturating_g_loss(kept).item() == pytest.approx(F.softplus(-torch.tensor([0.3, 1.5])).mean().item())


def _config(registry, tmp_path, name, tiny_toy, **trainer):
    return resolve(tiny_toy(tmp_path / name, steps=6, **trainer), registry)


def test_the_trainer_computes_g_loss_on_the_top_half(registry, tmp_path, tiny_toy):
    trainer = Trainer(_config(registry, tmp_path, "k", tiny_toy, top_k=0.5), registry)
    torch.manual_seed(1)
    z, y = trainer.noise(32)
    fake = trainer.G(z, y)
    x_real, _ = trainer.stream.next()
    loss, _ = trainer._g_loss_terms(fake, None, x_real, None)
    logits = trainer.d_forward(fake).float().flatten()
    best = logits.topk(16).values
    assert loss.item() == pytest.approx(F.softplus(-best).mean().item(), rel=1e-6)
    assert loss.item() < F.softplus(-logits).mean().item()  # the worst half is left out


def test_relativistic_g_loss_pairs_kept_fakes_with_their_reals(registry, tmp_path, tiny_toy):
    trainer = Trainer(_config(registry, tmp_path, "rs", tiny_toy, top_k=0.25, loss="rsgan"), registry)
    z, y = trainer.noise(32)
    fake = trainer.G(z, y)
    x_real, _ = trainer.stream.next()
    loss, _ = trainer._g_loss_terms(fake, None, x_real, None)
    fake_logits = trainer.d_forward(fake).float()
    with torch.no_grad():
        real_logits = trainer.d_forward(x_real).float()
    kept_fake, kept_real = top_k_logits(fake_logits, 8, real_logits)
    assert loss.item() == pytest.approx(relativistic_g_loss(kept_fake, kept_real).item(), rel=1e-6)


def test_top_k_changes_only_g_and_is_off_by_default(registry, tmp_path, tiny_toy):
    plain = Trainer(_config(registry, tmp_path, "plain", tiny_toy), registry)
    plain.train()
    same = Trainer(_config(registry, tmp_path, "one", tiny_toy, top_k=1.0, top_k_halflife=3.0), registry)
    same.train()
    top = Trainer(_config(registry, tmp_path, "top", tiny_toy, top_k=0.5), registry)
    top.train()
    for a, b in zip(plain.G.parameters(), same.G.parameters()):
        assert torch.equal(a, b)
    assert any(not torch.equal(a, b) for a, b in zip(plain.G.parameters(), top.G.parameters()))


@pytest.mark.parametrize("trainer_keys, match", [
    ({"top_k": 0.0}, "trainer.top_k' must be >= 0.01"),
    ({"top_k": 1.5}, "trainer.top_k' must be <= 1.0"),
    ({"top_k_halflife": -1.0}, "trainer.top_k_halflife' must be >= 0"),
    ({"top_k": 0.5, "top_k_halflife": 100.0, "cuda_graph": True}, "trainer.cuda_graph.*top_k_halflife = 0"),
])
def test_bad_top_k_settings_are_clear_errors(registry, tmp_path, tiny_toy, trainer_keys, match):
    with pytest.raises(ConfigError, match=match):
        Trainer(_config(registry, tmp_path, "bad", tiny_toy, **trainer_keys), registry)
