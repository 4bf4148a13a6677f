"""Text datasets: a text file (one sample a line), COCO captions, and the oracle LSTM data.

Every dataset holds token ids padded with 0 to a fixed length. Its one tensor carries
one extra last column holding the vocabulary size: ``real_to_d`` receives only the
batch, and needs the vocabulary size to build the one-hot D sees (see
:func:`split_vocab_column`).
"""
from __future__ import annotations

import hashlib
import os
import sys
from collections import Counter
from pathlib import Path

import torch

from sparring.errors import DataError

from .configs import COCOConfig, OracleConfig, TextFileConfig

REPO_ROOT = Path(__file__).resolve().parents[3]


def split_vocab_column(x: torch.Tensor) -> tuple[torch.Tensor, int]:
    """``(ids, vocab_size)`` from a batch of a text dataset (ids with the vocab column)."""
    return x[..., :-1].long(), int(x[..., -1].reshape(-1)[0])


def with_vocab_column(ids: torch.Tensor, vocab_size: int) -> torch.Tensor:
    return torch.cat([ids.long(), torch.full((len(ids), 1), vocab_size, dtype=torch.long)], dim=1)


class TokenDataset(torch.utils.data.Dataset):
    """Token ids ``(N, seq_len)`` plus the vocab column; everything the metrics and the
    writer need travels with it: ``tokenizer`` (None for the oracle), ``test_ids`` and
    ``test_texts`` (held out), ``skipped`` (a count per reason), ``skipped_reasons`` and
    ``oracle``."""

    def __init__(self, ids, vocab_size, tokenizer=None, test_ids=None, test_texts=None,
                 skipped=None, oracle=None):
        self.vocab_size = int(vocab_size)
        self.seq_len = int(ids.shape[1])
        self.tensors = (with_vocab_column(ids, self.vocab_size),)
        self.tokenizer = tokenizer
        self.test_ids = test_ids
        self.test_texts = test_texts
        self.skipped = Counter(skipped or {})
        self.skipped_reasons: list[str] = []  # the first skipped lines, described
        self.oracle = oracle
        self.trainer_ref = None  # set by the plugin's hooks: NLL-gen reads the generator

    @property
    def ids(self) -> torch.Tensor:
        return self.tensors[0][:, :-1]

    def __len__(self) -> int:
        return self.tensors[0].shape[0]

    def __getitem__(self, i):
        return self.tensors[0][i]

    def decode(self, ids) -> str:
        from .tokenization import decode

        return decode(self.tokenizer, ids)


# --- text files ------------------------------------------------------------------------


def resolve_path(path: str) -> Path:
    """A relative path is looked up from the working directory, then the repository root."""
    p = Path(os.path.expanduser(path))
    if p.is_absolute() or p.exists() or not (REPO_ROOT / p).exists():
        return p
    return REPO_ROOT / p


#: The longest line read (1 MiB): a longer one is skipped unread (counted ``huge_line``),
#: so a file without newlines cannot fill the memory.
MAX_LINE_BYTES = 1 << 20
EXPECTED = "UTF-8 text, one sample a line"


def _raw_lines(fh):
    """``(number, raw bytes without the newline or None, size)`` per line, reading at most
    :data:`MAX_LINE_BYTES` of a line into memory (None for a longer line)."""
    number = 0
    while True:
        raw = fh.readline(MAX_LINE_BYTES + 1)
        if not raw:
            return
        number += 1
        if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
            size = len(raw)
            while True:  # the rest of the line, a chunk at a time
                chunk = fh.readline(MAX_LINE_BYTES)
                size += len(chunk)
                if not chunk or chunk.endswith(b"\n"):
                    break
            yield number, None, size - chunk.endswith(b"\n")
            continue
        yield number, raw[:-1] if raw.endswith(b"\n") else raw, len(raw)


def _binary(line: str) -> bool:
    """A NUL, or more than one character in ten a control character: not text."""
    if "\0" in line:
        return True
    controls = sum(1 for c in line if ord(c) < 32 and c not in "\t\r\f\v" or 0x7F <= ord(c) < 0xA0)
    return controls * 10 > len(line)


