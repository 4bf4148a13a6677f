"""Shared fixtures: a tiny toy configuration and a throwaway plugin."""
from __future__ import annotations

import os

import pytest

# Small models on 2 cores: one intra-op thread avoids oversubscription stalls.
os.environ.setdefault("OMP_NUM_THREADS", "1")
import torch  # noqa: E402

torch.set_num_threads(1)

from sparring import hookimpl  # noqa: E402
from sparring.registry import load_registry  # noqa: E402
from sparring.builtin import plugin as builtin_plugin  # noqa: E402
from sparring.builtin.configs import MLPDiscriminatorConfig, MLPGeneratorConfig, RingConfig  # noqa: E402
from sparring.builtin.toy import MLPDiscriminator, MLPGenerator  # noqa: E402
from sparring.specs import DatasetSpec, LossSpec, ModalitySpec, ModelSpec, WriterSpec  # noqa: E402


def tiny_toy(out, steps=10, **trainer) -> dict:
    """A raw config for a toy run that takes well under a second."""
    t = {"steps": steps, "batch_size": 32, "log_every": 5, "sample_every": 5,
         "checkpoint_every": 5, "eval_samples": 200, "progress": False}
    t.update(trainer)
    return {
        "modality": "toy", "out": str(out), "seed": 0,
        "trainer": t,
        "generator": {"name": "mlp", "hidden": 16, "layers": 2},
        "discriminator": {"name": "mlp", "hidden": 16, "layers": 2},
        "dataset": {"name": "ring", "size": 2000},
    }


@pytest.fixture(name="tiny_toy")
def tiny_toy_fixture():
    return tiny_toy


@pytest.fixture
def registry():
    return load_registry(entry_points=False)


class Recorder:
    """A throwaway plugin: a 'line' modality (labelled 1-D points) and a hook recorder."""

    def __init__(self):
        self.calls = []

    @hookimpl
    def sparring_modalities(self):
        yield ModalitySpec("line", generator="tiny", discriminator="tiny", dataset="labelled-line",
                           loss="ns", writer="txt")

    @hookimpl
    def sparring_generators(self):
        yield ModelSpec("tiny", modality="line", build=_tiny_g, conditional=True)

    @hookimpl
    def sparring_discriminators(self):
        yield ModelSpec("tiny", modality="line", build=_tiny_d, conditional=True)

    @hookimpl
    def sparring_datasets(self):
        yield DatasetSpec("labelled-line", modality="line", build=_line_data)

    @hookimpl
    def sparring_losses(self):
        yield LossSpec("always-nan", d_loss=lambda r, f: (r.mean() * float("nan")),
                       g_loss=lambda f, r=None: (f.mean() * float("nan")))

    @hookimpl
    def sparring_sample_writers(self):
        yield WriterSpec("txt", modality="line", write=_write_txt)

    @hookimpl
    def sparring_train_start(self, trainer):
        self.calls.append(("train_start", trainer.step))

    @hookimpl
    def sparring_step_end(self, trainer, step, logs):
        self.calls.append(("step_end", step))

    @hookimpl
    def sparring_samples_written(self, trainer, step, paths):
        self.calls.append(("samples_written", step, tuple(paths)))

    @hookimpl
    def sparring_eval_end(self, trainer, step, metrics):
        self.calls.append(("eval_end", step))

    @hookimpl
    def sparring_checkpoint_save(self, trainer, state):
        state["plugins"]["recorder"] = {"n_calls": len(self.calls)}
        self.calls.append(("checkpoint_save", trainer.step))

    @hookimpl
    def sparring_checkpoint_load(self, trainer, state):
        self.calls.append(("checkpoint_load", state["plugins"]["recorder"]["n_calls"]))

    @hookimpl
    def sparring_train_end(self, trainer):
        self.calls.append(("train_end", trainer.step))

    @hookimpl
    def sparring_exception(self, trainer, error):
        self.calls.append(("exception", type(error).__name__))

    def names(self):
        return [c[0] for c in self.calls]


class _TinyG(torch.nn.Module):
    def __init__(self, info):
        super().__init__()
        self.latent_dim = 4
        self.embed = torch.nn.Embedding(info.num_classes or 1, 4)
        self.net = torch.nn.Linear(4, info.shape[0])

    def forward(self, z, y=None):
        h = z if y is None else z + self.embed(y)
        return self.net(h)


class _TinyD(torch.nn.Module):
    def __init__(self, info):
        super().__init__()
        self.net = torch.nn.Linear(info.shape[0] * info.pack, 1)
        self.embed = torch.nn.Embedding(info.num_classes or 1, info.shape[0] * info.pack)

    def forward(self, x, y=None):
        out = self.net(x).squeeze(1)
        if y is not None:  # projection discriminator
            out = out + (self.embed(y) * x).sum(1)
        return out


def _tiny_g(cfg, info):
    return _TinyG(info)


def _tiny_d(cfg, info):
    return _TinyD(info)


class _LineData(torch.utils.data.Dataset):
    """Points on two lines, labelled by line; read item by item (no .tensors)."""

    num_classes = 2

    def __init__(self):
        g = torch.Generator().manual_seed(0)
        self.y = torch.randint(2, (256,), generator=g)
        t = torch.rand(256, generator=g)
        self.x = torch.stack([t, t * (1 + self.y)], dim=1)

    def __len__(self):
        return len(self.y)

    def __getitem__(self, i):
        return self.x[i], int(self.y[i])


def _line_data(cfg):
    return _LineData()


def _write_txt(samples, path):
    from pathlib import Path

    path = Path(path).with_suffix(".txt")
    path.write_text("\n".join(" ".join(f"{v:.4f}" for v in row) for row in samples.tolist()))
    return [path]


@pytest.fixture
def recorder():
    return Recorder()


@pytest.fixture
def recorder_registry(recorder):
    return load_registry(extra_plugins=[("recorder", recorder)], entry_points=False)


class TupleLatentGenerator(MLPGenerator):
    """The toy MLP G fed a (noise, unused) pair: latents that are not one tensor."""

    def forward(self, z, y=None):
        return super().forward(z[0], y)


class TupleLatentPlugin:
    """A throwaway plugin: the toy modality with (noise, None) latents (modes 'toy-tuple')."""

    @hookimpl
    def sparring_modalities(self):
        yield ModalitySpec("toy-tuple", generator="mlp-tuple", discriminator="mlp-tuple", dataset="ring-tuple",
                           sample_latent=lambda n, G, device, rng: (torch.randn(n, G.latent_dim), None))

    @hookimpl
    def sparring_generators(self):
        yield ModelSpec("mlp-tuple", "toy-tuple", lambda cfg, info: TupleLatentGenerator(cfg, info),
                        MLPGeneratorConfig)

    @hookimpl
    def sparring_discriminators(self):
        yield ModelSpec("mlp-tuple", "toy-tuple", lambda cfg, info: MLPDiscriminator(cfg, info),
                        MLPDiscriminatorConfig)

    @hookimpl
    def sparring_datasets(self):
        yield DatasetSpec("ring-tuple", "toy-tuple", builtin_plugin._ring, RingConfig)


@pytest.fixture
def tuple_latent_registry():
    return load_registry(extra_plugins=[("tuple", TupleLatentPlugin())], entry_points=False)
