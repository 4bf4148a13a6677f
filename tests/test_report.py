"""``sparring report``: the page's content, the gallery hook, and the page in headless Chromium."""
from __future__ import annotations

import base64
import json
import wave

import numpy as np
import pytest

from sparring import cli, hookimpl
from sparring.config import resolve
from sparring.errors import SparringError
from sparring.registry import load_registry
from sparring.report import pick_steps, write_report
from sparring.testing_browser import Page, assert_loads_cleanly, browser, open_in_browser  # noqa: F401 (fixture)
from sparring.train import Trainer


def toy_config(out, steps=20) -> dict:
    """Like conftest's tiny_toy, with evaluations along the way (a module fixture can't use it)."""
    return {
        "modality": "toy", "out": str(out), "seed": 0,
        "trainer": {"steps": steps, "batch_size": 32, "log_every": 5, "sample_every": 5, "eval_every": 10,
                    "checkpoint_every": 10, "eval_samples": 200, "progress": False},
        "generator": {"name": "mlp", "hidden": 16, "layers": 2},
        "discriminator": {"name": "mlp", "hidden": 16, "layers": 2},
        "dataset": {"name": "ring", "size": 2000},
    }


@pytest.fixture(scope="module")
def toy_run(tmp_path_factory):
    """A 20-step toy run, evaluated with real-vs-real (eval.json), and its report."""
    out = tmp_path_factory.mktemp("report") / "ring"
    registry = load_registry(entry_points=False)
    Trainer(resolve(toy_config(out), registry), registry).train()
    assert cli.main(["eval", str(out), "-n", "200"]) == 0
    assert cli.main(["report", str(out)]) == 0
    return out


def test_toy_report_holds_config_curves_gallery_and_eval_beside_real(toy_run):
    text = (toy_run / "report.html").read_text()
    page = Page(text)
    words = " ".join(page.text)
    assert "[generator]" in words and 'name = "mlp"' in words  # the configuration
    for step in (5, 10, 15, 20):
        assert f"step {step}" in words
    images = page.all("img")
    titles = [i.get("title") for i in images if i.get("title")]
    assert {"Losses", "D's mean logit on real and fake", "Gradient norms", "eval: fd"} <= set(titles)
    samples = [i for i in images if i.get("class") == "sample"]
    assert [i["alt"] for i in samples] == [f"step_{s:07d}.png" for s in (5, 10, 15, 20)]
    from PIL import Image
    import io

    for img in images:  # every asset is inlined and decodes
        assert img["src"].startswith("data:image/png;base64,")
        Image.open(io.BytesIO(base64.b64decode(img["src"].split(",", 1)[1]))).verify()
    evaluation = json.loads((toy_run / "eval.json").read_text())["metrics"]
    row = text.split("<td>fd</td>", 1)[1].split("</tr>", 1)[0]
    assert f"{evaluation['fd']:.4g}" in row and f"{evaluation['real/fd']:.4g}" in row and "lower" in row
    urls = [v for _, attrs in page.tags for k, v in attrs.items() if k in ("src", "href") and v]
    assert urls and not [u for u in urls if u.startswith(("http:", "https:", "//"))]
    assert "Content-Security-Policy" in text


def test_pick_steps_spreads_evenly_and_keeps_the_ends():
    assert pick_steps([5, 10, 15], 8) == [5, 10, 15]
    assert pick_steps(list(range(100)), 5) == [0, 25, 50, 74, 99]
    assert pick_steps([1, 2, 3], 1) == [3]
    assert pick_steps([1, 2, 3], 0) == [1, 2, 3]


class MusicGallery:
    """A plugin answering for its own modality only."""

    @hookimpl
    def sparring_report_gallery(self, modality, step, paths, assets):
        if modality != "toy":
            return None
        return f'<p class="custom">custom toy gallery at step {step} with {len(paths)} file(s)</p>'


class BrokenGallery:
    @hookimpl
    def sparring_report_gallery(self, modality, step, paths):
        raise RuntimeError("boom")


