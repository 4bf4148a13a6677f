"""The medical section of ``sparring report``: NIfTI samples as mid-plane montages.

Called through ``sparring_report_gallery`` (registered in plugin.py) for the ``medical``
modality only. Each NIfTI file of a step is read with nibabel and drawn with the
plugin's own montage (``writers.montage``), following the writer's layout:

- a 4-D file (X, Y, Z, sample) holds volumes: turned to RAS, each volume shows its
  sagittal, coronal and axial mid-planes side by side (two volumes a row, up to 16);
- a 3-D file holds 2-D samples stacked along its last axis: a grid of the slices;
- a 2-D file is one slice.

Intensities in [-1, 1] (what generators write) are shown as they are, others are
scaled from their 1st to their 99th percentile. The writer's PNG montage of the same
sample is left out (the picture from the NIfTI replaces it); other files go to the
default gallery.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from sparring.report import could_not_show, default_gallery, figure, img, links, png_bytes

NIFTI_SUFFIXES = (".nii", ".nii.gz")
MAX_VOLUMES = 16


def _stem(path: Path) -> str:
    return path.name[:-len(".nii.gz")] if path.name.endswith(".nii.gz") else path.stem


def _unit_range(x: np.ndarray) -> np.ndarray:
    """Values in [-1, 1]: as they are when they already are, else percentiles 1..99."""
    x = np.nan_to_num(x.astype(np.float32), nan=-1.0, posinf=1.0, neginf=-1.0)
    if x.size == 0 or (x.min() >= -1.001 and x.max() <= 1.001):
        return x
    low, high = np.percentile(x, [1, 99])
    return (x - low) / max(high - low, 1e-6) * 2 - 1


def nifti_montage(path: Path) -> tuple[np.ndarray, str]:
    """A uint8 montage of a NIfTI sample file and a sentence saying what it shows."""
    import nibabel as nib

    from .writers import montage

    image = nib.load(str(path))
    if image.ndim == 4:
        image = nib.as_closest_canonical(image)  # mid-planes along R, A, S
    data, zooms = _unit_range(np.asarray(image.dataobj)), image.header.get_zooms()
    if data.ndim == 4:
        n = data.shape[3]
        volumes = np.moveaxis(data[..., :MAX_VOLUMES], -1, 0)[:, None]
        size = "x".join(map(str, data.shape[:3]))
        mm = "x".join(f"{z:g}" for z in zooms[:3])
        shown = f"the first {MAX_VOLUMES} of {n}" if n > MAX_VOLUMES else str(n)
        return montage(volumes, MAX_VOLUMES), (f"{shown} volume(s) of {size} voxels ({mm} mm); per volume "
                                               "the sagittal, coronal and axial mid-planes")
    if data.ndim == 2:
        data = data[..., None]
    if data.ndim != 3:
        raise ValueError(f"a {data.ndim}-D NIfTI file is no medical sample")
    slices = np.moveaxis(data, -1, 0)[:, None]
    return montage(slices), f"{len(slices)} slice(s) of {data.shape[0]}x{data.shape[1]} pixels"


def gallery(paths, assets) -> str:
    """HTML for one step: a montage per NIfTI file with a link to it, then the other files."""
    paths = [Path(p) for p in paths]
    scans = [p for p in paths if p.name.endswith(NIFTI_SUFFIXES)]
    stems = {_stem(p) for p in scans}
    rest = [p for p in paths if p not in scans and not (p.suffix.lower() == ".png" and p.stem in stems)]
    parts = []
    for path in scans:
        try:
            picture, what = nifti_montage(path)
            parts.append(figure(img(assets, png_bytes(picture), f"mid-plane montage of {path.name}",
                                    _stem(path) + "_montage.png", cls="sample montage", most=720),
                                f"{path.name}: {what}"))
        except Exception as exc:  # one unreadable file costs its montage only
            parts.append(could_not_show(path, exc))
    parts.append(links(scans, assets, "NIfTI"))
    if rest:
        parts.append(default_gallery(rest, assets))
    return "\n".join(p for p in parts if p)
