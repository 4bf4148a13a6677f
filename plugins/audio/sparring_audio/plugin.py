"""The audio plugin's hook implementations: thin and cheap to import.

Two modalities: ``music`` (multi-track piano rolls, written as MIDI) and ``audio``
(waveforms, or SpecGAN spectrograms, written as WAV). Only ``sparring``, the standard
library and the config dataclasses are imported here; torch, torchaudio, music21 and
pretty_midi are imported inside the factories.
"""
from __future__ import annotations

import logging

from sparring import hookimpl
from sparring.specs import AugmentationSpec, DatasetSpec, MetricSpec, ModalitySpec, ModelSpec, WriterSpec

from . import configs as C

log = logging.getLogger("sparring.audio")

MUSIC, AUDIO = "music", "audio"


def _lazy(module: str, name: str):
    """A factory that imports ``sparring_audio.<module>`` only when first called."""
    def call(*args, **kwargs):
        import importlib

        return getattr(importlib.import_module(f"sparring_audio.{module}"), name)(*args, **kwargs)

    call.__name__ = name
    return call


def _conditional(module: str, name: str):
    """``_lazy`` for a class-conditional model: a clear error when training is unconditional."""
    build = _lazy(module, name)

    def call(cfg, info):
        if not info.num_classes:
            from sparring.errors import ConfigError

            raise ConfigError(f"'{name}' (a -cond model) is class-conditional: use a dataset with labels "
                              "(dataset.labels = true) and a -cond generator and discriminator together")
        return build(cfg, info)

    call.__name__ = f"{name}_cond"
    return call


def _lazy_writer(module: str, name: str):
    """Like ``_lazy``, with the ``dataset`` keyword visible: the loop passes the dataset
    only to writers whose signature names it."""
    fn = _lazy(module, name)

    def write(samples, path, dataset=None):
        return fn(samples, path, dataset=dataset)

    write.__name__ = name
    return write


def _roll_to_d(x):
    from .music_data import roll_to_d

    return roll_to_d(x)


# --- music -----------------------------------------------------------------------------


@hookimpl
def sparring_modalities():
    yield ModalitySpec(
        MUSIC, generator="musegan", discriminator="musegan", dataset="chorales", loss="wasserstein",
        writer="midi", metrics=("musegan",), real_to_d=_roll_to_d,
        description="multi-track piano rolls (tracks, steps, pitches): MuseGAN on Bach chorales, MIDI out")
    yield ModalitySpec(
        AUDIO, generator="wavegan", discriminator="wavegan", dataset="chorale-audio", loss="wasserstein",
        writer="wav", metrics=("mel-fd",),
        description="16 kHz sound: WaveGAN waveforms (1, 16384) or SpecGAN spectrograms (1, 128, 128)")


@hookimpl
def sparring_generators():
    yield ModelSpec("musegan", MUSIC, _lazy("music_models", "MuseGANGenerator"), C.MuseGANGeneratorConfig,
                    description="MuseGAN hybrid generator: shared/private, temporal/bar latents")
    yield ModelSpec("wavegan", AUDIO, _lazy("audio_models", "WaveGANGenerator"), C.WaveGANGeneratorConfig,
                    description="WaveGAN: transposed 1-D convolutions to 16,384 samples")
    yield ModelSpec("specgan", AUDIO, _lazy("audio_models", "SpecGANGenerator"), C.SpecGANGeneratorConfig,
                    description="SpecGAN: DCGAN on 128x128 normalised log spectrograms")
    yield ModelSpec("wavegan-cond", AUDIO, _conditional("audio_models", "WaveGANGenerator"),
                    C.WaveGANGeneratorConfig, conditional=True,
                    description="WaveGAN generator given the class: a learned code beside z")
    yield ModelSpec("specgan-cond", AUDIO, _conditional("audio_models", "SpecGANGenerator"),
                    C.SpecGANGeneratorConfig, conditional=True,
                    description="SpecGAN generator given the class: a learned code beside z")


@hookimpl
def sparring_discriminators():
    yield ModelSpec("musegan", MUSIC, _lazy("music_models", "MuseGANDiscriminator"),
                    C.MuseGANDiscriminatorConfig,
                    description="MuseGAN discriminator: per-track pitch-time/time-pitch/chroma streams")
    yield ModelSpec("wavegan", AUDIO, _lazy("audio_models", "WaveGANDiscriminator"),
                    C.WaveGANDiscriminatorConfig, description="WaveGAN discriminator with phase shuffle")
    yield ModelSpec("specgan", AUDIO, _lazy("audio_models", "SpecGANDiscriminator"),
                    C.SpecGANDiscriminatorConfig, description="SpecGAN 2-D convolutional discriminator")
    yield ModelSpec("wavegan-cond", AUDIO, _conditional("audio_models", "WaveGANDiscriminator"),
                    C.WaveGANDiscriminatorConfig, conditional=True,
                    description="WaveGAN discriminator with a projection head")
    yield ModelSpec("specgan-cond", AUDIO, _conditional("audio_models", "SpecGANDiscriminator"),
                    C.SpecGANDiscriminatorConfig, conditional=True,
                    description="SpecGAN discriminator with a projection head")


