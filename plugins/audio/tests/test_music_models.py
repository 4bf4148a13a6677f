import json

import numpy as np
import pytest
import torch

from sparring.config import resolve
from sparring.errors import ConfigError
from sparring.losses import feature_matching_loss
from sparring.registry import load_registry
from sparring.specs import DataInfo
from sparring.train import Trainer
from sparring_audio import music_writers, pianoroll
from sparring_audio.configs import MuseGANDiscriminatorConfig, MuseGANGeneratorConfig
from sparring_audio.music_models import MuseGANDiscriminator, MuseGANGenerator

TINY_G = MuseGANGeneratorConfig(latent_per_part=4, channels=32)
TINY_D = MuseGANDiscriminatorConfig(channels=8)


def test_shapes_latent_split_and_packing():
    info = DataInfo((4, 64, 48))
    G, D = MuseGANGenerator(TINY_G, info), MuseGANDiscriminator(TINY_D, info)
    assert G.latent_dim == 10 * 4
    x = G(torch.randn(3, G.latent_dim))
    assert x.shape == (3, 4, 64, 48) and set(x.unique().tolist()) == {-1.0, 1.0}
    x.sum().backward()  # straight-through: the binary output still passes gradients
    assert G.project[0].weight.grad.abs().sum() > 0
    soft = MuseGANGenerator(MuseGANGeneratorConfig(latent_per_part=4, channels=32, binarize=False), info)
    assert len(soft(torch.randn(3, soft.latent_dim)).unique()) > 2
    assert D(x).shape == (3,)
    packed = MuseGANDiscriminator(TINY_D, DataInfo((4, 64, 48), pack=2))  # one sample's shape
    assert packed(torch.cat([x[:2], x[1:]], 1)).shape == (2,)
    with pytest.raises(ConfigError, match=r"steps \(60\) a multiple of steps_per_bar"):
        MuseGANGenerator(TINY_G, DataInfo((4, 60, 48)))


@pytest.mark.parametrize("channels_last", [False, True])
def test_monophonic_tracks_play_one_pitch_or_rest_per_step(channels_last):
    info = DataInfo((4, 32, 24))
    G = MuseGANGenerator(MuseGANGeneratorConfig(latent_per_part=4, channels=32, monophonic=True), info)
    if channels_last:
        G = G.to(memory_format=torch.channels_last)
    x = G(torch.randn(16, G.latent_dim))
    assert x.shape == (16, 4, 32, 24) and set(x.unique().tolist()) == {-1.0, 1.0}
    assert (x > 0).sum(-1).max() == 1  # at most one pitch per track and step
    (x * torch.randn_like(x)).sum().backward()  # straight-through: the softmax's gradient
    assert G.rest.weight.grad.abs().sum() > 0 and G.project[0].weight.grad.abs().sum() > 0
    assert MuseGANDiscriminator(TINY_D, info)(x).shape == (16,)
    with torch.no_grad():
        G.rest.bias.fill_(100.0)  # the rest wins everywhere: silence
    assert (G(torch.randn(2, G.latent_dim)) == -1).all()


def test_note_grid_holds_each_choice_over_its_steps():
    info = DataInfo((4, 32, 24))
    cfg = MuseGANGeneratorConfig(latent_per_part=4, channels=32, monophonic=True, note_grid=2)
    G = MuseGANGenerator(cfg, info)
    x = G(torch.randn(16, G.latent_dim))
    assert x.shape == (16, 4, 32, 24) and (x > 0).sum(-1).max() == 1
    assert torch.equal(x[:, :, 0::2], x[:, :, 1::2])  # steps 2k and 2k+1 always agree
    assert not torch.equal(x[:, :, 1:-1:2], x[:, :, 2::2])  # but notes still change on the grid
    (x * torch.randn_like(x)).sum().backward()
    assert G.rest.weight.grad.abs().sum() > 0 and G.project[0].weight.grad.abs().sum() > 0
    with pytest.raises(ConfigError, match="note_grid must be a positive divisor of steps_per_bar"):
        MuseGANGenerator(MuseGANGeneratorConfig(latent_per_part=4, channels=32, monophonic=True, note_grid=3), info)
    with pytest.raises(ConfigError, match="note_grid > 1 needs generator.monophonic"):
        MuseGANGenerator(MuseGANGeneratorConfig(latent_per_part=4, channels=32, note_grid=2), info)


