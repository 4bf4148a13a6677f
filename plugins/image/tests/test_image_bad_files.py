"""The image folder against bad files: zero-byte, truncated, mislabelled and huge-dimension
files mixed with good ones are skipped, counted and logged; an all-bad folder is a DataError."""
from __future__ import annotations

import io
import logging
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from sparring.badfiles import BAD_KINDS, address_space_cap, write_bad
from sparring.errors import DataError
from sparring_image import data
from sparring_image.configs import FolderConfig


def png_bytes(seed: int = 0, size: int = 48) -> bytes:
    arr = (np.random.default_rng(seed).random((size, size, 3)) * 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return buf.getvalue()


def _chunk(tag: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + tag + payload + struct.pack(">I", zlib.crc32(tag + payload))


def huge_png(path, width=100_000, height=100_000):
    """A valid PNG header claiming width x height RGB pixels (30 GB decoded), a few bytes of data."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr)
                     + _chunk(b"IDAT", zlib.compress(b"\0" * 64)) + _chunk(b"IEND", b""))


def good_folder(root, n=3):
    root.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        (root / f"good{i}.png").write_bytes(png_bytes(i))
    Image.new("RGB", (40, 32), (0, 200, 0)).save(root / "good.jpg", quality=90)
    return root


def cfg(root, **kw):
    return FolderConfig(path=str(root), size=16, channels=3, **kw)


@pytest.fixture(scope="module", autouse=True)
def _warm_imports():
    # Imports map shared libraries: do them before any memory cap.
    Image.open(io.BytesIO(png_bytes())).load()


@pytest.mark.parametrize("kind", BAD_KINDS)
def test_bad_file_among_good_is_skipped_counted_and_logged(kind, tmp_path, caplog):
    root = good_folder(tmp_path / "imgs")
    bad = write_bad(kind, root / "sub" / f"bad-{kind}.png", good=png_bytes(7), huge=huge_png)
    with caplog.at_level(logging.WARNING, logger="sparring.image"), address_space_cap(1 << 30):
        ds = data.build_folder(cfg(root))
    assert len(ds) == 4 and ds.tensors[0].shape == (4, 3, 16, 16)
    assert ds.files_found == 5 and ds.skipped == 1
    (path, reason), = ds.skipped_reasons
    assert path == str(bad) and "MemoryError" not in reason
    assert "skipped 1 of 5" in caplog.text and bad.name in caplog.text
    if kind == "huge":
        assert "100000x100000" in reason or "decompression bomb" in reason


def test_huge_header_is_refused_even_without_pils_bomb_guard(tmp_path, monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)  # some libraries switch it off
    root = good_folder(tmp_path / "imgs", n=1)
    huge_png(root / "wide.png", 30_000, 20_000)
    with address_space_cap(1 << 30):
        ds = data.build_folder(cfg(root))
    assert ds.skipped == 1 and "30000x20000" in ds.skipped_reasons[0][1]
    assert "more than the limit" in ds.skipped_reasons[0][1]


def test_truncated_file_is_refused_even_when_pil_is_told_to_load_truncated_images(tmp_path, monkeypatch):
    from PIL import ImageFile

    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    root = good_folder(tmp_path / "imgs", n=1)
    write_bad("truncated", root / "cut.png", good=png_bytes(3, size=64))
    ds = data.build_folder(cfg(root))
    assert ds.skipped == 1 and "cut.png" in ds.skipped_reasons[0][0]
    assert ImageFile.LOAD_TRUNCATED_IMAGES is True  # the global is left as it was


def test_every_kind_at_once_logs_the_first_reasons(tmp_path, caplog):
    root = good_folder(tmp_path / "imgs", n=1)
    for kind in BAD_KINDS:
        write_bad(kind, root / f"bad-{kind}.png", good=png_bytes(9), huge=huge_png)
    with caplog.at_level(logging.WARNING, logger="sparring.image"):
        ds = data.build_folder(cfg(root))
    assert len(ds) == 2 and ds.skipped == 4
    assert "skipped 4 of 6" in caplog.text
    for kind in BAD_KINDS:
        assert f"bad-{kind}.png" in caplog.text


@pytest.mark.parametrize("kinds", [BAD_KINDS, ("zero-byte",), ("mislabelled", "truncated")])
def test_all_bad_folder_is_a_clear_data_error(kinds, tmp_path):
    root = tmp_path / "all-bad"
    for kind in kinds:
        write_bad(kind, root / f"bad-{kind}.png", good=png_bytes(), huge=huge_png)
    with pytest.raises(DataError) as info:
        data.build_folder(cfg(root))
    message = str(info.value)
    assert str(root) in message and ".png/.jpg/.jpeg" in message
    assert f"{len(kinds)} unreadable" in message and "Traceback" not in message


def test_all_bad_folder_through_the_cli_is_a_message_not_a_traceback(tmp_path):
    import os
    import subprocess
    import sys

    root = tmp_path / "all-bad"
    for kind in BAD_KINDS:
        write_bad(kind, root / f"bad-{kind}.png", good=png_bytes(), huge=huge_png)
    proc = subprocess.run([sys.executable, "-m", "sparring.cli", "train", "image", "--out", str(tmp_path / "run"),
                           "--steps", "1", "--set", "dataset.name=folder", "--set", f"dataset.path={root}"],
                          capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, OMP_NUM_THREADS="1"))
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr and str(root) in proc.stderr and "no readable" in proc.stderr