def read_lines(path: Path, cfg: TextFileConfig, skipped: Counter, reasons: list) -> list[str]:
    """Non-empty lines of a UTF-8 file; undecodable, binary, over-long and (as configured)
    empty lines are counted in ``skipped`` and the first ones described in ``reasons``."""
    if not path.is_file():
        raise DataError(f"text file '{path}' does not exist")

    def skip(reason: str, number: int, why: str) -> None:
        skipped[reason] += 1
        if len(reasons) < 5:
            reasons.append(f"{path.name}:{number}: {why}")

    lines = []
    try:
        with open(path, "rb") as fh:
            for number, raw, size in _raw_lines(fh):
                if cfg.max_lines and len(lines) >= cfg.max_lines:
                    break
                if raw is None:
                    skip("huge_line", number, f"{size:,} bytes, longer than {MAX_LINE_BYTES:,}")
                    continue
                try:
                    line = raw.decode("utf-8").strip()
                except UnicodeDecodeError as exc:
                    skip("invalid_utf8", number, f"not UTF-8 ({exc.reason})")
                    continue
                if _binary(line):
                    skip("binary", number, "binary data (NUL or control characters), not text")
                    continue
                if not line:
                    if cfg.empty == "error":
                        raise DataError(f"{path}:{number} is empty (dataset.empty = \"error\")")
                    skipped["empty"] += 1
                    continue
                lines.append(line.lower() if cfg.lowercase else line)
    except OSError as exc:  # unreadable: permissions, a device error
        raise DataError(f"text file '{path}' could not be read: {exc.strerror or exc}") from None
    return lines


def encode_lines(lines, tokenizer, cfg: TextFileConfig, skipped: Counter, reasons: list,
                 where: str) -> torch.Tensor:
    """Padded ids ``(N, max_len)``; over-long lines handled by ``cfg.too_long``."""
    encoded = tokenizer(lines, add_special_tokens=False)["input_ids"] if lines else []
    rows = []
    for i, ids in enumerate(encoded):
        if len(ids) > cfg.max_len:
            if cfg.too_long == "error":
                raise DataError(f"{where}: sample {i + 1} has {len(ids)} tokens > dataset.max_len="
                                f"{cfg.max_len} (dataset.too_long = \"error\")")
            if cfg.too_long == "skip":
                skipped["too_long"] += 1
                if len(reasons) < 5:
                    reasons.append(f"{where}: sample {i + 1} has {len(ids)} tokens > max_len {cfg.max_len}")
                continue
            skipped["truncated"] += 1
            ids = ids[:cfg.max_len]
        rows.append(ids + [0] * (cfg.max_len - len(ids)))
    return torch.tensor(rows, dtype=torch.long).reshape(-1, cfg.max_len)


def build_text_file(cfg: TextFileConfig) -> TokenDataset:
    if not cfg.path:
        raise DataError("dataset 'text-file' needs a path: --set dataset.path=my_text.txt")
    from .tokenization import load_tokenizer, train_tokenizer

    path = resolve_path(cfg.path)
    skipped, reasons = Counter(), []
    lines = read_lines(path, cfg, skipped, reasons)
    if cfg.test_path:
        test_lines = read_lines(resolve_path(cfg.test_path), cfg, Counter(), [])
    else:
        n_test = int(len(lines) * cfg.test_fraction)
        lines, test_lines = lines[:len(lines) - n_test], lines[len(lines) - n_test:]
    if not lines:
        first = f"; first: {'; '.join(reasons[:3])}" if reasons else ""
        raise DataError(f"text file '{path}' has no usable line: expected {EXPECTED} "
                        f"(skipped: {_describe(skipped)}{first})")
    if cfg.tokenizer_path:
        tokenizer_dir = resolve_path(cfg.tokenizer_path)
        try:
            tokenizer = load_tokenizer(tokenizer_dir)
        except Exception as exc:  # tokenizers raises plain Exceptions on a broken tokenizer.json
            reason = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ""
            raise DataError(f"tokenizer folder '{tokenizer_dir}' holds no tokenizer that loads (expected "
                            f"a tokenizer.json saved by save_pretrained): {type(exc).__name__}: {reason}") from None
    else:
        tokenizer = train_tokenizer(lines, cfg.tokenizer, cfg.vocab_size)
    ids = encode_lines(lines, tokenizer, cfg, skipped, reasons, path.name)
    if len(ids) == 0:
        raise DataError(f"text file '{path}': every line was skipped ({_describe(skipped)}); "
                        f"first reasons: {'; '.join(reasons[:3])}")
    test_ids = encode_lines(test_lines, tokenizer, cfg, Counter(), [], "test") if test_lines else None
    if skipped:
        print(f"sparring-text: kept {len(ids)} samples of '{path}'; lines not kept as they were: {_describe(skipped)}"
              + (f"; first: {'; '.join(reasons[:3])}" if reasons else ""), file=sys.stderr)
    ds = TokenDataset(ids, len(tokenizer), tokenizer, test_ids, test_lines or None, skipped)
    ds.skipped_reasons = reasons
    return ds


