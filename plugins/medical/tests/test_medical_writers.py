"""NIfTI writer: the affine survives a round trip and says RAS; PNG montages."""
from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest
import torch

from sparring_medical.data import ScanDataset
from sparring_medical.writers import montage, ras_affine, write_montage, write_nifti, write_volumes


def test_volume_affine_round_trip(tmp_path):
    samples = torch.rand(3, 1, 8, 10, 12) * 2 - 1
    dataset = ScanDataset(samples, spacing=(2.0, 1.5, 3.0), axes=(0, 1, 2), name="test")
    [path] = write_nifti(samples, tmp_path / "step_0000001", dataset=dataset)
    assert path.name == "step_0000001.nii.gz"
    img = nib.load(str(path))
    assert img.shape == (8, 10, 12, 3)
    assert nib.aff2axcodes(img.affine) == ("R", "A", "S")
    assert img.header.get_zooms()[:3] == pytest.approx((2.0, 1.5, 3.0))
    assert np.allclose(img.affine, img.get_qform()) and np.allclose(img.affine, img.get_sform())
    # The grid's centre sits at the world origin.
    centre = img.affine @ np.array([3.5, 4.5, 5.5, 1.0])
    assert np.allclose(centre[:3], 0.0)
    assert np.allclose(np.asarray(img.dataobj)[..., 1], samples[1, 0].numpy(), atol=1e-6)

    paths = write_volumes(samples, tmp_path / "volumes", dataset=dataset)
    assert [p.name for p in paths] == ["sample_000.nii.gz", "sample_001.nii.gz", "sample_002.nii.gz"]
    one = nib.load(str(paths[2]))
    assert np.allclose(one.affine, img.affine) and np.allclose(one.get_fdata(), samples[2, 0].numpy(), atol=1e-6)


def test_sagittal_slices_keep_their_anatomical_axes(tmp_path):
    # Slices cut along axis 0 (sagittal): sample rows run anterior, columns superior.
    samples = torch.zeros(4, 1, 6, 5)
    samples[:, :, -1, :] = 1.0  # the most anterior row
    dataset = ScanDataset(samples, spacing=(1.0, 2.0), axes=(1, 2), name="test", slice_axis=0, slice_spacing=4.0)
    [path] = write_nifti(samples, tmp_path / "s", dataset=dataset)
    img = nib.as_closest_canonical(nib.load(str(path)))  # viewer's RAS view of the data
    data = img.get_fdata()
    assert data.shape == (4, 6, 5)  # R (the samples), A, S
    assert np.all(data[:, -1, :] == 1.0) and np.all(data[:, 0, :] == 0.0)
    assert img.header.get_zooms() == pytest.approx((4.0, 1.0, 2.0))


def test_ras_affine_maps_axes():
    affine = ras_affine((2, 0, 1), (3.0, 0.5, 2.0), (4, 4, 4))
    assert affine[2, 0] == 3.0 and affine[0, 1] == 0.5 and affine[1, 2] == 2.0
    assert affine[0, 0] == affine[1, 1] == affine[2, 2] == 0.0


def test_montages(tmp_path):
    slices = torch.linspace(-1, 1, 9 * 8 * 8).reshape(9, 1, 8, 8)
    grid = montage(slices)
    assert grid.dtype == np.uint8 and grid.shape == (3 * 10 + 2, 3 * 10 + 2)
    volumes = torch.full((2, 1, 8, 8, 8), -1.0)
    volumes[0, 0, 4, :, :] = 1.0  # the sagittal mid-plane of volume 0 is white
    grid = montage(volumes)
    assert grid.shape == (1 * 10 + 2, 6 * 10 + 2)
    assert grid[2:10, 2:10].min() == 255  # first panel: that sagittal plane
    assert grid[2:10, 12:20].max() == 255 and grid[2:10, 12:20].min() == 0  # coronal cuts it: one line
    [png] = write_montage(volumes, tmp_path / "m")
    from PIL import Image

    assert Image.open(png).size == (grid.shape[1], grid.shape[0])
    with pytest.raises(ValueError, match="N, C"):
        montage(torch.zeros(2, 8))
