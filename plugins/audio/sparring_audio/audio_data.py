"""Audio datasets: chorale audio, espeak-ng spoken digits and a folder of sound files.

All keep their clips in memory as float32 waveforms (N, 1, clip_samples) in [-1, 1]
(``.waveforms``). With ``representation = "spectrogram"`` the items (``.tensors``) are
SpecGAN's normalised spectrograms (N, 1, 128, 128) instead, and ``spec_mean`` /
``spec_std`` hold the per-bin statistics that writers and metrics use to invert them.
"""
from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path

import numpy as np
import torch

from sparring.errors import ConfigError, DataError

from . import spectral
from .music_data import _list_files, report_skipped
from .pianoroll import cache_root

log = logging.getLogger("sparring.audio")

REPRESENTATIONS = ("auto", "waveform", "spectrogram")


class AudioClips(torch.utils.data.Dataset):
    """Clips (N, 1, L) with optional labels, in the representation D sees."""

    def __init__(self, waveforms: torch.Tensor, labels=None, num_classes=None, sample_rate: int = 16000,
                 representation: str = "waveform", name: str = "audio"):
        if representation not in REPRESENTATIONS:
            raise ConfigError(f"dataset.representation must be one of {', '.join(REPRESENTATIONS)}, "
                              f"got {representation!r}")
        self.waveforms = waveforms.float().contiguous()
        self.labels = None if labels is None else torch.as_tensor(labels).long()
        self.num_classes = num_classes if labels is not None else None
        self.sample_rate = sample_rate
        self.representation = "waveform" if representation == "auto" else representation
        self.name = name
        self.spec_mean = self.spec_std = None
        self.items = self.waveforms
        if self.representation == "spectrogram":
            if self.waveforms.shape[-1] != 16384:
                raise ConfigError("the spectrogram representation needs 16,384-sample clips")
            log_mag = torch.cat([spectral.log_magnitude(self.waveforms[i:i + 512])
                                 for i in range(0, len(self.waveforms), 512)])
            self.spec_mean, self.spec_std = spectral.bin_statistics(log_mag)
            self.items = spectral.normalise(log_mag, self.spec_mean, self.spec_std)

    @property
    def tensors(self):
        return (self.items,) if self.labels is None else (self.items, self.labels)

    def __len__(self):
        return self.items.shape[0]

    def __getitem__(self, i):
        return self.items[i] if self.labels is None else (self.items[i], self.labels[i])

    def __repr__(self):
        return (f"AudioClips({self.name}, n={len(self)}, item={tuple(self.items.shape[1:])}, "
                f"{self.representation}, {self.sample_rate} Hz, num_classes={self.num_classes})")


# --- chorale audio -----------------------------------------------------------------------


def render_roll(roll: np.ndarray, sample_rate: int = 16000, tempo_bpm: float = 100.0,
                steps_per_beat: int = 4, lowest_pitch: int = 0) -> np.ndarray:
    """A piano roll synthesised by pretty_midi (sine voices), peak-normalised to 0.9."""
    from .pianoroll import roll_to_midi

    pm = roll_to_midi(roll, None, steps_per_beat, tempo_bpm, lowest_pitch)
    wave = pm.synthesize(fs=sample_rate).astype(np.float32)
    return 0.9 * wave / max(float(np.abs(wave).max()), 1e-6)


def _clip_starts(length: int, clip: int, count: int) -> list[int]:
    if length < clip:
        return []
    every = list(range(0, length - clip + 1, clip))
    if count <= 0 or count >= len(every):
        return every
    return [int(round(s)) for s in np.linspace(0, length - clip, count)]


