"""The image section of ``sparring report``: each step's sample grid, with its size.

Called through ``sparring_report_gallery`` (registered in plugin.py) for the ``image``
modality only. Small grids are scaled up by a whole factor with crisp pixels; files
that are no image go to the default gallery.
"""
from __future__ import annotations

from pathlib import Path

from sparring.report import could_not_show, default_gallery, figure, img, sample_kind


def gallery(paths, assets) -> str:
    """HTML for one step: every PNG/JPEG grid with its pixel size, then the other files."""
    from PIL import Image

    paths = [Path(p) for p in paths]
    grids = [p for p in paths if sample_kind(p) == "image"]
    parts = []
    for path in grids:
        try:
            with Image.open(path) as image:
                size, mode = image.size, "gray" if image.mode in ("L", "1", "I", "F") else image.mode
            parts.append(figure(img(assets, path, f"image samples {path.name}", cls="sample grid", most=480),
                                f"{path.name}: {size[0]}x{size[1]} px, {mode}"))
        except Exception as exc:  # one unreadable file costs its picture only
            parts.append(could_not_show(path, exc))
    rest = [p for p in paths if p not in grids]
    return "\n".join(parts + ([default_gallery(rest, assets)] if rest else []))