@hookimpl
def sparring_datasets():
    yield DatasetSpec("chorales", MUSIC, _lazy("music_data", "build_chorales"), C.ChoralesConfig,
                      description="371 Bach chorales from music21 (4/4 ones), SATB piano rolls, 4 bars")
    yield DatasetSpec("midi-folder", MUSIC, _lazy("music_data", "build_midi_folder"), C.MidiFolderConfig,
                      description="a folder of .mid/.midi files as piano-roll segments")
    yield DatasetSpec("chorale-audio", AUDIO, _lazy("audio_data", "build_chorale_audio"),
                      C.ChoraleAudioConfig,
                      description="the chorales synthesised by pretty_midi at 16 kHz, 16,384-sample clips")
    yield DatasetSpec("spoken-digits", AUDIO, _lazy("audio_data", "build_spoken_digits"),
                      C.SpokenDigitsConfig,
                      description="zero..nine by espeak-ng, SC09-like, labelled (scripts/build_spoken_digits.py)")
    yield DatasetSpec("wav-folder", AUDIO, _lazy("audio_data", "build_wav_folder"), C.WavFolderConfig,
                      description="a folder of WAV/FLAC/OGG files, resampled, 16,384-sample clips")


@hookimpl
def sparring_augmentations():
    yield AugmentationSpec("audio-diffaugment", AUDIO, _lazy("augment", "build_audio_augment"),
                           C.AudioAugmentConfig,
                           description="time shift, time/frequency masks, gain for D; fixed probability")
    yield AugmentationSpec("audio-ada", AUDIO, _lazy("augment", "build_audio_augment"), C.AudioADAConfig,
                           description="the audio transforms with ADA-style adaptive probability")


@hookimpl
def sparring_metrics():
    yield MetricSpec("musegan", MUSIC, _lazy("music_metrics", "compute"), higher_is_better={"gap": False},
                     description="MuseGAN metrics: empty bars, used pitch classes, qualified notes, "
                                 "polyphony, in-scale ratio, tonal distance; gap to the data")
    yield MetricSpec("mel-fd", AUDIO, _lazy("audio_metrics", "mel_metrics"), higher_is_better={"mel_fd": False},
                     description="Frechet distance of log-mel statistics (any audio, no classifier)")
    yield MetricSpec("digit-score", AUDIO, _lazy("audio_metrics", "digit_metrics"),
                     higher_is_better={"digit_is": True, "digit_fd": False, "digit_classes": True,
                                       "digit_doubt": False, "classifier_acc": True},
                     description="spoken-digit classifier: Inception-style score and Frechet distance")


@hookimpl
def sparring_sample_writers():
    yield WriterSpec("midi", MUSIC, _lazy_writer("music_writers", "write_midi_and_png"),
                     description="one MIDI file per sample plus a piano-roll PNG")
    yield WriterSpec("pianoroll", MUSIC, _lazy_writer("music_writers", "write_pianoroll_png"),
                     description="a PNG of up to 16 piano rolls")
    yield WriterSpec("wav", AUDIO, _lazy_writer("audio_writers", "write_wav_and_png"),
                     description="one 16 kHz WAV per sample plus a spectrogram PNG")
    yield WriterSpec("spectrogram", AUDIO, _lazy_writer("audio_writers", "write_spectrogram_png"),
                     description="a PNG of up to 16 log-mel spectrograms")


@hookimpl
def sparring_configure(config):
    """Fill the choices that depend on one another (logged, and saved in config.toml)."""
    if config.modality not in (MUSIC, AUDIO):
        return
    t = config.trainer
    if t.loss == "wasserstein" and not t.regularizer:
        # Weight clipping is not implemented: a critic without a penalty diverges.
        t.regularizer, t.reg_weight, t.reg_interval = "gp", (10.0 if t.reg_weight < 0 else t.reg_weight), \
            (t.reg_interval or 1)
        log.warning("%s: loss 'wasserstein' without a regularizer: adding the gradient penalty "
                    "(trainer.regularizer = \"gp\", weight %g)", config.modality, t.reg_weight)
    if config.modality != AUDIO:
        return
    params = config.dataset.params
    if params is not None and getattr(params, "representation", None) == "auto":
        params.representation = "spectrogram" if config.generator.name.startswith("specgan") else "waveform"
    aug = config.augment.params
    representation = getattr(params, "representation", None)
    if config.augment.name in ("audio-diffaugment", "audio-ada") and representation == "waveform" \
            and "freq_mask" in str(aug.policy).replace(" ", "").split(","):
        from sparring.errors import ConfigError

        raise ConfigError(f"augment.policy '{aug.policy}': 'freq_mask' needs spectrograms, and "
                          f"{config.dataset.name} gives waveforms to '{config.generator.name}' "
                          "(SpecGAN's representation is dataset.representation = \"spectrogram\")")
    if config.dataset.name == "spoken-digits" and "digit-score" not in config.metrics:
        config.metrics.append("digit-score")


@hookimpl
def sparring_report_gallery(run_dir, modality, step, paths, assets):
    """The music and audio sections of ``sparring report`` (sparring_audio.report); other modalities pass."""
    if modality not in (MUSIC, AUDIO):
        return None
    from . import report

    return (report.music_gallery if modality == MUSIC else report.audio_gallery)(paths, assets)
