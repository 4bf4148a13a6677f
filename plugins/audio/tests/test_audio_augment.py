"""The audio augmentations: each transform on clips with known content, and the errors."""
import pytest
import torch

from sparring.errors import ConfigError
from sparring_audio.augment import SPECTROGRAM_FLOOR, build_audio_augment, change_gain, mask_band, shift_time
from sparring_audio.configs import AudioADAConfig, AudioAugmentConfig


def test_shift_moves_a_click_within_the_ratio_and_fills_waveforms_with_silence():
    torch.manual_seed(0)
    x = torch.zeros(64, 1, 100)
    x[:, 0, 50] = 1.0
    x[:, 0, 0] = 0.5  # the first sample: a shift right must not repeat it
    out = shift_time(x, 0.1)
    moved = out[:, 0, 40:61].argmax(dim=1) + 40 - 50  # where the click went
    assert moved.abs().max() <= 10 and len(set(moved.tolist())) > 5
    right = moved > 0
    assert right.any() and (out[right, 0, :int(moved[right].min())] == 0).all()
    assert out.shape == x.shape and torch.equal(out[:, 0].abs().amax(dim=1), torch.ones(64))


def test_shift_repeats_a_spectrograms_edge_frames():
    torch.manual_seed(1)
    x = torch.full((32, 1, 8, 40), SPECTROGRAM_FLOOR)
    x[:, :, :, 20] = 1.0  # one loud frame
    x[:, :, :, 0] = -0.5  # the first frame, the clip's background
    out = shift_time(x, 0.25)
    loud = out[:, 0, 0].argmax(dim=1)
    shift = loud - 20
    assert shift.abs().max() <= 10 and (shift > 0).any()
    for i in torch.nonzero(shift > 0).flatten().tolist():
        assert (out[i, :, :, :int(shift[i]) + 1] == -0.5).all()  # the edge frame, repeated


def test_masks_silence_a_band_of_the_ratio_along_their_axis():
    torch.manual_seed(2)
    x = torch.rand(50, 1, 40, 60) + 2.0  # nothing at the floor yet
    time_masked = mask_band(x, 0.25, -1, SPECTROGRAM_FLOOR)
    frames = (time_masked == SPECTROGRAM_FLOOR).all(dim=2)[:, 0]  # (N, time): whole frames silenced
    assert frames.sum(dim=1).max() == 15 and frames.sum(dim=1).min() >= 8  # 15 frames, fewer at an edge
    assert torch.equal(time_masked[~(time_masked == SPECTROGRAM_FLOOR)], x[~(time_masked == SPECTROGRAM_FLOOR)])
    freq_masked = mask_band(x, 0.25, -2, SPECTROGRAM_FLOOR)
    bins = (freq_masked == SPECTROGRAM_FLOOR).all(dim=3)[:, 0]
    assert bins.sum(dim=1).max() == 10 and (freq_masked == SPECTROGRAM_FLOOR).sum() == bins.sum() * 60


def test_gain_scales_each_waveform_by_one_factor_within_the_range():
    torch.manual_seed(3)
    x = torch.rand(200, 1, 50) + 0.5
    out = change_gain(x, 6.0, 0.2)
    factor = out / x
    assert torch.allclose(factor, factor[:, :, :1].expand_as(factor))
    db = 20 * torch.log10(factor[:, 0, 0])
    assert db.abs().max() <= 6.0 + 1e-4 and db.min() < -4 and db.max() > 4
    spec = torch.zeros(200, 1, 8, 8)
    level = change_gain(spec, 6.0, 0.2)[:, 0, 0, 0]
    assert level.abs().max() <= 0.2 and level.std() > 0.05


def test_policy_runs_each_transform_with_its_probability_and_passes_gradients():
    torch.manual_seed(4)
    aug = build_audio_augment(AudioAugmentConfig(policy="time_mask", p=0.5, time_mask_ratio=0.2))
    x = (torch.rand(2000, 1, 100) + 0.1).requires_grad_(True)
    out = aug(x)
    changed = (out == 0).any(dim=2)[:, 0].float().mean()
    assert 0.45 < changed < 0.55
    out.sum().backward()
    assert torch.equal(x.grad[:, 0].sum(dim=1) > 99, ~(out == 0).any(dim=2)[:, 0])  # masked samples: no gradient


