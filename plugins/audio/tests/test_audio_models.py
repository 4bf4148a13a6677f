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


@pytest.mark.parametrize("G_cls,D_cls,G_cfg,D_cfg,shape", [
    (WaveGANGenerator, WaveGANDiscriminator, WaveGANGeneratorConfig, WaveGANDiscriminatorConfig, (1, 16384)),
    (SpecGANGenerator, SpecGANDiscriminator, SpecGANGeneratorConfig, SpecGANDiscriminatorConfig, (1, 128, 128))])
def test_conditional_models_read_the_label(G_cls, D_cls, G_cfg, D_cfg, shape):
    torch.manual_seed(0)
    info = DataInfo(shape, num_classes=10)
    G = G_cls(G_cfg(latent_dim=8, dim=4), info)  # at width 2 WaveGAN's ReLUs start all off
    z = torch.randn(1, 8).expand(2, 8)
    x = G(z, torch.tensor([3, 7]))
    assert x.shape == (2, *shape) and not torch.equal(x[0], x[1])  # one z, two digits
    first = G.fc(G.code(z, torch.tensor([3, 7])))  # untrained, the label shows most before the convolutions
    assert (first[0] - first[1]).abs().max() > 0.1
    D = D_cls(D_cfg(dim=2), info).eval()
    clip = x[:1].detach().expand(2, *shape)
    assert not torch.allclose(D(clip, torch.tensor([3, 7]))[0], D(clip, torch.tensor([3, 7]))[1])
    with torch.no_grad():  # the linear head off, D's logit is the projection alone
        D.fc.weight.zero_()
        D.fc.bias.zero_()
        summed = D.net(clip[:1]).flatten(2).sum(2)
        assert torch.allclose(D(clip[:1], torch.tensor([7])), (D.embed.weight[7] * summed).sum(1), rtol=1e-4)
    with pytest.raises(ValueError, match="class-conditional: pass labels y"):
        G(z, None)


@pytest.mark.parametrize("G_cls,G_cfg,shape", [(WaveGANGenerator, WaveGANGeneratorConfig, (1, 16384)),
                                               (SpecGANGenerator, SpecGANGeneratorConfig, (1, 128, 128))])
def test_class_gains_start_as_identity_and_bend_each_layer_by_class(G_cls, G_cfg, shape):
    torch.manual_seed(0)
    info = DataInfo(shape, num_classes=10)
    G = G_cls(G_cfg(latent_dim=8, dim=4), info)
    plain = G_cls(G_cfg(latent_dim=8, dim=4, class_gains=False), info)
    assert [g.gain.num_embeddings for g in G.gains] == [10] * 5
    assert [g.gain.embedding_dim for g in G.gains] == [64, 32, 16, 8, 4]  # each layer's input channels
    assert plain.gains is None
    plain.load_state_dict({k: v for k, v in G.state_dict().items() if not k.startswith("gains.")})
    z, y = torch.randn(3, 8), torch.tensor([0, 4, 9])
    with torch.no_grad():
        assert torch.allclose(G(z, y), plain(z, y))  # zero gains and biases: the input code alone
        G.gains[2].gain.weight[4].fill_(1.0)  # double layer 2's input for class 4 only
        G.gains[3].bias.weight[9].fill_(0.5)
        # by hand: the same layers, the second sample's (class 4) input to layer 2 doubled
        # and the third sample's (class 9) input to layer 3 shifted
        layers = list(plain.net)
        h = plain.fc(plain.code(z, y)).view(3, plain.first, *plain.grid)
        for i in range(5):
            if i == 2:
                h = h * torch.tensor([1.0, 2.0, 1.0]).view(3, *([1] * (h.dim() - 1)))
            if i == 3:
                h = h + torch.tensor([0.0, 0.0, 0.5]).view(3, *([1] * (h.dim() - 1)))
            h = layers[2 * i + 1](layers[2 * i](h))
        assert torch.allclose(G(z, y), layers[-1](h), atol=1e-6)


def test_unconditional_models_keep_their_parameter_names():
    # checkpoints written before the -cond models existed must still load
    info = DataInfo((1, 128, 128))
    G = SpecGANGenerator(SpecGANGeneratorConfig(latent_dim=8, dim=2), info)
    D = SpecGANDiscriminator(SpecGANDiscriminatorConfig(dim=2), info)
    assert {k for k in G.state_dict() if not k.startswith("net.")} == {"fc.weight", "fc.bias"}
    assert {k for k in D.state_dict() if not k.startswith("net.")} == {"fc.weight", "fc.bias"}


def _labelled_wavs(root):
    import numpy as np
    import soundfile as sf

    t = np.arange(16000) / 16000
    for name, base in (("low", 200), ("high", 900)):
        (root / name).mkdir(parents=True)
        for i in range(3):
            sf.write(root / name / f"{i}.wav", (0.3 * np.sin(2 * np.pi * (base + 20 * i) * t)).astype(np.float32),
                     16000)
    return root


def _cond_raw(tmp_path, generator, discriminator, labels=True):
    return {"modality": "audio", "out": str(tmp_path / "run"),
            "generator": {"name": generator, "latent_dim": 8, "dim": 2},
            "discriminator": {"name": discriminator, "dim": 2},
            "dataset": {"name": "wav-folder", "path": str(_labelled_wavs(tmp_path / "wavs")), "labels": labels},
            "trainer": {"steps": 2, "batch_size": 4, "n_samples": 2, "eval_samples": 4, "progress": False,
                        "loss": "ns", "regularizer": "r1", "reg_interval": 1}}


def test_specgan_cond_trains_on_labelled_folders(tmp_path):
    registry = load_registry()
    trainer = Trainer(resolve(_cond_raw(tmp_path, "specgan-cond", "specgan-cond"), registry), registry)
    assert trainer.num_classes == 2 and trainer.G.code.embed.num_embeddings == 2
    before = trainer.D.embed.weight.detach().clone()
    trainer.train()
    assert not torch.equal(trainer.D.embed.weight, before)  # the projection learns
    assert any(g.gain.weight.abs().sum() > 0 for g in trainer.G.gains)  # and so do G's class gains
    names = sorted(p.name for p in (tmp_path / "run" / "samples").iterdir())
    assert names == ["step_0000002.png", "step_0000002_000.wav", "step_0000002_001.wav"]


@pytest.mark.parametrize("generator,discriminator,labels", [("specgan-cond", "specgan", True),
                                                            ("specgan-cond", "specgan-cond", False)])
def test_a_cond_model_without_conditional_training_is_a_config_error(tmp_path, generator, discriminator, labels):
    registry = load_registry()
    with pytest.raises(ConfigError, match=r"'SpecGANGenerator' \(a -cond model\) is class-conditional"):
        Trainer(resolve(_cond_raw(tmp_path, generator, discriminator, labels), registry), registry)
