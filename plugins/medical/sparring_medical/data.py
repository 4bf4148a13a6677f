"""Medical datasets: a folder of NIfTI / DICOM scans, the MNI152 template, synthetic phantoms.

Every dataset lives in memory as one float tensor in [-1, 1], (N, 1, H, W) for slices or
(N, 1, X, Y, Z) for volumes and patches, exposed as ``.tensors`` so the loop indexes
batches directly. Sample dimensions follow RAS: ``axes`` names the RAS axis of each sample
dimension and ``spacing`` its voxel size in mm, which the NIfTI writer turns into an affine.

The pipeline of one scan (MONAI transforms): ``LoadImage`` (channel first), ``Orientation``
to RAS, ``Spacing`` (when asked), ``ScaleIntensityRangePercentiles`` to [-1, 1], then
slices / whole volumes / random patches brought to the configured size.
"""
from __future__ import annotations

import logging
import math
import os
import re
import warnings
from pathlib import Path

import numpy as np
import torch

from sparring.errors import ConfigError, DataError

from .configs import FITS, MODES

log = logging.getLogger("sparring.medical")

#: Intensities above this (in [-1, 1]) count as foreground: 5% of the range above the low percentile.
FOREGROUND = -0.9
DEFAULT_SIZES = {"slices": (64, 64), "volumes": (64, 64, 64), "patches": (32, 32, 32)}
NIFTI_SUFFIXES = (".nii", ".nii.gz")
DICOM_SUFFIXES = (".dcm",)
RAS_LABELS = (("L", "R"), ("P", "A"), ("I", "S"))


class ScanDataset(torch.utils.data.Dataset):
    """Samples (N, 1, *spatial) in [-1, 1] with their geometry.

    ``axes[i]`` is the RAS axis (0 R, 1 A, 2 S) of sample dimension ``i`` and ``spacing[i]``
    its voxel size in mm; for slices ``slice_axis`` is the axis they were cut along and
    ``slice_spacing`` the distance between neighbouring slices.
    """

    def __init__(self, samples: torch.Tensor, spacing, axes, name: str,
                 slice_axis: int | None = None, slice_spacing: float = 1.0):
        self.samples = plain(samples).contiguous().float()
        self.spacing = tuple(float(s) for s in spacing)
        self.axes = tuple(int(a) for a in axes)
        self.slice_axis = slice_axis
        self.slice_spacing = float(slice_spacing)
        self.name = name
        self.files_found = 0
        self.skipped = 0
        self.skipped_reasons: list[tuple[str, str]] = []

    @property
    def tensors(self):
        return (self.samples,)

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.samples.shape[1:])

    def __len__(self) -> int:
        return self.samples.shape[0]

    def __getitem__(self, index):
        return self.samples[index]

    def __repr__(self) -> str:
        return (f"{type(self).__name__}({self.name}, n={len(self)}, shape={self.shape}, "
                f"spacing={tuple(round(s, 3) for s in self.spacing)} mm)")


def plain(x) -> torch.Tensor:
    """A plain tensor from a MONAI MetaTensor (whose metadata would follow every batch)."""
    return x.as_tensor() if hasattr(x, "as_tensor") else torch.as_tensor(x)


# --- configuration checks ------------------------------------------------------------


def resolve_size(size, mode: str) -> tuple[int, ...]:
    """The sample size of ``mode``: the default for an empty list, one value repeated."""
    ndim = len(DEFAULT_SIZES[mode])
    if not size:
        return DEFAULT_SIZES[mode]
    size = tuple(int(s) for s in size)
    if len(size) == 1:
        size = size * ndim
    if len(size) != ndim or min(size) < 4:
        raise ConfigError(f"config key 'dataset.size' for mode '{mode}' needs {ndim} sizes of at "
                          f"least 4 (or one, repeated), got {list(size)}")
    return size


