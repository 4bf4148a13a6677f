"""Fuzzing (hypothesis) of the configuration parser and of every plugin's file loader.

The configuration: ``--set key=value`` overrides and TOML-ish dicts over every installed
modality's real keys (and misspelt ones) either resolve, or raise ConfigError /
UnknownNameError (both a one-line message in the CLI); a resolved configuration writes to
TOML and reads back to the same configuration (what ``--resume`` relies on).

The loaders: random bytes, and good files with random bytes changed or cut off, written
under each loader's extension next to one good file: the dataset builds, keeping the good
file and skipping (and counting) the fuzzed one unless it happens to be valid; a fuzzed
file alone is read or is a DataError; never another exception, never an allocation of
what a fuzzed header claims (every build runs under a 1 GiB address-space cap and no
reason may be a MemoryError).
"""
from __future__ import annotations

import dataclasses
import io
import json
import os
import string
import struct
import tempfile
import tomllib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sparring.badfiles import address_space_cap
from sparring.config import TrainerConfig, apply_override, read_toml, resolve, to_toml
from sparring.errors import ConfigError, DataError, UnknownNameError
from sparring.registry import load_registry

REGISTRY = load_registry()
MODALITIES = REGISTRY.names("modality")
SECTIONS = ("generator", "discriminator", "dataset", "augment")
KIND = {"generator": "generator", "discriminator": "discriminator", "dataset": "dataset",
        "augment": "augmentation"}

# --- configuration ----------------------------------------------------------------------


def _fields(cls) -> list[str]:
    return [f.name for f in dataclasses.fields(cls)] if cls is not None and dataclasses.is_dataclass(cls) else []


def _keys(modality: str) -> list[str]:
    """Every real key of ``modality``'s components, the trainer's and the top level's."""
    keys = [f"trainer.{k}" for k in _fields(TrainerConfig)]
    keys += ["seed", "device", "out", "writer", "metrics", "modality"]
    for section in SECTIONS:
        keys.append(f"{section}.name")
        for name in REGISTRY.names(KIND[section], modality):
            keys += [f"{section}.{k}" for k in _fields(REGISTRY.get(KIND[section], name, modality).config)]
    return sorted(set(keys))


KEYS = {m: _keys(m) for m in MODALITIES}
NAMES = sorted({n for kind in KIND.values() for n in REGISTRY.names(kind)} | set(MODALITIES))
JUNK_KEYS = ["trainer.stepz", "bogus", "dataset.name.x", "trainer", "generator", ".", "a..b", "trainer.",
             " trainer . steps ", "dataset.path.deeper", "metrics.x"]

# Strings may hold any character but lone surrogates, control characters included: a run
# writes its configuration to config.toml, and to_toml must escape them all (it once
# wrote U+0001 raw, and `--resume` then refused the run as "not valid TOML").
CONTROL = ""
CHARS = st.characters(blacklist_categories=("Cs",), blacklist_characters=CONTROL)
SAFE_TEXT = st.text(CHARS, max_size=10)
PRINTABLE = st.text(alphabet=[c for c in string.printable if c not in CONTROL], max_size=12)

TOML_LITERALS = st.one_of(
    st.integers(-10, 10**7).map(str),
    st.sampled_from(["0", "-1", "1e400", "-1e400", "nan", "inf", "-inf", "+inf", "0.5", "2e-4", "1_000",
                     "0x10", "true", "false", "[]", "[1, 2]", "[0.5, 0.99]", "[[1], 2]", '["a", 1]',
                     '[".png"]', "{a = 1}", "1979-05-27", "07:32:00", "1979-05-27T07:32:00Z", '""', "''",
                     '"""x"""']),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    SAFE_TEXT.map(json.dumps),                                  # a quoted TOML string
    st.sampled_from(NAMES),                                     # a bare component name
    PRINTABLE,                                                  # anything at all
    st.lists(st.integers(-3, 70), max_size=4).map(lambda v: json.dumps(v)),
)


