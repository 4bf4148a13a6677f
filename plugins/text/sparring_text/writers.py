"""The text writer: one sample a line (``.txt``) and JSON lines with text and ids."""
from __future__ import annotations

import json
from pathlib import Path


def write_text(samples, path, dataset=None) -> list[Path]:
    from .metrics import to_ids
    from .tokenization import decode

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    ids = to_ids(samples.detach().cpu()).tolist()
    tokenizer = getattr(dataset, "tokenizer", None)
    texts = [decode(tokenizer, row) for row in ids]
    txt, jsonl = path.with_suffix(".txt"), path.with_suffix(".jsonl")
    txt.write_text("".join(t.replace("\n", "\\n") + "\n" for t in texts), encoding="utf-8")
    with open(jsonl, "w", encoding="utf-8") as fh:
        for text, row in zip(texts, ids):
            fh.write(json.dumps({"text": text, "ids": row}, ensure_ascii=False) + "\n")
    return [txt, jsonl]
