"""Configuration dataclasses of the medical plugin.

Each field is one key of the matching TOML table (``[generator]``, ``[discriminator]``,
``[dataset]``), overridable with ``--set dataset.mode=patches``. Plain types only: this
module imports nothing heavy so that ``sparring plugins`` stays fast.

Spatial sizes are lists; an empty list means "the default for this mode" (64 x 64 slices,
64^3 volumes, 32^3 patches) and a one-element list is repeated for every dimension.
"""
from __future__ import annotations

from dataclasses import dataclass, field

MODES = ("slices", "volumes", "patches")
FITS = ("pad-resize", "resize", "crop")


# --- data ----------------------------------------------------------------------------


@dataclass
class ScanFolderConfig:
    """Every NIfTI file (``.nii``, ``.nii.gz``) and DICOM series (a folder of ``.dcm``
    files) under ``path``, recursively, read with MONAI's ``LoadImage``.

    Each scan is made channel-first, reoriented to RAS, resampled to ``spacing`` (mm;
    empty keeps the scan's own), and its intensities mapped so the ``percentiles`` become
    -1 and 1 (clipped). Then by ``mode``:

    - ``slices``: 2-D slices along ``axis`` (0 sagittal, 1 coronal, 2 axial), every
      ``slice_stride``-th, brought to ``size`` by ``fit``; near-empty slices (fewer than
      ``min_foreground`` of their pixels above the background) are skipped.
    - ``volumes``: each whole volume brought to ``size`` by ``fit``.
    - ``patches``: ``patches_per_volume`` random crops of ``size`` (no rescaling), drawn
      with ``seed``, each with at least ``min_foreground`` foreground.

    ``fit``: ``pad-resize`` pads with background to the target's aspect ratio and then
    resizes (keeps anatomy undistorted), ``resize`` stretches, ``crop`` centre-crops or
    pads without rescaling. ``channel`` picks one channel of multi-channel scans.
    ``max_files`` caps how many scans are read (sorted order; 0: all). Unreadable scans
    are skipped and counted; the first reasons are logged.
    """

    path: str = ""
    mode: str = "slices"
    axis: int = 2
    spacing: list[float] = field(default_factory=list)
    size: list[int] = field(default_factory=list)
    fit: str = "pad-resize"
    percentiles: list[float] = field(default_factory=lambda: [0.5, 99.5])
    min_foreground: float = 0.05
    slice_stride: int = 1
    patches_per_volume: int = 64
    channel: int = 0
    max_files: int = 0
    seed: int = 0


@dataclass
class MNI152Config:
    """The MNI152 T1 template brain (1 mm, 197 x 233 x 189, skull-stripped) that ships
    inside nilearn (``nilearn.datasets.load_mni152_template``): nothing is downloaded.

    One brain, so ``mode`` is ``slices`` (along ``axis``) or ``patches``
    (``num_patches`` random crops of ``size``); the other keys mean what they mean for
    ``scan-folder``. ``spacing`` resamples the 1 mm template first (e.g. [2, 2, 2]).
    """

    mode: str = "slices"
    axis: int = 2
    spacing: list[float] = field(default_factory=list)
    size: list[int] = field(default_factory=list)
    fit: str = "pad-resize"
    percentiles: list[float] = field(default_factory=lambda: [0.5, 99.5])
    min_foreground: float = 0.05
    slice_stride: int = 1
    num_patches: int = 1024
    seed: int = 0


@dataclass
class PhantomConfig:
    """Synthetic phantoms from ``monai.data.synthetic``: ``num`` images of random
    circles (2-D, ``dims`` 2) or spheres (3-D, ``dims`` 3) with noise, ``size`` pixels
    on a side, intensities in [-1, 1]. For tests and quick runs."""

    num: int = 256
    dims: int = 2
    size: int = 32
    num_objects: int = 6
    noise: float = 0.1
    seed: int = 0


# --- models --------------------------------------------------------------------------


@dataclass
class DCGANGeneratorConfig:
    """DCGAN generator in 2-D or 3-D (taken from the data): a linear layer to a 4-8
    voxel grid, then transposed convolutions (x2 each) with batch norm and ReLU, a 3^d
    convolution and tanh. ``channels`` is the width of the last hidden layer; it doubles
    at each lower resolution up to ``max_channels``. Every spatial size must be the
    smallest size times the same power of two (64 x 64, 32^3, 48 x 64 ...)."""

    latent_dim: int = 128
    channels: int = 32
    max_channels: int = 256


@dataclass
class DCGANDiscriminatorConfig:
    """DCGAN discriminator in 2-D or 3-D: strided 4^d convolutions with LeakyReLU(0.2)
    down to a 4-8 voxel grid, then a linear logit. ``norm``: "spectral" (spectral
    normalisation of every layer, the default), "batch" or "none"."""

    channels: int = 32
    max_channels: int = 256
    norm: str = "spectral"


@dataclass
class MonaiGeneratorConfig:
    """MONAI's ``Generator``: a linear layer to a small grid, then one transposed
    convolution (x2) per entry of ``channels`` (with ``num_res_units`` residual units
    each), a final convolution to the data's channels, and tanh. ``norm`` and ``act`` are
    MONAI layer names ("batch", "instance"; "prelu", "relu", "leakyrelu")."""

    latent_dim: int = 128
    channels: list[int] = field(default_factory=lambda: [128, 64, 32, 16])
    num_res_units: int = 1
    kernel_size: int = 3
    norm: str = "batch"
    act: str = "prelu"


@dataclass
class MonaiDiscriminatorConfig:
    """MONAI's ``Discriminator`` (``critic`` false: a linear logit head, no sigmoid) or
    ``Critic`` (mean of the last feature map): one strided (x1/2) convolution per entry of
    ``channels``. Dropout ``dropout`` (0: none)."""

    channels: list[int] = field(default_factory=lambda: [32, 64, 128, 256])
    num_res_units: int = 1
    kernel_size: int = 3
    norm: str = "instance"
    act: str = "prelu"
    dropout: float = 0.0


@dataclass
class PatchDiscriminatorConfig:
    """MONAI's ``PatchDiscriminator`` (pix2pixHD): ``num_layers`` strided convolutions
    from ``channels`` filters (doubling), one logit per patch. It returns its features
    and then the logits; the loop takes the last element."""

    num_layers: int = 3
    channels: int = 32
    kernel_size: int = 4
    norm: str = "instance"
    dropout: float = 0.0


@dataclass
class MultiScalePatchDiscriminatorConfig:
    """MONAI's ``MultiScalePatchDiscriminator``: ``num_d`` patch discriminators, the
    i-th with ``num_layers * (i + 1)`` layers. Their logits are flattened and
    concatenated; their features are returned beside them for feature matching."""

    num_d: int = 2
    num_layers: int = 2
    channels: int = 32
    kernel_size: int = 4
    norm: str = "instance"
    dropout: float = 0.0


# --- metrics -------------------------------------------------------------------------


@dataclass
class FeatureNetConfig:
    """The small convolutional autoencoder whose bottleneck features the ``ae-features``
    metric uses: trained on the training data on first use, cached under
    ``${SPARRING_CACHE:-~/.cache/sparring}/medical/``. Not a TOML table."""

    width: int = 16
    feature_dim: int = 64
    steps: int = 400
    batch_size: int = 32
    lr: float = 2e-3
    seed: int = 0
    max_train: int = 4096
    version: int = 1
