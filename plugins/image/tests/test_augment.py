import pytest
import torch

from sparring.errors import ConfigError
from sparring_image.augment import DiffAugment, augment_cutout, augment_translation
from sparring_image.configs import ADAConfig, DiffAugmentConfig


def test_differentiable_and_shape_preserving():
    aug = DiffAugment(DiffAugmentConfig())
    x = (torch.rand(6, 3, 16, 16) * 2 - 1).requires_grad_(True)
    out = aug(x)
    assert out.shape == x.shape
    assert not torch.allclose(out, x)
    (out * torch.randn_like(out)).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


@pytest.mark.parametrize("policy", ["color", "translation", "cutout"])
def test_each_op_differentiable(policy):
    torch.manual_seed(0)
    aug = DiffAugment(DiffAugmentConfig(policy=policy))
    x = (torch.rand(4, 1, 12, 12) * 2 - 1).requires_grad_(True)
    out = aug(x)
    assert out.shape == x.shape and not torch.allclose(out, x)  # the op is applied
    out.pow(2).sum().backward()
    assert x.grad.abs().sum() > 0


def test_probability_zero_is_identity():
    aug = DiffAugment(DiffAugmentConfig(p=0.0))
    x = torch.rand(4, 1, 8, 8)
    assert aug(x) is x


def test_translation_moves_content():
    torch.manual_seed(0)
    x = torch.zeros(64, 1, 16, 16)
    x[:, :, 8, 8] = 1.0
    out = augment_translation(x, 0.125)
    positions = out.view(64, -1).argmax(dim=1)
    rows, cols = positions // 16, positions % 16
    assert (rows - 8).abs().max() <= 2 and (cols - 8).abs().max() <= 2
    assert len(set(positions.tolist())) > 5  # different shifts per sample
    assert torch.allclose(out.sum(dim=(1, 2, 3)), torch.ones(64))  # pixel moved, not lost


def test_cutout_zeroes_a_square():
    torch.manual_seed(0)
    x = torch.ones(32, 2, 16, 16)
    out = augment_cutout(x, 0.5)
    zeros = (out == 0).all(dim=1).sum(dim=(1, 2))  # zeroed pixels per sample (both channels)
    assert zeros.min() > 0 and zeros.max() <= 64
    assert ((out == 0) | (out == 1)).all()


def test_per_sample_probability():
    torch.manual_seed(0)
    aug = DiffAugment(DiffAugmentConfig(policy="cutout", p=0.5))
    x = torch.ones(400, 1, 8, 8)
    changed = (aug(x) != x).flatten(1).any(dim=1).float().mean()
    assert 0.35 < changed < 0.65


def test_ada_probability_rises_when_d_overfits_and_falls_otherwise():
    cfg = ADAConfig(interval=2, ada_kimg=1.0, p_init=0.5)
    aug = DiffAugment(cfg)
    assert aug.adaptive and aug.p == 0.5
    for _ in range(4):
        aug.update(torch.full((50,), 3.0))  # D sure every real is real: r_t = 1 > 0.6
    assert aug.rt == pytest.approx(1.0)
    assert aug.p == pytest.approx(0.5 + 2 * 100 / 1000)  # two adjustments of 100 images each
    high = aug.p
    for _ in range(4):
        aug.update([torch.zeros(1), torch.full((50,), -1.0)])  # list output: last is the logits
    assert aug.rt == pytest.approx(-1.0)
    assert aug.p < high
    for _ in range(100):
        aug.update(torch.full((50,), -1.0))
    assert aug.p == 0.0  # clipped at 0


def test_ada_state_dict_round_trip():
    aug = DiffAugment(ADAConfig(interval=3, ada_kimg=1.0))
    for _ in range(4):
        aug.update(torch.randn(10) + 1)
    other = DiffAugment(ADAConfig(interval=3, ada_kimg=1.0))
    other.load_state_dict(aug.state_dict())
    assert other.state_dict() == aug.state_dict()
    aug.update(torch.ones(10)), other.update(torch.ones(10))
    aug.update(torch.ones(10)), other.update(torch.ones(10))
    assert other.p == aug.p and other.p > 0


def test_fixed_probability_ignores_update():
    aug = DiffAugment(DiffAugmentConfig(p=0.3))
    for _ in range(20):
        aug.update(torch.ones(64))
    assert aug.p == 0.3


def test_bad_config():
    with pytest.raises(ConfigError, match="unknown augmentation"):
        DiffAugment(DiffAugmentConfig(policy="color,rotate"))
    with pytest.raises(ConfigError, match="p"):
        DiffAugment(DiffAugmentConfig(p=1.5))


def test_ada_on_tensors_matches_the_float_bookkeeping_it_replaced():
    # The rule as plain Python floats (what ADA's paper describes), beside the tensor state
    # that the loop updates without reading it back.
    cfg = ADAConfig(interval=3, ada_kimg=0.5, p_init=0.2, target=0.6)
    aug = DiffAugment(cfg)
    p, sign_sum, count, images, calls = 0.2, 0.0, 0, 0, 0
    g = torch.Generator().manual_seed(1)
    for i in range(40):
        logits = torch.randn(16, generator=g) + (1.5 if i < 20 else -1.5)
        aug.update(logits)
        sign_sum += float(torch.sign(logits).sum())
        count, images, calls = count + 16, images + 16, calls + 1
        if calls % cfg.interval == 0:
            rt = sign_sum / count
            p = min(max(p + (1.0 if rt > cfg.target else -1.0) * images / (cfg.ada_kimg * 1000), 0.0), cfg.p_max)
            sign_sum, count, images = 0.0, 0, 0
        assert aug.p == pytest.approx(p, abs=1e-12)
    assert isinstance(aug._state, torch.Tensor) and aug.graph_safe


def test_adaptive_augmentation_reads_p_from_the_device_state():
    aug = DiffAugment(ADAConfig(policy="cutout", p_init=0.0))
    x = torch.ones(200, 1, 8, 8)
    assert torch.equal(aug(x), x)  # p = 0: every sample kept as it was
    aug.load_state_dict({**aug.state_dict(), "p": 1.0})
    assert (aug(x) != x).flatten(1).any(dim=1).all()  # p = 1: every sample cut