def _plausible(modality: str, key: str):
    """Values of the key's own type (from its default) most of the time, anything else too."""
    section, _, field_name = key.rpartition(".")
    default = None
    if section == "trainer":
        default = getattr(TrainerConfig(), field_name, None)
    elif section in KIND:
        for name in REGISTRY.names(KIND[section], modality):
            cls = REGISTRY.get(KIND[section], name, modality).config
            if cls is not None and field_name in _fields(cls):
                default = getattr(cls(), field_name)
                break
    if isinstance(default, bool):
        typed = st.booleans().map(lambda b: "true" if b else "false")
    elif isinstance(default, int):
        typed = st.integers(-2, max(4 * default, 64)).map(str)
    elif isinstance(default, float):
        typed = st.floats(-1.0, max(4 * default, 2.0)).map(repr)
    elif isinstance(default, str):
        typed = st.one_of(st.sampled_from(NAMES), SAFE_TEXT.map(json.dumps))
    elif isinstance(default, (list, tuple)):
        typed = st.lists(st.one_of(st.integers(0, 64), st.floats(0, 1)), max_size=3).map(json.dumps)
    else:
        typed = TOML_LITERALS
    return st.one_of(typed, typed, typed, TOML_LITERALS)


@st.composite
def overrides(draw):
    modality = draw(st.sampled_from(MODALITIES))
    names = draw(st.lists(st.tuples(st.sampled_from([f"{s}.name" for s in SECTIONS[:3]]),
                                    st.sampled_from(NAMES)), max_size=1))
    sets = []
    for _ in range(draw(st.integers(0, 4))):
        if draw(st.integers(0, 4)):
            key = draw(st.sampled_from(KEYS[modality]))
            sets.append((key, draw(_plausible(modality, key))))
        else:
            sets.append((draw(st.one_of(st.sampled_from(JUNK_KEYS), PRINTABLE)), draw(TOML_LITERALS)))
    return modality, [f"{k}={v}" for k, v in names + sets]


def _resolve_or_refuse(raw):
    try:
        return resolve(raw, REGISTRY)
    except (ConfigError, UnknownNameError) as exc:
        assert str(exc).strip(), "an empty error message"
        return None


def _round_trips(cfg) -> None:
    """What a run writes as config.toml reads back to the same configuration."""
    text = to_toml(cfg.to_dict())
    again = resolve(tomllib.loads(text), REGISTRY)
    assert to_toml(again.to_dict()) == text


# CI replays the same examples on every run (a red CI run is a real regression, not a new
# draw); SPARRING_FUZZ_RANDOM=1 explores fresh inputs, as a fuzzing session should.
DERANDOMIZE = not os.environ.get("SPARRING_FUZZ_RANDOM")
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow],
                derandomize=DERANDOMIZE)


@FUZZ
@given(overrides())
def test_set_overrides_resolve_or_raise_a_config_error(case):
    modality, assignments = case
    raw = {"modality": modality}
    try:
        for assignment in assignments:
            apply_override(raw, assignment)
    except ConfigError:
        return
    cfg = _resolve_or_refuse(raw)
    if cfg is not None:
        assert cfg.trainer.steps >= 1 and cfg.trainer.batch_size >= 1
        _round_trips(cfg)


SCALARS = st.one_of(st.integers(-2**63, 2**63), st.floats(), SAFE_TEXT, st.booleans(),
                    st.sampled_from(NAMES), st.none().map(lambda _: []))
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                       st.dictionaries(SAFE_TEXT, inner, max_size=3)),
                      max_leaves=8)


@st.composite
def raw_configs(draw):
    modality = draw(st.sampled_from(MODALITIES))
    raw = {"modality": draw(st.one_of(st.just(modality), VALUES))}
    for section in ("trainer", *SECTIONS):
        if draw(st.booleans()):
            real = [k.split(".", 1)[1] for k in KEYS[modality] if k.startswith(section + ".")]
            keys = st.one_of(st.sampled_from(real), SAFE_TEXT) if real else SAFE_TEXT
            raw[section] = draw(st.one_of(st.dictionaries(keys, VALUES, max_size=4), VALUES))
    raw.update(draw(st.dictionaries(st.sampled_from(["seed", "device", "out", "writer", "metrics", "oops"]),
                                    VALUES, max_size=2)))
    return raw


@FUZZ
@given(raw_configs())
def test_toml_dicts_resolve_or_raise_a_config_error(raw):
    cfg = _resolve_or_refuse(raw)
    if cfg is not None:
        _round_trips(cfg)


@settings(max_examples=100, deadline=None, derandomize=DERANDOMIZE)
@given(st.text(alphabet=string.printable + "é\u00a0\u2028\x00\x7f", max_size=200))
def test_toml_text_reads_and_resolves_or_raises_a_config_error(text):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "run.toml"
        path.write_text("modality = \"toy\"\n" + text, encoding="utf-8")
        try:
            raw = read_toml(path)
        except ConfigError as exc:
            assert "run.toml" in str(exc)
            return
    _resolve_or_refuse(raw)


# --- file loaders -------------------------------------------------------------------------


