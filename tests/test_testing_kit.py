"""The contract test kit (sparring.testing) passes a correct plugin and catches each
kind of breach with a message that names the spec and what to fix.

A small correct plugin registers one spec of every kind through every registration
hook (sparring_modalities ... sparring_sample_writers, including sparring_regularizers,
sparring_augmentations and sparring_metrics); each test breaks one spec and runs the
one case that must catch it.
"""
from __future__ import annotations

import importlib
import unittest
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import pytest
import torch

from sparring import hookimpl
from sparring.regularizers import r1_penalty
from sparring.specs import (AugmentationSpec, DatasetSpec, LossSpec, MetricSpec, ModalitySpec, ModelSpec,
                            RegularizerSpec, WriterSpec)
from sparring.testing import ContractError, check_plugin, contract_cases, contract_test, run_contract_case

LENGTH = 8


@dataclass
class WaveConfig:
    size: int = 64
    shift: float = 0.0


@dataclass
class GenConfig:
    latent_dim: int = 4


class WaveG(torch.nn.Module):
    def __init__(self, cfg, info):
        super().__init__()
        self.latent_dim = cfg.latent_dim
        self.net = torch.nn.Linear(cfg.latent_dim, LENGTH)

    def forward(self, z, y=None):
        return torch.tanh(self.net(z)).view(-1, 1, LENGTH)


class WaveD(torch.nn.Module):
    def __init__(self, cfg, info):
        super().__init__()
        self.net = torch.nn.Linear(LENGTH * info.pack, 1)

    def forward(self, x, y=None):
        return self.net(x.flatten(1)).squeeze(1)


class Waves(torch.utils.data.Dataset):
    def __init__(self, cfg):
        t = torch.linspace(0, 1, LENGTH)
        phase = torch.rand(cfg.size, 1, generator=torch.Generator().manual_seed(0))
        self.x = torch.sin(6.28 * (t + phase))[:, None, :] + cfg.shift

    @property
    def tensors(self):  # in memory: the loop indexes it directly
        return (self.x,)

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return self.x[i]


class ItemByItemWaves(Waves):
    """The same data read through __getitem__ only (a DataLoader in the loop)."""

    tensors = None


class Jitter:
    """A differentiable augmentation with state, like ADA's probability."""

    def __init__(self, cfg=None):
        self.p = torch.tensor(0.5)

    def __call__(self, x):
        return x + 0.01 * self.p

    def update(self, logits):
        self.p = (self.p + 0.01).clamp(0, 1)

    def state_dict(self):
        return {"p": self.p}

    def load_state_dict(self, state):
        self.p = state["p"]


def write_txt(samples, path):
    out = Path(str(path) + ".txt")
    out.write_text(repr(samples.tolist()))
    return [out]


def mean_gap(generated, real, dataset=None):
    return {"mean_gap": float((generated.mean() - real.mean()).abs())}


def good_specs() -> dict:
    return {
        "modality": ModalitySpec("wave", generator="lin", discriminator="lin", dataset="waves",
                                 loss="ns", writer="txt", metrics=("gap",)),
        "generator": ModelSpec("lin", "wave", build=WaveG, config=GenConfig),
        "discriminator": ModelSpec("lin", "wave", build=WaveD),
        "dataset": DatasetSpec("waves", "wave", build=Waves, config=WaveConfig),
        "loss": LossSpec("sq", d_loss=lambda r, f: (r - 1).pow(2).mean() + f.pow(2).mean(),
                         g_loss=lambda f, r=None: (f - 1).pow(2).mean()),
        "regularizer": RegularizerSpec("r1-again", penalty=r1_penalty),
        "augmentation": AugmentationSpec("jitter", "wave", build=Jitter),
        "metric": MetricSpec("gap", "wave", compute=mean_gap),
        "writer": WriterSpec("txt", "wave", write=write_txt),
    }