def _held_and_changing(b=4):
    """A phrase whose soprano holds one pitch throughout, and the same with that pitch
    changing every step: equal per-beat pitch content, different note lengths."""
    held = -torch.ones(b, 4, 32, 24)
    held[:, 0, :, 12] = 1.0
    moving = -torch.ones(b, 4, 32, 24)
    moving[:, 0, 0::2, 12] = 1.0
    moving[:, 0, 1::2, 13] = 1.0
    return held, moving


def test_onset_stream_counts_note_changes():
    info = DataInfo((4, 32, 24))
    torch.manual_seed(0)
    D = MuseGANDiscriminator(MuseGANDiscriminatorConfig(channels=8, onset_stream=True), info)
    assert D.merge[0].in_channels == 4 * 4 * 4  # four streams of tracks x channels / 2
    captured = []
    D.onsets.register_forward_hook(lambda m, args, out: captured.append(args[0]))
    held, moving = _held_and_changing()
    D(held), D(moving)
    held_changes, moving_changes = captured
    assert held_changes.shape == (4, 4, 32, 1)
    assert held_changes.sum() == 0  # one note held: nothing turns on or off after the first step
    assert torch.equal(moving_changes[0, 0, 1:, 0], torch.full((31,), 2.0))  # one pitch off, one on
    assert moving_changes[:, 1:].sum() == 0  # the silent voices never change
    x = torch.randn(3, 4, 32, 24, requires_grad=True)
    D(x).sum().backward()
    assert x.grad.abs().sum() > 0 and D.onsets[0].weight.grad.abs().sum() > 0
    plain = MuseGANDiscriminator(TINY_D, info)
    assert plain.onsets is None and plain.merge[0].in_channels == 3 * 4 * 4


def test_voices_stream_sees_a_rest_of_all_voices_apart_per_packed_phrase():
    info = DataInfo((4, 32, 24), pack=2)
    torch.manual_seed(0)
    D = MuseGANDiscriminator(MuseGANDiscriminatorConfig(channels=8, voices_stream=True), info)
    assert D.merge[0].in_channels == 3 * 8 * 4 + 2 * 4  # three streams of 8 tracks, voices of 2 phrases
    captured = []
    D.voices.register_forward_hook(lambda m, args, out: captured.append(args[0]))
    x = -torch.ones(1, 8, 32, 24)
    x[:, :, :, 5] = 1.0          # every voice of both phrases sounds...
    x[:, 0:4, 10] = -1.0         # ...but phrase 0 rests all together at step 10
    x[:, 4, 20] = -1.0           # and phrase 1's first voice alone rests at step 20
    x.requires_grad_(True)
    D(x).sum().backward()
    v = captured[0][0, :, :, 0]  # (phrase 0 share, phrase 0 tutti, phrase 1 share, phrase 1 tutti) x steps
    assert v[0, 10] == 0 and v[1, 10] == 1 and v[1].sum() == 1
    assert v[2, 20] == 0.75 and v[3].sum() == 0 and v[2, :20].eq(1).all()
    assert x.grad[:, :, 10].abs().sum() > 0 and D.voices[0].weight.grad.abs().sum() > 0
    assert MuseGANDiscriminator(TINY_D, info).voices is None


