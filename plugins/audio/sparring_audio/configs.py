"""Configuration dataclasses of the audio plugin (cheap to import: no torch).

Each field is one key of the matching TOML table (``[generator]``, ``[discriminator]``,
``[dataset]``), overridable with ``--set dataset.max_chorales=20``.
"""
from __future__ import annotations

from dataclasses import dataclass

from sparring.specs import AugmentProbabilityConfig

# --- music: piano rolls --------------------------------------------------------------


@dataclass
class ChoralesConfig:
    """The Bach chorales shipped in music21's corpus as 4-track piano rolls.

    Soprano, alto, tenor and bass on a 16th-note grid (``steps_per_beat`` 4), cut into
    segments of ``bars`` 4/4 bars starting every ``hop_bars`` bars; pitches
    ``lowest_pitch`` .. ``lowest_pitch + num_pitches - 1`` (MIDI numbers; a multiple of 12
    pitches). ``transpose`` k adds every transposition by -k..+k semitones that keeps the
    segment in range (computed on the fly, so memory does not grow). Chorales not in
    4/4 are skipped. ``max_chorales`` 0 converts all 371; the conversion is cached under
    ``${SPARRING_CACHE:-~/.cache/sparring}/audio/`` and parallel over ``workers`` processes
    (0: one per CPU).
    """

    bars: int = 4
    steps_per_beat: int = 4
    hop_bars: int = 1
    lowest_pitch: int = 36
    num_pitches: int = 48
    transpose: int = 5
    max_chorales: int = 0
    workers: int = 0


@dataclass
class MidiFolderConfig:
    """Every .mid/.midi file under ``path`` (recursive) as piano rolls, like the chorales.

    The first ``tracks`` non-drum instruments of each file become the tracks (missing
    ones stay silent); time is quantised to ``steps_per_beat`` steps per beat using each
    file's own beat grid. Unreadable files are skipped and counted.
    """

    path: str = ""
    tracks: int = 4
    bars: int = 4
    steps_per_beat: int = 4
    hop_bars: int = 1
    lowest_pitch: int = 36
    num_pitches: int = 48
    transpose: int = 0
    max_files: int = 0


@dataclass
class MuseGANGeneratorConfig:
    """MuseGAN-style hybrid generator (Dong et al. 2018) for ``(tracks, bars*steps, pitches)``.

    The latent vector is split into a shared and a per-track part, each time-independent
    (one vector for all bars) and temporal (one per bar, from a small temporal
    generator): ``latent_dim = (2 + 2 * tracks) * latent_per_part``. A bar generator shared
    by all tracks builds each bar (time, then pitch by octave and pitch class); private
    per-track layers (grouped convolutions) finish it; tanh output. ``binarize`` true
    makes the output exactly -1/1 in the forward pass with the tanh's gradient in the
    backward pass (BinaryMuseGAN's straight-through estimator): otherwise D can tell
    real binary rolls from G's in-between values at a glance. ``monophonic`` true gives
    each track one pitch or a rest per step (a softmax over them, one-hot forward with the
    softmax's gradient backward), as in the chorales' four voices; ``binarize`` then has
    nothing to do. ``time_upsample`` doubles the bar's steps twice by ``transposed``
    convolutions (MuseGAN's) or by ``nearest`` repetition and a 3-step convolution.
    ``note_grid`` (with ``monophonic``) makes each track's choice once per that many
    steps, held over them (its logits averaged over the group): 2 puts notes on an
    eighth-note grid of a sixteenth-note roll, as the chorales' voices mostly move.
    ``hold`` (with ``monophonic``) adds a third choice beside a pitch and a rest: hold the
    previous note, so one logit decides how long a note lasts (straight-through as well).
    ``rest_gate`` (with ``monophonic``, not with ``hold``) decides sound or rest by a gate of
    its own instead of the rest's place in the softmax: the softmax's rest option dies in
    training (its probability falls to a median 3e-7, its gradient with it), the gate's
    gradient does not (its slope is read with the logit clamped to [-4, 4]).
    ``tutti_gate`` (with ``rest_gate``) adds one more gate, read from all four tracks'
    features, that rests every voice at a step at once: the chorales' rests are mostly all
    voices together, and per-voice gates learn only one voice dropping out. It gets all four
    voices' push toward sound, so its logit is kept within reach of the threshold (gradient
    pushing it past +-4 further out is dropped).
    ``open_voice_gates`` (with ``rest_gate``) starts each voice's own gate open as well (zero
    weights, rest logit -2) and keeps its logit within reach in the same way. Tried against G
    over-resting early on (which teaches the critic that a rest means fake); measured, G still
    over-rests by step 400.
    ``imle_view`` is what ``trainer.imle`` compares and pulls: ``notes`` (the roll itself) or
    ``rests`` (only which voices sound at each step: its pull reaches the rest gates and leaves
    the pitches to the critic; the pull toward the chorales' rare tacet bars comes from the
    real phrases that have them).
    """

    latent_per_part: int = 32
    channels: int = 256
    steps_per_bar: int = 16
    binarize: bool = True
    monophonic: bool = False
    time_upsample: str = "transposed"
    note_grid: int = 1
    hold: bool = False
    rest_gate: bool = False
    tutti_gate: bool = False
    open_voice_gates: bool = False
    imle_view: str = "notes"