def test_ada_raises_p_when_d_is_sure_of_the_real_clips():
    aug = build_audio_augment(AudioADAConfig(interval=1, ada_kimg=1.0, target=0.6))
    assert aug.p == 0.0
    for _ in range(5):
        aug.update(torch.ones(32))  # D calls every real clip real: overfitting
    assert aug.p == pytest.approx(5 * 32 / 1000)
    aug.update(-torch.ones(32))
    assert aug.p == pytest.approx(4 * 32 / 1000) and aug.rt == -1.0


def test_bad_augmentation_configs_say_which_key():
    with pytest.raises(ConfigError, match="unknown augmentation.*'pitch'"):
        build_audio_augment(AudioAugmentConfig(policy="shift,pitch"))
    with pytest.raises(ConfigError, match="augment.shift_ratio"):
        build_audio_augment(AudioAugmentConfig(shift_ratio=1.5))
    with pytest.raises(ConfigError, match="augment.gain_db"):
        build_audio_augment(AudioAugmentConfig(gain_db=-1.0))
    aug = build_audio_augment(AudioAugmentConfig(policy="freq_mask"))
    with pytest.raises(ConfigError, match="'freq_mask' needs spectrograms"):
        aug(torch.zeros(2, 1, 16384))


def _wav_folder(tmp_path):
    import numpy as np
    import soundfile as sf

    data = tmp_path / "wavs"
    data.mkdir()
    t = np.arange(16000) / 16000
    for i in range(4):
        sf.write(data / f"{i}.wav", (0.3 * np.sin(2 * np.pi * (200 + 100 * i) * t)).astype(np.float32), 16000)
    return str(data)


def _raw(tmp_path, model, augment):
    return {"modality": "audio", "out": str(tmp_path / "run"),
            "generator": {"name": model, "latent_dim": 8, "dim": 2}, "discriminator": {"name": model, "dim": 2},
            "dataset": {"name": "wav-folder", "path": _wav_folder(tmp_path)}, "augment": augment,
            "trainer": {"steps": 3, "batch_size": 2, "n_samples": 2, "eval_samples": 4, "progress": False}}


def test_specgan_trains_with_ada_and_its_state_is_checkpointed(tmp_path):
    from sparring.checkpoint import latest_checkpoint
    from sparring.config import resolve
    from sparring.registry import load_registry
    from sparring.train import Trainer

    registry = load_registry()
    augment = {"name": "audio-ada", "policy": "shift,time_mask,freq_mask,gain", "interval": 1, "ada_kimg": 0.01}
    trainer = Trainer(resolve(_raw(tmp_path, "specgan", augment), registry), registry)
    trainer.train()
    state = torch.load(latest_checkpoint(tmp_path / "run"), weights_only=True)["augment"]
    # interval 1: p moved after every D step by 2 clips / (0.01 * 1000), the counts reset
    assert state["calls"] == 3 and state["images"] == 0 and state["sign_count"] == 0
    assert round(state["p"] / 0.2, 6) in (0.0, 1.0, 2.0, 3.0) and state["rt"] in (-1.0, 0.0, 1.0)
    assert trainer.augment.ops == ["shift", "time_mask", "freq_mask", "gain"]


def test_a_frequency_mask_on_waveforms_is_refused_before_training(tmp_path):
    from sparring.config import resolve
    from sparring.registry import load_registry
    from sparring.train import Trainer

    registry = load_registry()
    raw = _raw(tmp_path, "wavegan", {"name": "audio-diffaugment", "policy": "shift, freq_mask"})
    with pytest.raises(ConfigError, match="'freq_mask' needs spectrograms, and wav-folder gives waveforms"):
        Trainer(resolve(raw, registry), registry)
    assert not (tmp_path / "run" / "checkpoints").exists()
