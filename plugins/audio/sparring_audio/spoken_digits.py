"""Build the spoken-digits set: "zero" .. "nine" by Debian's espeak-ng (SC09-like).

Every digit is spoken by each accent x voice variant x speed x pitch (4 x 6 x 3 x 2 =
144 clips per digit, 1,440 in all), resampled from espeak-ng's 22,050 Hz to 16 kHz,
trimmed of silence and placed at a seeded random offset in a 16,384-sample clip
(1.024 s, WaveGAN's length), peak-normalised to 0.9. Written once as
``spoken-digits-v1.npz`` (int16 clips, labels, the settings of each clip) under
``${SPARRING_CACHE:-~/.cache/sparring}/audio/``; build it with
``python scripts/build_spoken_digits.py`` or let the dataset build it on first use.
"""
from __future__ import annotations

import argparse
import itertools
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


def default_path() -> Path:
    from .pianoroll import cache_root

    return cache_root() / f"spoken-digits-v{VERSION}.npz"


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
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez_compressed(tmp, clips=clips, labels=labels, settings=settings, sample_rate=SAMPLE_RATE)
    tmp.replace(path)
    return path


def load(path: Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(clips float32 (N, 16384) in [-1, 1], labels (N,))``."""
    with np.load(Path(path or default_path())) as data:
        return data["clips"].astype(np.float32) / 32767.0, data["labels"]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Build the espeak-ng spoken-digits set (SC09-like).")
    parser.add_argument("--out", help=f"output .npz (default {default_path()})")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--small", action="store_true", help="2 accents x 2 variants x 2 speeds x 1 pitch")
    args = parser.parse_args(argv)
    kwargs = dict(accents=ACCENTS[:2], variants=VARIANTS[:2], speeds=SPEEDS[1:3], pitches=PITCHES[1:2]) \
        if args.small else {}
    try:
        out = build(Path(args.out) if args.out else None, workers=args.workers, **kwargs)
    except (RuntimeError, subprocess.CalledProcessError) as exc:
        print(f"build_spoken_digits: {exc}", file=sys.stderr)
        return 1
    clips, labels = load(out)
    print(f"wrote {out}: {len(clips)} clips of {CLIP} samples at {SAMPLE_RATE} Hz, "
          f"{np.bincount(labels).tolist()} per digit")
    return 0


if __name__ == "__main__":
    sys.exit(main())
