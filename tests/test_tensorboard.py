"""``--log tensorboard``: event files read back with TensorBoard's own reader."""
from __future__ import annotations

import importlib.util
import io
import json
import wave
from types import SimpleNamespace

import numpy as np
import pytest

from sparring import cli
from sparring.errors import SparringError

needs_tensorboard = pytest.mark.skipif(importlib.util.find_spec("tensorboard") is None,
                                       reason="the optional 'tensorboard' package is not installed")

TINY = ["--set", "generator.hidden=16", "--set", "generator.layers=2", "--set", "discriminator.hidden=16",
        "--set", "discriminator.layers=2", "--set", "dataset.size=2000", "--set", "trainer.eval_samples=200",
        "--set", "trainer.log_every=5", "--set", "trainer.sample_every=5", "--set", "trainer.eval_every=5",
        "--set", "trainer.progress=false", "--batch-size", "32", "--seed", "0"]


def events(folder):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(folder), size_guidance={"scalars": 0, "images": 0, "audio": 0, "tensors": 0})
    acc.Reload()
    return acc


@needs_tensorboard
def test_train_with_log_tensorboard_mirrors_metrics_jsonl(tmp_path):
    out = tmp_path / "run"
    assert cli.main(["train", "toy", "--steps", "10", "--out", str(out), "--log", "tensorboard", *TINY,
                     "--set", 'trainer.regularizer="r1"']) == 0
    acc = events(out / "tensorboard")
    tags = acc.Tags()
    expected = {"loss/d_loss", "loss/g_loss", "loss/reg", "d_output/real", "d_output/fake", "grad_norm/d",
                "grad_norm/g", "lr/d", "lr/g", "speed/step_time", "speed/samples_per_s", "train/skipped_steps",
                "eval/modes", "eval/high_quality", "eval/fd"}
    assert expected <= set(tags["scalars"]), sorted(tags["scalars"])
    assert tags["images"] == ["samples/image"]
    assert "config/text_summary" in tags["tensors"]
    # Only log steps carry scalars (off them the loop's logs are unsynchronised tensors).
    assert [e.step for e in acc.Scalars("loss/d_loss")] == [5, 10]
    assert [e.step for e in acc.Images("samples/image")] == [5, 10]
    assert [e.step for e in acc.Scalars("eval/fd")] == [5, 10]
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    logged = {r["step"]: r for r in records if "d_loss" in r}
    for event in acc.Scalars("loss/g_loss"):
        assert event.value == pytest.approx(logged[event.step]["g_loss"], rel=1e-6)
    final_eval = [r["eval"] for r in records if "eval" in r][-1]
    assert acc.Scalars("eval/fd")[-1].value == pytest.approx(final_eval["fd"], rel=1e-6)
    image = acc.Images("samples/image")[-1]
    from PIL import Image

    png = Image.open(io.BytesIO(image.encoded_image_string))
    assert png.size == (image.width, image.height) and image.width > 100


