import numpy as np
import pytest

from sparring.errors import ConfigError, DataError
from sparring_audio import audio_data, spoken_digits
from sparring_audio.configs import SpokenDigitsConfig

needs_espeak = pytest.mark.skipif(spoken_digits.espeak_binary() is None, reason="espeak-ng is not installed")


@needs_espeak
def test_build_a_small_set_and_load_it(tmp_path):
    path = spoken_digits.build(tmp_path / "digits.npz", accents=("en-us",), variants=("m1", "f2"),
                               speeds=(150,), pitches=(50,), progress=False)
    clips, labels = spoken_digits.load(path)
    assert clips.shape == (20, 16384) and labels.tolist() == [d for d in range(10) for _ in range(2)]
    peaks = np.abs(clips).max(1)
    assert np.allclose(peaks, 0.9, atol=1e-3)
    # "seven" (two syllables) lasts longer than "one" at the same speed
    length = [np.ptp((np.abs(c) > 0.02).nonzero()[0]) for c in clips]
    assert length[14] > length[2]
    ds = audio_data.build_spoken_digits(SpokenDigitsConfig(path=str(path), representation="waveform"))
    assert ds.num_classes == 10 and ds.tensors[0].shape == (20, 1, 16384)


def test_missing_file_names_the_build_script(tmp_path):
    with pytest.raises(DataError, match="build_spoken_digits"):
        audio_data.build_spoken_digits(SpokenDigitsConfig(path=str(tmp_path / "none.npz")))


def test_dense_size_holds_the_standard_grid_and_none_of_the_unseen_clips():
    (speeds, pitches), (dense_speeds, dense_pitches) = spoken_digits.SIZES["standard"], spoken_digits.SIZES["dense"]
    assert set(speeds) < set(dense_speeds) and set(pitches) < set(dense_pitches)
    assert not set(spoken_digits.UNSEEN_SPEEDS) & set(dense_speeds)
    assert not set(spoken_digits.UNSEEN_PITCHES) & set(dense_pitches)
    per_digit = len(spoken_digits.ACCENTS) * len(spoken_digits.VARIANTS) * len(dense_speeds) * len(dense_pitches)
    assert 10 * per_digit == 10_080
    assert spoken_digits.default_path("dense") != spoken_digits.default_path()
    assert spoken_digits.default_path().name == "spoken-digits-v1.npz"  # the name results were made with


def test_unknown_size_is_a_config_error_naming_the_key():
    with pytest.raises(ConfigError, match=r"dataset\.size must be one of standard, dense, got 'huge'"):
        audio_data.build_spoken_digits(SpokenDigitsConfig(size="huge"))


def test_missing_file_names_the_size_to_build(tmp_path, monkeypatch):
    monkeypatch.setattr(spoken_digits, "espeak_binary", lambda: None)
    with pytest.raises(DataError, match="build_spoken_digits.py --size dense"):
        audio_data.build_spoken_digits(SpokenDigitsConfig(size="dense"))


@needs_espeak
def test_a_size_builds_its_own_grid_into_its_own_file(tmp_path, monkeypatch):
    monkeypatch.setenv("SPARRING_CACHE", str(tmp_path))  # the session's cache may hold the standard set
    # a one-speed, one-pitch "dense" grid keeps the build to 240 clips
    monkeypatch.setitem(spoken_digits.SIZES, "dense", ((150,), (50,)))
    ds = audio_data.build_spoken_digits(SpokenDigitsConfig(size="dense", representation="waveform"))
    assert spoken_digits.default_path("dense").is_file() and not spoken_digits.default_path().exists()
    assert ds.tensors[0].shape == (10 * len(spoken_digits.ACCENTS) * len(spoken_digits.VARIANTS), 1, 16384)
    _, _, settings = _settings(spoken_digits.default_path("dense"))
    assert {s.split()[1:] == ["s150", "p50"] for s in settings} == {True}


def _settings(path):
    with np.load(path) as data:
        return data["clips"], data["labels"], data["settings"].tolist()


def test_the_build_script_refuses_a_small_set_of_a_size(capsys):
    with pytest.raises(SystemExit) as exit_info:
        spoken_digits.main(["--size", "dense", "--small"])
    assert exit_info.value.code == 2 and "not allowed with argument" in capsys.readouterr().err
