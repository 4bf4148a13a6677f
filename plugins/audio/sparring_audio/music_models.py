"""MuseGAN-style multi-track piano-roll generator and discriminator (Dong et al. 2018).

Shapes: a sample is ``(tracks, bars * steps_per_bar, pitches)`` in [-1, 1]; pitches are
a multiple of 12 so that layers can work by octave and pitch class.
"""
from __future__ import annotations

import torch
from torch import nn

from sparring.errors import ConfigError
from sparring.layers import append_minibatch_std
from sparring.outputs import DiscriminatorOutput
from sparring.specs import DataInfo


def _grid(info: DataInfo, steps_per_bar: int) -> tuple[int, int, int, int]:
    """(tracks, bars, steps_per_bar, octaves) of one sample, checked."""
    if len(info.shape) != 3:
        raise ConfigError(f"MuseGAN models need samples shaped (tracks, steps, pitches), got {info.shape}")
    channels, steps, pitches = info.shape
    if steps_per_bar % 4 or steps % steps_per_bar or pitches % 12:
        raise ConfigError(f"MuseGAN models need steps ({steps}) a multiple of steps_per_bar "
                          f"({steps_per_bar}, itself a multiple of 4) and pitches ({pitches}) a multiple of 12")
    return channels, steps // steps_per_bar, steps_per_bar, pitches // 12


class TemporalGenerator(nn.Module):
    """z (d) -> one latent vector per bar (bars, d): MuseGAN's temporal generator."""

    def __init__(self, dim: int, bars: int, hidden: int = 256):
        super().__init__()
        self.bars, self.dim = bars, dim
        self.net = nn.Sequential(nn.Linear(dim, hidden), nn.BatchNorm1d(hidden), nn.ReLU(),
                                 nn.Linear(hidden, bars * dim))

    def forward(self, z):
        return self.net(z).view(z.shape[0], self.bars, self.dim)


