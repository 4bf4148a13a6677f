"""Sample writers: a PNG grid of images. PIL and numpy are imported when writing."""
from __future__ import annotations

import math
from pathlib import Path


def make_grid(samples, nrow: int | None = None, padding: int = 2, pad_value: float = 1.0):
    """(N, C, H, W) in [-1, 1] -> uint8 array (H', W') or (H', W', 3) tiled ``nrow`` per row.

    One channel is written as gray, three as RGB; more than three (e.g. packed images)
    are shown as their first three channels, two as their first.
    """
    import numpy as np

    x = samples.detach().float().cpu() if hasattr(samples, "detach") else samples
    x = np.asarray(x, dtype=np.float32)
    if x.ndim == 3:  # (N, H, W)
        x = x[:, None]
    if x.ndim != 4:
        raise ValueError(f"image samples must have shape (N, C, H, W), got {x.shape}")
    n, c, h, w = x.shape
    if n == 0:
        raise ValueError("no samples to write")
    if c >= 3:
        x, c = x[:, :3], 3
    elif c == 2:
        x, c = x[:, :1], 1
    x = np.nan_to_num(x, nan=-1.0)
    x = ((np.clip(x, -1.0, 1.0) + 1.0) * 127.5 + 0.5).astype(np.uint8)
    nrow = nrow or max(1, math.ceil(math.sqrt(n)))
    rows = math.ceil(n / nrow)
    fill = int(round((pad_value + 1.0) * 127.5))
    grid = np.full((c, rows * (h + padding) + padding, nrow * (w + padding) + padding), fill, np.uint8)
    for i in range(n):
        r, k = divmod(i, nrow)
        top, left = padding + r * (h + padding), padding + k * (w + padding)
        grid[:, top:top + h, left:left + w] = x[i]
    return grid[0] if c == 1 else grid.transpose(1, 2, 0)


def write_grid(samples, path) -> list[Path]:
    """Write ``samples`` as one PNG grid at ``path`` + ".png"; return ``[that path]``."""
    from PIL import Image

    out = Path(str(path) + ".png")
    out.parent.mkdir(parents=True, exist_ok=True)
    grid = make_grid(samples)
    tmp = out.with_name(out.name + ".tmp")
    Image.fromarray(grid).save(tmp, format="PNG")
    tmp.replace(out)
    return [out]
