"""`sparring report` of a tiny text run: the samples table, and the page in headless
Chromium; escaping, per-sample scores and plain .txt samples."""
import html
import json

import pytest

from sparring.config import resolve
from sparring.registry import load_registry
from sparring.report import Assets, write_report
from sparring.testing_browser import Page, assert_report_loads, browser  # noqa: F401 (fixture)
from sparring.train import Trainer
from sparring_text import report

LINES = ["a cat sits on the mat .", "a dog runs in the park .", "two birds fly over the sea .",
         "the cat sleeps .", "a <b>bold</b> & odd line ."] * 4


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("text-report")
    (folder / "lines.txt").write_text("\n".join(LINES) + "\n", encoding="utf-8")
    raw = {"modality": "text", "out": str(folder / "run"), "device": "cpu", "seed": 0,
           "trainer": {"steps": 2, "batch_size": 8, "pretrain_steps": 1, "n_samples": 6, "sample_every": 1,
                       "log_every": 1, "eval_every": -1, "progress": False},
           "generator": {"name": "lstm", "latent_dim": 4, "embed_dim": 8, "hidden_dim": 8},
           "discriminator": {"name": "relgan", "num_rep": 2, "embed_dim": 4, "num_filters": [4, 4, 4, 4], "hidden": 8},
           "dataset": {"name": "text-file", "path": str(folder / "lines.txt"), "tokenizer": "word", "max_len": 8,
                       "test_fraction": 0.2}}
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SPARRING_CACHE", str(tmp_path_factory.getbasetemp() / "sparring-cache"))
        registry = load_registry()
        Trainer(resolve(raw, registry), registry).train()
        write_report(folder / "run", registry=registry)
    return folder / "run"


def _tables(text):
    """(caption, [row cells]) of each samples table, from the page's HTML."""
    class Tables(Page):
        def __init__(self, text):
            self.found, self._cell = [], None
            super().__init__(text)

        def handle_starttag(self, tag, attrs):
            super().handle_starttag(tag, attrs)
            if tag == "table" and "samples" in dict(attrs).get("class", ""):
                self.found.append(["", []])
            elif self.found and tag == "tr":
                self.found[-1][1].append([])
            elif self.found and tag in ("td", "th", "caption"):
                self._cell = tag

        def handle_endtag(self, tag):
            if tag in ("td", "th", "caption"):
                self._cell = None

        def handle_data(self, data):
            super().handle_data(data)
            if self._cell == "caption":
                self.found[-1][0] += data
            elif self._cell:
                self.found[-1][1][-1].append(data)

    return Tables(text).found


def test_text_section_tables_each_steps_samples_once(run):
    text = (run / "report.html").read_text()
    tables = _tables(text)
    assert len(tables) == 2  # steps 1 and 2; the .txt twin of each .jsonl is not shown again
    for step, (caption, rows) in zip((1, 2), tables):
        samples = [json.loads(line)["text"] for line in
                   (run / "samples" / f"step_000000{step}.jsonl").read_text().splitlines()]
        assert rows[0] == ["#", "sample", "words"]
        assert [r[1] if len(r) == 3 else "" for r in rows[1:]] == samples  # in order, unescaped by the parser
        assert all(r[2] == str(len(s.split())) for r, s in zip(rows[1:], samples))
        assert caption.startswith(f"step_000000{step}.jsonl: 6 samples, {len(set(samples))} distinct")
        assert all(html.escape(s) in text for s in samples)  # the words of lines.txt include <b>bold</b> and &
    assert "step_0000002.txt" not in text and "<b>" not in text.split("<h2>Samples</h2>")[1]


def test_text_report_loads_in_chromium(browser, run, tmp_path):
    assert_report_loads(browser, run / "report.html", tmp_path / "report-text.png")


def test_samples_are_escaped_scores_get_columns_and_txt_alone_is_read(tmp_path):
    rows = [{"text": "<script>alert(1)</script>", "ids": [1, 2], "nll": 3.14159, "note": "x"},
            {"text": "a & b", "ids": [3], "nll": 2.0, "note": "y"},
            {"text": "a & b", "ids": [3], "nll": 2.5, "note": "z"}]
    (tmp_path / "step_0000001.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (tmp_path / "step_0000001.txt").write_text("".join(r["text"] + "\n" for r in rows))
    (tmp_path / "step_0000002.txt").write_text("".join(f"line {i}\n" for i in range(30)))
    assets = Assets(tmp_path / "report.html")
    page = report.gallery([tmp_path / "step_0000001.jsonl", tmp_path / "step_0000001.txt"], assets)
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "a &amp; b" in page
    ((caption, table),) = _tables(page)
    assert caption == "step_0000001.jsonl: 3 samples, 2 distinct, 2.3 words on average"
    assert table[0] == ["#", "sample", "words", "nll"] and table[1][-1] == "3.142"  # "note" is no number
    ((caption, table),) = _tables(report.gallery([tmp_path / "step_0000002.txt"], assets))
    assert caption.endswith("30 samples, 30 distinct, 2.0 words on average; the first 20 shown")
    assert len(table) == 21 and table[20] == ["19", "line 19", "2"]
