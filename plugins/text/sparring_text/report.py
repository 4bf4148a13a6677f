"""The text section of ``sparring report``: a step's generated samples in a table.

Called through ``sparring_report_gallery`` (registered in plugin.py) for the ``text``
modality only. The writer's JSON lines are read (its ``.txt`` twin holds the same
samples and is left out); each row shows a sample, escaped, its length in words, and
any number the writer records per sample (e.g. ``nll`` or ``bleu``) in a column of its
own. The caption counts the samples and the distinct ones: repeats are the first sign
of mode collapse. Other files go to the default gallery.
"""
from __future__ import annotations

import html
import json
from pathlib import Path

from sparring.report import MAX_TEXT_ROWS, could_not_show, default_gallery


def read_samples(path: Path) -> list[dict]:
    """The samples of a ``.jsonl`` (objects with ``text``) or ``.txt`` (one a line) file."""
    lines = Path(path).read_text(encoding="utf-8", errors="replace").splitlines()
    if Path(path).suffix.lower() != ".jsonl":
        return [{"text": line} for line in lines]
    rows = []
    for line in lines:
        value = json.loads(line)
        rows.append(value if isinstance(value, dict) else {"text": str(value)})
    return rows


def samples_table(path: Path) -> str:
    """A ``<table class="text samples">``: #, sample, words, and per-sample scores."""
    rows = read_samples(path)
    texts = [str(r.get("text", "")) for r in rows]
    scores = [k for k in dict.fromkeys(k for r in rows for k in r)
              if k not in ("text", "ids") and all(isinstance(r.get(k), (int, float)) for r in rows)]
    shown = rows[:MAX_TEXT_ROWS]
    mean_words = sum(len(t.split()) for t in texts) / max(len(texts), 1)
    caption = (f"{path.name}: {len(rows)} samples, {len(set(texts))} distinct, {mean_words:.1f} words on average"
               + (f"; the first {len(shown)} shown" if len(shown) < len(rows) else ""))
    head = "".join(f"<th>{html.escape(k)}</th>" for k in ("#", "sample", "words", *scores))
    body = "".join(
        f"<tr><td>{i}</td><td>{html.escape(t)}</td><td>{len(t.split())}</td>"
        + "".join(f"<td>{r[k]:.4g}</td>" for k in scores) + "</tr>"
        for i, (t, r) in enumerate(zip(texts, shown)))
    return f'<table class="text samples"><caption>{html.escape(caption)}</caption><tr>{head}</tr>{body}</table>'


def gallery(paths, assets) -> str:
    """HTML for one step: a table per samples file (JSON lines preferred), then the rest."""
    paths = [Path(p) for p in paths]
    jsonl = {p.stem for p in paths if p.suffix.lower() == ".jsonl"}
    tables = [p for p in paths if p.suffix.lower() == ".jsonl" or (p.suffix.lower() == ".txt" and p.stem not in jsonl)]
    twins = [p for p in paths if p.suffix.lower() == ".txt" and p.stem in jsonl]
    parts = []
    for path in tables:
        try:
            parts.append(samples_table(path))
        except Exception as exc:  # one unreadable file costs its table only
            parts.append(could_not_show(path, exc))
    rest = [p for p in paths if p not in tables and p not in twins]
    if rest:
        parts.append(default_gallery(rest, assets))
    return "\n".join(parts)
