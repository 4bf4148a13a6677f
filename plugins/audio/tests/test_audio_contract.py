"""The audio plugin (modalities 'music' and 'audio') passes the contract every plugin
runs on itself (sparring.testing). The spoken-digits dataset reads a stand-in file in its
format, so that the case runs without espeak-ng."""
from sparring.testing import contract_test


def _midi_folder(tmp_path):
    """Two short four-voice MIDI files (the 'midi-folder' dataset reads a user's files)."""
    import numpy as np

    from sparring_audio.pianoroll import roll_to_midi

    root = tmp_path / "midi"
    for i in range(2):
        roll = np.zeros((4, 96, 128), np.uint8)
        for t, pitch in enumerate((72, 67, 60, 48)):
            for bar in range(6):
                roll[t, bar * 16:bar * 16 + 8 + 4 * (i + t % 2), pitch + (bar + i) % 5] = 1
        roll_to_midi(roll, root / f"{i}.mid")
    return {"path": str(root)}


def _wav_folder(tmp_path):
    import numpy as np
    import soundfile as sf

    root = tmp_path / "wavs"
    root.mkdir(parents=True, exist_ok=True)
    t = np.arange(20000) / 16000
    for i in range(8):
        sf.write(root / f"{i}.wav", (0.3 * np.sin(2 * np.pi * (150 + 60 * i) * t)).astype(np.float32), 16000)
    return {"path": str(root)}


def _spoken_digits(tmp_path):
    """A stand-in file in the spoken-digits format (building the real one needs espeak-ng)."""
    import numpy as np

    labels = np.arange(20) % 10
    t = np.arange(16384) / 16000
    clips = np.stack([0.3 * np.sin(2 * np.pi * 300 * (d + 1) * t) for d in labels])
    path = tmp_path / "digits.npz"
    np.savez_compressed(path, clips=np.round(clips * 32767).astype(np.int16), labels=labels)
    return {"path": str(path)}


SPECTROGRAMS = {"name": "chorale-audio", "max_chorales": 2, "clips_per_chorale": 8,
                "representation": "spectrogram"}

test_audio_contract = contract_test(
    "audio",
    overrides={
        "generator:musegan": {"latent_per_part": 4, "channels": 32},
        "discriminator:musegan": {"channels": 8},
        "generator:wavegan": {"latent_dim": 8, "dim": 2},
        "discriminator:wavegan": {"dim": 2},
        "generator:specgan": {"latent_dim": 8, "dim": 2},
        "discriminator:specgan": {"dim": 2},
        "generator:wavegan-cond": {"latent_dim": 8, "dim": 2},
        "discriminator:wavegan-cond": {"dim": 2},
        "generator:specgan-cond": {"latent_dim": 8, "dim": 2},
        "discriminator:specgan-cond": {"dim": 2},
        "dataset:chorales": {"max_chorales": 2, "workers": 1, "transpose": 1},
        "dataset:chorale-audio": {"max_chorales": 2, "clips_per_chorale": 8},
        "dataset:midi-folder": _midi_folder,
        "dataset:wav-folder": _wav_folder,
        "dataset:spoken-digits": _spoken_digits,
        "augmentation:audio-diffaugment": {"policy": "shift,time_mask,freq_mask,gain"},
        "augmentation:audio-ada": {"policy": "shift,time_mask,gain", "p_init": 0.5},
    },
    # the spectrogram-only mask runs on spectrograms; audio-ada sees the default waveforms
    data={"generator:specgan": SPECTROGRAMS, "discriminator:specgan": SPECTROGRAMS,
          "generator:specgan-cond": SPECTROGRAMS, "discriminator:specgan-cond": SPECTROGRAMS,
          "augmentation:audio-diffaugment": SPECTROGRAMS},
    skip={"metric:digit-score": "trains the digit classifier on the full spoken-digit set (minutes on a "
                                "CPU); test_audio_metrics.py checks it with a tiny classifier"},
)
