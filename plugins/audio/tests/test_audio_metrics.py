import math

import numpy as np
import pytest
import soundfile as sf
import torch

from sparring_audio import audio_metrics, audio_writers, spoken_digits
from sparring_audio.configs import DigitClassifierConfig

TINY = DigitClassifierConfig(width=4, feature_dim=16, epochs=5, batch_size=32, lr=1e-2)


def tones(labels, seed=0):
    """Class d: a tone at 300 * (d + 1) Hz at a random offset, like a word in a clip."""
    g = np.random.default_rng(seed)
    t = np.arange(6000) / 16000
    clips = np.zeros((len(labels), 16384), np.float32)
    for i, d in enumerate(labels):
        start = g.integers(0, 16384 - 6000)
        clips[i, start:start + 6000] = 0.5 * np.sin(2 * np.pi * 300 * (d + 1) * t + g.uniform(0, 6))
    return clips


@pytest.fixture
def fake_digits():
    """A stand-in for the espeak-ng set at the default path: 20 tones per digit."""
    labels = np.repeat(np.arange(10), 20)
    path = spoken_digits.default_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, clips=np.round(tones(labels) * 32767).astype(np.int16), labels=labels)
    return torch.from_numpy(tones(labels, seed=1)).unsqueeze(1), torch.from_numpy(labels)


def test_inception_score_known_values():
    assert audio_metrics.inception_score(torch.eye(10)) == pytest.approx(10.0)
    assert audio_metrics.inception_score(torch.full((50, 10), 0.1)) == pytest.approx(1.0)
    one_class = torch.zeros(50, 10)
    one_class[:, 3] = 1
    assert audio_metrics.inception_score(one_class) == pytest.approx(1.0)
    half = torch.eye(10)[[0, 1] * 5]
    assert audio_metrics.inception_score(half) == pytest.approx(2.0)


def test_inception_score_splits_into_classes_covered_over_doubt():
    assert audio_metrics.inception_parts(torch.eye(10)) == pytest.approx((10.0, 1.0))
    assert audio_metrics.inception_parts(torch.full((50, 10), 0.1)) == pytest.approx((10.0, 10.0))
    two_clear = torch.eye(10)[[0, 1] * 5]
    assert audio_metrics.inception_parts(two_clear) == pytest.approx((2.0, 1.0))
    # each sample torn between two digits, all ten digits covered: score 10 / 2 = 5
    torn = (torch.eye(10) + torch.eye(10).roll(1, dims=1)) / 2
    assert audio_metrics.inception_parts(torn) == pytest.approx((10.0, 2.0))
    probs = torch.softmax(torch.randn(200, 10, generator=torch.Generator().manual_seed(0)) * 3, dim=1)
    classes, doubt = audio_metrics.inception_parts(probs)
    assert 1.0 < doubt < classes <= 10.0
    kl = (probs * (probs.log() - probs.mean(0, keepdim=True).log())).sum(1).mean()
    assert audio_metrics.inception_score(probs) == pytest.approx(classes / doubt)
    assert classes / doubt == pytest.approx(float(torch.exp(kl)), rel=1e-5)  # the score's own definition


def test_class_breakdown_says_which_classes_and_how_clear():
    probs = torch.tensor([[0.9, 0.1, 0.0], [0.7, 0.2, 0.1], [0.2, 0.2, 0.6], [0.5, 0.3, 0.2]])
    out = audio_metrics.class_breakdown(probs)
    assert out["shares"] == pytest.approx([0.75, 0.0, 0.25])
    assert out["confidence"][0] == pytest.approx((0.9 + 0.7 + 0.5) / 3)
    assert math.isnan(out["confidence"][1])  # no sample is most likely a 1
    assert out["confidence"][2] == pytest.approx(0.6)


def test_digit_breakdown_finds_the_repeated_digit(fake_digits):
    waves, labels = fake_digits
    out = audio_metrics.digit_breakdown(waves[labels == 4][:10].repeat(3, 1, 1), cfg=TINY)
    assert max(out["shares"]) == out["shares"][4] > 0.8
    assert sum(out["shares"]) == pytest.approx(1.0)
    assert out["confidence"][4] > 0.3


def test_digit_score_separates_real_from_collapsed(fake_digits):
    waves, labels = fake_digits
    real = audio_metrics.digit_metrics(waves[::2], waves[1::2], cfg=TINY)
    assert real["classifier_acc"] > 0.8
    assert real["digit_is"] > 2.0  # a tiny, briefly trained classifier is not confident
    collapsed = waves[labels == 4][:10].repeat(10, 1, 1)
    bad = audio_metrics.digit_metrics(collapsed, waves[1::2], cfg=TINY)
    assert bad["digit_is"] < 0.6 * real["digit_is"] and bad["digit_fd"] > 3 * real["digit_fd"]
    assert bad["digit_classes"] < 0.6 * real["digit_classes"]  # one digit repeated covers few classes
    for r in (real, bad):
        assert r["digit_is"] == pytest.approx(r["digit_classes"] / r["digit_doubt"])
    # cached: the second load does not train again and gives the same model
    model_a, _ = audio_metrics.load_classifier(TINY)
    audio_metrics._LOADED.clear()
    model_b, _ = audio_metrics.load_classifier(TINY)
    assert torch.equal(model_a.head.weight, model_b.head.weight)


def test_digit_agreement_counts_clips_heard_as_the_digit_asked(fake_digits):
    waves, labels = fake_digits
    right = audio_metrics.digit_agreement(waves, labels, cfg=TINY)
    assert right["agreement"] > 0.8 and min(right["by_digit"]) > 0.5
    wrong = audio_metrics.digit_agreement(waves, (labels + 5) % 10, cfg=TINY)  # every clip asked for another digit
    assert wrong["agreement"] < 0.1
    only_three = audio_metrics.digit_agreement(waves[labels == 3], labels[labels == 3], cfg=TINY)
    assert only_three["agreement"] == pytest.approx(only_three["by_digit"][3])
    assert all(math.isnan(v) for d, v in enumerate(only_three["by_digit"]) if d != 3)
    with pytest.raises(ValueError, match="3 labels for 200 clips"):
        audio_metrics.digit_agreement(waves, labels[:3], cfg=TINY)


def test_mel_fd_is_zero_for_identical_sets_and_grows_with_difference():
    real = torch.from_numpy(tones(np.arange(40) % 10)).unsqueeze(1)
    same = audio_metrics.mel_metrics(real, real)["mel_fd"]
    noise = audio_metrics.mel_metrics(0.3 * torch.randn_like(real), real)["mel_fd"]
    other = audio_metrics.mel_metrics(torch.from_numpy(tones(np.arange(40) % 10, seed=5)).unsqueeze(1), real)
    assert abs(same) < 1e-3 and noise > 10 * other["mel_fd"] > 0


def test_wav_writer_round_trips_samples(tmp_path):
    x = torch.from_numpy(tones([0, 7])).unsqueeze(1) * 1.5  # peaks of 0.75
    paths = audio_writers.write_wav_and_png(x, tmp_path / "s")
    assert [p.name for p in paths] == ["s.png", "s_000.wav", "s_001.wav"]
    data, rate = sf.read(paths[2], dtype="float32")
    assert rate == 16000 and data.shape == (16384,)
    assert np.abs(data - x[1, 0].numpy()).max() < 1e-4
    from PIL import Image

    assert Image.open(paths[0]).mode == "RGB"
