"""The audio plugin's file readers against bad files: wav-folder (audio), midi-folder (music)
and a spoken-digits .npz. Zero-byte, truncated, mislabelled and huge-dimension files mixed
with good ones are skipped, counted and logged; an all-bad folder (or a bad single file) is a
DataError naming it and what was expected; huge headers are refused before allocating."""
from __future__ import annotations

import io
import logging
import struct

import numpy as np
import pytest
import soundfile as sf

from sparring.badfiles import BAD_KINDS, address_space_cap, sparse_file, write_bad
from sparring.errors import DataError
from sparring_audio import audio_data, music_data, pianoroll, spoken_digits
from sparring_audio.configs import MidiFolderConfig, SpokenDigitsConfig, WavFolderConfig

CAP = 1 << 30  # every build below runs with at most 1 GiB more address space

# --- wav-folder --------------------------------------------------------------------------


def wav_bytes(seed=0, seconds=1.2, rate=16000, fmt="WAV") -> bytes:
    wave = 0.3 * np.sin(np.arange(int(seconds * rate)) * (0.05 + 0.01 * seed)).astype(np.float32)
    buf = io.BytesIO()
    sf.write(buf, wave, rate, format=fmt, subtype="PCM_16")
    return buf.getvalue()


def huge_wav(path):
    """A valid 16-bit mono WAV header followed by a 4 GiB hole: 2.1 billion frames (8 GiB as
    float32) that take no disk space."""
    data = 0xFFFFFF00
    header = (b"RIFF" + struct.pack("<I", 36 + data) + b"WAVE" + b"fmt "
              + struct.pack("<IHHIIHH", 16, 1, 1, 16000, 32000, 2, 16) + b"data" + struct.pack("<I", data))
    sparse_file(path, header, len(header) + data)


def wav_folder(root, n=3):
    root.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        (root / f"good{i}.wav").write_bytes(wav_bytes(i))
    return root


def wav_cfg(root, **kw):
    return WavFolderConfig(path=str(root), clip_samples=4096, representation="waveform", **kw)


@pytest.fixture(scope="module", autouse=True)
def _warm_imports(tmp_path_factory):
    # soundfile, torchaudio, pretty_midi and mido map libraries on import: before any cap.
    root = wav_folder(tmp_path_factory.mktemp("warm"), n=1)
    (root / "r.wav").write_bytes(wav_bytes(rate=8000))
    audio_data.build_wav_folder(wav_cfg(root))
    import pretty_midi  # noqa: F401


@pytest.mark.parametrize("kind", BAD_KINDS)
def test_wav_folder_skips_counts_and_logs_a_bad_file(kind, tmp_path, caplog):
    root = wav_folder(tmp_path / "wavs")
    bad = write_bad(kind, root / "sub" / f"bad-{kind}.wav", good=wav_bytes(5), huge=huge_wav)
    with caplog.at_level(logging.WARNING, logger="sparring.audio"), address_space_cap(CAP):
        ds = audio_data.build_wav_folder(wav_cfg(root))
    assert len(ds) == 3 and ds.tensors[0].shape == (3, 1, 4096)
    assert ds.files_found == 4 and ds.skipped == 1
    (path, reason), = ds.skipped_reasons
    assert path == str(bad) and "MemoryError" not in reason
    assert "skipped 1 of 4" in caplog.text and bad.name in caplog.text
    if kind == "huge":
        assert "2,147,483,520 frames" in reason and "limit" in reason
    if kind == "truncated":
        assert "truncated" in reason


@pytest.mark.parametrize("fmt", ["FLAC", "OGG"])
def test_truncated_flac_and_ogg_are_skipped(fmt, tmp_path):
    root = wav_folder(tmp_path / "wavs", n=1)
    ext = fmt.lower()
    good = io.BytesIO()
    sf.write(good, np.random.default_rng(0).standard_normal(40000).astype(np.float32) * 0.1, 16000, format=fmt)
    write_bad("truncated", root / f"cut.{ext}", good=good.getvalue())
    ds = audio_data.build_wav_folder(wav_cfg(root))
    assert len(ds) == 1 and ds.skipped == 1 and f"cut.{ext}" in ds.skipped_reasons[0][0]


def test_an_odd_sample_rate_is_resampled_without_a_gigabyte_kernel(tmp_path):
    # 16,001 Hz to 16,000 Hz reduces to 16001/16000: an exact sinc kernel of 16000 x 16013 floats.
    root = tmp_path / "odd"
    root.mkdir()
    (root / "odd.wav").write_bytes(wav_bytes(rate=16001))
    with address_space_cap(512 << 20):
        ds = audio_data.build_wav_folder(wav_cfg(root))
    assert ds.skipped == 0 and len(ds) == 1
    assert abs(float(ds.waveforms.abs().max()) - 0.3) < 0.02




# --- midi-folder -------------------------------------------------------------------------


def midi_bytes(seed=0, bars=8, resolution=220) -> bytes:
    import pretty_midi

    rng = np.random.default_rng(seed)
    pm = pretty_midi.PrettyMIDI(resolution=resolution, initial_tempo=120.0)
    for voice, base in zip(pianoroll.VOICES, (72, 64, 57, 48)):
        inst = pretty_midi.Instrument(0, name=voice)
        for beat in range(bars * 4):
            pitch = int(base + rng.integers(-3, 4))
            inst.notes.append(pretty_midi.Note(80, pitch, beat * 0.5, beat * 0.5 + 0.5))
        pm.instruments.append(inst)
    buf = io.BytesIO()
    pm.write(buf)
    return buf.getvalue()


