"""Build the spoken-digits set: "zero" .. "nine" by Debian's espeak-ng (SC09-like).

Every digit is spoken by each accent x voice variant x speed x pitch (4 x 6 x 3 x 2 =
144 clips per digit, 1,440 in all; the "dense" size, 4 x 6 x 7 x 6 = 1,008 per digit,
10,080 in all, SC09's order of size), resampled from espeak-ng's 22,050 Hz to 16 kHz,
trimmed of silence and placed at a seeded random offset in a 16,384-sample clip
(1.024 s, WaveGAN's length), peak-normalised to 0.9. Written once as
``spoken-digits-v1.npz`` (dense: ``spoken-digits-dense-v1.npz``; int16 clips, labels, the
settings of each clip) under ``${SPARRING_CACHE:-~/.cache/sparring}/audio/``; build it with
``python scripts/build_spoken_digits.py`` or let the dataset build it on first use.
"""
from __future__ import annotations

import argparse
import itertools
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
ACCENTS = ("en-us", "en-gb", "en-gb-scotland", "en-029")
VARIANTS = ("m1", "m3", "m7", "f1", "f2", "f4")
SPEEDS = (130, 165, 200)
PITCHES = (35, 65)
SAMPLE_RATE, CLIP = 16000, 16384
VERSION = 1
# Clips no model trains on: the same accents and voices at speeds and a pitch between the
# set's (4 x 6 x 2 x 1 = 48 per digit), to ask whether D tells new clips from memorised ones.
UNSEEN_SPEEDS, UNSEEN_PITCHES = (150, 180), (50,)
# A set 7 times larger for a D that would memorise 1,440 clips: the standard grid plus speeds
# and pitches between, none of them the unseen clips'.
DENSE_SPEEDS = (130, 140, 160, 165, 170, 190, 200)
DENSE_PITCHES = (35, 40, 45, 55, 60, 65)
#: size name -> (speeds, pitches); every size has all accents and variants.
SIZES = {"standard": (SPEEDS, PITCHES), "dense": (DENSE_SPEEDS, DENSE_PITCHES)}


def default_path(size: str = "standard") -> Path:
    from .pianoroll import cache_root

    infix = "" if size == "standard" else f"-{size}"
    return cache_root() / f"spoken-digits{infix}-v{VERSION}.npz"


def unseen_path() -> Path:
    from .pianoroll import cache_root

    return cache_root() / f"spoken-digits-unseen-v{VERSION}.npz"


def build_unseen(path: Path | None = None, progress: bool = True) -> Path:
    """The 480 unseen clips (``UNSEEN_SPEEDS`` x ``UNSEEN_PITCHES``), written like the set."""
    return build(path or unseen_path(), speeds=UNSEEN_SPEEDS, pitches=UNSEEN_PITCHES, seed=1, progress=progress)


def espeak_binary() -> str | None:
    return shutil.which("espeak-ng")


def _speak(args) -> np.ndarray:
    """One utterance at 16 kHz, silence trimmed, as float32."""
    word, voice, speed, pitch, workdir = args
    import soundfile as sf
    import torch
    import torchaudio.functional as AF

    out = Path(workdir) / f"{word}-{voice}-{speed}-{pitch}.wav".replace("+", "_")
    subprocess.run([espeak_binary(), "-v", voice, "-s", str(speed), "-p", str(pitch), "-w", str(out), word],
                   check=True, capture_output=True, timeout=30)
    audio, rate = sf.read(str(out), dtype="float32", always_2d=True)
    out.unlink()
    wave = AF.resample(torch.from_numpy(audio.mean(1)), rate, SAMPLE_RATE).numpy()
    loud = np.flatnonzero(np.abs(wave) > 0.02 * max(np.abs(wave).max(), 1e-6))
    return wave[loud[0]:loud[-1] + 1] if len(loud) else wave


def build(path: Path | None = None, accents=ACCENTS, variants=VARIANTS, speeds=SPEEDS, pitches=PITCHES,
          workers: int = 2, seed: int = 0, progress: bool = True) -> Path:
    """Synthesise every combination and write the .npz; returns its path."""
    from concurrent.futures import ThreadPoolExecutor

    from tqdm.auto import tqdm

    if espeak_binary() is None:
        raise RuntimeError("espeak-ng is not installed (Debian/Ubuntu: apt-get install espeak-ng)")
    path = Path(path or default_path())
    path.parent.mkdir(parents=True, exist_ok=True)
    combos = list(itertools.product(range(len(WORDS)), accents, variants, speeds, pitches))
    rng = np.random.default_rng(seed)
    clips = np.zeros((len(combos), CLIP), np.int16)
    with tempfile.TemporaryDirectory() as workdir:
        jobs = [(WORDS[d], f"{a}+{v}", s, p, workdir) for d, a, v, s, p in combos]
        with ThreadPoolExecutor(max(1, workers)) as pool:  # espeak-ng runs as subprocesses
            results = pool.map(_speak, jobs)
            for i, wave in enumerate(tqdm(results, total=len(jobs), desc="spoken digits",
                                          unit="clip", disable=not progress, mininterval=5)):
                wave = wave[:CLIP]
                wave = 0.9 * wave / max(np.abs(wave).max(), 1e-6)
                offset = int(rng.integers(0, CLIP - len(wave) + 1))
                clips[i, offset:offset + len(wave)] = np.round(wave * 32767).astype(np.int16)
    labels = np.array([c[0] for c in combos], np.int64)
    settings = np.array([f"{a}+{v} s{s} p{p}" for _, a, v, s, p in combos])
    tmp = path.with_name(f"{path.name}.tmp{os.getpid()}.npz")  # two builds may run at once
    np.savez_compressed(tmp, clips=clips, labels=labels, settings=settings, sample_rate=SAMPLE_RATE)
    tmp.replace(path)
    return path


