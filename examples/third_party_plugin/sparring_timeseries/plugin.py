"""The plugin's hook implementations: what sparring imports through the entry point.

Keep this module cheap: only ``sparring``, the standard library and the config
dataclasses at the top. Each factory imports the torch code it needs when it runs.
"""
from __future__ import annotations

from sparring import hookimpl
from sparring.specs import DatasetSpec, MetricSpec, ModalitySpec, ModelSpec, WriterSpec

from .configs import ConvDiscriminatorConfig, ConvGeneratorConfig, CSVConfig, SinesConfig

MODALITY = "timeseries"


@hookimpl
def sparring_modalities():
    # The defaults that `sparring train timeseries` fills in when nothing else is named.
    yield ModalitySpec(MODALITY, generator="conv", discriminator="conv", dataset="sines",
                       loss="ns", writer="plot", metrics=("spectrum",),
                       description="1-D time series (N, channels, length) in [-1, 1]")


def _conv_g(cfg, info):
    from .models import ConvGenerator

    return ConvGenerator(cfg, info)


def _conv_d(cfg, info):
    from .models import ConvDiscriminator

    return ConvDiscriminator(cfg, info)


@hookimpl
def sparring_generators():
    yield ModelSpec("conv", MODALITY, build=_conv_g, config=ConvGeneratorConfig, conditional=True,
                    description="upsampling 1-D conv generator (class-conditional when labels are on)")


@hookimpl
def sparring_discriminators():
    yield ModelSpec("conv", MODALITY, build=_conv_d, config=ConvDiscriminatorConfig, conditional=True,
                    description="strided 1-D conv discriminator with a projection head")


def _sines(cfg):
    from .data import build_sines

    return build_sines(cfg)


def _csv(cfg):
    from .data import build_csv

    return build_csv(cfg)


@hookimpl
def sparring_datasets():
    yield DatasetSpec("sines", MODALITY, build=_sines, config=SinesConfig,
                      description="sums of 1-3 sines, random frequency and phase (generated)")
    yield DatasetSpec("csv", MODALITY, build=_csv, config=CSVConfig,
                      description="your own series: a CSV (one a row) or .npy file")


def _spectrum(generated, real, dataset=None):
    from .metrics import spectrum_metrics

    return spectrum_metrics(generated, real)


@hookimpl
def sparring_metrics():
    yield MetricSpec("spectrum", MODALITY, compute=_spectrum,
                     higher_is_better={"spectrum_l1": False, "spectrum_fd": False, "peak_freq_tv": False},
                     description="distance between power spectra; Frechet distance on spectra")


def _plot(samples, path):
    from .writers import write_plot

    return write_plot(samples, path)


@hookimpl
def sparring_sample_writers():
    yield WriterSpec("plot", MODALITY, write=_plot, description="PNG grid of line plots")