class Plugin:
    """Yields one spec per kind; ``configured`` records sparring_configure calls."""

    def __init__(self, **replace):
        self.specs = {**good_specs(), **replace}
        self.configured = []

    @hookimpl
    def sparring_modalities(self):
        yield self.specs["modality"]

    @hookimpl
    def sparring_generators(self):
        yield self.specs["generator"]

    @hookimpl
    def sparring_discriminators(self):
        yield self.specs["discriminator"]

    @hookimpl
    def sparring_datasets(self):
        yield self.specs["dataset"]

    @hookimpl
    def sparring_losses(self):
        yield self.specs["loss"]

    @hookimpl
    def sparring_regularizers(self):
        yield self.specs["regularizer"]

    @hookimpl
    def sparring_augmentations(self):
        yield self.specs["augmentation"]

    @hookimpl
    def sparring_metrics(self):
        yield self.specs["metric"]

    @hookimpl
    def sparring_sample_writers(self):
        yield self.specs["writer"]

    @hookimpl
    def sparring_configure(self, config):
        self.configured.append(config.modality)


def cases_of(plugin, **kwargs):
    return {c.id: c for c in contract_cases(plugin, name="wave-plugin", entry_points=False, **kwargs)}


def test_a_correct_plugin_passes_every_case_and_the_loop_configures_it(tmp_path):
    plugin = Plugin()
    results = check_plugin(plugin, tmp_path, name="wave-plugin", entry_points=False)
    assert set(results) == {"plugin:loads", "modality:wave", "train:wave", "generator:lin",
                            "discriminator:lin", "dataset:waves", "loss:sq", "regularizer:r1-again",
                            "augmentation:jitter", "metric:gap", "writer:txt"}
    assert set(results.values()) == {"ok"}
    # train:wave ran the real loop three times (stopped, resumed, straight through), and the
    # loop calls sparring_configure before it builds anything.
    assert plugin.configured == ["wave"] * 3


def shape_bug(cfg, info):
    g = WaveG(cfg, info)
    g.forward = lambda z, y=None: torch.zeros(z.shape[0], LENGTH)  # (N, 8), not (N, 1, 8)
    return g


def no_latent(cfg, info):
    g = WaveG(cfg, info)
    del g.latent_dim
    return g


def nan_d(cfg, info):
    d = WaveD(cfg, info)
    d.forward = lambda x, y=None: torch.full((x.shape[0],), float("nan"))
    return d


def one_row_d(cfg, info):
    d = WaveD(cfg, info)
    d.forward = lambda x, y=None: d.net(x.flatten(1)).mean().reshape(1)
    return d


@dataclass
class NoneConfig:
    path: Optional[str] = None  # TOML has no null: config.toml could not hold it


class Labelled(Waves):
    def __getitem__(self, i):
        return self.x[i], 0  # a label, but no num_classes


def naive_penalty(D, real, fake, y=None):
    x = real.detach().requires_grad_(True)
    return torch.autograd.grad(D(x).sum(), x, create_graph=True)[0].pow(2).sum()  # fails on a list output


class Unpicklable(Jitter):
    def state_dict(self):
        return {"p": self.p, "config": WaveConfig()}  # pickles, but is not plain data


def write_nothing(samples, path):
    return [Path(str(path) + ".png")]


def write_elsewhere(samples, path):
    out = Path(path).parent.parent / "stray.txt"
    out.write_text("x")
    return [out]


