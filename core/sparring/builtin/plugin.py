"""The built-in plugin: registers the core's losses, regularizers and the toy modality
through the same hooks any plugin uses."""
from __future__ import annotations

from .. import hookimpl
from . import configs
from ..specs import DatasetSpec, MetricSpec, ModalitySpec, ModelSpec, WriterSpec


def _toy():
    from . import toy  # torch-heavy: imported on first use only

    return toy


def _mlp_g(cfg, info):
    return _toy().MLPGenerator(cfg, info)


def _mlp_d(cfg, info):
    return _toy().MLPDiscriminator(cfg, info)


def _ring(cfg):
    return _toy().build_ring(cfg)


def _grid(cfg):
    return _toy().build_grid(cfg)


def _scatter(samples, path, dataset=None):
    return _toy().write_scatter(samples, path, dataset)


def _modes(generated, real, dataset):
    return _toy().mixture_metrics(generated, real, dataset)


def _fd(generated, real, dataset):
    return _toy().frechet_metric(generated, real, dataset)


@hookimpl
def sparring_losses():
    from ..losses import BUILTIN_LOSSES

    yield from BUILTIN_LOSSES


@hookimpl
def sparring_regularizers():
    from ..regularizers import BUILTIN_REGULARIZERS

    yield from BUILTIN_REGULARIZERS


@hookimpl
def sparring_modalities():
    yield ModalitySpec("toy", generator="mlp", discriminator="mlp", dataset="ring",
                       loss="ns", writer="scatter", metrics=("modes", "fd"),
                       description="2-D Gaussian mixtures: the mode-collapse benchmark")


@hookimpl
def sparring_generators():
    yield ModelSpec("mlp", modality="toy", build=_mlp_g, config=configs.MLPGeneratorConfig,
                    description="ReLU MLP generator")


@hookimpl
def sparring_discriminators():
    yield ModelSpec("mlp", modality="toy", build=_mlp_d, config=configs.MLPDiscriminatorConfig,
                    description="LeakyReLU MLP discriminator (packing-aware)")


@hookimpl
def sparring_datasets():
    yield DatasetSpec("ring", modality="toy", build=_ring, config=configs.RingConfig,
                      description="8 Gaussians on a circle of radius 1, std 0.01")
    yield DatasetSpec("grid", modality="toy", build=_grid, config=configs.GridConfig,
                      description="25 Gaussians at {-4,-2,0,2,4}^2, std 0.05")


@hookimpl
def sparring_metrics():
    yield MetricSpec("modes", modality="toy", compute=_modes,
                     higher_is_better={"modes": True, "high_quality": True, "reverse_kl": False},
                     description="modes captured, % high-quality samples, reverse KL")
    yield MetricSpec("fd", modality="toy", compute=_fd, higher_is_better={"fd": False},
                     description="Frechet distance between the point clouds")


@hookimpl
def sparring_sample_writers():
    yield WriterSpec("scatter", modality="toy", write=_scatter,
                     description="PNG scatter plot of the samples")