@dataclass
class MuseGANDiscriminatorConfig:
    """MuseGAN-style discriminator: private per-track pitch-time and time-pitch streams,
    a chroma stream, then shared convolutions over beats, bars and the phrase; no batch
    norm (WGAN-GP). ``steps_per_bar`` must match the data (16: 4/4 on a 16th-note grid).
    ``onset_stream``: BinaryMuseGAN's onset/offset stream as well (how many pitches turn on
    or off at each step, per track), so note lengths and repeated notes are seen directly.
    ``minibatch_std``: the phrase features' standard deviation over the batch, averaged to
    one number, is appended before the head (ProGAN/StyleGAN), so D can see a batch of
    near-identical phrases. ``voices_stream``: per step, the share of voices sounding and
    whether none does (a rest of all voices at once), so D sees the chorales' tutti rests
    directly. ``batch_rests``: the batch's mean share of voices sounding and share of steps
    where none does, in percent, appended before the head (a batch statistic, like ``minibatch_std``): a
    tutti rest is in one chorale phrase of seven, rare in a phrase, plain in a batch. Measured,
    D's head gives them little weight and G's rests still die. ``rest_features``: the batch's share
    of tutti-rest steps (read as one minus the loudest voice, so its gradient reaches every
    gate) returned as D's feature, for ``trainer.feature_matching`` to pull G's batch toward
    the real batch's rate of tutti rests. Measured, G keeps the tutti rests but each voice
    then rests far too often on its own (docs/benchmarks.md)."""

    channels: int = 64
    steps_per_bar: int = 16
    onset_stream: bool = False
    minibatch_std: bool = False
    voices_stream: bool = False
    batch_rests: bool = False
    rest_features: bool = False


# --- audio: waveforms and spectrograms ------------------------------------------------


@dataclass
class ChoraleAudioConfig:
    """The chorales rendered to audio with ``pretty_midi.PrettyMIDI.synthesize`` (additive
    sine voices), cut into ``clips_per_chorale`` evenly spaced clips of ``clip_samples`` at
    ``sample_rate`` (0: every non-overlapping clip; memory grows to about 0.7 GB). ``representation``: "waveform", "spectrogram"
    (SpecGAN's normalised log-magnitudes) or "auto" (spectrogram when the generator is
    SpecGAN). Rendered clips are cached."""

    sample_rate: int = 16000
    clip_samples: int = 16384
    clips_per_chorale: int = 8
    tempo_bpm: float = 100.0
    max_chorales: int = 0
    representation: str = "auto"


@dataclass
class SpokenDigitsConfig:
    """Zero to nine spoken by espeak-ng (voices x speeds x pitches), 16 kHz, 16,384
    samples per clip, labelled; built once by ``scripts/build_spoken_digits.py`` (or on
    first use when espeak-ng is installed). ``path`` "" is the cache folder. ``size``:
    "standard" (3 speeds x 2 pitches, 1,440 clips) or "dense" (7 x 6, 10,080 clips: more
    than a small D can memorise), when ``path`` is ""."""

    path: str = ""
    size: str = "standard"
    labels: bool = True
    representation: str = "auto"


