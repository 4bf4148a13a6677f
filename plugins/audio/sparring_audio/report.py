"""The ``audio`` and ``music`` sections of ``sparring report``.

Called through ``sparring_report_gallery`` (registered in plugin.py) for these two
modalities only. Per step, the writer's overview picture first (tiled spectrograms or
piano rolls), then the first ``MAX_PLAYERS`` samples as players, the rest as links:

- audio: each WAV with a log-mel spectrogram made with the plugin's own settings
  (80 mel bands, hop 128, an 80 dB range, as in the writer's PNG), its length and rate;
- music: each MIDI file rendered to audio (pretty_midi's sine synthesis at 16 kHz),
  its piano roll, and the notes of each voice.
"""
from __future__ import annotations

import html
from pathlib import Path

import numpy as np

from sparring.report import (AUDIO_RATE, MAX_PLAYERS, could_not_show, default_gallery, figure, img, links,
                             piano_roll_png, player, png_bytes, read_wav, render_midi, sample_kind, wav_bytes)


def _section(kind: str, paths, assets, show) -> str:
    """Overview files first, then ``show(path)`` for the first MAX_PLAYERS files of ``kind``."""
    paths = [Path(p) for p in paths]
    samples = [p for p in paths if sample_kind(p) == kind]
    others = [p for p in paths if p not in samples]
    parts = [default_gallery(others, assets)] if others else []
    for path in samples[:MAX_PLAYERS]:
        try:
            parts.append(show(path))
        except Exception as exc:  # one unreadable file costs its player only
            parts.append(could_not_show(path, exc))
    parts.append(links(samples[MAX_PLAYERS:], assets, f"{len(samples) - MAX_PLAYERS} more"))
    return "\n".join(p for p in parts if p)


def audio_gallery(paths, assets) -> str:
    """HTML for one step of the audio modality: WAV players with log-mel spectrograms."""
    import torch
    from matplotlib import colormaps

    from .audio_writers import log_mel_image

    def show(path: Path) -> str:
        samples, rate = read_wav(path)
        mel = log_mel_image(torch.from_numpy(np.ascontiguousarray(samples)), rate)
        picture = (colormaps["magma"](mel)[..., :3] * 255).astype(np.uint8).repeat(2, 0).repeat(2, 1)
        spectrum = img(assets, png_bytes(picture), f"log-mel spectrogram of {path.name}", path.stem + "_mel.png",
                       cls="spectrogram", most=420)
        return figure(player(assets, path) + spectrum,
                      f"{path.name}: {len(samples) / rate:.2f} s at {rate} Hz; log-mel, 80 bands over 80 dB")

    return _section("audio", paths, assets, show)


def music_gallery(paths, assets) -> str:
    """HTML for one step of the music modality: MIDI rendered to audio, piano rolls, voices."""
    import pretty_midi

    def show(path: Path) -> str:
        voices = [(i.name or f"track {k}", len(i.notes)) for k, i in enumerate(pretty_midi.PrettyMIDI(str(path)).instruments)]
        if not any(n for _, n in voices):
            return f'<p class="note">{html.escape(path.name)}: silent (no notes)</p>'
        audio, roll = render_midi(path, AUDIO_RATE)
        notes = ", ".join(f"{name} {n}" for name, n in voices)
        return figure(player(assets, wav_bytes(audio, AUDIO_RATE), path.stem + ".wav")
                      + img(assets, piano_roll_png(roll), f"piano roll of {path.name}", path.stem + "_roll.png",
                            cls="spectrogram", most=420),
                      f"{path.name}: {len(audio) / AUDIO_RATE:.1f} s, sine-rendered; notes: {notes}")

    return _section("midi", paths, assets, show)