#: The most clips a spoken-digits file may claim (the set has 1,440).
MAX_CLIPS = 1 << 20


def _npy_header(fh) -> tuple[tuple, np.dtype]:
    version = np.lib.format.read_magic(fh)
    if version not in ((1, 0), (2, 0)):
        raise ValueError(f".npy format version {version} is not supported")
    read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
    try:
        shape, _, dtype = read(fh)
        return tuple(shape), np.dtype(dtype)
    except (ValueError, EOFError, OSError):
        raise
    except Exception as exc:  # numpy parses the header dict with tokenize/ast: a garbled one raises anything
        raise ValueError(f"garbled .npy header ({type(exc).__name__}: {exc})") from None


def check(path: Path) -> int:
    """The number of clips in ``path``, from its array headers alone (nothing is loaded).

    Raises ValueError when the file is not an .npz of int16 ``clips`` (N, 16384) and
    integer ``labels`` (N,) with N at most :data:`MAX_CLIPS`.
    """
    import zipfile

    try:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
            headers = {}
            for key in ("clips", "labels"):
                if f"{key}.npy" not in names:
                    raise ValueError(f"it holds no '{key}' array")
                with zf.open(f"{key}.npy") as fh:
                    headers[key] = _npy_header(fh)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError) as exc:
        raise ValueError(f"not a readable .npz ({type(exc).__name__}: {exc})") from None
    (clips_shape, clips_dtype), (labels_shape, labels_dtype) = headers["clips"], headers["labels"]
    if clips_dtype != np.int16 or len(clips_shape) != 2 or clips_shape[1] != CLIP:
        raise ValueError(f"'clips' must be int16 (N, {CLIP}), its header says {clips_dtype} {clips_shape}")
    n = clips_shape[0]
    if not 1 <= n <= MAX_CLIPS:
        raise ValueError(f"'clips' claims {n:,} clips; expected 1 to {MAX_CLIPS:,}")
    if labels_dtype.kind not in "iu" or labels_shape != (n,):
        raise ValueError(f"'labels' must be {n} integers, its header says {labels_dtype} {labels_shape}")
    return n


def load(path: Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(clips float32 (N, 16384) in [-1, 1], labels (N,))``; ValueError on a bad file."""
    import zipfile

    path = Path(path or default_path())
    check(path)
    try:
        with np.load(path, allow_pickle=False) as data:
            clips, labels = data["clips"].astype(np.float32) / 32767.0, data["labels"]
    except (zipfile.BadZipFile, EOFError, OSError, KeyError) as exc:
        raise ValueError(f"not a readable .npz ({type(exc).__name__}: {exc})") from None
    if labels.min() < 0 or labels.max() >= len(WORDS):
        raise ValueError(f"labels must be digits 0..{len(WORDS) - 1}")
    return clips, labels


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Build the espeak-ng spoken-digits set (SC09-like).")
    parser.add_argument("--out", help=f"output .npz (default {default_path()})")
    parser.add_argument("--workers", type=int, default=2)
    grid = parser.add_mutually_exclusive_group()  # a small set must not land in the dense set's file
    grid.add_argument("--size", choices=tuple(SIZES), default="standard",
                      help="standard: 3 speeds x 2 pitches (1,440 clips); dense: 7 x 6 (10,080)")
    grid.add_argument("--small", action="store_true", help="2 accents x 2 variants x 2 speeds x 1 pitch")
    args = parser.parse_args(argv)
    speeds, pitches = SIZES[args.size]
    kwargs = dict(accents=ACCENTS[:2], variants=VARIANTS[:2], speeds=SPEEDS[1:3], pitches=PITCHES[1:2]) \
        if args.small else dict(speeds=speeds, pitches=pitches)
    try:
        out = build(Path(args.out) if args.out else default_path(args.size), workers=args.workers, **kwargs)
    except (RuntimeError, subprocess.CalledProcessError) as exc:
        print(f"build_spoken_digits: {exc}", file=sys.stderr)
        return 1
    clips, labels = load(out)
    print(f"wrote {out}: {len(clips)} clips of {CLIP} samples at {SAMPLE_RATE} Hz, "
          f"{np.bincount(labels).tolist()} per digit")
    return 0


if __name__ == "__main__":
    sys.exit(main())