BREACHES = [
    ("generator", ModelSpec("lin", "wave", build=shape_bug, config=GenConfig), "generator:lin", "must have that shape"),
    ("generator", ModelSpec("lin", "wave", build=no_latent, config=GenConfig), "generator:lin", "latent_dim"),
    ("discriminator", ModelSpec("lin", "wave", build=nan_d), "discriminator:lin", "non-finite logits"),
    ("discriminator", ModelSpec("lin", "wave", build=one_row_d), "discriminator:lin", "1 rows for a batch of 8"),
    ("dataset", DatasetSpec("waves", "wave", build=Labelled, config=WaveConfig), "dataset:waves", "num_classes"),
    ("dataset", DatasetSpec("waves", "wave", build=lambda cfg: Waves(WaveConfig()), config=NoneConfig),
     "dataset:waves", "cannot be written to config.toml"),
    ("dataset", DatasetSpec("waves", "wave", build=lambda cfg: Waves(WaveConfig(shift=float("nan"))),
                            config=WaveConfig), "dataset:waves", "non-finite"),
    ("loss", LossSpec("sq", d_loss=lambda r, f: r - f, g_loss=lambda f, r=None: -f.mean()), "loss:sq", "not a scalar"),
    ("loss", LossSpec("sq", d_loss=lambda r, f: r.mean().log() * 0 + f.mean().log(), g_loss=lambda f, r=None: -f.mean()),
     "loss:sq", "not finite"),
    ("loss", LossSpec("sq", d_loss=lambda r, f: (r - f).mean(), g_loss=lambda f, r=None: (f - r).mean()),
     "loss:sq", "TypeError"),  # g_loss(fake, None) is what the loop passes to a loss with an optional real
    ("regularizer", RegularizerSpec("r1-again", penalty=naive_penalty), "regularizer:r1-again", "regularizer:r1-again"),
    ("augmentation", AugmentationSpec("jitter", "wave", build=lambda cfg: (lambda x: x[:, :, :4])),
     "augmentation:jitter", "changed the shape"),
    ("augmentation", AugmentationSpec("jitter", "wave", build=Unpicklable), "augmentation:jitter", "weights_only"),
    ("metric", MetricSpec("gap", "wave", compute=lambda g, r, d: {"gap": "big"}), "metric:gap", "not a number"),
    ("metric", MetricSpec("gap", "wave", compute=lambda g, r, d: {"gap": float("nan")}), "metric:gap", "NaN"),
    ("writer", WriterSpec("txt", "wave", write=write_nothing), "writer:txt", "not a written file"),
    ("writer", WriterSpec("txt", "wave", write=write_elsewhere), "writer:txt", "outside"),
    ("modality", ModalitySpec("wave", generator="lin", discriminator="lin", dataset="wavez"), "modality:wave",
     "did you mean 'waves'"),
]


@pytest.mark.parametrize("kind, spec, case_id, message", BREACHES, ids=[f"{b[2]}-{b[3][:20]}" for b in BREACHES])
def test_each_breach_fails_its_own_case_with_a_clear_message(kind, spec, case_id, message, tmp_path):
    cases = cases_of(Plugin(**{kind: spec}))
    with pytest.raises(ContractError) as err:
        run_contract_case(cases[case_id], tmp_path)
    assert message in str(err.value)


def test_a_plugin_that_fails_to_load_fails_plugin_loads(tmp_path):
    class Typo(Plugin):
        @hookimpl
        def sparring_generatorz(self):
            yield from ()

    with pytest.raises(ContractError, match="did you mean 'sparring_generators'"):
        run_contract_case(cases_of(Typo())["plugin:loads"], tmp_path)