def test_batch_rests_reads_the_batch_share_of_sound_and_of_tutti_rests():
    info = DataInfo((4, 32, 24), pack=2)
    torch.manual_seed(0)
    D = MuseGANDiscriminator(MuseGANDiscriminatorConfig(channels=8, batch_rests=True), info)
    assert D.head.in_features == 8 * 8 + 2
    x = -torch.ones(3, 8, 32, 24)
    x[:, :, :, 7] = 1.0                  # every voice of every phrase sounds...
    x[0, 0:4, 0:8] = -1.0                # ...but group 0's first phrase rests all together for 8 steps
    x[1, 4:8, 8:32] = -1.0               # and group 1's second phrase, for its last 24 steps...
    x[1, 4, 8:32, 3] = 1.0               # ...all but its first voice
    with torch.no_grad():
        D.head.weight.zero_()
        D.head.weight[0, -2:] = torch.tensor([1.0, 10.0])  # the head reads only the batch's rests
        D.head.bias.zero_()
    sounding = 100 * (6 * 32 - 8 - 24 * 0.75) / (6 * 32)  # in percent
    tutti = 100 * 8 / (6 * 32)
    assert torch.allclose(D(x), torch.full((3,), sounding + 10 * tutti))  # one number per batch
    x.requires_grad_(True)
    D(x).sum().backward()
    assert x.grad.abs().sum() > 0  # G can move the batch's share of sound...
    assert (x.grad[2, :, 0, 7] != 0).all()  # ...from the steps where its voices sound, too
    assert MuseGANDiscriminator(TINY_D, info).head.in_features == 8 * 8


def test_rest_features_give_the_batch_rate_of_tutti_rests_with_gradient_to_every_gate():
    info = DataInfo((4, 32, 24), pack=2)
    torch.manual_seed(0)
    D = MuseGANDiscriminator(MuseGANDiscriminatorConfig(channels=8, rest_features=True), info)
    x = -torch.ones(3, 8, 32, 24)
    x[:, :, :, 7] = 1.0                  # every voice of every phrase sounds...
    x[0, 0:4, 0:8] = -1.0                # ...but group 0's first phrase rests all together for 8 steps
    x[1, 4:8, 8:32] = -1.0               # and group 1's second phrase, for its last 24 steps...
    x[1, 4, 8:32, 3] = 1.0               # ...all but its first voice
    x.requires_grad_(True)
    out = D(x)
    assert out.logits.shape == (3,)
    (rates,) = out.features
    tutti = 100 * 8 / (6 * 32)        # one voice sounding is no tutti rest
    assert torch.allclose(rates, torch.full((3, 1), tutti))
    # one minus the loudest voice: where all four sound, every voice still gets the pull to rest
    rates[0, 0].backward()
    assert (x.grad[2, :, 0, 7] < 0).all()
    assert not isinstance(MuseGANDiscriminator(TINY_D, info)(x.detach()), tuple)


def test_matching_the_rest_features_opens_the_tutti_gate_toward_the_real_rate():
    info = DataInfo((4, 32, 24))
    torch.manual_seed(0)
    G = MuseGANGenerator(MuseGANGeneratorConfig(latent_per_part=4, channels=32, monophonic=True, note_grid=2,
                                                rest_gate=True, tutti_gate=True, open_voice_gates=True), info)
    D = MuseGANDiscriminator(MuseGANDiscriminatorConfig(channels=8, rest_features=True), info)
    real = -torch.ones(4, 4, 32, 24)
    real[:, :, :, 5] = 1.0
    real[:, :, 28:] = -1.0               # real phrases end on a tutti rest; G's open gates sound everywhere
    fake = G(torch.randn(4, G.latent_dim))
    (fake_rates,), (real_rates,) = D(fake).features, D(real).features
    assert fake_rates[0, 0] == 0 and real_rates[0, 0] == 100 * 4 / 32
    feature_matching_loss([real_rates], [fake_rates]).backward()
    assert G.tutti.bias.grad.item() < 0  # descending it raises the tutti rest logit