def _png() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray((np.random.default_rng(0).random((12, 12, 3)) * 255).astype(np.uint8)).save(buf, "PNG")
    return buf.getvalue()


def _wav() -> bytes:
    import soundfile as sf

    buf = io.BytesIO()
    sf.write(buf, (0.3 * np.sin(np.arange(3000) / 5.0)).astype(np.float32), 8000, format="WAV", subtype="PCM_16")
    return buf.getvalue()


def _midi() -> bytes:
    import pretty_midi

    pm = pretty_midi.PrettyMIDI(resolution=96)
    for voice, base in zip(("soprano", "alto", "tenor", "bass"), (72, 64, 57, 48)):
        inst = pretty_midi.Instrument(0, name=voice)
        inst.notes += [pretty_midi.Note(80, base + (b % 3), b * 0.5, b * 0.5 + 0.5) for b in range(24)]
        pm.instruments.append(inst)
    buf = io.BytesIO()
    pm.write(buf)
    return buf.getvalue()


def _nifti() -> bytes:
    import nibabel as nib

    grid = np.stack(np.meshgrid(*[np.linspace(-1, 1, 8)] * 3, indexing="ij"))
    vol = np.where((grid ** 2).sum(0) < 0.5, 500.0, 0.0).astype(np.float32)
    vol += np.random.default_rng(0).random(vol.shape).astype(np.float32)
    return nib.Nifti1Image(vol, np.eye(4)).to_bytes()


def _npz() -> bytes:
    buf = io.BytesIO()
    np.savez(buf, clips=(np.random.default_rng(0).standard_normal((2, 16384)) * 3000).astype(np.int16),
             labels=np.array([3, 4]))
    return buf.getvalue()


def _text() -> bytes:
    return "".join(f"sample line number {i}\n" for i in range(12)).encode()


def _image_loader(root):
    from sparring_image.configs import FolderConfig
    from sparring_image.data import build_folder

    return build_folder(FolderConfig(path=str(root), size=8, channels=3))


def _wav_loader(root):
    from sparring_audio.audio_data import build_wav_folder
    from sparring_audio.configs import WavFolderConfig

    return build_wav_folder(WavFolderConfig(path=str(root), clip_samples=1024, representation="waveform"))


def _midi_loader(root):
    from sparring_audio.configs import MidiFolderConfig
    from sparring_audio.music_data import build_midi_folder

    return build_midi_folder(MidiFolderConfig(path=str(root), bars=2))


def _scan_loader(root):
    from sparring_medical.configs import ScanFolderConfig
    from sparring_medical.data import build_scan_folder

    return build_scan_folder(ScanFolderConfig(path=str(root), size=[8], mode="volumes", min_foreground=0.0))


def _gzip(data: bytes) -> bytes:
    import gzip

    return gzip.compress(data)


# name: (plugin module, extension, good bytes, build(folder), encode): the fuzz changes the
# good bytes, then ``encode`` writes them (for .nii.gz the header fuzzed inside the gzip)
FOLDER_LOADERS = {
    "image-folder": ("sparring_image", ".png", _png, _image_loader, bytes),
    "wav-folder": ("sparring_audio", ".wav", _wav, _wav_loader, bytes),
    "midi-folder": ("sparring_audio", ".mid", _midi, _midi_loader, bytes),
    "scan-folder-nii": ("sparring_medical", ".nii", _nifti, _scan_loader, bytes),
    "scan-folder-nii.gz": ("sparring_medical", ".nii.gz", _nifti, _scan_loader, _gzip),
}
GOOD: dict[str, bytes] = {}


def good_bytes(name: str) -> bytes:
    if name not in GOOD:
        GOOD[name] = FOLDER_LOADERS[name][2]()
    return GOOD[name]


@st.composite
def fuzzed(draw, good: bytes):
    """Random bytes, or the good file with bytes changed (often in its header) and/or cut."""
    if draw(st.integers(0, 3)) == 0:
        return draw(st.binary(max_size=600))
    data = bytearray(good)
    n = len(data)
    position = st.one_of(st.integers(0, min(n - 1, 80)), st.integers(0, n - 1))
    for pos, value in draw(st.lists(st.tuples(position, st.integers(0, 255)), max_size=8)):
        data[pos] = value
    # Large 16- or 32-bit integers in the header: sizes, dimensions and lengths that lie.
    big = st.sampled_from([0x7FFF, 0xFFFF, 30000, 0x7FFFFFFF, 0xFFFFFFFF, 10**9])
    for pos, value, fmt in draw(st.lists(st.tuples(st.integers(0, min(n, 360) - 1), big,
                                                   st.sampled_from(["<H", ">H", "<I", ">I", "<h"])), max_size=3)):
        size = struct.calcsize(fmt)
        if pos + size <= n:
            limit = 2 ** (8 * size - (1 if fmt.islower() else 0)) - 1
            data[pos:pos + size] = struct.pack(fmt, min(value, limit))
    if draw(st.booleans()):
        data = data[:draw(st.integers(0, n))]
    return bytes(data)


