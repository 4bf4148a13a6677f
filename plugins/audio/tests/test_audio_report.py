"""`sparring report` of tiny audio and music runs: each modality's section, and the pages
in headless Chromium."""
import base64
import io

import numpy as np
import pytest
import soundfile as sf

from sparring.config import resolve
from sparring.registry import load_registry
from sparring.report import MAX_PLAYERS, piano_roll_png, write_report
from sparring.testing_browser import Page, assert_report_loads, browser  # noqa: F401 (fixture)
from sparring.train import Trainer

TRAINER = {"steps": 2, "batch_size": 4, "n_samples": MAX_PLAYERS + 2, "sample_every": 1, "log_every": 1,
           "eval_every": -1, "n_critic": 1, "progress": False}


def _train(tmp_path_factory, name, raw):
    """Train ``raw`` on the CPU with seed 0 and write its report; returns the run folder."""
    run = tmp_path_factory.mktemp(name) / "run"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SPARRING_CACHE", str(tmp_path_factory.getbasetemp() / "sparring-cache"))
        registry = load_registry()
        Trainer(resolve({"out": str(run), "device": "cpu", "seed": 0, "trainer": TRAINER, **raw}, registry),
                registry).train()
        write_report(run, registry=registry)
    return run


@pytest.fixture(scope="module")
def audio_run(tmp_path_factory):
    data = tmp_path_factory.mktemp("wavs")
    t = np.arange(16000) / 16000
    for i in range(4):
        sf.write(data / f"{i}.wav", (0.3 * np.sin(2 * np.pi * (200 + 100 * i) * t)).astype(np.float32), 16000)
    return _train(tmp_path_factory, "audio-report", {
        "modality": "audio", "generator": {"name": "wavegan", "latent_dim": 8, "dim": 2},
        "discriminator": {"name": "wavegan", "dim": 2}, "dataset": {"name": "wav-folder", "path": str(data)}})


@pytest.fixture(scope="module")
def music_run(tmp_path_factory):
    import pretty_midi

    data = tmp_path_factory.mktemp("midis")
    for f in range(2):  # 8 bars of four voices in quarter notes at 120 bpm
        midi = pretty_midi.PrettyMIDI(initial_tempo=120)
        for v, name in enumerate(("soprano", "alto", "tenor", "bass")):
            voice = pretty_midi.Instrument(program=19, name=name)
            for beat in range(32):
                pitch = 72 - 7 * v + (beat + f) % 5
                voice.notes.append(pretty_midi.Note(velocity=80, pitch=pitch, start=beat / 2, end=beat / 2 + 0.5))
            midi.instruments.append(voice)
        midi.write(str(data / f"{f}.mid"))
    return _train(tmp_path_factory, "music-report", {
        "modality": "music", "generator": {"latent_per_part": 4, "channels": 32},
        "discriminator": {"channels": 8}, "dataset": {"name": "midi-folder", "path": str(data)}})


def _steps(page):
    """Per sample step: the tags of its <section class="step">."""
    sections, current = [], None
    for tag, attrs in page.tags:
        if tag == "section" and attrs.get("class") == "step":
            current = []
            sections.append(current)
        elif current is not None:
            current.append((tag, attrs))
    return sections


def _decode(src, prefix):
    assert src.startswith(prefix), src[:40]
    return base64.b64decode(src.split(",", 1)[1])


def _check_players(run, alt_prefix, caption_words):
    page = Page((run / "report.html").read_text())
    steps = _steps(page)
    assert len(steps) == 2  # steps 1 and 2
    for tags in steps:
        audio = [a for t, a in tags if t == "audio"]
        pictures = [a for t, a in tags if t == "img" and a.get("alt", "").startswith(alt_prefix)]
        assert len(audio) == len(pictures) == MAX_PLAYERS
        for a in audio:
            with sf.SoundFile(io.BytesIO(_decode(a["src"], "data:audio/"))) as fh:
                assert fh.frames > 0
        for p in pictures:
            assert _decode(p["src"], "data:image/png;base64,").startswith(b"\x89PNG")
        overview = [a for t, a in tags if t == "img" and a.get("class") == "sample"]
        assert len(overview) == 1 and overview[0]["src"].startswith("data:image/png;base64,")
        more = [a["href"] for t, a in tags if t == "a"]  # the samples beyond MAX_PLAYERS, linked
        assert len(more) == 2 and all(h.startswith("samples/step_") for h in more)
    words = " ".join(page.text)
    assert all(w in words for w in caption_words), words[-2000:]
    return page


def test_audio_section_plays_wavs_with_log_mel_spectrograms(audio_run):
    _check_players(audio_run, "log-mel spectrogram of step_", ["step_0000002_000.wav: 1.02 s at 16000 Hz", "2 more"])


def _dark_pixels(png: bytes) -> int:
    from PIL import Image

    with Image.open(io.BytesIO(png)) as image:
        return int((np.asarray(image.convert("L")) < 128).sum())


def test_music_section_renders_midi_with_piano_rolls_and_voices(music_run):
    page = _check_players(music_run, "piano roll of step_", ["step_0000002_000.mid:", "sine-rendered", "soprano"])
    assert "step_0000001_003.mid" in " ".join(page.text)
    axes_only = _dark_pixels(piano_roll_png(np.zeros((128, 200))))  # frame, ticks and labels
    for roll in [i for i in page.all("img") if i.get("alt", "").startswith("piano roll of")]:
        assert _dark_pixels(_decode(roll["src"], "data:image/png")) > axes_only + 200  # the notes show


def test_audio_report_loads_in_chromium(browser, audio_run, tmp_path):
    assert len(assert_report_loads(browser, audio_run / "report.html", tmp_path / "report-audio.png")["audio"]) == 8


def test_music_report_loads_in_chromium(browser, music_run, tmp_path):
    assert len(assert_report_loads(browser, music_run / "report.html", tmp_path / "report-music.png")["audio"]) == 8