def test_minibatch_std_sees_a_batch_of_identical_phrases():
    info = DataInfo((4, 32, 24))
    torch.manual_seed(0)
    D = MuseGANDiscriminator(MuseGANDiscriminatorConfig(channels=8, minibatch_std=True), info)
    assert D.head.in_features == 8 * 8 + 1
    same = torch.randn(1, 4, 32, 24).expand(6, -1, -1, -1).contiguous()
    varied = torch.randn(6, 4, 32, 24)
    with torch.no_grad():
        D.head.weight.zero_()
        D.head.weight[0, -1] = 1.0  # the head reads only the spread
        D.head.bias.zero_()
    assert torch.allclose(D(same), torch.full((6,), 1e-4), atol=1e-6)  # sqrt(0 + 1e-8)
    spread = D(varied)
    assert (spread > 1e-3).all() and torch.allclose(spread, spread[:1].expand(6))  # one number per batch
    x = same.clone().requires_grad_(True)
    D(x).sum().backward()  # spread 0 still has a finite gradient
    assert torch.isfinite(x.grad).all()


def test_nearest_time_upsampling_and_a_bad_choice():
    info = DataInfo((4, 32, 24))
    G = MuseGANGenerator(MuseGANGeneratorConfig(latent_per_part=4, channels=32, time_upsample="nearest"), info)
    assert not any(isinstance(m, torch.nn.ConvTranspose2d) and m.stride[0] == 2 for m in G.modules())
    assert G(torch.randn(3, G.latent_dim)).shape == (3, 4, 32, 24)
    with pytest.raises(ConfigError, match="time_upsample must be 'transposed' or 'nearest', got 'cubic'"):
        MuseGANGenerator(MuseGANGeneratorConfig(latent_per_part=4, channels=32, time_upsample="cubic"), info)


def test_per_track_latent_changes_only_that_track():
    info = DataInfo((4, 32, 24))
    G = MuseGANGenerator(TINY_G, info).eval()
    z = torch.randn(2, G.latent_dim)
    z2 = z.clone()
    d = G.part
    z2[:, 2 * d + 3 * d:2 * d + 4 * d] += 1.0  # the bass's time-independent latent
    G.binarize = False
    a, b = G(z), G(z2)
    changed = (a - b).abs().flatten(2).amax(-1).amax(0)
    assert changed[3] > 1e-4 and changed[:3].max() == 0


# yes: the layout CUDA runs get by default; pack 2: D reads two phrases' tracks at once
# onset stream and minibatch std: BinaryMuseGAN's and ProGAN's extra D inputs, with R1 on the reals,
# and G's monophonic voices on an eighth-note grid with a hold choice (or a rest gate)
@pytest.mark.parametrize("channels_last,pack,extras", [("no", 1, ""), ("yes", 1, ""), ("no", 2, ""),
                                                        ("no", 2, "hold"), ("no", 1, "rest_gate"),
                                                        ("no", 1, "tutti_gate")])