@dataclass
class WavFolderConfig:
    """Every WAV/FLAC/OGG file under ``path`` (recursive), mixed to mono, resampled to
    ``sample_rate`` and cut (or zero-padded) to clips of ``clip_samples``; at most
    ``clips_per_file`` clips per file (0: all). ``labels``: class = top-level sub-folder.
    Unreadable files are skipped and counted."""

    path: str = ""
    sample_rate: int = 16000
    clip_samples: int = 16384
    clips_per_file: int = 1
    labels: bool = False
    max_files: int = 0
    representation: str = "auto"
    extensions: tuple[str, ...] = (".wav", ".flac", ".ogg")


@dataclass
class WaveGANGeneratorConfig:
    """WaveGAN generator (Donahue et al. 2019): dense to (16·dim, 16), five transposed 1-D
    convolutions (kernel 25, stride 4, ReLU), tanh: 16,384 samples. ``class_gains``
    (``wavegan-cond`` only): a per-class gain and bias on each layer's channels as well as
    the class code at the input (false: the input code alone)."""

    latent_dim: int = 100
    dim: int = 64
    kernel: int = 25
    class_gains: bool = True


@dataclass
class WaveGANDiscriminatorConfig:
    """WaveGAN discriminator: five strided 1-D convolutions (kernel 25, stride 4,
    LeakyReLU 0.2) with phase shuffle of ±``phase_shuffle`` samples after each but the last.
    ``minibatch_std``: the features' standard deviation over the batch, averaged to one
    number, is appended before the linear head (ProGAN), so D can see a batch of alike clips."""

    dim: int = 64
    kernel: int = 25
    phase_shuffle: int = 2
    minibatch_std: bool = False


@dataclass
class SpecGANGeneratorConfig:
    """SpecGAN generator: the DCGAN shape on 128x128 spectrograms (dense to (16·dim, 4, 4),
    five transposed 5x5 convolutions, stride 2), tanh. ``class_gains`` (``specgan-cond``
    only): a per-class gain and bias on each layer's channels as well as the class code at
    the input (false: the input code alone)."""

    latent_dim: int = 100
    dim: int = 64
    class_gains: bool = True


@dataclass
class SpecGANDiscriminatorConfig:
    """SpecGAN discriminator: five 5x5 stride-2 convolutions, LeakyReLU 0.2, linear.
    ``minibatch_std``: the features' standard deviation over the batch, averaged to one
    number, is appended before the linear head (ProGAN), so D can see a batch of alike clips."""

    dim: int = 64
    minibatch_std: bool = False


@dataclass
class DigitClassifierConfig:
    """The log-mel CNN whose scores and features the ``digit-score`` metric uses.

    Not a TOML table: the metric uses the defaults; tests pass a tiny one.
    """

    width: int = 32
    feature_dim: int = 128
    epochs: int = 12
    batch_size: int = 64
    lr: float = 2e-3
    seed: int = 0
    version: int = 2


# --- augmentation ----------------------------------------------------------------------


@dataclass
class AudioAugmentConfig(AugmentProbabilityConfig):
    """Differentiable augmentation of real and generated sound before D (DiffAugment for audio).

    ``policy``: comma-separated "shift", "time_mask", "freq_mask" (spectrograms only), "gain";
    ``p``, ``adaptive`` and the ADA keys as in ``sparring.specs.AugmentProbabilityConfig``.
    Sizes: ``shift_ratio`` and the masks' ratios are shares of the clip's length or of the
    frequency bins; ``gain_db`` scales waveforms, ``spectrogram_level`` shifts a
    spectrogram's normalised values.
    """

    policy: str = "shift,time_mask"
    shift_ratio: float = 0.125
    time_mask_ratio: float = 0.25
    freq_mask_ratio: float = 0.25
    gain_db: float = 6.0
    spectrogram_level: float = 0.2


@dataclass
class AudioADAConfig(AudioAugmentConfig):
    """The audio transforms with the adaptive (ADA-style) probability switched on."""

    adaptive: bool = True
