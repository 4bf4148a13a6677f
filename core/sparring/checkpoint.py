"""Checkpoints: atomic writes, a "latest" pointer, safe loading, every RNG state.

A checkpoint is written to a temporary file in the same folder, flushed to disk and
renamed over its final name, so a crash mid-write leaves the previous one intact.
Loading uses ``torch.load(weights_only=True)``: a checkpoint from elsewhere can hold
tensors and plain values, never code.
"""
from __future__ import annotations

import os
import random
from pathlib import Path

import numpy as np
import torch

from .errors import SparringError

LATEST = "latest"


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write_bytes(path: Path, write) -> None:
    """Call ``write(file)`` on a temp file, fsync, then rename it to ``path``."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        with open(tmp, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def save_checkpoint(state: dict, folder: Path, step: int, keep: int) -> Path:
    """Write ``step_NNNNNNN.pt``, point ``latest`` at it, prune older step files."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"step_{step:07d}.pt"
    atomic_write_bytes(path, lambda fh: torch.save(state, fh))
    atomic_write_bytes(folder / LATEST, lambda fh: fh.write(path.name.encode() + b"\n"))
    for old in sorted(folder.glob("step_*.pt"))[:-keep]:
        if old != path:
            old.unlink(missing_ok=True)
    return path


def load_checkpoint(path: Path) -> dict:
    """A checkpoint's state dict; a missing, corrupt or unsafe file is a clear error."""
    path = Path(path)
    if not path.is_file():
        raise SparringError(f"checkpoint '{path}' does not exist")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise SparringError(f"checkpoint '{path}' cannot be loaded safely: {type(exc).__name__}: "
                            f"{str(exc).splitlines()[0] if str(exc) else ''}") from None
    if not isinstance(state, dict) or "step" not in state:
        raise SparringError(f"checkpoint '{path}' is not a sparring checkpoint")
    return state


def latest_checkpoint(run_dir: Path) -> Path | None:
    """The checkpoint ``latest`` points to, else the newest step file; None if none."""
    folder = Path(run_dir) / "checkpoints"
    pointer = folder / LATEST
    if pointer.is_file():
        name = pointer.read_text(errors="replace").strip()
        # A bare file name only: a pointer such as "../../elsewhere.pt" must not lead out of the run.
        if name and Path(name).name == name and name not in (".", "..") and (folder / name).is_file():
            return folder / name
    candidates = sorted(folder.glob("step_*.pt"))
    return candidates[-1] if candidates else None


def rng_state() -> dict:
    """Every global random number generator's state, in weights_only-safe types."""
    np_state = np.random.get_state()
    state = {
        "torch": torch.get_rng_state(),
        "numpy": {"keys": torch.from_numpy(np_state[1].astype(np.int64)), "pos": int(np_state[2]),
                  "has_gauss": int(np_state[3]), "cached_gaussian": float(np_state[4])},
        "python": [random.getstate()[0], list(random.getstate()[1]), random.getstate()[2]],
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    n = state["numpy"]
    np.random.set_state(("MT19937", n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"],
                         n["cached_gaussian"]))
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
