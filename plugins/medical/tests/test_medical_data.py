"""Loaders: NIfTI and DICOM folders (with a corrupt file and an empty folder), MNI152, phantoms."""
from __future__ import annotations

import logging
import socket

import numpy as np
import pytest
import torch

from sparring.errors import ConfigError, DataError
from sparring_medical.configs import MNI152Config, PhantomConfig, ScanFolderConfig
from sparring_medical.data import build_mni152, build_phantoms, build_scan_folder, find_scans


def folder_cfg(path, **kw):
    kw.setdefault("size", [16])
    return ScanFolderConfig(path=str(path), **kw)


def test_slices_from_nifti_folder_skip_and_count_the_corrupt_file(nifti_folder, caplog):
    with caplog.at_level(logging.WARNING, logger="sparring.medical"):
        ds = build_scan_folder(folder_cfg(nifti_folder, min_foreground=0.1))
    x = ds.tensors[0]
    assert x.ndim == 4 and x.shape[1:] == (1, 16, 16)
    assert ds.files_found == 4 and ds.skipped == 1
    assert "broken.nii.gz" in ds.skipped_reasons[0][0]
    reason = ds.skipped_reasons[0][1]
    assert "not a gzip file" in reason and "Traceback" not in reason and "\n" not in reason
    assert "skipped 1 of 4" in caplog.text and "broken.nii.gz" in caplog.text
    # Percentile scaling: [-1, 1], background at -1, every kept slice has foreground.
    assert x.min() >= -1 and x.max() <= 1 and x.max() > 0.9
    assert ((x > -0.9).float().flatten(1).mean(1) >= 0.1).all()
    # Three scans of 16 axial slices, the empty caps dropped.
    assert 3 * 4 < len(ds) < 3 * 16
    assert ds.axes == (0, 1) and ds.slice_axis == 2


def test_empty_or_unreadable_folder_is_a_clear_error(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataError, match="empty.*no readable NIfTI"):
        build_scan_folder(folder_cfg(empty))
    (empty / "x.nii").write_bytes(b"\x00" * 10)
    with pytest.raises(DataError, match="1 unusable"):
        build_scan_folder(folder_cfg(empty))
    with pytest.raises(DataError, match="does not exist"):
        build_scan_folder(folder_cfg(tmp_path / "missing"))
    with pytest.raises(ConfigError, match="dataset.path"):
        build_scan_folder(ScanFolderConfig())


@pytest.mark.parametrize("key, value, message", [
    ("mode", "tiles", r"config key 'dataset\.mode' must be one of .*got 'tiles'"),
    ("fit", "stretch", r"config key 'dataset\.fit' must be one of .*got 'stretch'"),
    ("axis", 3, r"config key 'dataset\.axis' must be 0 .*got 3"),
    ("percentiles", [99.0, 1.0], r"config key 'dataset\.percentiles' must be \[low, high\].*got \[99\.0, 1\.0\]"),
    ("size", [16, 16, 16], r"config key 'dataset\.size' for mode 'slices' needs 2 sizes.*got \[16, 16, 16\]"),
])
def test_bad_options_name_the_key(nifti_folder, key, value, message):
    with pytest.raises(ConfigError, match=message):
        build_scan_folder(folder_cfg(nifti_folder, **{key: value}))


def test_reorientation_to_ras(tmp_path, scan_files):
    # Stored left-to-right reversed (an LAS affine) with intensity rising along i:
    # in RAS, intensity must fall along the first axis.
    vol = np.broadcast_to(np.arange(16, dtype=np.float32)[:, None, None], (16, 16, 16)).copy() + 1
    scan_files.nifti(tmp_path / "las.nii.gz", vol, np.diag([-1.0, 1.0, 1.0, 1.0]))
    ds = build_scan_folder(folder_cfg(tmp_path, mode="volumes", fit="crop", min_foreground=0.0))
    profile = ds.tensors[0][0, 0, :, 8, 8]
    assert profile[0] > profile[-1] and torch.all(profile[:-1] >= profile[1:])


def test_dicom_series_and_spacing(tmp_path, scan_files):
    vol = scan_files.blob((16, 16, 8), seed=4)
    scan_files.dicom(tmp_path / "patient1" / "ct", vol, spacing=(1.0, 1.0, 2.0))
    assert find_scans(tmp_path) == [tmp_path / "patient1" / "ct"]
    ds = build_scan_folder(folder_cfg(tmp_path, mode="volumes", fit="crop", spacing=[1.0], size=[16]))
    assert ds.tensors[0].shape == (1, 1, 16, 16, 16)
    # 8 slices 2 mm apart became 16 of 1 mm: the blob now fills the middle of the z axis.
    fg = (ds.tensors[0][0, 0] > -0.9).float().mean(dim=(0, 1))
    assert fg[8] > 0.2 and fg[0] < fg[8]
    assert ds.spacing == pytest.approx((1.0, 1.0, 1.0))


def test_volumes_resize_and_patches(nifti_folder):
    ds = build_scan_folder(folder_cfg(nifti_folder, mode="volumes", size=[8]))
    assert ds.tensors[0].shape == (3, 1, 8, 8, 8)
    assert ds.spacing == pytest.approx((2.0, 2.0, 2.0))  # 16 voxels of 1 mm -> 8 of 2 mm
    patches = build_scan_folder(folder_cfg(nifti_folder, mode="patches", size=[8], patches_per_volume=5,
                                           min_foreground=0.3))
    x = patches.tensors[0]
    assert x.shape == (15, 1, 8, 8, 8)
    assert ((x > -0.9).float().flatten(1).mean(1) >= 0.3).all()
    again = build_scan_folder(folder_cfg(nifti_folder, mode="patches", size=[8], patches_per_volume=5,
                                         min_foreground=0.3))
    assert torch.equal(x, again.tensors[0])  # seeded


def test_mni152_ships_offline(monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("the MNI152 dataset tried to use the network")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    ds = build_mni152(MNI152Config(size=[32], slice_stride=6))
    x = ds.tensors[0]
    assert x.shape[1:] == (1, 32, 32) and 15 < len(x) < 32
    assert x.min() >= -1 and x.max() <= 1
    # pad-resize keeps the 197 x 233 mm plane undistorted: square pixels of 233/32 mm.
    assert ds.spacing == pytest.approx((233 / 32, 233 / 32), rel=0.01)
    with pytest.raises(ConfigError, match="dataset.mode"):
        build_mni152(MNI152Config(mode="volumes"))


@pytest.mark.parametrize("dims", [2, 3])
def test_phantoms(dims):
    ds = build_phantoms(PhantomConfig(num=4, dims=dims, size=16))
    x = ds.tensors[0]
    assert x.shape == (4, 1) + (16,) * dims
    assert x.min() >= -1 and x.max() <= 1 and (x > 0).any()
    assert not torch.equal(x[0], x[1])
