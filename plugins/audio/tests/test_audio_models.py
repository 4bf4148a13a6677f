import pytest
import torch

from sparring.config import resolve
from sparring.errors import ConfigError
from sparring.registry import load_registry
from sparring.specs import DataInfo
from sparring.train import Trainer
from sparring_audio.audio_models import (PhaseShuffle, SpecGANDiscriminator, SpecGANGenerator,
                                         WaveGANDiscriminator, WaveGANGenerator)
from sparring_audio.configs import (SpecGANDiscriminatorConfig, SpecGANGeneratorConfig,
                                    WaveGANDiscriminatorConfig, WaveGANGeneratorConfig)


def test_wavegan_shapes_and_packing():
    G = WaveGANGenerator(WaveGANGeneratorConfig(latent_dim=8, dim=2), DataInfo((1, 16384)))
    x = G(torch.randn(3, 8))
    assert x.shape == (3, 1, 16384) and x.abs().max() <= 1
    D = WaveGANDiscriminator(WaveGANDiscriminatorConfig(dim=2), DataInfo((1, 16384), pack=2))
    assert D(torch.cat([x[:2], x[1:]], 1)).shape == (2,)
    with pytest.raises(ConfigError, match=r"wavegan needs samples shaped \(1, 16384\), got \(1, 128, 128\)"):
        WaveGANGenerator(WaveGANGeneratorConfig(dim=2), DataInfo((1, 128, 128)))
    with pytest.raises(ConfigError, match=r"generator\.kernel must be odd.*got 24"):
        WaveGANGenerator(WaveGANGeneratorConfig(dim=2, kernel=24), DataInfo((1, 16384)))


def test_specgan_shapes():
    G = SpecGANGenerator(SpecGANGeneratorConfig(latent_dim=8, dim=2), DataInfo((1, 128, 128)))
    x = G(torch.randn(2, 8))
    assert x.shape == (2, 1, 128, 128)
    assert SpecGANDiscriminator(SpecGANDiscriminatorConfig(dim=2), DataInfo((1, 128, 128)))(x).shape == (2,)


@pytest.mark.parametrize("make", [
    lambda: WaveGANDiscriminator(WaveGANDiscriminatorConfig(dim=2, minibatch_std=True), DataInfo((1, 16384))),
    lambda: SpecGANDiscriminator(SpecGANDiscriminatorConfig(dim=2, minibatch_std=True), DataInfo((1, 128, 128)))])
def test_minibatch_std_lets_d_see_a_batch_of_alike_clips(make):
    torch.manual_seed(0)
    D = make().eval()  # eval: phase shuffle off, so alike clips give alike features
    assert D.fc.in_features == 32 * 16 + 1  # dim 2: 16 * 2 channels by 16 steps (or 4x4)
    shape = (6, 1, 16384) if isinstance(D, WaveGANDiscriminator) else (6, 1, 128, 128)
    same = torch.randn(1, *shape[1:]).expand(shape).contiguous()
    varied = torch.randn(shape)
    with torch.no_grad():
        D.fc.weight.zero_()
        D.fc.weight[0, -1] = 1.0  # the head reads only the spread
        D.fc.bias.zero_()
        assert torch.allclose(D(same), torch.full((6,), 1e-4), atol=1e-6)
        spread = D(varied)
    assert (spread > 1e-3).all() and torch.allclose(spread, spread[:1].expand(6))  # one number per batch


def test_phase_shuffle_shifts_within_bounds_and_is_off_in_eval():
    ps = PhaseShuffle(2)
    x = torch.arange(20.0).repeat(64, 3, 1)
    y = ps(x)
    shifts = (y[:, 0, 10] - x[:, 0, 10]).unique().tolist()
    assert set(shifts) <= {-2.0, -1.0, 0.0, 1.0, 2.0} and len(shifts) >= 3
    assert torch.equal(y[:, 0], y[:, 2])  # one shift per sample, all channels alike
    assert y[0, 0, 0] in (0.0, 1.0, 2.0)  # reflect padding, never zeros from outside
    ps.eval()
    assert torch.equal(ps(x), x)


# mbstd: D's minibatch deviation, with R1 on the reals (its gradient crosses the batch)
@pytest.mark.parametrize("model,item,channels_last,pack,mbstd", [("wavegan", (1, 16384), "no", 1, False),
                                                                ("wavegan", (1, 16384), "no", 2, False),
                                                                ("specgan", (1, 128, 128), "no", 2, False),
                                                                ("specgan", (1, 128, 128), "yes", 1, False),
                                                                ("specgan", (1, 128, 128), "no", 2, True)])
def test_a_few_training_steps(tmp_path, model, item, channels_last, pack, mbstd):
    import numpy as np
    import soundfile as sf

    data = tmp_path / "wavs"
    data.mkdir()
    for i in range(4):
        t = np.arange(16000) / 16000
        sf.write(data / f"{i}.wav", (0.3 * np.sin(2 * np.pi * (200 + 100 * i) * t)).astype(np.float32), 16000)
    registry = load_registry()
    raw = {"modality": "audio", "out": str(tmp_path / "run"),
           "generator": {"name": model, "latent_dim": 8, "dim": 2},
           "discriminator": {"name": model, "dim": 2, "minibatch_std": mbstd},
           "dataset": {"name": "wav-folder", "path": str(data)},
           "trainer": {"steps": 2, "batch_size": 2 * pack, "n_samples": 2, "eval_samples": 4, "progress": False,
                       "channels_last": channels_last, "pack": pack}}
    if mbstd:
        raw["trainer"].update(loss="ns", regularizer="r1", reg_interval=1)
    trainer = Trainer(resolve(raw, registry), registry)
    assert trainer.D.fc.in_features == 32 * 16 + mbstd
    assert trainer.dataset.tensors[0].shape[1:] == item  # "auto" picked the representation
    metrics = trainer.train()
    assert set(metrics) == {"mel_fd"} and metrics["mel_fd"] > 0
    names = sorted(p.name for p in (tmp_path / "run" / "samples").iterdir())
    assert names == ["step_0000002.png", "step_0000002_000.wav", "step_0000002_001.wav"]
    assert 'representation = "' + ("spectrogram" if model == "specgan" else "waveform") in \
        (tmp_path / "run" / "config.toml").read_text()
