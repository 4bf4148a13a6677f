import numpy as np
import pytest
import soundfile as sf
import torch

from sparring.errors import ConfigError, DataError
from sparring_audio import audio_data, spectral
from sparring_audio.configs import ChoraleAudioConfig, WavFolderConfig


def tone(freq, seconds, rate):
    t = np.arange(int(seconds * rate)) / rate
    return (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


@pytest.fixture
def wav_folder(tmp_path):
    (tmp_path / "low").mkdir()
    (tmp_path / "high").mkdir()
    sf.write(tmp_path / "low" / "a.wav", tone(220, 1.5, 8000), 8000)           # resampled to 16 kHz
    sf.write(tmp_path / "high" / "b.flac", np.stack([tone(880, 0.5, 16000)] * 2, 1), 16000)  # stereo, short
    (tmp_path / "high" / "broken.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk")
    (tmp_path / "high" / "empty.ogg").write_bytes(b"")
    (tmp_path / "readme.txt").write_text("not audio")
    return tmp_path


def test_wav_folder_reads_resamples_and_skips_bad_files(wav_folder, caplog):
    ds = audio_data.build_wav_folder(WavFolderConfig(path=str(wav_folder), labels=True,
                                                     representation="waveform"))
    assert ds.files_found == 4 and ds.skipped == 2 and len(ds.skipped_reasons) == 2
    assert "skipped 2 of 4" in caplog.text and "broken.wav" in caplog.text
    x, y = ds.tensors
    assert x.shape == (2, 1, 16384) and ds.num_classes == 2
    assert y.tolist() == [0, 1]  # files in sorted order: high/b.flac, low/a.wav
    # the short file is zero-padded after its 0.5 s; the 8 kHz file keeps 220 Hz at 16 kHz
    assert x[0, 0, 9000:].abs().max() == 0
    spectrum = torch.fft.rfft(x[1, 0]).abs()
    assert abs(int(spectrum.argmax()) * 16000 / 16384 - 220) < 2


def test_wav_folder_errors(wav_folder, tmp_path):
    with pytest.raises(ConfigError, match=r"needs a path: --set dataset\.path=FOLDER"):
        audio_data.build_wav_folder(WavFolderConfig(path=""))
    with pytest.raises(DataError, match=r"audio folder '.*nope' does not exist"):
        audio_data.build_wav_folder(WavFolderConfig(path=str(tmp_path / "nope")))
    bad = tmp_path / "only_bad"
    bad.mkdir()
    (bad / "x.wav").write_bytes(b"garbage")
    with pytest.raises(DataError, match="only_bad.*1 unreadable"):
        audio_data.build_wav_folder(WavFolderConfig(path=str(bad)))


def test_spectrogram_representation_normalises_and_inverts(wav_folder):
    ds = audio_data.build_wav_folder(WavFolderConfig(path=str(wav_folder), representation="spectrogram",
                                                     clips_per_file=0))
    x = ds.tensors[0]
    assert x.shape == (2, 1, 128, 128) and x.min() >= -1 and x.max() <= 1
    assert ds.spec_mean.shape == (128,) and ds.waveforms.shape == (2, 1, 16384)
    wave = spectral.as_waveforms(x, ds)
    assert wave.shape == (2, 1, 16384)
    # Griffin-Lim keeps the tone: 220 Hz in the clip from a.wav
    spectrum = torch.fft.rfft(wave[1, 0]).abs()
    assert abs(int(spectrum.argmax()) * 16000 / 16384 - 220) < 4
    with pytest.raises(ValueError, match="spec_mean/spec_std"):
        spectral.as_waveforms(x, None)


def test_chorale_audio_renders_and_caches(two_chorales):
    cfg = ChoraleAudioConfig(max_chorales=2, clips_per_chorale=3, representation="waveform")
    ds = audio_data.build_chorale_audio(cfg)
    x = ds.tensors[0]
    assert x.shape == (3, 1, 16384) and 0.05 < x.abs().max() <= 0.9 + 1e-4
    again = audio_data.build_chorale_audio(cfg)  # from the cache: identical
    assert torch.equal(again.tensors[0], x)
