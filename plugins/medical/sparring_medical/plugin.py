"""The medical plugin's hook implementations: thin and cheap to import.

Only ``sparring``, the standard library and the config dataclasses are imported here;
torch, MONAI, nibabel, nilearn and pydicom are imported inside the factories.
"""
from __future__ import annotations

from sparring import hookimpl
from sparring.specs import DatasetSpec, MetricSpec, ModalitySpec, ModelSpec, WriterSpec

from .configs import (
    DCGANDiscriminatorConfig,
    DCGANGeneratorConfig,
    MNI152Config,
    MonaiDiscriminatorConfig,
    MonaiGeneratorConfig,
    MultiScalePatchDiscriminatorConfig,
    PatchDiscriminatorConfig,
    PhantomConfig,
    ScanFolderConfig,
)

MODALITY = "medical"


def _model(class_name, **kwargs):
    def build(cfg, info):
        from . import models

        return getattr(models, class_name)(cfg, info, **kwargs)

    build.__name__ = f"build_{class_name}"
    return build


@hookimpl
def sparring_modalities():
    yield ModalitySpec(
        MODALITY, generator="medical-dcgan", discriminator="medical-dcgan", dataset="mni152",
        loss="hinge", writer="nifti-montage",
        metrics=("ms-ssim", "voxel-mmd", "ae-features", "intensity-hist"),
        description="MRI/CT in [-1, 1]: 2-D slices (N, 1, H, W) or 3-D volumes and patches "
                    "(N, 1, X, Y, Z), RAS; MONAI networks, NIfTI/DICOM folders, MNI152")


@hookimpl
def sparring_generators():
    yield ModelSpec("medical-dcgan", MODALITY, _model("DCGANGenerator"), DCGANGeneratorConfig,
                    description="DCGAN generator, 2-D or 3-D from the data (e.g. 64x64 slices, 64^3 volumes)")
    yield ModelSpec("monai-generator", MODALITY, _model("MonaiGenerator"), MonaiGeneratorConfig,
                    description="MONAI's Generator (transposed convs + residual units), tanh output")


@hookimpl
def sparring_discriminators():
    yield ModelSpec("medical-dcgan", MODALITY, _model("DCGANDiscriminator"), DCGANDiscriminatorConfig,
                    description="DCGAN discriminator, 2-D or 3-D, spectral norm by default")
    yield ModelSpec("monai-discriminator", MODALITY, _model("MonaiDiscriminator"), MonaiDiscriminatorConfig,
                    description="MONAI's Discriminator, logits (no sigmoid)")
    yield ModelSpec("monai-critic", MODALITY, _model("MonaiDiscriminator", critic=True),
                    MonaiDiscriminatorConfig, description="MONAI's Critic (for Wasserstein losses)")
    yield ModelSpec("monai-patch", MODALITY, _model("PatchDiscriminator"), PatchDiscriminatorConfig,
                    description="MONAI's PatchDiscriminator: features, then patch logits")
    yield ModelSpec("monai-multiscale-patch", MODALITY, _model("MultiScalePatchDiscriminator"),
                    MultiScalePatchDiscriminatorConfig,
                    description="MONAI's MultiScalePatchDiscriminator: all scales' logits and features")


def _build_scan_folder(cfg):
    from .data import build_scan_folder

    return build_scan_folder(cfg)


def _build_mni152(cfg):
    from .data import build_mni152

    return build_mni152(cfg)


def _build_phantoms(cfg):
    from .data import build_phantoms

    return build_phantoms(cfg)


@hookimpl
def sparring_datasets():
    yield DatasetSpec("scan-folder", MODALITY, _build_scan_folder, ScanFolderConfig,
                      description="a folder of NIfTI files / DICOM series: slices, volumes or patches")
    yield DatasetSpec("mni152", MODALITY, _build_mni152, MNI152Config,
                      description="the MNI152 T1 template shipped with nilearn: slices or patches")
    yield DatasetSpec("phantoms", MODALITY, _build_phantoms, PhantomConfig,
                      description="MONAI's synthetic circles (2-D) or spheres (3-D)")


def _ms_ssim(generated, real, dataset=None):
    from .metrics import ms_ssim_metrics

    return ms_ssim_metrics(generated, real, dataset)


def _mmd(generated, real, dataset=None):
    from .metrics import mmd_metrics

    return mmd_metrics(generated, real, dataset)


def _ae(generated, real, dataset=None):
    from .metrics import feature_metrics

    return feature_metrics(generated, real, dataset)


def _hist(generated, real, dataset=None):
    from .metrics import histogram_metrics

    return histogram_metrics(generated, real, dataset)


@hookimpl
def sparring_metrics():
    yield MetricSpec("ms-ssim", MODALITY, _ms_ssim, higher_is_better={},
                     description="diversity: mean MS-SSIM of pairs of samples (compare with real vs real)")
    yield MetricSpec("voxel-mmd", MODALITY, _mmd, higher_is_better={"mmd": False},
                     description="MONAI's MMD (linear kernel) on voxels, per voxel")
    yield MetricSpec("ae-features", MODALITY, _ae, higher_is_better={"ae_fd": False, "ae_rec": False},
                     description="Frechet distance on a small autoencoder trained on the data (cached)")
    yield MetricSpec("intensity-hist", MODALITY, _hist,
                     higher_is_better={"hist_w1": False, "hist_w1_fg": False},
                     description="Wasserstein-1 between intensity histograms, all and foreground voxels")


def _nifti(samples, path, dataset=None):
    from .writers import write_nifti

    return write_nifti(samples, path, dataset)


def _montage(samples, path, dataset=None):
    from .writers import write_montage

    return write_montage(samples, path, dataset)


def _both(samples, path, dataset=None):
    from .writers import write_nifti_and_montage

    return write_nifti_and_montage(samples, path, dataset)


@hookimpl
def sparring_sample_writers():
    yield WriterSpec("nifti-montage", MODALITY, _both, description="NIfTI (.nii.gz) and a PNG montage")
    yield WriterSpec("nifti", MODALITY, _nifti,
                     description="NIfTI with a RAS affine: slices stacked, or volumes as a 4-D series")
    yield WriterSpec("montage", MODALITY, _montage,
                     description="PNG: a grid of slices, or three mid-planes per volume")


@hookimpl
def sparring_report_gallery(run_dir, modality, step, paths, assets):
    """The medical section of ``sparring report`` (sparring_medical.report); other modalities pass."""
    if modality != MODALITY:
        return None
    from .report import gallery

    return gallery(paths, assets)