def _check_folder_loader(name, payload):
    module, ext, _, build, encode = FOLDER_LOADERS[name]
    good, payload = encode(good_bytes(name)), encode(payload)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "data"
        root.mkdir()
        (root / f"a-good{ext}").write_bytes(good)
        (root / f"b-fuzzed{ext}").write_bytes(payload)
        with address_space_cap(1 << 30):
            ds = build(root)
        assert ds.files_found == 2 and ds.skipped in (0, 1) and len(ds) >= 1
        for path, reason in ds.skipped_reasons:
            assert "b-fuzzed" in path and "MemoryError" not in reason and reason.strip()
        (root / f"a-good{ext}").unlink()
        try:
            with address_space_cap(1 << 30):
                alone = build(root)
        except DataError as exc:
            assert str(root) in str(exc) and "MemoryError" not in str(exc)
        else:
            assert alone.skipped == 0 and len(alone) >= 1


LOADER_FUZZ = settings(max_examples=40, deadline=None, derandomize=DERANDOMIZE,
                       suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@pytest.mark.parametrize("name", list(FOLDER_LOADERS))
def test_fuzzed_files_in_a_folder_are_skipped_and_counted_or_a_data_error(name):
    pytest.importorskip(FOLDER_LOADERS[name][0])
    good = good_bytes(name)
    with tempfile.TemporaryDirectory() as tmp:  # the first build's imports happen uncapped
        root = Path(tmp)
        (root / f"x{FOLDER_LOADERS[name][1]}").write_bytes(FOLDER_LOADERS[name][4](good))
        FOLDER_LOADERS[name][3](root)
    _check_folder_loader(name, good)  # the good file itself is read: the harness is sound

    @LOADER_FUZZ
    @given(fuzzed(good))
    def run(payload):
        _check_folder_loader(name, payload)

    run()


def test_fuzzed_text_files_keep_their_good_lines_or_are_a_data_error():
    pytest.importorskip("sparring_text")
    from sparring_text.configs import TextFileConfig
    from sparring_text.data import build_text_file

    good = _text()
    lines = good.decode().splitlines()

    def build(path):
        return build_text_file(TextFileConfig(path=str(path), test_fraction=0.0, max_len=64))

    with tempfile.TemporaryDirectory() as tmp:  # imports before the cap
        (Path(tmp) / "t.txt").write_bytes(good)
        assert len(build(Path(tmp) / "t.txt")) == len(lines)

    @LOADER_FUZZ
    @given(fuzzed(good), st.booleans())
    def run(payload, between_good_lines):
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "fuzzed.txt"
            path.write_bytes(good + payload + b"\n" + good if between_good_lines else payload)
            try:
                with address_space_cap(1 << 30):
                    ds = build(path)
            except DataError as exc:
                assert not between_good_lines and str(path) in str(exc)
                return
            kept = [ds.decode(r) for r in ds.ids.tolist()]
            if between_good_lines:  # the good lines around the fuzz survive, in order
                assert kept[:len(lines) - 1] == lines[:-1] and kept[-(len(lines) - 1):] == lines[1:]

    run()


def test_fuzzed_spoken_digits_files_load_or_are_a_data_error():
    pytest.importorskip("sparring_audio")
    from sparring_audio.audio_data import build_spoken_digits
    from sparring_audio.configs import SpokenDigitsConfig

    good = _npz()

    def build(path):
        return build_spoken_digits(SpokenDigitsConfig(path=str(path), representation="waveform"))

    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "d.npz").write_bytes(good)
        assert len(build(Path(tmp) / "d.npz")) == 2

    @LOADER_FUZZ
    @given(fuzzed(good))
    def run(payload):
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "digits.npz"
            path.write_bytes(payload)
            try:
                with address_space_cap(1 << 30):
                    ds = build(path)
            except DataError as exc:
                assert str(path) in str(exc) and "MemoryError" not in str(exc)
                return
            assert len(ds) >= 1 and ds.waveforms.abs().max() <= 1.0 + 1e-6

    run()