def build_chorale_audio(cfg) -> AudioClips:
    from .pianoroll import chorale_rolls

    if cfg.clip_samples < 1024 or cfg.sample_rate < 4000:
        raise ConfigError("dataset.clip_samples must be >= 1024 and dataset.sample_rate >= 4000")
    key = f"sr{cfg.sample_rate}-clip{cfg.clip_samples}-n{cfg.clips_per_chorale}-bpm{cfg.tempo_bpm:g}-" \
          f"max{cfg.max_chorales}"
    path = cache_root() / f"chorale-audio-v1-{key}.npz"
    if path.is_file():
        with np.load(path) as data:
            clips = data["clips"]
    else:
        from tqdm.auto import tqdm

        names, rolls, _ = chorale_rolls(cfg.max_chorales)
        out = []
        for roll in tqdm(rolls, desc="rendering chorales", unit="chorale", disable=None):
            wave = render_roll(roll, cfg.sample_rate, cfg.tempo_bpm)
            out += [wave[s:s + cfg.clip_samples] for s in _clip_starts(len(wave), cfg.clip_samples,
                                                                        cfg.clips_per_chorale)]
        if not out:
            raise DataError("no chorale rendered to a full clip")
        clips = np.round(np.stack(out) * 32767).astype(np.int16)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.tmp{os.getpid()}.npz")  # two runs may build it at once
        np.savez_compressed(tmp, clips=clips)
        tmp.replace(path)
    waves = torch.from_numpy(clips.astype(np.float32) / 32767.0).unsqueeze(1)
    return AudioClips(waves, sample_rate=cfg.sample_rate, representation=cfg.representation,
                      name="chorale-audio")


# --- spoken digits -------------------------------------------------------------------------


def build_spoken_digits(cfg) -> AudioClips:
    from . import spoken_digits

    if cfg.size not in spoken_digits.SIZES:
        raise ConfigError(f"dataset.size must be one of {', '.join(spoken_digits.SIZES)}, got {cfg.size!r}")
    path = Path(os.path.expanduser(cfg.path)) if cfg.path else spoken_digits.default_path(cfg.size)
    if not path.is_file():
        if cfg.path or spoken_digits.espeak_binary() is None:
            raise DataError(f"spoken digits not found at '{path}': build them with "
                            f"`python scripts/build_spoken_digits.py --size {cfg.size}` "
                            "(needs espeak-ng: apt-get install espeak-ng)")
        log.warning("building the spoken-digits set once with espeak-ng (a few minutes) into %s", path)
        speeds, pitches = spoken_digits.SIZES[cfg.size]
        spoken_digits.build(path, speeds=speeds, pitches=pitches)
    try:
        clips, labels = spoken_digits.load(path)
    except ValueError as exc:  # load checks the array headers before reading them
        raise DataError(f"spoken digits file '{path}' is not a .npz of int16 clips and labels as "
                        f"scripts/build_spoken_digits.py writes: {exc}") from None
    waves = torch.from_numpy(clips).unsqueeze(1)
    return AudioClips(waves, labels if cfg.labels else None, 10, spoken_digits.SAMPLE_RATE,
                      cfg.representation, name="spoken-digits")


# --- a folder of sound files --------------------------------------------------------------


#: The most samples (frames x channels) one file may hold: 2**28, 1 GiB as float32. A longer
#: file is refused from its header, before anything is read.
MAX_SAMPLES = 1 << 28
#: Resampling between rates whose reduced ratio is p/q builds a (p, q) sinc kernel: 16,001 Hz
#: to 16,000 Hz would take 1 GiB. Beyond this many kernel taps the ratio is approximated.
MAX_RESAMPLE_TAPS = 1 << 20


def resample(wave: torch.Tensor, rate: int, target: int) -> torch.Tensor:
    """``wave`` from ``rate`` to ``target`` Hz; an awkward ratio (e.g. 22,051 to 16,000) is
    replaced by the nearest one with a small denominator (pitch off by under 0.1%)."""
    import math
    from fractions import Fraction

    import torchaudio.functional as AF

    if rate == target:
        return wave
    g = math.gcd(rate, target)
    orig, new = rate // g, target // g
    if orig * new > MAX_RESAMPLE_TAPS:
        ratio = Fraction(target, rate).limit_denominator(1000)
        orig, new = ratio.denominator, ratio.numerator
    return AF.resample(wave, orig, new)


def _check_wav_length(path: Path) -> None:
    """Raise when a RIFF WAV's data chunk claims more bytes than the file holds (a cut file:
    libsndfile would silently read the part that is there). 0 and 0xFFFFFFFF mark a
    stream whose length was never written and pass."""
    import struct

    size = os.path.getsize(path)
    with open(path, "rb") as fh:
        head = fh.read(12)
        if len(head) < 12 or head[:4] not in (b"RIFF", b"RIFX") or head[8:12] != b"WAVE":
            return  # RF64, Wave64, ...: libsndfile's own checks
        order = "<" if head[:4] == b"RIFF" else ">"
        pos = 12
        while pos + 8 <= size:
            fh.seek(pos)
            chunk = fh.read(8)
            tag, length = chunk[:4], struct.unpack(order + "I", chunk[4:])[0]
            if tag == b"data":
                held = size - pos - 8
                if length > held and length not in (0, 0xFFFFFFFF):
                    raise ValueError(f"truncated: its header declares {length:,} bytes of samples, "
                                     f"the file holds {held:,}")
                return
            pos += 8 + length + (length & 1)


