"""The scan folder against bad files: zero-byte, truncated, mislabelled and huge-dimension
NIfTI files (.nii and .nii.gz) and DICOM series with such a slice, mixed with good scans, are
skipped, counted and logged; an all-bad folder is a DataError naming it and what was
expected; huge headers are refused before the voxels are read."""
from __future__ import annotations

import gzip
import logging
import struct

import pytest

import numpy as np
from sparring.badfiles import BAD_KINDS, address_space_cap, write_bad
from sparring.errors import DataError
from sparring_medical.configs import ScanFolderConfig
from sparring_medical.data import build_scan_folder

CAP = 1 << 30


def blob_volume(shape=(16, 16, 16), seed=0):
    """A bright noisy ball on a zero background."""
    rng = np.random.default_rng(seed)
    grid = np.stack(np.meshgrid(*[np.linspace(-1, 1, n) for n in shape], indexing="ij"))
    inside = (grid ** 2).sum(0) < 0.6 ** 2
    return np.where(inside, 500 + 30 * rng.standard_normal(shape), 0.0).astype(np.float32)


def write_nifti(path, volume):
    import nibabel as nib

    nib.save(nib.Nifti1Image(volume, np.eye(4)), str(path))
    return path


def cfg(root, **kw):
    kw.setdefault("size", [16])
    kw.setdefault("min_foreground", 0.05)
    return ScanFolderConfig(path=str(root), **kw)


def nifti_bytes(tmp_path, seed=0) -> bytes:
    path = write_nifti(tmp_path / f"source{seed}.nii", blob_volume(seed=seed))
    data = path.read_bytes()
    path.unlink()
    return data


def patched_dims(nii: bytes, dims=(30000, 30000, 30000)) -> bytes:
    """The same file with a header claiming ``dims`` voxels (108 TB as float32)."""
    raw = bytearray(nii)
    struct.pack_into("<8h", raw, 40, len(dims), *dims, *([1] * (7 - len(dims))))
    return bytes(raw)


def good_folder(root, tmp_path):
    root.mkdir(parents=True, exist_ok=True)
    write_nifti(root / "a.nii.gz", blob_volume(seed=1))
    write_nifti(root / "b.nii", blob_volume(seed=2))
    return root


@pytest.fixture(scope="module", autouse=True)
def _warm_imports(tmp_path_factory):
    # MONAI, nibabel and pydicom map libraries on import: before any memory cap.
    tmp = tmp_path_factory.mktemp("warm")
    build_scan_folder(cfg(good_folder(tmp / "scans", tmp)))
    import pydicom  # noqa: F401


@pytest.mark.parametrize("suffix", [".nii", ".nii.gz"])
@pytest.mark.parametrize("kind", BAD_KINDS)
def test_bad_nifti_among_good_is_skipped_counted_and_logged(kind, suffix, tmp_path, caplog):
    root = good_folder(tmp_path / "scans", tmp_path)
    good = nifti_bytes(tmp_path, seed=5)
    if suffix == ".nii.gz":
        good = gzip.compress(good)

    def huge(path):
        data = patched_dims(nifti_bytes(tmp_path, seed=6))
        path.write_bytes(gzip.compress(data) if suffix == ".nii.gz" else data)

    bad = write_bad(kind, root / "sub" / f"bad-{kind}{suffix}", good=good, huge=huge)
    with caplog.at_level(logging.WARNING, logger="sparring.medical"), address_space_cap(CAP):
        ds = build_scan_folder(cfg(root))
    assert ds.files_found == 3 and ds.skipped == 1 and len(ds) > 0
    (path, reason), = ds.skipped_reasons
    assert path == str(bad) and "MemoryError" not in reason and "\n" not in reason
    assert "skipped 1 of 3" in caplog.text and bad.name in caplog.text
    if kind == "huge":
        assert "30000 x 30000 x 30000" in reason and "limit" in reason


@pytest.mark.parametrize("kind", BAD_KINDS)
def test_dicom_series_with_a_bad_slice_is_skipped_as_one_scan(kind, tmp_path, caplog, scan_files):
    import pydicom

    write_dicom_series = scan_files.dicom
    root = good_folder(tmp_path / "scans", tmp_path)
    write_dicom_series(root / "good-series", blob_volume(seed=3) * 2)
    series = write_dicom_series(root / "bad-series", blob_volume(seed=4) * 2)
    slice_path = sorted((root / "bad-series").iterdir())[5]
    good = slice_path.read_bytes()

    def huge(path):
        ds = pydicom.dcmread(str(path))
        ds.Rows, ds.Columns, ds.NumberOfFrames = 60000, 60000, 1000
        ds.save_as(str(path))

    write_bad(kind, slice_path, good=good, huge=huge)
    with caplog.at_level(logging.WARNING, logger="sparring.medical"), address_space_cap(CAP):
        ds = build_scan_folder(cfg(root))
    assert ds.files_found == 4 and ds.skipped == 1
    (path, reason), = ds.skipped_reasons
    assert path == str(series) and "MemoryError" not in reason
    assert "skipped 1 of 4" in caplog.text
    if kind in ("zero-byte", "mislabelled"):
        assert slice_path.name in reason
    if kind == "huge":
        assert "limit" in reason


@pytest.mark.parametrize("kinds", [BAD_KINDS, ("zero-byte",), ("mislabelled", "truncated")])
def test_all_bad_folder_is_a_clear_data_error(kinds, tmp_path):
    root = tmp_path / "all-bad"
    good = nifti_bytes(tmp_path)
    for kind in kinds:
        write_bad(kind, root / f"bad-{kind}.nii", good=good, huge=lambda p: p.write_bytes(patched_dims(good)))
    with pytest.raises(DataError) as info, address_space_cap(CAP):
        build_scan_folder(cfg(root))
    message = str(info.value)
    assert str(root) in message and "NIfTI (.nii, .nii.gz)" in message and "DICOM" in message
    assert f"{len(kinds)} unusable" in message