def check_common(cfg, modes=MODES) -> None:
    """Reject impossible values of the keys scan-folder and mni152 share."""
    if cfg.mode not in modes:
        raise ConfigError(f"config key 'dataset.mode' must be one of {', '.join(map(repr, modes))}, "
                          f"got {cfg.mode!r}")
    if cfg.fit not in FITS:
        raise ConfigError(f"config key 'dataset.fit' must be one of {', '.join(map(repr, FITS))}, "
                          f"got {cfg.fit!r}")
    if cfg.axis not in (0, 1, 2):
        raise ConfigError(f"config key 'dataset.axis' must be 0 (sagittal), 1 (coronal) or 2 (axial), "
                          f"got {cfg.axis}")
    lo_hi = list(cfg.percentiles)
    if len(lo_hi) != 2 or not 0.0 <= lo_hi[0] < lo_hi[1] <= 100.0:
        raise ConfigError(f"config key 'dataset.percentiles' must be [low, high] with "
                          f"0 <= low < high <= 100, got {lo_hi}")
    if cfg.spacing and (len(cfg.spacing) not in (1, 3) or min(cfg.spacing) <= 0):
        raise ConfigError(f"config key 'dataset.spacing' must be empty, one or three positive "
                          f"sizes in mm, got {list(cfg.spacing)}")
    if not 0.0 <= cfg.min_foreground < 1.0:
        raise ConfigError(f"config key 'dataset.min_foreground' must be in [0, 1), got {cfg.min_foreground}")
    if cfg.slice_stride < 1:
        raise ConfigError(f"config key 'dataset.slice_stride' must be >= 1, got {cfg.slice_stride}")
    resolve_size(cfg.size, cfg.mode)


# --- reading one scan ----------------------------------------------------------------


def _is_nifti(path: Path) -> bool:
    name = path.name.lower()
    return any(name.endswith(s) for s in NIFTI_SUFFIXES)


def find_scans(root: Path) -> list[Path]:
    """NIfTI files and DICOM series folders (any folder holding ``.dcm`` files) under ``root``."""
    scans = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        dirnames.sort()
        here = Path(dirpath)
        if any(Path(f).suffix.lower() in DICOM_SUFFIXES for f in filenames):
            scans.append(here)
        scans.extend(here / f for f in sorted(filenames) if _is_nifti(Path(f)))
    return sorted(scans, key=lambda p: p.relative_to(root).as_posix())


#: The most voxels one scan may hold (2**28: 1 GiB as float32, e.g. 512 x 512 x 1024); a
#: larger header is refused before anything is read.
MAX_VOXELS = 1 << 28


def _too_many(shape, what: str) -> None:
    voxels = math.prod(int(n) for n in shape)
    if voxels > MAX_VOXELS:
        raise ValueError(f"{what} claims {' x '.join(str(int(n)) for n in shape)} voxels, more than the "
                         f"limit of {MAX_VOXELS:,}")
    if voxels == 0:
        raise ValueError(f"{what} claims an empty image of shape {tuple(int(n) for n in shape)}")


def check_nifti_header(path: Path) -> None:
    """Raise on a NIfTI file whose header claims too many voxels, or (uncompressed) more
    data than the file holds. Reads the header only."""
    import nibabel as nib

    img = nib.load(str(path))  # the header; the voxels stay on disk
    _too_many(img.shape, "its header")
    if not str(path).lower().endswith(".gz"):
        need = int(img.dataobj.offset) + math.prod(img.shape) * img.get_data_dtype().itemsize
        have = os.path.getsize(path)
        if have < need:
            raise ValueError(f"truncated: its header needs {need:,} bytes, the file holds {have:,}")


def check_dicom_series(folder: Path) -> None:
    """Raise on a DICOM series folder holding a file that is not DICOM, or whose headers
    together claim too many voxels. Reads the headers only (``stop_before_pixels``)."""
    import pydicom

    files = sorted(f for f in Path(folder).iterdir() if f.suffix.lower() in DICOM_SUFFIXES)
    rows_cols, slices = set(), 0
    for f in files:
        try:
            ds = pydicom.dcmread(str(f), stop_before_pixels=True)
        except Exception as exc:  # InvalidDicomError, EOFError, OSError, ...
            raise ValueError(f"slice {f.name} is not a DICOM file ({type(exc).__name__}: {exc})") from None
        frames = int(ds.get("NumberOfFrames", 1) or 1)
        rows_cols.add((int(ds.get("Rows", 0) or 0), int(ds.get("Columns", 0) or 0),
                       int(ds.get("SamplesPerPixel", 1) or 1)))
        slices += frames
        rows, cols, samples = max(rows_cols, key=math.prod)
        _too_many((rows, cols, slices * samples), f"the series (at slice {f.name})")


def load_scan(path: Path):
    """One scan as a MONAI MetaTensor (C, X, Y, Z), channel first, RAS oriented.

    A folder is read as one DICOM series (PydicomReader), a file with nibabel. Raises on
    anything unreadable, and on headers claiming more than :data:`MAX_VOXELS` voxels
    before reading the voxels.
    """
    from monai.transforms import LoadImage, Orientation

    if Path(path).is_dir():
        check_dicom_series(Path(path))
    else:
        check_nifti_header(Path(path))
    reader = "PydicomReader" if Path(path).is_dir() else "NibabelReader"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # optional GPU decoders that are absent, deprecations
        img = LoadImage(image_only=True, ensure_channel_first=True, reader=reader)(str(path))
        if img.ndim == 3:  # a single 2-D image: one slice thick
            img = _add_depth(img)
        if img.ndim != 4:
            raise ValueError(f"expected a 3-D scan, got an array of shape {tuple(img.shape)}")
        img = Orientation(axcodes="RAS", labels=RAS_LABELS)(img)
    return img


