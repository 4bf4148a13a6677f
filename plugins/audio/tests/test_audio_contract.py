"""The audio plugin (modalities 'music' and 'audio') passes the contract every plugin
runs on itself (sparring.testing)."""
from sparring.testing import contract_test


def _wav_folder(tmp_path):
    """The 'wav-folder' dataset reads files: write four short tones for it."""
    import numpy as np
    import soundfile

    root = tmp_path / "wavs"
    root.mkdir(parents=True, exist_ok=True)
    t = np.arange(8000) / 8000
    for i, freq in enumerate((220, 330, 440, 550)):
        soundfile.write(str(root / f"tone{i}.wav"), 0.5 * np.sin(2 * np.pi * freq * t), 8000)
    return {"path": str(root), "sample_rate": 8000, "clip_samples": 4096}


def _midi_folder(tmp_path):
    """The 'midi-folder' dataset reads files: write two four-voice MIDI files for it."""
    import pretty_midi

    root = tmp_path / "midi"
    root.mkdir(parents=True, exist_ok=True)
    for i in range(2):
        song = pretty_midi.PrettyMIDI(initial_tempo=120)
        for voice, base in enumerate((72, 64, 57, 48)):
            track = pretty_midi.Instrument(program=0)
            for beat in range(32):  # eight 4/4 bars of quarter notes at 120 bpm
                pitch = base + (beat + i + voice) % 5
                track.notes.append(pretty_midi.Note(80, pitch, beat * 0.5, beat * 0.5 + 0.45))
            song.instruments.append(track)
        song.write(str(root / f"song{i}.mid"))
    return {"path": str(root)}


SPOKEN = "needs the spoken digits built by scripts/build_spoken_digits.py (espeak-ng)"
SPECTROGRAMS = {"name": "chorale-audio", "representation": "spectrogram"}

test_audio_contract = contract_test(
    "audio",
    overrides={
        "generator:musegan": {"latent_per_part": 4, "channels": 32},
        "discriminator:musegan": {"channels": 8},
        "generator:wavegan": {"latent_dim": 8, "dim": 4},
        "discriminator:wavegan": {"dim": 4},
        "generator:specgan": {"latent_dim": 8, "dim": 4},
        "discriminator:specgan": {"dim": 4},
        "dataset:chorales": {"max_chorales": 2, "workers": 1},
        "dataset:chorale-audio": {"max_chorales": 2, "clips_per_chorale": 2},
        "dataset:wav-folder": _wav_folder,
        "dataset:midi-folder": _midi_folder,
    },
    # SpecGAN's models read spectrograms, not the waveforms the modality defaults to.
    data={"generator:specgan": SPECTROGRAMS, "discriminator:specgan": SPECTROGRAMS},
    skip={"dataset:spoken-digits": SPOKEN, "metric:digit-score": SPOKEN},
)