def build_coco(cfg: COCOConfig) -> TokenDataset:
    import dataclasses

    root = resolve_path(cfg.root)
    if not root.is_dir():
        raise DataError(f"COCO captions folder '{root}' does not exist: set dataset.root")
    values = {f.name: getattr(cfg, f.name) for f in dataclasses.fields(TextFileConfig)}
    values["path"] = cfg.path or str(root / "train.txt")
    values["test_path"] = cfg.test_path or str(root / "test.txt")
    return build_text_file(TextFileConfig(**values))


def _describe(counts: Counter) -> str:
    return ", ".join(f"{n} {reason.replace('_', ' ')}" for reason, n in sorted(counts.items())) or "none"


# --- the oracle ------------------------------------------------------------------------


class OracleLSTM(torch.nn.Module):
    """SeqGAN's oracle: an LSTM language model with every weight drawn from N(0, 1).

    Sequences start from token 0's embedding and a zero state; ``nll`` is the mean
    per-token negative log-likelihood (nats) of given sequences.
    """

    def __init__(self, vocab_size: int, embed_dim: int, hidden_dim: int, seed: int | None = None):
        super().__init__()
        self.embed = torch.nn.Embedding(vocab_size, embed_dim)
        self.lstm = torch.nn.LSTM(embed_dim, hidden_dim, batch_first=True)
        self.head = torch.nn.Linear(hidden_dim, vocab_size)
        if seed is not None:
            g = torch.Generator().manual_seed(seed)
            with torch.no_grad():
                for p in self.parameters():
                    p.copy_(torch.randn(p.shape, generator=g))

    @torch.no_grad()
    def generate(self, n: int, seq_len: int, generator: torch.Generator, batch: int = 1000) -> torch.Tensor:
        out = []
        for start in range(0, n, batch):
            m = min(batch, n - start)
            tok = torch.zeros(m, dtype=torch.long)
            state, seq = None, []
            for _ in range(seq_len):
                h, state = self.lstm(self.embed(tok)[:, None], state)
                probs = torch.softmax(self.head(h[:, 0]), dim=-1)
                tok = torch.multinomial(probs, 1, generator=generator)[:, 0]
                seq.append(tok)
            out.append(torch.stack(seq, 1))
        return torch.cat(out)

    @torch.no_grad()
    def nll(self, ids: torch.Tensor, batch: int = 500) -> float:
        total, count = 0.0, 0
        for start in range(0, len(ids), batch):
            x = ids[start:start + batch].long()
            inp = torch.cat([torch.zeros_like(x[:, :1]), x[:, :-1]], dim=1)
            h, _ = self.lstm(self.embed(inp))
            logits = self.head(h)
            total += float(torch.nn.functional.cross_entropy(
                logits.reshape(-1, logits.shape[-1]), x.reshape(-1), reduction="sum"))
            count += x.numel()
        return total / max(count, 1)


def cache_dir() -> Path:
    return Path(os.environ.get("SPARRING_CACHE") or Path.home() / ".cache" / "sparring") / "text"


def build_oracle(cfg: OracleConfig) -> TokenDataset:
    """The oracle's data, generated once and cached (atomic write) under :func:`cache_dir`."""
    key = hashlib.sha1(repr(sorted(vars(cfg).items())).encode()).hexdigest()[:12]
    path = cache_dir() / f"oracle-v{cfg.vocab_size}-l{cfg.seq_len}-n{cfg.size}-{key}.pt"
    oracle = OracleLSTM(cfg.vocab_size, cfg.embed_dim, cfg.hidden_dim)
    if path.is_file():
        blob = torch.load(path, weights_only=True)
        oracle.load_state_dict(blob["oracle"])
        train, test = blob["train"], blob["test"]
    else:
        oracle = OracleLSTM(cfg.vocab_size, cfg.embed_dim, cfg.hidden_dim, seed=cfg.seed)
        g = torch.Generator().manual_seed(cfg.seed + 1)
        with torch.random.fork_rng(devices=[]):
            train = oracle.generate(cfg.size, cfg.seq_len, g)
            test = oracle.generate(cfg.test_size, cfg.seq_len, g)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        torch.save({"oracle": oracle.state_dict(), "train": train, "test": test}, tmp)
        os.replace(tmp, path)
    oracle.eval().requires_grad_(False)
    return TokenDataset(train, cfg.vocab_size, None, test, None, oracle=oracle)
