"""The toy modality's MLPs: maxout units and the PacGAN code's Gaussian init."""
import pytest
import torch

from sparring.builtin.configs import MLPDiscriminatorConfig, MLPGeneratorConfig
from sparring.builtin.toy import Maxout, MLPDiscriminator, MLPGenerator
from sparring.errors import ConfigError
from sparring.specs import DataInfo


def _info(pack=1):
    return DataInfo(shape=(2,), pack=pack)


def test_maxout_takes_the_max_over_each_units_pieces():
    torch.manual_seed(0)
    layer = Maxout(3, width=4, pieces=5)
    x = torch.randn(6, 3)
    pre = x @ layer.linear.weight.T + layer.linear.bias  # (6, 20): unit u's pieces at u*5..u*5+4
    expected = torch.stack([pre[:, 5 * u:5 * u + 5].max(dim=1).values for u in range(4)], dim=1)
    assert torch.equal(layer(x), expected)


def test_maxout_discriminator_layers_and_packing():
    D = MLPDiscriminator(MLPDiscriminatorConfig(hidden=8, layers=3, maxout=5), _info(pack=2))
    maxouts = [m for m in D.modules() if isinstance(m, Maxout)]
    assert len(maxouts) == 3 and maxouts[0].linear.in_features == 4  # 2 packed points of 2-D
    assert not any(isinstance(m, torch.nn.LeakyReLU) for m in D.modules())
    assert D(torch.randn(7, 2, 2)).shape == (7,)
    plain = MLPDiscriminator(MLPDiscriminatorConfig(hidden=8, layers=3), _info())
    assert not any(isinstance(m, Maxout) for m in plain.modules())


def test_gaussian_init_sets_weight_std_and_zero_biases():
    torch.manual_seed(0)
    G = MLPGenerator(MLPGeneratorConfig(hidden=400, layers=4, init_std=0.02), _info())
    D = MLPDiscriminator(MLPDiscriminatorConfig(hidden=200, layers=3, maxout=5, init_std=0.02), _info())
    for model in (G, D):
        linears = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
        big = [m for m in linears if m.weight.numel() >= 10_000]
        assert big and all(abs(m.weight.std().item() - 0.02) < 0.001 for m in big)
        assert all(abs(m.weight.mean().item()) < 0.002 for m in big)
        assert all(torch.count_nonzero(m.bias) == 0 for m in linears)
    # 0 keeps PyTorch's default (uniform, bound 1/sqrt(fan_in), non-zero biases).
    default = MLPDiscriminator(MLPDiscriminatorConfig(hidden=200, layers=3), _info())
    first = default.net[0]
    assert torch.count_nonzero(first.bias) > 0 and first.weight.abs().max() <= 1 / 2 ** 0.5


@pytest.mark.parametrize("kind, cfg, key", [
    ("discriminator", MLPDiscriminatorConfig(maxout=0), "discriminator.maxout"),
    ("discriminator", MLPDiscriminatorConfig(init_std=-0.1), "discriminator.init_std"),
    ("discriminator", MLPDiscriminatorConfig(hidden=0), "discriminator.hidden"),
    ("generator", MLPGeneratorConfig(layers=0), "generator.layers"),
    ("generator", MLPGeneratorConfig(init_std=-1.0), "generator.init_std"),
])
def test_bad_sizes_are_config_errors_naming_the_key(kind, cfg, key):
    build = MLPDiscriminator if kind == "discriminator" else MLPGenerator
    with pytest.raises(ConfigError, match=key):
        build(cfg, _info())


def test_paper_baseline_trains_a_few_steps(tmp_path):
    from sparring.config import resolve
    from sparring.registry import load_registry
    from sparring.train import Trainer

    registry = load_registry(entry_points=False)
    cfg = resolve({"modality": "toy", "out": str(tmp_path), "seed": 0,
                   "dataset": {"name": "ring", "size": 512},
                   "generator": {"name": "mlp", "hidden": 32, "init_std": 0.02},
                   "discriminator": {"name": "mlp", "hidden": 16, "maxout": 5, "init_std": 0.02},
                   "trainer": {"steps": 5, "batch_size": 32, "pack": 2, "progress": False,
                               "eval_samples": 256}}, registry)
    trainer = Trainer(cfg, registry)
    before = [p.detach().clone() for p in trainer.D.parameters()]
    trainer.train()
    assert trainer.step == 5
    assert any(not torch.equal(a, b) for a, b in zip(before, trainer.D.parameters()))
