import numpy as np
import pytest

from sparring.errors import DataError
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