class MuseGANGenerator(nn.Module):
    """Hybrid MuseGAN generator; see ``MuseGANGeneratorConfig``."""

    def __init__(self, cfg, info: DataInfo):
        super().__init__()
        tracks, bars, spb, octaves = _grid(info, cfg.steps_per_bar)
        d, c = cfg.latent_per_part, cfg.channels
        if c < 32 or c % 8:
            raise ConfigError(f"generator.channels must be a multiple of 8 and >= 32, got {c}")
        self.tracks, self.bars, self.steps_per_bar, self.pitches = tracks, bars, spb, 12 * octaves
        self.part = d
        self.binarize = bool(cfg.binarize)
        self.latent_dim = (2 + 2 * tracks) * d
        self.temporal_shared = TemporalGenerator(d, bars)
        self.temporal_private = nn.ModuleList(TemporalGenerator(d, bars) for _ in range(tracks))
        self.track_embedding = nn.Parameter(torch.randn(tracks, d) * 0.1)
        c8 = c // 8

        def up(cin, cout, kernel, stride):
            return [nn.ConvTranspose2d(cin, cout, kernel, stride), nn.BatchNorm2d(cout), nn.ReLU()]

        def twice_as_long(cin, cout):
            if cfg.time_upsample == "transposed":
                return up(cin, cout, (2, 1), (2, 1))
            # Repeat each step, then mix neighbours: no per-step-parity pattern, which a
            # stride-2 transposed convolution stamps on every other sixteenth.
            return [nn.Upsample(scale_factor=(2, 1), mode="nearest"), nn.Conv2d(cin, cout, (3, 1), padding=(1, 0)),
                    nn.BatchNorm2d(cout), nn.ReLU()]

        if cfg.time_upsample not in ("transposed", "nearest"):
            raise ConfigError(f"generator.time_upsample must be 'transposed' or 'nearest', got '{cfg.time_upsample}'")

        self.c0, self.t0 = c, spb // 4
        self.project = nn.Sequential(nn.Linear(5 * d, c * self.t0), nn.BatchNorm1d(c * self.t0), nn.ReLU())
        # Shared bar generator: time (x2, x2), then octaves, then the 12 pitch classes
        # of every octave (pitch = 12 * octave + class).
        self.shared = nn.Sequential(*twice_as_long(c, c // 2), *twice_as_long(c // 2, c // 4),
                                    *up(c // 4, c // 4, (1, octaves), (1, 1)),
                                    *up(c // 4, c8, (1, 12), (1, 12)))
        # Private per-track layers as grouped convolutions (one group per track).
        g = tracks * c8
        self.private = nn.Sequential(nn.Conv2d(g, g, 3, padding=1, groups=tracks), nn.BatchNorm2d(g), nn.ReLU(),
                                     nn.Conv2d(g, tracks, 1, groups=tracks), nn.Tanh())
        # Monophonic voices: a rest logit per track and step beside the pitch logits.
        self.monophonic = bool(cfg.monophonic)
        self.rest = nn.Conv2d(g, tracks, (1, self.pitches), groups=tracks) if self.monophonic else None
        self.note_grid = int(cfg.note_grid)
        if self.note_grid < 1 or spb % self.note_grid:
            raise ConfigError(f"generator.note_grid must be a positive divisor of steps_per_bar ({spb}), "
                              f"got {cfg.note_grid}")
        if self.note_grid > 1 and not self.monophonic:
            raise ConfigError("generator.note_grid > 1 needs generator.monophonic = true "
                              "(it holds each voice's one note per step over the grid)")
        # A third kind of choice beside a pitch and a rest: hold the previous note. One logit
        # decides a note's length, instead of the same pitch winning the argmax cell after cell.
        if cfg.hold and not self.monophonic:
            raise ConfigError("generator.hold needs generator.monophonic = true (it holds a voice's one note)")
        self.hold = nn.Conv2d(g, tracks, (1, self.pitches), groups=tracks) if cfg.hold else None
        # Sound or rest as a gate of its own (the rest head's logit, read as "rest if > 0").
        self.rest_gate = bool(cfg.rest_gate)
        if self.rest_gate and (not self.monophonic or cfg.hold):
            raise ConfigError("generator.rest_gate needs generator.monophonic = true and generator.hold = false "
                              "(it gates a voice's one pitch; a held note has no gate)")
        # One more gate for all voices at once, read from every track's features: the chorales
        # rest together (a tutti rest), and per-voice gates alone learn only one voice dropping out.
        if cfg.tutti_gate and not self.rest_gate:
            raise ConfigError("generator.tutti_gate needs generator.rest_gate = true "
                              "(it shuts every voice's gate at once)")
        self.tutti = nn.Conv2d(g, 1, (1, self.pitches)) if cfg.tutti_gate else None
        if self.tutti is not None:  # start open everywhere (rest logit -2): with a random init,
            _start_open(self.tutti)  # 14-79 % of the steps had every voice silent (6 draws)
        # Each voice's own gate may start open too (a random one rests 38 % of the voice-steps
        # at step 0). Tried against G over-resting early on, which teaches the critic that a
        # rest means fake; measured, G still over-rests by step 400 (docs/benchmarks.md).
        if cfg.open_voice_gates and not self.rest_gate:
            raise ConfigError("generator.open_voice_gates needs generator.rest_gate = true "
                              "(it starts each voice's rest gate open)")
        self.open_voice_gates = bool(cfg.open_voice_gates)
        if self.open_voice_gates:
            _start_open(self.rest)
        if cfg.imle_view not in ("notes", "rests"):
            raise ConfigError(f"generator.imle_view must be 'notes' or 'rests', got {cfg.imle_view!r}")
        self.imle_on_rests = cfg.imle_view == "rests"

    def split_latent(self, z):
        """(shared, shared temporal, private (B, tracks, d), private temporal) of a flat z."""
        d, t = self.part, self.tracks
        return z[:, :d], z[:, d:2 * d], z[:, 2 * d:(2 + t) * d].view(-1, t, d), z[:, (2 + t) * d:].view(-1, t, d)

    def forward(self, z, y=None):
        b, t, n_bars, d = z.shape[0], self.tracks, self.bars, self.part
        shared, shared_t, private, private_t = self.split_latent(z)
        per_bar_shared = self.temporal_shared(shared_t)                                  # (B, bars, d)
        per_bar_private = torch.stack([g(private_t[:, i]) for i, g in enumerate(self.temporal_private)], 1)
        parts = [shared[:, None, None].expand(b, t, n_bars, d),
                 per_bar_shared[:, None].expand(b, t, n_bars, d),
                 private[:, :, None].expand(b, t, n_bars, d),
                 per_bar_private,                                                        # (B, tracks, bars, d)
                 self.track_embedding[None, :, None].expand(b, t, n_bars, d)]
        h = torch.cat(parts, dim=-1).permute(0, 2, 1, 3).reshape(b * n_bars * t, 5 * d)
        h = self.project(h).view(-1, self.c0, self.t0, 1)
        h = self.shared(h)                                                  # (B*bars*tracks, c8, spb, P)
        # Conv outputs are channels-last on CUDA (trainer.channels_last): reshape, not view.
        h = h.reshape(b * n_bars, t * h.shape[1], self.steps_per_bar, self.pitches)
        if self.monophonic:
            return self._one_note_per_step(h, b)
        h = self.private(h).reshape(b, n_bars, t, self.steps_per_bar, self.pitches)
        out = self._tracks_first(h, b)
        if self.binarize:  # straight-through: binary forward, tanh gradient backward
            out = out + (torch.where(out > 0, 1.0, -1.0).to(out.dtype) - out).detach()
        return out

    def imle_view(self, x):
        """What ``trainer.imle`` compares and pulls, from rolls (B, tracks, steps, P) in
        [-1, 1]: the rolls, or with ``imle_view = "rests"`` (B, tracks, steps) notes sounding
        per voice and step (0 at a rest). A monophonic voice's pitch softmax sums to 1, so
        that pull's gradient reaches only the sound/rest decision."""
        return ((x + 1) / 2).sum(-1) if self.imle_on_rests else x

    def _tracks_first(self, h, b):
        """(B, bars, tracks, steps_per_bar, P) -> (B, tracks, bars * steps_per_bar, P)."""
        return h.permute(0, 2, 1, 3, 4).reshape(b, self.tracks, self.bars * self.steps_per_bar, h.shape[-1])

    def _one_note_per_step(self, h, b):
        """Each track sounds one pitch or rests at every step: a softmax over the pitches
        and a rest (and a hold, with ``hold``), one-hot in the forward pass and the softmax's
        gradient backward."""
        features = self.private[:3](h)
        heads = [self.private[3](features), self.rest(features)]
        if self.hold is not None:
            heads.append(self.hold(features))
        tutti = None
        if self.tutti is not None:  # (B*bars, 1, spb, 1) -> (B, cells)
            tutti = self.tutti(features).reshape(b, self.bars * self.steps_per_bar).float()
        logits = torch.cat(heads, dim=-1)
        logits = self._tracks_first(logits.reshape(b, self.bars, self.tracks, self.steps_per_bar, -1), b)
        k = self.note_grid
        if k > 1:  # one choice per k steps, from the group's mean logits
            logits = logits.reshape(b, self.tracks, -1, k, logits.shape[-1]).mean(3)
            tutti = None if tutti is None else tutti.reshape(b, -1, k).mean(2)
        dtype, logits = logits.dtype, logits.float()
        if self.rest_gate:
            if tutti is not None:
                tutti = _within_reach(tutti)
            rest = logits[..., self.pitches]
            if self.open_voice_gates:  # open from the start, and kept where the critic can shut it
                rest = _within_reach(rest)
            choice = _gated_pitch(logits[..., :self.pitches], rest, tutti)
            if k > 1:
                choice = choice.repeat_interleave(k, dim=2)
            return (2 * choice - 1).to(dtype)
        if self.hold is not None:  # the phrase's first step has nothing to hold
            logits = _no_hold_at_start(logits)
        soft = logits.softmax(-1)
        hard = nn.functional.one_hot(soft.argmax(-1), soft.shape[-1]).to(soft.dtype)
        if self.hold is not None:
            soft, hard = _resolve_holds(soft), _resolve_holds(hard)
        choice = hard + (soft - soft.detach())  # exactly one-hot: soft - soft is 0
        if k > 1:
            choice = choice.repeat_interleave(k, dim=2)
        return (2 * choice[..., :self.pitches] - 1).to(dtype)


def _start_open(gate: nn.Conv2d, rest_logit: float = -2.0):
    """A rest gate that reads nothing yet and sounds everywhere (rest logit < 0); its
    weights still get gradient from the features, so it learns where to rest."""
    nn.init.zeros_(gate.weight)
    nn.init.constant_(gate.bias, rest_logit)


def _gated_pitch(pitch_logits, rest_logit, tutti_rest_logit=None, slope_bound: float = 4.0):
    """One-hot pitch times a sound/rest gate: (B, tracks, cells, P) forward exactly 0/1.

    ``rest_logit`` is (B, tracks, cells); ``tutti_rest_logit`` (B, cells), if given, is a
    second gate every voice sounds through, so one decision rests them all. Backward: the
    pitch softmax's gradient, and each gate's straight-through slope (``_sound_gate``)."""
    soft = pitch_logits.softmax(-1)
    pitch = nn.functional.one_hot(soft.argmax(-1), soft.shape[-1]).to(soft.dtype)
    pitch = pitch + (soft - soft.detach())
    gate = _sound_gate(rest_logit, slope_bound)
    if tutti_rest_logit is not None:
        gate = gate * _sound_gate(tutti_rest_logit, slope_bound)[:, None]
    return pitch * gate[..., None]


def _sound_gate(rest_logit, slope_bound: float):
    """0/1 forward (1: sound, where the rest logit is <= 0); backward the sigmoid's slope read
    at the logit clamped to [-slope_bound, slope_bound] (the clamp passes gradient straight
    through), so a gate that never opens still learns: the slope stays >= 0.018 at bound 4."""
    sound_logit = -rest_logit
    bounded = sound_logit + (sound_logit.clamp(-slope_bound, slope_bound) - sound_logit).detach()
    soft_gate = torch.sigmoid(bounded)
    return (sound_logit > 0).to(soft_gate.dtype) + (soft_gate - soft_gate.detach())


class _WithinReach(torch.autograd.Function):
    """Identity forward; backward drops the gradient that would push a value already past
    +-bound further out, and keeps the gradient that pulls it back."""

    @staticmethod
    def forward(ctx, x, bound: float):
        ctx.save_for_backward(x)
        ctx.bound = bound
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        # Gradient descent moves x by -grad: up where grad < 0, down where grad > 0.
        outward = ((x >= ctx.bound) & (grad < 0)) | ((x <= -ctx.bound) & (grad > 0))
        return grad.masked_fill(outward, 0.0), None


def _within_reach(logit, bound: float = 4.0):
    """Keep a gate's logit within reach of its threshold. The shared rest gate gets all four
    voices' push toward sound (every voice rests too much early on): unchecked, its logit ran
    to a median of -30 by step 400 and no tutti rest was left to learn from."""
    return _WithinReach.apply(logit, bound)


def _no_hold_at_start(logits):
    """(B, tracks, cells, P + 2) logits with the hold choice (the last) ruled out at cell 0."""
    blocked = torch.zeros_like(logits[:, :, :1])
    blocked[..., -1] = float("-inf")
    return torch.cat([logits[:, :, :1] + blocked, logits[:, :, 1:]], dim=2)


def _resolve_holds(p):
    """(B, tracks, cells, P + 2) choice probabilities, the last being "hold the previous
    cell's note", to what sounds: (B, tracks, cells, P + 1) over the pitches and a rest.
    out[t] = p[t, :-1] + p[t, hold] * out[t - 1]: one-hot in, one-hot out; softmax in, the
    expected note out, so a hold's probability gets the gradient of the note it repeats."""
    sounding = [p[:, :, 0, :-1]]
    for t in range(1, p.shape[2]):
        sounding.append(p[:, :, t, :-1] + p[:, :, t, -1:] * sounding[-1])
    return torch.stack(sounding, dim=2)


class MuseGANDiscriminator(nn.Module):
    """MuseGAN-style discriminator; see ``MuseGANDiscriminatorConfig``. With PacGAN packing
    the ``pack`` samples' tracks are stacked as extra tracks."""

    def __init__(self, cfg, info: DataInfo):
        super().__init__()
        tracks, bars, spb, octaves = _grid(info, cfg.steps_per_bar)
        g = tracks * info.pack  # packed samples arrive as extra tracks
        c = cfg.channels
        if c < 8 or c % 2:
            raise ConfigError(f"discriminator.channels must be even and >= 8, got {c}")
        w = c // 2
        beat = spb // 4
        act = nn.LeakyReLU(0.2)
        self.octaves = octaves
        self.pitch_time = nn.Sequential(nn.Conv2d(g, g * w, (1, 12), (1, 12), groups=g), act,
                                        nn.Conv2d(g * w, g * w, (beat, 1), (beat, 1), groups=g), act)
        self.time_pitch = nn.Sequential(nn.Conv2d(g, g * w, (beat, 1), (beat, 1), groups=g), act,
                                        nn.Conv2d(g * w, g * w, (1, 12), (1, 12), groups=g), act)
        self.chroma = nn.Sequential(nn.Conv2d(g, g * w, (beat, 12), (beat, 12), groups=g), act)
        # Per step and track: the number of pitches that turn on or off (0 held, 1 a note
        # starts or ends by a rest, 2 one note to another), over each beat.
        self.onsets = nn.Sequential(nn.Conv2d(g, g * w, (beat, 1), (beat, 1), groups=g), act) \
            if cfg.onset_stream else None
        # Per step and phrase (packed phrases apart): the share of voices sounding and whether
        # none does, over each beat, so a rest of all voices at once is one number to D.
        self.tracks, self.pack = tracks, info.pack
        self.voices = nn.Sequential(nn.Conv2d(2 * info.pack, info.pack * w, (beat, 1), (beat, 1),
                                              groups=info.pack), act) if cfg.voices_stream else None
        streams = 4 if cfg.onset_stream else 3
        voices_channels = info.pack * w if cfg.voices_stream else 0
        self.merge = nn.Sequential(nn.Conv2d(streams * g * w + voices_channels, 2 * c, (1, octaves)), act,  # beats
                                   nn.Conv2d(2 * c, 4 * c, (4, 1), (4, 1)), act,          # bars
                                   nn.Conv2d(4 * c, 8 * c, (bars, 1)), act)               # phrase
        self.minibatch_std = bool(cfg.minibatch_std)
        # The batch's share of voices sounding and of tutti-rest steps: one phrase in seven of
        # the chorales has a tutti rest, so a phrase without one looks real, while a batch of
        # 32 phrases without any does not.
        self.batch_rests = bool(cfg.batch_rests)
        self.head = nn.Linear(8 * c + self.minibatch_std + 2 * self.batch_rests, 1)
        # The batch's share of tutti rests as a feature for G's feature matching: a target rate
        # of rests that does not wait for the critic to ask for them (it learns late that
        # rests are real).
        self.rest_features = bool(cfg.rest_features)

    def forward(self, x, y=None):
        b, g, steps, pitches = x.shape
        chroma = (x + 1).reshape(b, g, steps, self.octaves, 12).sum(3) / self.octaves - 1
        ch = self.chroma(chroma).expand(-1, -1, -1, self.octaves)
        streams = [self.pitch_time(x), self.time_pitch(x), ch]
        if self.onsets is not None:
            change = (x[:, :, 1:] - x[:, :, :-1]).abs().sum(-1, keepdim=True) / 2  # (b, g, steps - 1, 1)
            change = torch.cat([torch.zeros_like(change[:, :, :1]), change], dim=2)
            streams.append(self.onsets(change).expand(-1, -1, -1, self.octaves))
        # Which voices sound, read once for the rest streams and features below.
        present = self._voices_present(x) if self.voices is not None or self.batch_rests or self.rest_features \
            else None
        sounding = self._voices_sounding(present, b) if self.voices is not None or self.batch_rests else None
        if self.voices is not None:
            streams.append(self.voices(sounding).expand(-1, -1, -1, self.octaves))
        h = self.merge(torch.cat(streams, dim=1)).flatten(1)
        if self.minibatch_std:
            h = append_minibatch_std(h)
        if self.batch_rests:  # in percent: as shares (0.98, 0.017) the head barely read them
            rests = 100 * sounding.float().reshape(b, self.pack, 2, steps).mean((0, 1, 3))
            h = torch.cat([h, rests.to(h.dtype).expand(b, 2)], dim=1)
        logits = self.head(h).squeeze(1)
        if self.rest_features:
            return DiscriminatorOutput(logits, [self._batch_tutti_rate(present).to(logits.dtype).expand(b, 1)])
        return logits

    @staticmethod
    def _batch_tutti_rate(present):
        """(1,): the batch's share of steps where no voice sounds, in percent, from
        ``_voices_present``. Read as one minus the loudest voice, not a product of the voices'
        silences: a product's gradient reaches a voice only where the other three already rest.
        The share of voices sounding is left out: where all four sound its pull falls on the
        gates exactly as the tutti share's does, so when G rests one voice too often it
        cancelled the pull toward tutti rests."""
        return 100 * (1 - present.float().amax(1).mean()).reshape(1)

    def _voices_sounding(self, present, b: int):
        """(b, pack * 2, steps, 1) from ``_voices_present``: per packed phrase and step, the
        share of its voices sounding and 1 where none does (a tutti rest); differentiable."""
        steps = present.shape[-1]
        sounding = present.reshape(b, self.pack, self.tracks, steps)
        share = sounding.mean(2)
        tutti_rest = (1 - sounding).prod(2)
        return torch.stack([share, tutti_rest], dim=2).reshape(b, 2 * self.pack, steps, 1)

    def _voices_present(self, x):
        """(b * pack, tracks, steps): 1 where a voice sounds, 0 where it rests. Capped at 1 in
        the forward pass only: a clamp passes no gradient at exactly 1, which is every step a
        monophonic voice sounds, so the critic could not tell G where to rest."""
        b, _, steps, _ = x.shape
        notes = ((x + 1) / 2).sum(-1)
        sounding = notes - (notes - 1).clamp(min=0).detach()
        return sounding.reshape(b * self.pack, self.tracks, steps)
