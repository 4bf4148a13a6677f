"""The core's ProbabilisticAugment, through a throwaway subclass of two transforms."""
from dataclasses import dataclass

import pytest
import torch

from sparring.augment import ProbabilisticAugment, per_sample_uniform
from sparring.errors import ConfigError
from sparring.specs import AugmentProbabilityConfig


@dataclass
class Cfg(AugmentProbabilityConfig):
    policy: str = "add_one,double"
    interval: int = 2
    ada_kimg: float = 1.0
    p_max: float = 0.5


class AddThenDouble(ProbabilisticAugment):
    KNOWN_OPS = ("add_one", "double")

    def apply(self, op, x):
        return x + 1.0 if op == "add_one" else x * 2.0


def test_ops_run_in_policy_order_with_their_probability():
    x = torch.zeros(4000, 3)
    assert torch.equal(AddThenDouble(Cfg())(x), torch.full_like(x, 2.0))  # (0 + 1) * 2
    assert torch.equal(AddThenDouble(Cfg(policy="double,add_one"))(x), torch.full_like(x, 1.0))
    assert torch.equal(AddThenDouble(Cfg(p=0.0))(x), x)
    torch.manual_seed(0)
    out = AddThenDouble(Cfg(p=0.5))(x)[:, 0]
    shares = [(out == v).float().mean().item() for v in (0.0, 1.0, 2.0)]  # neither, add only / double only, both
    assert shares == pytest.approx([0.5, 0.25, 0.25], abs=0.03)


def test_per_sample_draws_broadcast_over_each_sample():
    u = per_sample_uniform(torch.zeros(7, 2, 3, 4))
    assert u.shape == (7, 1, 1, 1) and ((u >= 0) & (u < 1)).all()


def test_adaptive_p_moves_every_interval_and_stays_within_p_max():
    aug = AddThenDouble(Cfg(adaptive=True))
    aug.update(torch.ones(100))
    assert aug.p == 0.0  # interval 2: no move after one call
    aug.update(torch.ones(100))
    assert aug.p == pytest.approx(0.2) and aug.rt == 1.0  # 200 images / (1 kimg)
    for _ in range(10):
        aug.update(torch.ones(100))
    assert aug.p == 0.5  # p_max
    state = aug.state_dict()
    other = AddThenDouble(Cfg(adaptive=True))
    other.load_state_dict(state)
    assert other.p == 0.5 and other.state_dict() == state
    fixed = AddThenDouble(Cfg(p=0.3))
    fixed.update(torch.ones(100))
    fixed.update(torch.ones(100))
    assert fixed.p == 0.3 and "p=0.3" in repr(fixed)


def test_bad_configs_name_the_key():
    with pytest.raises(ConfigError, match="unknown augmentation.*'triple'.*known: add_one, double"):
        AddThenDouble(Cfg(policy="add_one,triple"))
    with pytest.raises(ConfigError, match="augment.target"):
        AddThenDouble(Cfg(target=2.0))
    with pytest.raises(ConfigError, match="augment.interval"):
        AddThenDouble(Cfg(interval=0))