def _smf(resolution: int, events: bytes) -> bytes:
    track = events + b"\x00\xff\x2f\x00"
    return (b"MThd" + struct.pack(">IHHH", 6, 0, 1, resolution)
            + b"MTrk" + struct.pack(">I", len(track)) + track)


def _varlen(n: int) -> bytes:
    out = [n & 0x7F]
    n >>= 7
    while n:
        out.append(0x80 | (n & 0x7F))
        n >>= 7
    return bytes(reversed(out))


def huge_midi(path):
    """One note held for 9 million beats (one tick a beat): a 36-million-step roll, 18 GB as
    (4, steps, 128) uint8, from a 30-byte file."""
    path.write_bytes(_smf(1, b"\x00\x90\x3c\x40" + _varlen(9_000_000) + b"\x80\x3c\x00"))


def huge_track_chunk(path):
    """A track chunk whose header claims 4 GiB of events in a file of 40 bytes."""
    path.write_bytes(b"MThd" + struct.pack(">IHHH", 6, 0, 1, 96) + b"MTrk" + struct.pack(">I", 0xFFFFFFF0)
                     + b"\x00\x90\x3c\x40\x60\x80\x3c\x00")


def midi_folder(root, n=2):
    root.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        (root / f"good{i}.mid").write_bytes(midi_bytes(i))
    return root


def midi_cfg(root, **kw):
    return MidiFolderConfig(path=str(root), **kw)


@pytest.mark.parametrize("kind", [*BAD_KINDS, "huge-track-chunk"])
def test_midi_folder_skips_counts_and_logs_a_bad_file(kind, tmp_path, caplog):
    root = midi_folder(tmp_path / "midi")
    path = root / "sub" / f"bad-{kind}.mid"
    if kind == "huge-track-chunk":
        path.parent.mkdir()
        huge_track_chunk(path)
    else:
        write_bad(kind, path, good=midi_bytes(9), huge=huge_midi)
    with caplog.at_level(logging.WARNING, logger="sparring.audio"), address_space_cap(CAP):
        ds = music_data.build_midi_folder(midi_cfg(root))
    assert ds.files_found == 3 and ds.skipped == 1
    assert len(ds) == 2 * (8 - 4 + 1) and ds.shape == (4, 64, 48)
    (bad, reason), = ds.skipped_reasons
    assert bad == str(path) and "MemoryError" not in reason
    assert "skipped 1 of 3" in caplog.text and path.name in caplog.text
    if kind == "huge":
        assert "more than the limit" in reason


# One all-bad-folder check for both folder loaders: extension, good bytes, huge writer,
# builder, and the extensions the message must name.
ALL_BAD_LOADERS = {
    "wav-folder": (".wav", lambda: wav_bytes(), lambda: huge_wav,
                   lambda root: audio_data.build_wav_folder(wav_cfg(root)), ".flac/.ogg/.wav"),
    "midi-folder": (".mid", lambda: midi_bytes(), lambda: huge_midi,
                    lambda root: music_data.build_midi_folder(midi_cfg(root)), ".mid/.midi"),
}


@pytest.mark.parametrize("loader", sorted(ALL_BAD_LOADERS))
@pytest.mark.parametrize("kinds", [BAD_KINDS, ("zero-byte",), ("mislabelled", "truncated")])
def test_all_bad_folder_is_a_clear_data_error(loader, kinds, tmp_path):
    ext, good, huge, build, named = ALL_BAD_LOADERS[loader]
    root = tmp_path / "all-bad"
    for kind in kinds:
        write_bad(kind, root / f"bad-{kind}{ext}", good=good(), huge=huge())
    with pytest.raises(DataError) as info, address_space_cap(CAP):
        build(root)
    message = str(info.value)
    assert str(root) in message and named in message and f"{len(kinds)} unreadable" in message


# --- spoken digits (a single .npz) -------------------------------------------------------


def npz_bytes(n=20) -> bytes:
    rng = np.random.default_rng(0)
    buf = io.BytesIO()
    np.savez(buf, clips=(rng.standard_normal((n, spoken_digits.CLIP)) * 3000).astype(np.int16),
             labels=np.arange(n) % 10)
    return buf.getvalue()


def huge_npz(path):
    """An .npz whose clips header claims 10**9 clips (32 TB) and holds 100 bytes."""
    import zipfile

    clips = io.BytesIO()
    np.lib.format.write_array_header_1_0(clips, {"descr": "<i2", "fortran_order": False,
                                                 "shape": (10**9, spoken_digits.CLIP)})
    labels = io.BytesIO()
    np.save(labels, np.zeros(10, np.int64))
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("clips.npy", clips.getvalue() + b"\0" * 100)
        zf.writestr("labels.npy", labels.getvalue())


def test_a_good_spoken_digits_file_loads(tmp_path):
    path = tmp_path / "digits.npz"
    path.write_bytes(npz_bytes())
    ds = audio_data.build_spoken_digits(SpokenDigitsConfig(path=str(path), representation="waveform"))
    assert len(ds) == 20 and ds.num_classes == 10


@pytest.mark.parametrize("kind", [*BAD_KINDS, "no-labels"])
def test_a_bad_spoken_digits_file_is_a_clear_data_error(kind, tmp_path):
    path = tmp_path / f"bad-{kind}.npz"
    if kind == "no-labels":
        np.savez(path, clips=np.zeros((3, spoken_digits.CLIP), np.int16))
    else:
        write_bad(kind, path, good=npz_bytes(), huge=huge_npz)
    with pytest.raises(DataError) as info, address_space_cap(CAP):
        audio_data.build_spoken_digits(SpokenDigitsConfig(path=str(path), representation="waveform"))
    message = str(info.value)
    assert str(path) in message and "clips and labels" in message and "MemoryError" not in message
    if kind == "huge":
        assert "1,000,000,000 clips" in message