def _add_depth(img):
    from monai.data import MetaTensor

    affine = torch.eye(4, dtype=torch.float64)
    affine[:2, :2] = img.affine[:2, :2]
    affine[:2, 3] = img.affine[:2, 2]
    return MetaTensor(img.as_tensor().unsqueeze(-1), affine=affine)


def prepare_volume(img, spacing, percentiles, channel: int = 0) -> tuple[torch.Tensor, tuple]:
    """Resample ``img`` (a RAS MetaTensor) to ``spacing`` and scale percentiles to [-1, 1].

    Returns ``(volume (1, X, Y, Z) float32, voxel size in mm per axis)``.
    """
    from monai.transforms import ScaleIntensityRangePercentiles, Spacing

    if channel >= img.shape[0]:
        raise ValueError(f"has {img.shape[0]} channel(s); dataset.channel={channel} does not exist")
    img = img[channel:channel + 1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if spacing:
            pixdim = list(spacing) * 3 if len(spacing) == 1 else list(spacing)
            img = Spacing(pixdim=pixdim, mode="bilinear")(img.float())
        voxel = tuple(float(s) for s in img.pixdim)
        lo, hi = percentiles
        data = img.as_tensor().float()
        if not torch.isfinite(data).all():
            raise ValueError("holds non-finite intensities")
        if float(data.max()) <= float(data.min()):
            raise ValueError("has constant intensity")
        data = ScaleIntensityRangePercentiles(lower=lo, upper=hi, b_min=-1.0, b_max=1.0, clip=True)(data)
    data = plain(data).float()
    if not torch.isfinite(data).all():
        raise ValueError("its intensity percentiles coincide (nearly constant image)")
    return data, voxel


# --- bringing arrays to a size -------------------------------------------------------


def pad_or_crop(x: torch.Tensor, size, value: float = -1.0) -> torch.Tensor:
    """Centre-crop or pad (with ``value``) the trailing ``len(size)`` dimensions to ``size``."""
    lead = x.ndim - len(size)
    for i, target in enumerate(size):
        dim = lead + i
        n = x.shape[dim]
        if n > target:
            x = x.narrow(dim, (n - target) // 2, target)
        elif n < target:
            before = (target - n) // 2
            shape_b = list(x.shape)
            shape_b[dim] = before
            shape_a = list(x.shape)
            shape_a[dim] = target - n - before
            x = torch.cat([x.new_full(shape_b, value), x, x.new_full(shape_a, value)], dim=dim)
    return x


def fit_to(x: torch.Tensor, size, fit: str, spacing) -> tuple[torch.Tensor, tuple]:
    """Bring channel-first ``x`` (C, *spatial) to ``size``; return it and its new voxel size.

    ``pad-resize`` pads with background to the target's aspect ratio, then resizes
    (anti-aliased when shrinking); ``resize`` stretches; ``crop`` centre-crops/pads.
    """
    from monai.transforms import Resize

    spatial = tuple(x.shape[1:])
    size = tuple(int(s) for s in size)
    if fit == "crop":
        return pad_or_crop(x, size), tuple(spacing)
    if fit == "pad-resize":
        factor = max(n / s for n, s in zip(spatial, size))
        padded = tuple(max(n, math.ceil(factor * s - 1e-6)) for n, s in zip(spatial, size))
        x = pad_or_crop(x, padded)
        spatial = padded
    new_spacing = tuple(sp * n / s for sp, n, s in zip(spacing, spatial, size))
    if spatial != size:
        mode = "bilinear" if len(size) == 2 else "trilinear"
        shrink = any(n > s for n, s in zip(spatial, size))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # Shifted so the background is 0: the anti-aliasing filter pads with zeros.
            x = Resize(spatial_size=size, mode=mode, anti_aliasing=shrink)(x + 1.0)
        x = (plain(x).float() - 1.0).clamp(-1.0, 1.0)
    return x, new_spacing


def foreground_fraction(x: torch.Tensor) -> torch.Tensor:
    """Per-sample fraction of voxels above the background, for (N, ...) tensors."""
    return (x > FOREGROUND).float().flatten(1).mean(1)


# --- from a volume to samples --------------------------------------------------------


def volume_to_slices(vol, voxel, axis: int, size, fit: str, stride: int, min_foreground: float):
    """Slices (N, 1, H, W) along ``axis`` with enough foreground, and their pixel size."""
    inplane = [d for d in range(3) if d != axis]
    stack = vol[0].movedim(axis, 0)[::stride]  # the slices as channels: one resize for all
    stack, pixel = fit_to(stack, size, fit, [voxel[d] for d in inplane])
    keep = foreground_fraction(stack) >= min_foreground
    return stack[keep].unsqueeze(1), pixel


def volume_to_patches(vol, size, count: int, min_foreground: float, rng: np.random.Generator,
                      max_tries: int = 20) -> torch.Tensor:
    """``count`` random crops of ``size`` with enough foreground (fewer if they are rare)."""
    vol = pad_or_crop(vol, [max(n, s) for n, s in zip(vol.shape[1:], size)])
    spatial = vol.shape[1:]
    patches = []
    for _ in range(max_tries):
        need = count - len(patches)
        if need <= 0:
            break
        corners = np.stack([rng.integers(0, n - s + 1, size=need) for n, s in zip(spatial, size)], 1)
        batch = torch.stack([vol[:, c[0]:c[0] + size[0], c[1]:c[1] + size[1], c[2]:c[2] + size[2]]
                             for c in corners])
        batch = batch[foreground_fraction(batch) >= min_foreground]
        patches.extend(batch.unbind(0))
    return torch.stack(patches[:count]) if patches else vol.new_zeros((0, 1, *size))


def volume_samples(vol, voxel, cfg, rng, count: int) -> tuple[torch.Tensor, tuple]:
    """The samples ``cfg.mode`` cuts from one prepared volume, and their voxel size."""
    size = resolve_size(cfg.size, cfg.mode)
    if cfg.mode == "slices":
        return volume_to_slices(vol, voxel, cfg.axis, size, cfg.fit, cfg.slice_stride, cfg.min_foreground)
    if cfg.mode == "volumes":
        x, new_voxel = fit_to(vol, size, cfg.fit, voxel)
        return x.unsqueeze(0), new_voxel
    return volume_to_patches(vol, size, count, cfg.min_foreground, rng), tuple(voxel)


def _geometry(cfg, voxel) -> dict:
    if cfg.mode == "slices":
        axes = tuple(d for d in range(3) if d != cfg.axis)
        return {"axes": axes, "slice_axis": cfg.axis,
                "slice_spacing": voxel[cfg.axis] * cfg.slice_stride}
    return {"axes": (0, 1, 2)}


def _empty_reason(cfg) -> str:
    what = {"slices": "slice", "patches": "patch", "volumes": "volume"}[cfg.mode]
    return f"no {what} has {cfg.min_foreground:.0%} foreground (dataset.min_foreground)"


# --- datasets ------------------------------------------------------------------------


MAX_LOGGED = 5


def short_reason(exc: Exception) -> str:
    """One line for a log: the first reader's error inside MONAI's multi-reader report."""
    text = str(exc)
    if "Traceback" in text:
        match = re.search(r"^([\w.]*(?:Error|Exception)\w*): (.+)$", text, flags=re.MULTILINE)
        if match:
            return f"{match.group(1).rsplit('.', 1)[-1]}: {match.group(2)}"
    line = text.strip().splitlines()[0] if text.strip() else ""
    return f"{type(exc).__name__}: {line[:300]}"


def build_scan_folder(cfg) -> ScanDataset:
    """Every readable scan under ``cfg.path`` cut into samples; see ``ScanFolderConfig``."""
    if not cfg.path:
        raise ConfigError("the scan-folder dataset needs a folder: set dataset.path=/path/to/scans")
    check_common(cfg)
    if cfg.patches_per_volume < 1:
        raise ConfigError(f"config key 'dataset.patches_per_volume' must be >= 1, got {cfg.patches_per_volume}")
    root = Path(os.path.expanduser(str(cfg.path)))
    if not root.is_dir():
        raise DataError(f"scan folder '{root}' does not exist or is not a folder")
    scans = find_scans(root)
    if cfg.max_files > 0:
        scans = scans[:cfg.max_files]
    rng = np.random.default_rng(cfg.seed)
    parts, voxels, skipped = [], [], []
    for path in scans:
        try:
            img = load_scan(path)
            vol, voxel = prepare_volume(img, cfg.spacing, cfg.percentiles, cfg.channel)
            samples, sample_voxel = volume_samples(vol, voxel, cfg, rng, cfg.patches_per_volume)
            if len(samples) == 0:
                raise ValueError(_empty_reason(cfg))
        except Exception as exc:  # nibabel, pydicom and MONAI raise many kinds
            skipped.append((str(path), short_reason(exc)))
            continue
        parts.append(samples)
        voxels.append((sample_voxel, voxel))
    if skipped:
        first = "; ".join(f"{p}: {r}" for p, r in skipped[:MAX_LOGGED])
        log.warning("scan folder %s: skipped %d of %d scans that could not be used; first: %s",
                    root, len(skipped), len(scans), first)
    if not parts:
        detail = f"; {len(skipped)} unusable, first: {skipped[0][0]}: {skipped[0][1]}" if skipped else ""
        raise DataError(f"scan folder '{root}' holds no readable NIfTI (.nii, .nii.gz) file or DICOM "
                        f"series (a folder of .dcm files) among {len(scans)} candidates{detail}")
    sizes = {tuple(p.shape[1:]) for p in parts}
    if len(sizes) > 1:  # crop mode keeps sizes; anything else already matches
        raise DataError(f"scans under '{root}' gave samples of different sizes {sorted(sizes)}")
    sample_voxel = tuple(float(np.median([v[0][i] for v in voxels])) for i in range(len(voxels[0][0])))
    scan_voxel = tuple(float(np.median([v[1][i] for v in voxels])) for i in range(3))
    ds = ScanDataset(torch.cat(parts), sample_voxel, name=f"scan-folder:{root}",
                     **_geometry(cfg, scan_voxel))
    ds.files_found, ds.skipped, ds.skipped_reasons = len(scans), len(skipped), skipped
    ds.root = root
    return ds


def mni152_image():
    """The MNI152 T1 template shipped inside nilearn as a RAS MetaTensor (1, 197, 233, 189)."""
    from monai.data import MetaTensor
    from monai.transforms import Orientation
    from nilearn.datasets import load_mni152_template

    img = load_mni152_template()  # a file inside the nilearn package: no download
    data = torch.from_numpy(np.asarray(img.get_fdata(), dtype=np.float32))[None]
    meta = MetaTensor(data, affine=torch.as_tensor(img.affine, dtype=torch.float64))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return Orientation(axcodes="RAS", labels=RAS_LABELS)(meta)


def build_mni152(cfg) -> ScanDataset:
    """Slices or random patches of the MNI152 template; see ``MNI152Config``."""
    check_common(cfg, modes=("slices", "patches"))
    if cfg.num_patches < 1:
        raise ConfigError(f"config key 'dataset.num_patches' must be >= 1, got {cfg.num_patches}")
    vol, voxel = prepare_volume(mni152_image(), cfg.spacing, cfg.percentiles)
    rng = np.random.default_rng(cfg.seed)
    samples, sample_voxel = volume_samples(vol, voxel, cfg, rng, cfg.num_patches)
    if len(samples) == 0:
        raise DataError(f"mni152: {_empty_reason(cfg)}")
    return ScanDataset(samples, sample_voxel, name=f"mni152[{cfg.mode}]", **_geometry(cfg, voxel))


def build_phantoms(cfg) -> ScanDataset:
    """Random circles or spheres from ``monai.data.synthetic``, in [-1, 1]."""
    from monai.data.synthetic import create_test_image_2d, create_test_image_3d

    if cfg.dims not in (2, 3):
        raise ConfigError(f"config key 'dataset.dims' must be 2 or 3, got {cfg.dims}")
    if cfg.size < 8 or cfg.num < 1:
        raise ConfigError(f"phantoms need dataset.size >= 8 and dataset.num >= 1, got {cfg.size}, {cfg.num}")
    state = np.random.RandomState(cfg.seed)
    rad_max = max(3, cfg.size // 5)
    rad_min = max(2, cfg.size // 12)
    images = []
    for _ in range(cfg.num):
        shape = (cfg.size,) * cfg.dims
        make = create_test_image_2d if cfg.dims == 2 else create_test_image_3d
        img, _ = make(*shape, num_objs=cfg.num_objects, rad_max=rad_max, rad_min=rad_min,
                      noise_max=cfg.noise, num_seg_classes=1, random_state=state)
        images.append(np.clip(img, 0.0, 1.0) * 2.0 - 1.0)
    x = torch.from_numpy(np.stack(images).astype(np.float32)).unsqueeze(1)
    return ScanDataset(x, (1.0,) * cfg.dims, tuple(range(cfg.dims)), name=f"phantoms[{cfg.dims}d]",
                       slice_axis=2 if cfg.dims == 2 else None)