def test_importing_torch_at_module_top_is_caught_and_located(tmp_path, monkeypatch):
    (tmp_path / "kit_heavy_plugin.py").write_text(
        "import torch  # the breach: at module top\nfrom sparring import hookimpl\n"
        "@hookimpl\ndef sparring_losses():\n    return []\n")
    (tmp_path / "kit_light_plugin.py").write_text(
        "from sparring import hookimpl\n@hookimpl\ndef sparring_losses():\n    return []\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    heavy = {c.id: c for c in contract_cases(importlib.import_module("kit_heavy_plugin"), entry_points=False)}
    light = {c.id: c for c in contract_cases(importlib.import_module("kit_light_plugin"), entry_points=False)}
    with pytest.raises(ContractError) as err:
        run_contract_case(heavy["plugin:no-torch-on-import"], tmp_path)
    assert "imports torch" in str(err.value) and "kit_heavy_plugin.py" in str(err.value)
    run_contract_case(light["plugin:no-torch-on-import"], tmp_path)


def test_overrides_and_skips_apply_and_typos_are_errors(tmp_path):
    cases = cases_of(Plugin(), overrides={"dataset:waves": {"shift": float("inf")}},
                     skip={"writer:txt": "writes to a printer"})
    with pytest.raises(ContractError, match="non-finite"):
        run_contract_case(cases["dataset:waves"], tmp_path)  # the override reached the dataset
    with pytest.raises(unittest.SkipTest, match="printer"):
        run_contract_case(cases["writer:txt"], tmp_path)
    with pytest.raises(ValueError, match="did you mean 'generator:lin'"):
        cases_of(Plugin(), overrides={"generator:lni": {}})
    with pytest.raises(ContractError, match="unknown config key 'generator.width'"):
        run_contract_case(cases_of(Plugin(), overrides={"generator:lin": {"width": 3}})["generator:lin"], tmp_path)


def test_a_callable_override_receives_the_case_folder(tmp_path):
    seen = []

    def sized(folder):
        seen.append(folder)
        return {"size": 16}

    run_contract_case(cases_of(Plugin(), overrides={"dataset:waves": sized})["dataset:waves"], tmp_path)
    assert seen == [tmp_path]


def test_contract_test_is_a_parametrised_pytest_function():
    test = contract_test(Plugin(), name="wave-plugin", entry_points=False)
    assert test.__name__ == "test_contract"
    (mark,) = [m for m in test.pytestmark if m.name == "parametrize"]
    assert [c.id for c in mark.args[1]][:2] == ["plugin:loads", "modality:wave"]


def test_check_plugin_lists_every_failure_at_once(tmp_path):
    broken = Plugin(generator=ModelSpec("lin", "wave", build=shape_bug, config=GenConfig),
                    metric=MetricSpec("gap", "wave", compute=lambda g, r, d: {"gap": "big"}))
    with pytest.raises(ContractError) as err:
        check_plugin(broken, tmp_path, name="wave-plugin", entry_points=False)
    assert "generator:lin" in str(err.value) and "metric:gap" in str(err.value)


def test_kit_can_name_modules_and_entry_points():
    assert "plugin:no-torch-on-import" in {c.id for c in contract_cases("builtin", entry_points=False)}
    with pytest.raises(ContractError, match="not installed"):
        run_contract_case(contract_cases("no-such-plugin", entry_points=False)[0], Path("."))


def test_data_feeds_a_case_its_own_dataset_table(tmp_path):
    feed = {"discriminator:lin": {"name": "waves", "shift": float("inf")}}
    cases = cases_of(Plugin(), data=feed)
    with pytest.raises(ContractError, match="non-finite logits"):
        run_contract_case(cases["discriminator:lin"], tmp_path)  # fed the table, not the default
    run_contract_case(cases["generator:lin"], tmp_path)  # other cases keep the default data
    with pytest.raises(ValueError, match="data key 'generator:nope'"):
        cases_of(Plugin(), data={"generator:nope": {}})


def test_an_installed_plugins_module_is_checked_under_its_entry_point_name(tmp_path):
    pytest.importorskip("sparring_image")
    cases = contract_cases("sparring_image.plugin")
    assert cases[0].context.name == "image" and "generator:dcgan" in {c.id for c in cases}
    run_contract_case(cases[0], tmp_path)  # plugin:loads: registered once, without a clash


def test_a_dataset_read_item_by_item_resumes_exactly(tmp_path):
    plugin = Plugin(dataset=DatasetSpec("waves", "wave", build=ItemByItemWaves, config=WaveConfig))
    run_contract_case(cases_of(plugin)["train:wave"], tmp_path)
