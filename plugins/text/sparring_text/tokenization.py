"""Tokenizers trained locally with the ``tokenizers`` library, wrapped as transformers'
``PreTrainedTokenizerFast`` so that they save and load with ``save_pretrained`` /
``from_pretrained`` (a folder: nothing is fetched from a hub).

Id 0 is ``<pad>``, which also marks the end of a sample (RelGAN's protocol: sequences
are padded to a fixed length and a generated sample ends at its first pad); id 1 is
``<unk>``.
"""
from __future__ import annotations

import re
from pathlib import Path

PAD, UNK = "<pad>", "<unk>"
SPECIALS = [PAD, UNK]

# The word tokenizer's split after whitespace: trailing punctuation, leading quotes and
# brackets, and English clitics ('s, n't) become tokens of their own, as nltk's word
# tokenizer splits them. The published COCO tables tokenize captions with nltk (RelGAN's
# 4,682-word vocabulary); a plain whitespace split gives "wheel." and "wheel" two ids.
WORD_PUNCTUATION = r"n't$|'(?:s|re|ve|ll|d|m)$|^[\"'(\[`]+|[.,;:!?\"')\]](?=[.,;:!?\"')\]]*$)"
_CLITIC = re.compile(r"n't|'(?:s|re|ve|ll|d|m)")
_OPENERS = set("\"'([`")


def train_tokenizer(texts: list[str], kind: str, vocab_size: int = 5000):
    """A ``PreTrainedTokenizerFast`` of ``kind`` char, word or bpe, trained on ``texts``."""
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    if kind == "char":
        chars = sorted({c for t in texts for c in t})
        vocab = {tok: i for i, tok in enumerate(SPECIALS + chars)}
        tok = Tokenizer(models.WordLevel(vocab, unk_token=UNK))
        tok.pre_tokenizer = pre_tokenizers.Split(Regex("[\\s\\S]"), behavior="isolated")
        tok.decoder = decoders.Fuse()
    elif kind == "word":
        tok = Tokenizer(models.WordLevel(unk_token=UNK))
        tok.pre_tokenizer = pre_tokenizers.Sequence([
            pre_tokenizers.WhitespaceSplit(),
            pre_tokenizers.Split(Regex(WORD_PUNCTUATION), behavior="isolated")])
        trainer = trainers.WordLevelTrainer(vocab_size=vocab_size, special_tokens=SPECIALS)
        tok.train_from_iterator(texts, trainer=trainer)
    elif kind == "bpe":
        tok = Tokenizer(models.BPE(unk_token=UNK))
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tok.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(vocab_size=max(vocab_size, 256 + len(SPECIALS)),
                                      special_tokens=SPECIALS, show_progress=False,
                                      initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
        tok.train_from_iterator(texts, trainer=trainer)
    else:
        raise ValueError(f"unknown tokenizer kind {kind!r} (char, word, bpe)")
    wrapped = PreTrainedTokenizerFast(tokenizer_object=tok, pad_token=PAD, unk_token=UNK)
    assert wrapped.pad_token_id == 0, "the pad token must have id 0"
    return wrapped


def load_tokenizer(path: str | Path):
    """A tokenizer saved with ``save_pretrained`` (a local folder only)."""
    from transformers import PreTrainedTokenizerFast

    path = Path(path)
    if not (path / "tokenizer.json").is_file():
        raise FileNotFoundError(f"'{path}' holds no saved tokenizer (no tokenizer.json)")
    return PreTrainedTokenizerFast.from_pretrained(str(path), local_files_only=True)


def encode(tokenizer, text: str) -> list[int]:
    return tokenizer(text, add_special_tokens=False)["input_ids"]


def decode(tokenizer, ids) -> str:
    """Text of the ids up to the first pad (the end of a sample); oracle ids as numbers."""
    ids = [int(i) for i in ids]
    if tokenizer is None:  # oracle data: the ids are the tokens, 0 included
        return " ".join(map(str, ids))
    if 0 in ids:
        ids = ids[:ids.index(0)]
    if tokenizer.backend_tokenizer.decoder is None:  # word tokens: undo the punctuation split
        return join_words(tokenizer.convert_ids_to_tokens(ids))
    return tokenizer.decode(ids, skip_special_tokens=False, clean_up_tokenization_spaces=False)


def join_words(words: list[str]) -> str:
    """Words split by the word tokenizer, joined back as written: "the mat ." is "the mat.",
    "does n't" is "doesn't", and a quote opens or closes by its parity."""
    text, glue, quotes = "", True, {'"': 0, "'": 0}
    for word in words:
        closing = word in ".,;:!?)]" or _CLITIC.fullmatch(word) is not None
        if word in quotes:
            closing = quotes[word] % 2 == 1
        opening = not closing and set(word) <= _OPENERS
        for mark in quotes:
            quotes[mark] += word.count(mark) if opening or word in quotes else 0
        text += word if glue or closing else " " + word
        glue = opening
    return text