def read_audio(path: Path, sample_rate: int) -> torch.Tensor:
    """One file as a mono float32 waveform at ``sample_rate`` (soundfile + torchaudio resample).

    Raises on anything unreadable, and on a header claiming more than :data:`MAX_SAMPLES`
    samples before reading them.
    """
    import soundfile as sf

    info = sf.info(str(path))
    if info.frames * info.channels > MAX_SAMPLES:
        raise ValueError(f"header claims {info.frames:,} frames x {info.channels} channel(s), more than the "
                         f"limit of {MAX_SAMPLES:,} samples")
    if info.samplerate < 1:
        raise ValueError(f"header claims a sample rate of {info.samplerate} Hz")
    if info.format in ("WAV", "WAVEX"):
        _check_wav_length(path)
    audio, rate = sf.read(str(path), dtype="float32", always_2d=True)
    if audio.size == 0:
        raise ValueError("no samples")
    if info.frames > 0 and info.format != "MPEG" and len(audio) < info.frames:  # MP3 counts are estimates
        raise ValueError(f"truncated: the header claims {info.frames:,} frames, {len(audio):,} could be read")
    wave = torch.from_numpy(audio.mean(axis=1))
    if not torch.isfinite(wave).all():
        raise ValueError("non-finite samples")
    return resample(wave, int(rate), int(sample_rate))


def build_wav_folder(cfg) -> AudioClips:
    if not cfg.path:
        raise ConfigError("the wav-folder dataset needs a path: --set dataset.path=FOLDER")
    if cfg.clip_samples < 1024:
        raise ConfigError(f"dataset.clip_samples must be >= 1024, got {cfg.clip_samples}")
    root = Path(os.path.expanduser(cfg.path))
    if not root.is_dir():
        raise DataError(f"audio folder '{root}' does not exist or is not a folder")
    exts = {e.lower() if e.startswith(".") else "." + e.lower() for e in cfg.extensions}
    files = _list_files(root, exts)
    if cfg.max_files > 0:
        files = files[:cfg.max_files]
    clips, classes, skipped = [], [], []
    for path in files:
        try:
            wave = read_audio(path, cfg.sample_rate)
        except Exception as exc:  # soundfile raises LibsndfileError, RuntimeError, ...
            skipped.append((str(path), f"{type(exc).__name__}: {exc}"))
            continue
        peak = float(wave.abs().max())
        if peak > 1.0:
            wave = wave / peak
        if len(wave) < cfg.clip_samples:
            wave = torch.nn.functional.pad(wave, (0, cfg.clip_samples - len(wave)))
        starts = _clip_starts(len(wave), cfg.clip_samples, cfg.clips_per_file)
        rel = path.relative_to(root)
        for s in starts:
            clips.append(wave[s:s + cfg.clip_samples])
            classes.append(rel.parts[0] if len(rel.parts) > 1 else "")
    report_skipped("audio", root, skipped, len(files))
    if not clips:
        detail = f" ({len(skipped)} unreadable, first: {skipped[0][0]}: {skipped[0][1]})" if skipped else ""
        raise DataError(f"audio folder '{root}' holds no readable {'/'.join(sorted(exts))} file among "
                        f"{len(files)} candidates{detail}")
    labels, num_classes = None, None
    if cfg.labels:
        names = sorted(set(classes))
        labels = [names.index(c) for c in classes]
        num_classes = len(names)
    ds = AudioClips(torch.stack(clips).unsqueeze(1), labels, num_classes, cfg.sample_rate,
                    cfg.representation, name=f"wav-folder:{root}")
    ds.files_found, ds.skipped, ds.skipped_reasons = len(files), len(skipped), skipped
    return ds


def fingerprint(x: torch.Tensor) -> str:
    """A short content hash (cache keys of classifiers trained on a dataset)."""
    return hashlib.sha1(x.numpy().tobytes()).hexdigest()[:12]