def test_a_few_training_steps_write_midi_and_metrics(tmp_path, two_chorales, channels_last, pack, extras):
    registry = load_registry()
    raw = {"modality": "music", "out": str(tmp_path / "run"),
           "trainer": {"steps": 3, "batch_size": 4, "n_samples": 2, "eval_samples": 8, "log_every": 1,
                       "n_critic": 1, "progress": False, "channels_last": channels_last, "pack": pack},
           "generator": {"latent_per_part": 4, "channels": 32,
                         **({"monophonic": True, "note_grid": 2, extras: True} if extras else {}),
                         **({"rest_gate": True, "open_voice_gates": True} if extras == "tutti_gate" else {})},
           "discriminator": {"channels": 8, "onset_stream": bool(extras), "minibatch_std": bool(extras),
                             "voices_stream": extras == "tutti_gate", "batch_rests": extras == "tutti_gate",
                             "rest_features": extras == "tutti_gate"},
           "dataset": {"max_chorales": 2, "transpose": 1, "workers": 1}}
    if extras:
        raw["trainer"].update(loss="hinge", regularizer="r1", reg_interval=1)
    if extras == "tutti_gate":
        raw["trainer"].update(feature_matching=1.0)  # on the rest features
    trainer = Trainer(resolve(raw, registry), registry)
    assert trainer.config.trainer.regularizer == ("r1" if extras else "gp")  # gp: added for the Wasserstein loss
    metrics = trainer.train()
    assert {"empty_bars", "rest_bars", "used_pitch_classes", "qualified_notes", "polyphony", "in_scale",
            "tonal_distance", "gap"} <= set(metrics)
    samples = sorted(p.name for p in (tmp_path / "run" / "samples").iterdir())
    assert samples == ["step_0000003.png", "step_0000003_000.mid", "step_0000003_001.mid"]
    roll = pianoroll.midi_to_roll(tmp_path / "run" / "samples" / "step_0000003_000.mid", tracks=4)
    assert roll.shape[0] == 4
    records = [json.loads(x) for x in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert all(np.isfinite(r["d_loss"]) for r in records if "d_loss" in r)
    if extras == "tutti_gate":
        assert all(np.isfinite(r["feature_matching"]) for r in records if "d_loss" in r)


def test_writers_binarise_at_zero(tmp_path):
    x = -torch.ones(2, 4, 32, 48)
    x[0, 0, 0:8, 24] = 0.3     # C4 (36 + 24) for 8 steps in the soprano
    x[1, 3, 4:6, 0] = 1.0
    paths = music_writers.write_midi_and_png(x, tmp_path / "s")
    assert [p.name for p in paths] == ["s.png", "s_000.mid", "s_001.mid"]
    import pretty_midi

    notes = pretty_midi.PrettyMIDI(str(paths[1])).instruments[0].notes
    assert [(n.pitch, round(n.end - n.start, 3)) for n in notes] == [(60, round(8 * 0.15, 3))]
    assert pretty_midi.PrettyMIDI(str(paths[2])).instruments[0].notes[0].pitch == 36
    back = pianoroll.midi_to_roll(paths[2], tracks=4)  # silent voices keep their places
    assert back.shape == (4, 6, 128) and back[3, 4:6, 36].all() and back[:3].sum() == 0
    from PIL import Image

    assert Image.open(paths[0]).size[0] > 64


def test_hold_repeats_the_previous_note_and_its_logit_gets_a_gradient():
    from sparring_audio.music_models import _resolve_holds

    # Hand-made choices over 2 pitches, a rest and a hold: pitch 0, hold, hold, pitch 1, rest, hold.
    order = torch.tensor([0, 3, 3, 1, 2, 3])
    hard = torch.nn.functional.one_hot(order, 4).float()[None, None]
    sounding = _resolve_holds(hard)[0, 0].argmax(-1)
    assert sounding.tolist() == [0, 0, 0, 1, 2, 2]
    # Soft: half hold at step 1 gives half the previous note.
    soft = torch.tensor([[1.0, 0, 0, 0], [0, 0.5, 0, 0.5]])[None, None]
    assert torch.allclose(_resolve_holds(soft)[0, 0, 1], torch.tensor([0.5, 0.5, 0.0]))

    info = DataInfo((4, 32, 24))
    cfg = MuseGANGeneratorConfig(latent_per_part=4, channels=32, monophonic=True, note_grid=2, hold=True)
    G = MuseGANGenerator(cfg, info)
    with torch.no_grad():
        G.hold.bias.fill_(100.0)  # hold wins wherever it may: each voice keeps its first note
    x = G(torch.randn(8, G.latent_dim))
    assert x.shape == (8, 4, 32, 24) and (x > 0).sum(-1).max() <= 1
    assert torch.equal(x, x[:, :, :1].expand_as(x))
    with torch.no_grad():
        G.hold.bias.fill_(0.0)
    x = G(torch.randn(16, G.latent_dim))
    assert set(x.unique().tolist()) == {-1.0, 1.0} and (x > 0).sum(-1).max() == 1
    (x * torch.randn_like(x)).sum().backward()
    assert G.hold.weight.grad.abs().sum() > 0 and G.rest.weight.grad.abs().sum() > 0
    with pytest.raises(ConfigError, match="generator.hold needs generator.monophonic"):
        MuseGANGenerator(MuseGANGeneratorConfig(latent_per_part=4, channels=32, hold=True), info)


def test_rest_gate_stays_trainable_when_every_voice_rests():
    info = DataInfo((4, 32, 24))
    cfg = MuseGANGeneratorConfig(latent_per_part=4, channels=32, monophonic=True, note_grid=2, rest_gate=True)
    G = MuseGANGenerator(cfg, info)
    x = G(torch.randn(16, G.latent_dim))
    assert x.shape == (16, 4, 32, 24) and set(x.unique().tolist()) == {-1.0, 1.0}
    assert (x > 0).sum(-1).max() == 1 and torch.equal(x[:, :, 0::2], x[:, :, 1::2])  # eighth-note grid
    with torch.no_grad():
        G.rest.bias.fill_(100.0)  # every gate shut: all rests, where a softmax's rest would be dead
    x = G(torch.randn(8, G.latent_dim))
    assert (x == -1).all()
    # D asking for sound (a negative gradient on every pitch) must still reach the gate.
    (-x).sum().backward()
    assert G.rest.bias.grad is not None and (G.rest.bias.grad > 0).all()  # descent lowers the rest logit
    from sparring_audio.music_models import _gated_pitch

    logits = torch.tensor([[[[0.0, 2.0, 1.0]]]], requires_grad=True)
    rest = torch.tensor([[[30.0]]], requires_grad=True)  # far past the clamp: slope read at 4
    out = _gated_pitch(logits, rest)
    assert out.sum() == 0
    out[..., 1].sum().backward()
    slope = torch.sigmoid(torch.tensor(-4.0)) * torch.sigmoid(torch.tensor(4.0))
    assert torch.allclose(rest.grad, -slope.reshape(1, 1, 1))  # d(gate)/d(rest) at one-hot pitch 1
    with pytest.raises(ConfigError, match="generator.rest_gate needs generator.monophonic = true"):
        MuseGANGenerator(MuseGANGeneratorConfig(latent_per_part=4, channels=32, rest_gate=True), info)
    with pytest.raises(ConfigError, match="generator.rest_gate needs"):
        MuseGANGenerator(MuseGANGeneratorConfig(latent_per_part=4, channels=32, monophonic=True, hold=True,
                                                rest_gate=True), info)


def test_tutti_gate_rests_every_voice_at_once_and_learns_from_each():
    info = DataInfo((4, 32, 24))
    cfg = MuseGANGeneratorConfig(latent_per_part=4, channels=32, monophonic=True, note_grid=2, rest_gate=True,
                                 tutti_gate=True)
    G = MuseGANGenerator(cfg, info)
    z = torch.randn(8, G.latent_dim)
    with torch.no_grad():
        G.rest.bias.fill_(-100.0)  # every voice's own gate open
    assert ((G(z) > 0).sum(-1) == 1).all()  # the shared gate starts open: every voice sounds
    with torch.no_grad():
        G.tutti.bias.fill_(100.0)
    x = G(z)
    assert (x == -1).all()  # the shared gate shut: all four voices rest together
    (-x).sum().backward()  # D asking every voice for sound reaches the shared gate
    assert G.tutti.bias.grad > 0 and G.tutti.weight.grad.abs().sum() > 0
    from sparring_audio.music_models import _gated_pitch

    pitch = torch.tensor([[[[0.0, 2.0]], [[3.0, 1.0]]]], requires_grad=True)  # (1, 2 voices, 1 cell, 2)
    own = torch.tensor([[[-1.0], [2.0]]], requires_grad=True)  # voice 0 sounds, voice 1 rests
    tutti = torch.tensor([[-30.0]], requires_grad=True)  # shared gate open, far past the clamp
    out = _gated_pitch(pitch, own, tutti)
    assert out.tolist() == [[[[0.0, 1.0]], [[0.0, 0.0]]]]
    out[:, 0, :, 1].sum().backward()
    slope = torch.sigmoid(torch.tensor(-4.0)) * torch.sigmoid(torch.tensor(4.0))
    assert torch.allclose(tutti.grad, -slope.reshape(1, 1))  # voice 0's sound, through the shared gate
    assert own.grad[0, 1, 0] == 0  # voice 1 took no part in the output asked for
    from sparring_audio.music_models import _within_reach

    x = torch.tensor([-9.0, -9.0, 0.5, 9.0, 9.0], requires_grad=True)
    _within_reach(x).backward(torch.tensor([1.0, -1.0, 1.0, 1.0, -1.0]))
    # past -4 a push further down (grad > 0) is dropped, a pull back up kept; inside, all kept
    assert x.grad.tolist() == [0.0, -1.0, 1.0, 1.0, 0.0]
    with pytest.raises(ConfigError, match="generator.tutti_gate needs generator.rest_gate = true"):
        MuseGANGenerator(MuseGANGeneratorConfig(latent_per_part=4, channels=32, monophonic=True,
                                                tutti_gate=True), info)


def test_open_voice_gates_sound_everywhere_at_first_and_stay_within_reach():
    info = DataInfo((4, 32, 24))
    cfg = MuseGANGeneratorConfig(latent_per_part=4, channels=32, monophonic=True, note_grid=2, rest_gate=True)
    z = torch.randn(64, MuseGANGenerator(cfg, info).latent_dim)
    torch.manual_seed(0)
    x = MuseGANGenerator(cfg, info)(z)
    assert ((x > 0).sum(-1) == 0).float().mean() > 0.05  # a random gate rests a good share of the steps
    torch.manual_seed(0)
    G = MuseGANGenerator(MuseGANGeneratorConfig(**{**vars(cfg), "open_voice_gates": True}), info)
    x = G(z)
    assert ((x > 0).sum(-1) == 1).all()  # every voice sounds at every step
    (-x).sum().backward()  # D asking for sound: the gate reads nothing yet, but learns to
    assert (G.rest.bias.grad > 0).all() and G.rest.weight.grad.abs().sum() > 0
    with torch.no_grad():
        G.rest.bias.fill_(-9.0)  # open far past the bound: a further push toward sound is dropped
    G.zero_grad()
    (-G(z)).sum().backward()
    assert (G.rest.bias.grad == 0).all() and G.rest.weight.grad.abs().sum() == 0
    G.zero_grad()
    G(z).sum().backward()  # ... and a pull back toward rest is kept
    assert (G.rest.bias.grad < 0).all()
    with pytest.raises(ConfigError, match="generator.open_voice_gates needs generator.rest_gate = true"):
        MuseGANGenerator(MuseGANGeneratorConfig(latent_per_part=4, channels=32, monophonic=True,
                                                open_voice_gates=True), info)


def test_imle_view_of_rests_keeps_which_voices_sound_and_pulls_only_the_gates():
    info = DataInfo((4, 32, 24))
    cfg = MuseGANGeneratorConfig(latent_per_part=4, channels=32, monophonic=True, note_grid=2, rest_gate=True,
                                 tutti_gate=True, imle_view="rests")
    G = MuseGANGenerator(cfg, info)
    roll = -torch.ones(2, 4, 32, 24)
    roll[0, 1, 5, 7] = roll[1, 3, 0, 0] = 1.0  # one note each; everything else rests
    view = G.imle_view(roll)
    assert view.shape == (2, 4, 32) and view.sum() == 2 and view[0, 1, 5] == 1 and view[1, 3, 0] == 1
    # A pull toward rests everywhere reaches the rest gates, not the pitch choice: each
    # voice's pitch softmax sums to 1, so its gradient cancels.
    G.imle_view(G(torch.randn(8, G.latent_dim))).sum().backward()
    assert G.rest.bias.grad.abs().sum() > 0 and G.tutti.bias.grad.abs().sum() > 0
    pitch_head = G.private[3]
    assert pitch_head.weight.grad.abs().max() < 1e-4 * G.rest.weight.grad.abs().max()  # rounding only
    # The default view is the roll itself, and a misspelt one is a clear error.
    notes = MuseGANGenerator(MuseGANGeneratorConfig(latent_per_part=4, channels=32), info)
    assert notes.imle_view(roll) is roll
    with pytest.raises(ConfigError, match="generator.imle_view must be 'notes' or 'rests', got 'rest'"):
        MuseGANGenerator(MuseGANGeneratorConfig(latent_per_part=4, channels=32, imle_view="rest"), info)
