"""Fixtures of the medical plugin's tests: small synthetic NIfTI and DICOM scans."""
from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("OMP_NUM_THREADS", "1")
import torch  # noqa: E402

torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Feature-network weights go to a per-session temporary cache, never ~/.cache."""
    monkeypatch.setenv("SPARRING_CACHE", str(tmp_path_factory.getbasetemp() / "sparring-cache"))
    yield


def blob_volume(shape=(16, 16, 16), seed=0, z_range=None) -> np.ndarray:
    """A bright noisy ellipsoid on a zero background (like a skull-stripped brain)."""
    rng = np.random.default_rng(seed)
    grid = np.stack(np.meshgrid(*[np.linspace(-1, 1, n) for n in shape], indexing="ij"))
    radius = 0.6 + 0.1 * rng.random()
    inside = (grid ** 2).sum(0) < radius ** 2
    if z_range is not None:
        z = np.zeros(shape, bool)
        z[:, :, z_range[0]:z_range[1]] = True
        inside &= z
    vol = np.where(inside, 500 + 200 * grid[0] + 30 * rng.standard_normal(shape), 0.0)
    return vol.astype(np.float32)


def write_nifti(path, volume, affine=None):
    import nibabel as nib

    affine = np.eye(4) if affine is None else affine
    nib.save(nib.Nifti1Image(volume, affine), str(path))
    return path


def write_dicom_series(folder, volume, spacing=(1.0, 1.0, 2.0)):
    """One CT DICOM file per slice along the last axis, as a scanner writes a series."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

    os.makedirs(folder, exist_ok=True)
    series, study = generate_uid(), generate_uid()
    for k in range(volume.shape[2]):
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = CTImageStorage
        meta.MediaStorageSOPInstanceUID = generate_uid()
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds = Dataset()
        ds.file_meta = meta
        ds.SOPClassUID, ds.SOPInstanceUID = CTImageStorage, meta.MediaStorageSOPInstanceUID
        ds.StudyInstanceUID, ds.SeriesInstanceUID = study, series
        ds.Modality, ds.PatientID = "CT", "synthetic"
        ds.Rows, ds.Columns = volume.shape[0], volume.shape[1]
        ds.PixelSpacing = [spacing[0], spacing[1]]
        ds.SliceThickness = spacing[2]
        ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
        ds.ImagePositionPatient = [0.0, 0.0, k * spacing[2]]
        ds.InstanceNumber = k + 1
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
        ds.RescaleIntercept, ds.RescaleSlope = 0, 1
        ds.PixelData = volume[:, :, k].astype(np.int16).tobytes()
        ds.save_as(os.path.join(folder, f"slice_{k:03d}.dcm"), enforce_file_format=True)
    return folder


@pytest.fixture
def scan_files():
    """The helpers above, for tests that build their own folders."""
    class Helpers:
        blob = staticmethod(blob_volume)
        nifti = staticmethod(write_nifti)
        dicom = staticmethod(write_dicom_series)

    return Helpers


@pytest.fixture
def nifti_folder(tmp_path):
    """Three 16^3 NIfTI scans (one in a sub-folder) and one corrupt file."""
    root = tmp_path / "scans"
    (root / "sub").mkdir(parents=True)
    write_nifti(root / "a.nii.gz", blob_volume(seed=1))
    write_nifti(root / "b.nii", blob_volume(seed=2))
    write_nifti(root / "sub" / "c.nii.gz", blob_volume(seed=3))
    (root / "broken.nii.gz").write_bytes(b"this is not a NIfTI file")
    return root
