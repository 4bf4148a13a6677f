import numpy as np
import pytest
import torch

from sparring.errors import ConfigError, DataError
from sparring_audio import music_data, pianoroll
from sparring_audio.configs import ChoralesConfig, MidiFolderConfig


def test_chorale_conversion_skips_other_metres(two_chorales):
    names, rolls, skipped = two_chorales
    assert names == ["bach/bwv347"]
    assert skipped[0][0] == "bach/bwv269" and "3/4" in skipped[0][1]
    roll = rolls[0]
    # bwv347 lasts 52 beats with a one-beat pickup: 51 beats of 16ths after dropping it.
    assert roll.shape == (4, 204, 128) and roll.dtype == np.uint8
    ranges = [np.flatnonzero(roll[t].any(0)) for t in range(4)]
    assert ranges[0].max() > ranges[1].max() > ranges[3].max()  # soprano above alto above bass
    assert (roll.sum(-1) <= 1).all()  # each voice sings one note at a time


def test_roll_to_midi_and_back_is_exact(two_chorales, tmp_path):
    roll = two_chorales[1][0]
    path = tmp_path / "bwv347.mid"
    pm = pianoroll.roll_to_midi(roll, path, tempo_bpm=90)
    assert [i.name for i in pm.instruments] == list(pianoroll.VOICES)
    back = pianoroll.midi_to_roll(path, tracks=4)
    assert back.shape == roll.shape
    assert np.array_equal(back, roll)


def test_note_runs():
    track = np.zeros((8, 3), bool)
    track[0:3, 1] = True
    track[5:8, 1] = True
    track[2, 0] = True
    assert sorted(pianoroll.note_runs(track)) == [(0, 2, 3), (1, 0, 3), (1, 5, 8)]


def test_segments_and_transposition():
    roll = np.zeros((4, 40, 128), np.uint8)
    roll[0, :, 60] = 1       # a held C4 in the soprano, 2.5 bars of 16 steps
    roll[3, :16, 40] = 1
    segs, dropped = music_data.cut_segments([roll], bars=2, steps_per_bar=16, hop_bars=1,
                                            lowest_pitch=36, num_pitches=48)
    assert segs.shape == (1, 4, 32, 48) and dropped == 0
    ds = music_data.PianoRollDataset(segs, transpose=5, lowest_pitch=36)
    assert len(ds) == 11 and ds.tensors is None
    shifts = [int(ds[i][0].sum(0).argmax()) - (60 - 36) for i in range(11)]
    # 40 - 36 = 4 semitones of room below the bass: -5 clamps to -4.
    assert shifts == [-4, -4, -3, -2, -1, 0, 1, 2, 3, 4, 5]
    assert all(int(ds[i].sum()) == int(segs[0].sum()) for i in range(11))
    assert music_data.PianoRollDataset(segs, transpose=0).tensors[0].shape == (1, 4, 32, 48)
    x = music_data.roll_to_d(ds[0][None])
    assert x.dtype == torch.float32 and set(x.unique().tolist()) == {-1.0, 1.0}
    # out of range or silent windows are dropped
    roll[1, :, 100] = 1
    assert music_data.cut_segments([roll], 2, 16, 1, 36, 48)[1] == 1


def test_chorales_dataset(two_chorales):
    ds = music_data.build_chorales(ChoralesConfig(max_chorales=2, transpose=2, workers=1))
    assert ds.shape == (4, 64, 48) and ds.chorales == ["bach/bwv347"]
    assert len(ds) == 5 * ds.segments.shape[0] and ds.segments.shape[0] == 204 // 16 - 3
    with pytest.raises(ConfigError, match="dataset.num_pitches must be a positive multiple of 12, got 50"):
        music_data.build_chorales(ChoralesConfig(num_pitches=50))


def test_midi_folder_skips_corrupt_files(two_chorales, tmp_path, caplog):
    pianoroll.roll_to_midi(two_chorales[1][0], tmp_path / "good.mid")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "broken.mid").write_bytes(b"MThd\x00\x00garbage")
    (tmp_path / "notes.txt").write_text("not midi")
    ds = music_data.build_midi_folder(MidiFolderConfig(path=str(tmp_path)))
    assert ds.files_found == 2 and ds.skipped == 1 and "broken.mid" in ds.skipped_reasons[0][0]
    assert "skipped 1 of 2" in caplog.text
    assert ds.shape == (4, 64, 48) and len(ds) == 204 // 16 - 3
    (tmp_path / "good.mid").unlink()
    with pytest.raises(DataError, match=str(tmp_path)):
        music_data.build_midi_folder(MidiFolderConfig(path=str(tmp_path)))
    with pytest.raises(DataError, match=r"MIDI folder '.*missing' does not exist"):
        music_data.build_midi_folder(MidiFolderConfig(path=str(tmp_path / "missing")))
