"""Sample writers: NIfTI files that open in any viewer, and PNG montages.

Samples are (N, C, H, W) slices or (N, C, X, Y, Z) volumes in [-1, 1]; only channel 0
is written. The geometry comes from the training dataset when the loop passes it
(``axes``: the RAS axis of each sample dimension, ``spacing``: mm per voxel); without
one, 1 mm voxels and RAS axes are assumed.

- 2-D: one 3-D NIfTI whose slices are the samples, stacked along the axis they were cut
  from, so a viewer shows each sample in its anatomical orientation.
- 3-D: one 4-D NIfTI (X, Y, Z, sample), and, from ``write_volumes``, one file per volume.

Montages show each slice with the second in-plane axis pointing up (anterior or superior
at the top) and, for volumes, the sagittal, coronal and axial mid-planes side by side.
"""
from __future__ import annotations

import math
from pathlib import Path


def sample_geometry(samples, dataset=None) -> tuple[tuple, tuple, int | None, float]:
    """(axes, spacing, slice_axis, slice_spacing) of samples, from the dataset if it knows."""
    spatial = samples.ndim - 2
    axes = tuple(getattr(dataset, "axes", ()) or ())
    spacing = tuple(getattr(dataset, "spacing", ()) or ())
    if len(axes) != spatial or len(spacing) != spatial:
        axes, spacing = tuple(range(spatial)), (1.0,) * spatial
    slice_axis = getattr(dataset, "slice_axis", None)
    if spatial == 2 and slice_axis not in set(range(3)) - set(axes):
        slice_axis = ({0, 1, 2} - set(axes)).pop()
    return axes, spacing, slice_axis, float(getattr(dataset, "slice_spacing", 1.0) or 1.0)


def ras_affine(axes, spacing, shape):
    """A 4x4 affine: array axis i steps ``spacing[i]`` mm along RAS axis ``axes[i]``,
    with the centre of the grid at the world origin."""
    import numpy as np

    affine = np.zeros((4, 4))
    affine[3, 3] = 1.0
    for i, (axis, step) in enumerate(zip(axes, spacing)):
        affine[axis, i] = step
    centre = np.array([(n - 1) / 2.0 for n in shape] + [1.0])
    affine[:3, 3] = -(affine @ centre)[:3]
    return affine


def _nifti(array, affine):
    import nibabel as nib
    import numpy as np

    img = nib.Nifti1Image(np.asarray(array, dtype=np.float32), affine)
    img.header.set_xyzt_units("mm")
    img.set_qform(affine, code=2)  # aligned to an anatomical space
    img.set_sform(affine, code=2)
    return img


def _save(img, out: Path) -> Path:
    import nibabel as nib

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name.replace(".nii.gz", ".tmp.nii.gz"))
    nib.save(img, str(tmp))
    tmp.replace(out)
    return out


def _volumes(samples):
    import numpy as np

    x = samples.detach().float().cpu().numpy() if hasattr(samples, "detach") else np.asarray(samples)
    if x.ndim not in (4, 5):
        raise ValueError(f"medical samples must be (N, C, H, W) or (N, C, X, Y, Z), got {x.shape}")
    if x.shape[0] == 0:
        raise ValueError("no samples to write")
    return np.nan_to_num(x[:, 0], nan=-1.0)


def write_nifti(samples, path, dataset=None) -> list[Path]:
    """``path``.nii.gz: 2-D samples as the slices of one volume, 3-D ones as a 4-D series."""
    import numpy as np

    x = _volumes(samples)
    axes, spacing, slice_axis, slice_spacing = sample_geometry(samples, dataset)
    if x.ndim == 3:  # (N, H, W) -> (H, W, N): samples along the axis they were cut from
        array = np.moveaxis(x, 0, -1)
        affine = ras_affine(tuple(axes) + (slice_axis,), tuple(spacing) + (slice_spacing,), array.shape)
    else:  # (N, X, Y, Z) -> (X, Y, Z, N)
        array = np.moveaxis(x, 0, -1)
        affine = ras_affine(axes, spacing, array.shape[:3])
    img = _nifti(array, affine)
    if array.ndim == 4:
        img.header.set_xyzt_units("mm", "unknown")
    return [_save(img, Path(str(path) + ".nii.gz"))]


def write_volumes(samples, folder, dataset=None, prefix: str = "sample") -> list[Path]:
    """One ``<prefix>_NNN.nii.gz`` per 3-D sample (or per 2-D slice) in ``folder``."""
    x = _volumes(samples)
    axes, spacing, slice_axis, slice_spacing = sample_geometry(samples, dataset)
    if x.ndim == 3:
        x = x[..., None]
        axes, spacing = tuple(axes) + (slice_axis,), tuple(spacing) + (slice_spacing,)
    paths = []
    for i, vol in enumerate(x):
        paths.append(_save(_nifti(vol, ras_affine(axes, spacing, vol.shape)),
                           Path(folder) / f"{prefix}_{i:03d}.nii.gz"))
    return paths


def _display(plane):
    """A 2-D array (first axis right/anterior, second up) as image rows: the second axis up."""
    import numpy as np

    return np.rot90(plane)


def _tile(panels, ncol: int, pad: int = 2):
    import numpy as np

    h = max(p.shape[0] for p in panels)
    w = max(p.shape[1] for p in panels)
    rows = math.ceil(len(panels) / ncol)
    grid = np.full((rows * (h + pad) + pad, ncol * (w + pad) + pad), 255, np.uint8)
    for i, p in enumerate(panels):
        r, c = divmod(i, ncol)
        top = pad + r * (h + pad) + (h - p.shape[0]) // 2
        left = pad + c * (w + pad) + (w - p.shape[1]) // 2
        grid[top:top + p.shape[0], left:left + p.shape[1]] = p
    return grid


def montage(samples, max_volumes: int = 16):
    """uint8 image: a grid of 2-D slices, or one row of three mid-planes per volume."""
    import numpy as np

    x = _volumes(samples)
    x = ((np.clip(x, -1.0, 1.0) + 1.0) * 127.5 + 0.5).astype(np.uint8)
    if x.ndim == 3:
        return _tile([_display(s) for s in x], max(1, math.ceil(math.sqrt(len(x)))))
    panels = []
    for vol in x[:max_volumes]:
        cx, cy, cz = (n // 2 for n in vol.shape)
        panels += [_display(vol[cx, :, :]), _display(vol[:, cy, :]), _display(vol[:, :, cz])]
    ncol = 6 if len(panels) >= 6 else 3
    return _tile(panels, ncol)


def write_montage(samples, path, dataset=None) -> list[Path]:
    """``path``.png: a montage of the samples (see :func:`montage`)."""
    from PIL import Image

    out = Path(str(path) + ".png")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    Image.fromarray(montage(samples)).save(tmp, format="PNG")
    tmp.replace(out)
    return [out]


def write_nifti_and_montage(samples, path, dataset=None) -> list[Path]:
    """Both: ``path``.nii.gz and ``path``.png."""
    return write_nifti(samples, path, dataset) + write_montage(samples, path, dataset)
