"""The text-file dataset against bad files. Its unit is a line: cut, binary (a PNG or WAV
named .txt) and huge lines among good ones are skipped, counted per reason and the first
reasons printed; a file with no usable line (zero-byte, all binary, all huge) is a DataError
naming it and what was expected; a huge line is skipped without being read into memory; a
broken saved tokenizer is a DataError too."""
from __future__ import annotations

import io
import struct
import zlib

import pytest

from sparring.badfiles import BAD_KINDS, address_space_cap, sparse_file, write_bad
from sparring.errors import DataError
from sparring_text import data
from sparring_text.configs import TextFileConfig

GOOD = [f"the {w} sat on the mat number {i}" for i, w in enumerate(["cat", "dog", "bird", "fox", "owl"] * 4)]


def png_bytes() -> bytes:
    """A small real PNG (binary, NUL bytes, an 0x89 first byte)."""
    raw = b"".join(b"\0" + bytes(range(48)) for _ in range(16))
    ihdr = struct.pack(">IIBBBBB", 16, 16, 8, 0, 0, 0, 0)

    def chunk(tag, payload):
        return struct.pack(">I", len(payload)) + tag + payload + struct.pack(">I", zlib.crc32(tag + payload))

    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def wav_bytes() -> bytes:
    import numpy as np
    import soundfile as sf

    buf = io.BytesIO()
    sf.write(buf, np.sin(np.arange(4000) / 3.0).astype(np.float32), 8000, format="WAV", subtype="PCM_16")
    return buf.getvalue()


def cfg(path, **kw):
    kw.setdefault("test_fraction", 0.0)
    return TextFileConfig(path=str(path), max_len=64, **kw)


def text(lines) -> bytes:
    return "".join(line + "\n" for line in lines).encode()


HOLE = 1 << 30  # a 1 GiB line of NULs that takes no disk space


def with_huge_line(path, before: bytes, after: bytes):
    sparse_file(path, before, len(before) + HOLE)
    with open(path, "ab") as fh:
        fh.write(b"\n" + after)


@pytest.fixture(scope="module", autouse=True)
def _warm_imports(tmp_path_factory):
    # tokenizers and transformers map libraries on import: before any memory cap.
    path = tmp_path_factory.mktemp("warm") / "warm.txt"
    path.write_bytes(text(GOOD))
    data.build_text_file(cfg(path))


def bad_content(kind: str, path):
    """A file of GOOD lines with ``kind`` of bad content; returns the number of bad lines."""
    if kind == "truncated":  # a UTF-8 file cut inside a two-byte character
        lines = GOOD[:5] + ["αβγ"]
        good = text(lines) + "δεζηθ\n".encode()
        cut = len(text(lines)) + 3
        path.write_bytes(good[:cut])
        assert good[:cut].decode("utf-8", "replace").endswith("\ufffd")
        return 1
    if kind == "mislabelled":  # a PNG and a WAV pasted between good lines
        path.write_bytes(text(GOOD[:3]) + png_bytes() + b"\n" + text(GOOD[3:6]) + wav_bytes() + b"\n" + text(GOOD[6:]))
        return None  # the binary splits into several lines
    if kind == "huge":
        with_huge_line(path, text(GOOD[:10]), text(GOOD[10:]))
        return 1
    raise AssertionError(kind)


@pytest.mark.parametrize("kind", ["truncated", "mislabelled", "huge"])
def test_bad_lines_among_good_are_skipped_counted_and_reported(kind, tmp_path, capsys):
    path = tmp_path / f"bad-{kind}.txt"
    n_bad = bad_content(kind, path)
    with address_space_cap(512 << 20):
        ds = data.build_text_file(cfg(path))
    kept = [ds.decode(r) for r in ds.ids.tolist()]
    expected = GOOD[:5] + ["αβγ"] if kind == "truncated" else GOOD
    assert kept == expected, "exactly the good lines are kept"
    bad_reasons = {"truncated": {"invalid_utf8"}, "mislabelled": {"invalid_utf8", "binary"},
                   "huge": {"huge_line"}}[kind]
    assert set(ds.skipped) <= bad_reasons | {"empty"} and set(ds.skipped) & bad_reasons
    if n_bad is not None:
        assert sum(ds.skipped[r] for r in bad_reasons) == n_bad
    assert ds.skipped_reasons and all(path.name in r for r in ds.skipped_reasons)
    err = capsys.readouterr().err
    assert f"kept {len(expected)} samples" in err and "first:" in err and path.name in err
    if kind == "huge":
        assert f"{HOLE:,} bytes" in ds.skipped_reasons[0]


@pytest.mark.parametrize("kind", BAD_KINDS)
def test_a_file_without_a_usable_line_is_a_clear_data_error(kind, tmp_path):
    path = tmp_path / f"bad-{kind}.txt"
    if kind == "mislabelled":
        path.write_bytes(png_bytes())  # a text loader's "mislabelled": binary under .txt
    elif kind == "huge":
        with_huge_line(path, b"", b"")
    else:
        write_bad(kind, path, good="αβγ\n".encode())
    with pytest.raises(DataError) as info, address_space_cap(512 << 20):
        data.build_text_file(cfg(path))
    message = str(info.value)
    assert str(path) in message and "UTF-8 text, one sample a line" in message
    assert "MemoryError" not in message


def test_a_read_error_is_a_data_error(tmp_path, monkeypatch):
    import errno

    path = tmp_path / "on-a-dying-disk.txt"
    path.write_bytes(text(GOOD))

    def failing_open(*args, **kwargs):
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(data, "open", failing_open, raising=False)  # the module's open, not builtins'
    with pytest.raises(DataError, match="could not be read: Input/output error"):
        data.build_text_file(cfg(path))


@pytest.mark.parametrize("kind", ["zero-byte", "truncated", "mislabelled"])
def test_a_broken_saved_tokenizer_is_a_clear_data_error(kind, tmp_path):
    from sparring_text.tokenization import train_tokenizer

    good_dir = tmp_path / "good-tok"
    train_tokenizer(GOOD, "char").save_pretrained(str(good_dir))
    bad_dir = tmp_path / "bad-tok"
    bad_dir.mkdir()
    for f in good_dir.iterdir():
        (bad_dir / f.name).write_bytes(f.read_bytes())
    write_bad(kind, bad_dir / "tokenizer.json", good=(good_dir / "tokenizer.json").read_bytes())
    path = tmp_path / "train.txt"
    path.write_bytes(text(GOOD))
    assert len(data.build_text_file(cfg(path, tokenizer_path=str(good_dir)))) == len(GOOD)
    with pytest.raises(DataError) as info:
        data.build_text_file(cfg(path, tokenizer_path=str(bad_dir)))
    assert str(bad_dir) in str(info.value) and "tokenizer.json" in str(info.value)
