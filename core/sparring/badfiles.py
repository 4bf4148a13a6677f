"""Bad input files for a plugin's loader tests, and a cap on the memory a test may take.

Every dataset that reads a user's files should survive these (docs/reliability.md)::

    from sparring.badfiles import BAD_KINDS, address_space_cap, write_bad

    @pytest.mark.parametrize("kind", BAD_KINDS)
    def test_bad_file_is_skipped(kind, tmp_path):
        write_bad(kind, tmp_path / f"bad{EXT}", good=GOOD_BYTES, huge=my_huge_writer)
        ...

``zero-byte`` is an empty file, ``truncated`` the first half of a good file,
``mislabelled`` plain text under the loader's extension and ``huge`` a file whose header
claims enormous dimensions (written by the loader-specific ``huge`` callable). A loader
must reject a huge file from its header: run it under :func:`address_space_cap` and a
loader that allocates what the header claims fails with ``MemoryError`` instead of
taking the machine down.
"""
from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Callable

BAD_KINDS = ("zero-byte", "truncated", "mislabelled", "huge")

MISLABELLED_TEXT = "This is a plain text file, not the format its name claims.\nline two\n"


def write_bad(kind: str, path: Path, good: bytes | None = None,
              huge: Callable[[Path], object] | None = None) -> Path:
    """Write a bad file of ``kind`` (one of :data:`BAD_KINDS`) at ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == "zero-byte":
        path.write_bytes(b"")
    elif kind == "truncated":
        if not good:
            raise ValueError("a truncated file needs the bytes of a good one")
        path.write_bytes(good[: len(good) // 2])
    elif kind == "mislabelled":
        path.write_text(MISLABELLED_TEXT)
    elif kind == "huge":
        if huge is None:
            raise ValueError("a huge file needs the loader's own writer")
        huge(path)
    else:
        raise ValueError(f"unknown bad-file kind {kind!r}; one of {', '.join(BAD_KINDS)}")
    return path


def sparse_file(path: Path, header: bytes, size: int) -> Path:
    """``header`` followed by a hole up to ``size`` bytes: huge to read, nothing on disk."""
    with open(path, "wb") as fh:
        fh.write(header)
        fh.truncate(size)
    return Path(path)


def _vm_size() -> int | None:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


@contextlib.contextmanager
def address_space_cap(headroom: int = 2 << 30):
    """Let this process map at most ``headroom`` more bytes (Linux; a no-op elsewhere).

    Import what the code under test imports before entering: imports map libraries too.
    """
    try:
        import resource
    except ImportError:  # not POSIX
        yield
        return
    current = _vm_size()
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if current is None or os.environ.get("SPARRING_NO_MEMORY_CAP"):
        yield
        return
    limit = current + int(headroom)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