def test_gallery_hook_lets_a_plugin_render_its_modality(toy_run, tmp_path):
    registry = load_registry(extra_plugins=[("music-gallery", MusicGallery())], entry_points=False)
    text = write_report(toy_run, out=tmp_path / "custom.html", registry=registry, max_steps=2).read_text()
    assert text.count('class="custom"') == 2 and "custom toy gallery at step 20 with 1 file(s)" in text
    assert 'class="sample"' not in text  # the plugin answered: no default gallery
    assert "2 of 4 sample steps shown" in text

    registry = load_registry(extra_plugins=[("broken", BrokenGallery())], entry_points=False)
    text = write_report(toy_run, out=tmp_path / "broken.html", registry=registry).read_text()
    assert "gallery failed: RuntimeError: boom" in text and text.count('class="sample"') == 4


def test_report_of_a_folder_that_is_no_run_is_a_clear_error(tmp_path, capsys):
    with pytest.raises(SparringError, match="not a run folder"):
        write_report(tmp_path, registry=load_registry(entry_points=False))
    assert cli.main(["report", str(tmp_path)]) == 2
    assert "not a run folder" in capsys.readouterr().err


@pytest.fixture(scope="module")
def mixed_run(tmp_path_factory):
    """A hand-made run folder with audio and text samples (no training), report assets in a folder."""
    run = tmp_path_factory.mktemp("mixed") / "run"
    (run / "samples").mkdir(parents=True)
    (run / "config.toml").write_text('modality = "speech"\nmetrics = ["nonexistent"]\n[trainer]\nsteps = 20\n')
    lines = [{"step": s, "d_loss": 1.0 / s, "g_loss": None if s == 10 else 0.5, "step_time": 0.1} for s in (10, 20)]
    lines.append({"step": 20, "eval": {"wer": 0.3, "real/wer": 0.1}, "eval_samples": 8})
    (run / "metrics.jsonl").write_text("\n".join(map(json.dumps, lines)) + '\n{"step": 30, "d_lo')
    rate = 8000
    t = np.arange(rate // 2) / rate
    for step in (10, 20):
        with wave.open(str(run / "samples" / f"step_{step:07d}.wav"), "wb") as fh:
            fh.setnchannels(1), fh.setsampwidth(2), fh.setframerate(rate)
            fh.writeframes((0.3 * np.sin(2 * np.pi * 300 * step / 10 * t) * 32767).astype("<i2").tobytes())
        (run / "samples" / f"step_{step:07d}.txt").write_text(f"sample one at {step}\n<script>alert(1)</script>\n")
        (run / "samples" / f"step_{step:07d}.jsonl").write_text(json.dumps({"text": "a jsonl caption"}) + "\n")
        (run / "samples" / f"step_{step:07d}.nii.gz").write_bytes(b"\x1f\x8b" + b"\x00" * 100)
    write_report(run, registry=load_registry(entry_points=False), inline=False)
    return run


def test_default_gallery_plays_wav_and_tables_text_with_assets_in_a_folder(mixed_run):
    text = (mixed_run / "report.html").read_text()
    page = Page(text)
    audio = page.all("audio")
    assert len(audio) == 2 and all(a["src"].startswith("report_assets/") for a in audio)
    for element in audio + page.all("img"):
        assert (mixed_run / element["src"]).is_file()
    assert sum(1 for i in page.all("img") if i.get("class") == "spectrogram") == 2
    assert "<script>" not in text and "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "a jsonl caption" in text and 'href="samples/step_0000020.nii.gz"' in text
    assert "1 unreadable line(s)" in text
    row = text.split("<td>wer</td>", 1)[1].split("</tr>", 1)[0]
    assert "<td>0.3</td><td>0.1</td>" in row


# --- the page in a real browser ------------------------------------------------------------


def test_toy_report_loads_in_chromium(browser, toy_run, tmp_path):
    n_images = (toy_run / "report.html").read_text().count("<img ")
    state = open_in_browser(browser, toy_run / "report.html", tmp_path / "report-toy.png")
    assert_loads_cleanly(state, n_images)
    from PIL import Image

    with Image.open(tmp_path / "report-toy.png") as shot:
        assert shot.width >= 1200 and shot.height >= state["height"] > 1500


def test_audio_and_text_report_with_asset_folder_loads_in_chromium(browser, mixed_run, tmp_path):
    state = open_in_browser(browser, mixed_run / "report.html", tmp_path / "report-mixed.png")
    assert_loads_cleanly(state, n_images=(mixed_run / "report.html").read_text().count("<img "), n_audio=2)
    assert any(u.startswith("file:") and "report_assets" in u for u in state["requests"])


def test_the_browser_check_catches_a_request_leaving_the_machine(browser, tmp_path):
    page = tmp_path / "bad.html"
    # A loopback port nobody listens on: the request is made, refused, and leaves nothing.
    page.write_text('<!DOCTYPE html><html><head><meta charset="utf-8"></head><body>'
                    '<img src="http://127.0.0.1:9/x.png" alt="remote"></body></html>')
    state = open_in_browser(browser, page, tmp_path / "bad.png")
    assert "http://127.0.0.1:9/x.png" in state["requests"]
    # The refused image also logs a console error, which the check reports first; without it,
    # the request alone must still fail the check, and by name.
    with pytest.raises(AssertionError, match="requests leaving the machine"):
        assert_loads_cleanly(dict(state, errors=[]), n_images=1)


@pytest.mark.parametrize("width", [1, 2, 3, 4])
def test_read_wav_without_soundfile_reads_integer_pcm(tmp_path, monkeypatch, width):
    import sys

    from sparring.report import read_wav

    monkeypatch.setitem(sys.modules, "soundfile", None)  # import fails: the stdlib path
    signal = np.array([0.0, 0.5, -0.5, 0.25, -1.0])
    scale = 2 ** (8 * width - 1)
    ints = np.round(signal * (scale - 1)).astype(np.int64)
    if width == 1:
        raw = (ints + 128).astype(np.uint8).tobytes()
    else:
        raw = b"".join(int(v).to_bytes(width, "little", signed=True) for v in np.repeat(ints, 2))
    with wave.open(str(tmp_path / "x.wav"), "wb") as fh:
        fh.setnchannels(1 if width == 1 else 2), fh.setsampwidth(width), fh.setframerate(8000)
        fh.writeframes(raw)
    samples, rate = read_wav(tmp_path / "x.wav")
    assert rate == 8000 and samples.shape == (5,)
    np.testing.assert_allclose(samples, signal, atol=2 / scale)


def test_a_stale_eval_json_gives_way_to_a_later_logged_evaluation(tmp_path):
    from sparring.report import final_evaluation, read_run

    (tmp_path / "config.toml").write_text('modality = "toy"\n')
    (tmp_path / "eval.json").write_text(json.dumps({"step": 10, "samples": 50, "metrics": {"fd": 1.0, "real/fd": 0.1}}))
    (tmp_path / "metrics.jsonl").write_text(json.dumps({"step": 10, "eval": {"fd": 2.0}}) + "\n")
    assert final_evaluation(read_run(tmp_path))[0]["fd"] == 1.0
    with open(tmp_path / "metrics.jsonl", "a") as fh:
        fh.write(json.dumps({"step": 20, "eval": {"fd": 3.0}}) + "\n")
    results, source = final_evaluation(read_run(tmp_path))
    assert results == {"fd": 3.0} and "step 20" in source and "sparring eval" in source


def test_the_gallery_hook_is_documented_with_an_example():
    from sparring import hookspecs

    for name in hookspecs.REPORT_HOOKS:
        doc = getattr(hookspecs, name).__doc__
        assert doc.strip().splitlines()[0].endswith(".") and "Example::" in doc
        assert getattr(hookspecs, name).sparring_spec["firstresult"]