def _wav(path, rate=8000, seconds=0.25):
    t = np.arange(int(rate * seconds)) / rate
    pcm = (0.5 * np.sin(2 * np.pi * 440 * t) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as fh:
        fh.setnchannels(1)
        fh.setsampwidth(2)
        fh.setframerate(rate)
        fh.writeframes(pcm.tobytes())
    return len(pcm)


@needs_tensorboard
def test_samples_become_audio_and_text_and_unknown_types_are_skipped(tmp_path, capsys):
    from sparring.tensorboard import TensorBoardLogger

    samples = tmp_path / "samples"
    samples.mkdir()
    n_frames = _wav(samples / "step_0000003.wav")
    (samples / "step_0000003_captions.txt").write_text("a cat on a mat\n<b>two</b> dogs\n")
    (samples / "step_0000003_tokens.jsonl").write_text(json.dumps({"text": "hello world"}) + "\n")
    (samples / "step_0000003.nii.gz").write_bytes(b"\x00" * 10)
    trainer = SimpleNamespace(run_dir=tmp_path, step=0, config=SimpleNamespace(to_dict=lambda: {"modality": "x"}))
    logger = TensorBoardLogger()
    logger.sparring_train_start(trainer=trainer)
    logger.sparring_samples_written(trainer=trainer, step=3, paths=sorted(samples.iterdir()))
    logger.sparring_train_end(trainer=trainer)
    assert "no TensorBoard kind" in capsys.readouterr().err
    acc = events(tmp_path / "tensorboard")
    assert acc.Tags()["audio"] == ["samples/audio"]
    assert {"samples/text/captions/text_summary", "samples/text/tokens/text_summary"} <= set(acc.Tags()["tensors"])
    clip = acc.Audio("samples/audio")[0]
    assert clip.step == 3 and clip.sample_rate == 8000
    with wave.open(io.BytesIO(clip.encoded_audio_string)) as fh:
        assert fh.getnframes() == n_frames
    text = acc.Tensors("samples/text/captions/text_summary")[0].tensor_proto.string_val[0].decode()
    assert "a cat on a mat" in text and "<b>two</b> dogs" in text


@needs_tensorboard
def test_midi_samples_are_rendered_to_audio(tmp_path):
    pretty_midi = pytest.importorskip("pretty_midi", reason="pretty_midi renders MIDI; without it MIDI is skipped")
    from sparring.tensorboard import TensorBoardLogger

    midi = pretty_midi.PrettyMIDI()
    piano = pretty_midi.Instrument(program=0)
    piano.notes.append(pretty_midi.Note(velocity=100, pitch=60, start=0.0, end=0.5))
    midi.instruments.append(piano)
    midi.write(str(tmp_path / "step_0000007.mid"))
    trainer = SimpleNamespace(run_dir=tmp_path, step=0, config=SimpleNamespace(to_dict=lambda: {}))
    logger = TensorBoardLogger()
    logger.sparring_train_start(trainer=trainer)
    assert logger.add_sample(tmp_path / "step_0000007.mid", 7)
    logger.close()
    clip = events(tmp_path / "tensorboard").Audio("samples/audio")[0]
    assert clip.step == 7 and clip.length_frames >= 0.5 * clip.sample_rate


def test_missing_tensorboard_is_a_clear_error(monkeypatch, tmp_path, capsys):
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "tensorboard" else real_find_spec(name, *a))
    from sparring.tensorboard import TensorBoardLogger

    with pytest.raises(SparringError, match="pip install tensorboard"):
        TensorBoardLogger()
    out = tmp_path / "run"
    assert cli.main(["train", "toy", "--steps", "2", "--out", str(out), "--log", "tensorboard", *TINY]) == 2
    assert "needs the 'tensorboard' package" in capsys.readouterr().err
    assert not (out / "checkpoints").exists()  # it failed before training started


@needs_tensorboard
def test_resume_after_a_kill_drops_the_events_past_the_checkpoint(tmp_path):
    out = tmp_path / "run"
    tiny = [*TINY, "--set", "trainer.checkpoint_every=5", "--set", "trainer.eval_every=0"]
    assert cli.main(["train", "toy", "--steps", "10", "--out", str(out), "--log", "tensorboard", *tiny]) == 0
    # As if killed between step 10's events and its checkpoint: the newest checkpoint is step 5.
    (out / "checkpoints" / "step_0000010.pt").unlink()
    (out / "checkpoints" / "latest").write_text("step_0000005.pt\n")
    assert cli.main(["train", "--resume", str(out), "--steps", "15", "--log", "tensorboard"]) == 0
    acc = events(out / "tensorboard")
    assert [e.step for e in acc.Scalars("loss/d_loss")] == [5, 10, 15]
    assert [e.step for e in acc.Images("samples/image")] == [5, 10, 15]
