"""Configuration dataclasses of the text plugin (cheap to import: no torch).

Each field is one key of the matching TOML table (``[generator]``, ``[discriminator]``,
``[dataset]``). Choices are checked in ``__post_init__``; the core turns the
ValueError into a configuration error naming the table.
"""
from __future__ import annotations

from dataclasses import dataclass, field

SCHEDULES = ("constant", "linear", "exponential", "sigmoid")
TOKENIZERS = ("char", "word", "bpe")
LINE_POLICIES = ("skip", "truncate", "error")


def _choice(name: str, value, choices) -> None:
    if value not in choices:
        raise ValueError(f"'{name}' must be one of {', '.join(map(repr, choices))}, got {value!r}")


def _positive(name: str, value) -> None:
    if value <= 0:
        raise ValueError(f"'{name}' must be > 0, got {value!r}")


# --- data ----------------------------------------------------------------------------


@dataclass
class TextFileConfig:
    """A UTF-8 text file with one sample a line, tokenized by a tokenizer trained on it.

    ``test_path`` is held-out text for BLEU references and NLL-gen; when empty the last
    ``test_fraction`` of the lines is held out instead. ``tokenizer`` is "char",
    "word" (words and punctuation, split as nltk's word tokenizer splits them: the COCO protocol) or "bpe" (byte-level BPE of
    at most ``vocab_size`` tokens); ``tokenizer_path`` loads a saved tokenizer (e.g. a
    run's ``tokenizer/`` folder) instead of training one. Samples are padded to
    ``max_len`` tokens; longer lines are skipped, truncated or an error (``too_long``); empty lines are skipped or an error (``empty``); lines that are not
    valid UTF-8 are skipped. Every skipped line is counted (``dataset.skipped``).
    """

    path: str = ""
    test_path: str = ""
    test_fraction: float = 0.1
    tokenizer: str = "char"
    vocab_size: int = 5000
    tokenizer_path: str = ""
    max_len: int = 64
    lowercase: bool = False
    too_long: str = "skip"
    empty: str = "skip"
    max_lines: int = 0

    def __post_init__(self):
        _choice("tokenizer", self.tokenizer, TOKENIZERS)
        _choice("too_long", self.too_long, LINE_POLICIES)
        _choice("empty", self.empty, ("skip", "error"))
        _positive("max_len", self.max_len)
        _positive("vocab_size", self.vocab_size)
        if not 0.0 <= self.test_fraction < 1.0:
            raise ValueError(f"'test_fraction' must be in [0, 1), got {self.test_fraction!r}")
        if self.max_lines < 0:
            raise ValueError(f"'max_lines' must be >= 0, got {self.max_lines!r}")


@dataclass
class COCOConfig(TextFileConfig):
    """The COCO captions text-GAN split (RelGAN's ``image_coco``): word tokens, 37 at most.

    ``root`` holds ``train.txt`` and ``test.txt``; a relative root is looked up from the
    working directory, then from the repository root.
    """

    root: str = "../shared/data/coco_captions"
    tokenizer: str = "word"
    max_len: int = 37


@dataclass
class OracleConfig:
    """SeqGAN/RelGAN's synthetic benchmark: a random LSTM (weights N(0, 1)) generates the data.

    ``size`` training and ``test_size`` held-out sequences of ``seq_len`` tokens; the
    oracle and its data are cached under ``$SPARRING_CACHE/text`` (default
    ``~/.cache/sparring``) keyed by every field.
    """

    vocab_size: int = 5000
    embed_dim: int = 32
    hidden_dim: int = 32
    seq_len: int = 20
    size: int = 10_000
    test_size: int = 2_000
    seed: int = 0

    def __post_init__(self):
        for name in ("vocab_size", "embed_dim", "hidden_dim", "seq_len", "size", "test_size"):
            _positive(name, getattr(self, name))


# --- models --------------------------------------------------------------------------


@dataclass
class GumbelConfig:
    """What every Gumbel-softmax generator shares.

    The inverse temperature (RelGAN's beta) goes from 1 to ``beta_max`` over the
    adversarial steps following ``schedule`` ("constant" holds ``beta_max``
    throughout); ``anneal_steps`` > 0 spans the schedule over that many steps instead
    (RelGAN's code anneals over a fixed 5,000 whatever the run's length, so its 3,000-step
    oracle runs end at beta about 16). ``straight_through`` makes the forward output the hard one-hot while
    gradients follow the relaxed one. ``latent_dim`` is the size of z, which sets the
    initial state; the Gumbel noise is the other source of randomness.
    """

    latent_dim: int = 16
    beta_max: float = 100.0
    schedule: str = "exponential"
    straight_through: bool = False
    anneal_steps: int = 0

    def __post_init__(self):
        _choice("schedule", self.schedule, SCHEDULES)
        if self.beta_max < 1.0:
            raise ValueError(f"'beta_max' must be >= 1, got {self.beta_max!r}")
        if self.anneal_steps < 0:  # the config loader has checked it is an integer
            raise ValueError(f"'anneal_steps' must be >= 0 (0: the run's steps), got {self.anneal_steps!r}")
        _positive("latent_dim", self.latent_dim)


@dataclass
class LSTMGeneratorConfig(GumbelConfig):
    """An LSTM language model sampled through Gumbel-softmax (RelGAN with an LSTM core).

    ``feed`` is what the next step reads: "hard" the sampled token's embedding (as
    RelGAN), "soft" the relaxed one-hot times the embedding matrix.
    """

    embed_dim: int = 32
    hidden_dim: int = 32
    feed: str = "hard"

    def __post_init__(self):
        super().__post_init__()
        _choice("feed", self.feed, ("hard", "soft"))
        _positive("embed_dim", self.embed_dim)
        _positive("hidden_dim", self.hidden_dim)


@dataclass
class GPT2GeneratorConfig(GumbelConfig):
    """A GPT-2 decoder built from ``GPT2Config`` (random init) that reads the relaxed
    one-hot of its own previous outputs through ``inputs_embeds``."""

    n_embd: int = 64
    n_layer: int = 2
    n_head: int = 2
    dropout: float = 0.0
    feed: str = "soft"

    def __post_init__(self):
        super().__post_init__()
        _choice("feed", self.feed, ("hard", "soft"))
        if self.n_embd % self.n_head:
            raise ValueError(f"'n_embd' ({self.n_embd}) must be divisible by 'n_head' ({self.n_head})")


@dataclass
class RelGANDiscriminatorConfig:
    """RelGAN's CNN: ``num_rep`` embeddings of the (soft) one-hot, each read by
    convolutions of widths ``filter_sizes`` with max-pooling over time, a highway layer,
    dropout and a two-layer head; one logit per representation."""

    num_rep: int = 16
    embed_dim: int = 32
    filter_sizes: list[int] = field(default_factory=lambda: [2, 3, 4, 5])
    num_filters: list[int] = field(default_factory=lambda: [100, 100, 100, 100])
    hidden: int = 100
    dropout: float = 0.25

    def __post_init__(self):
        if len(self.filter_sizes) != len(self.num_filters) or not self.filter_sizes:
            raise ValueError("'filter_sizes' and 'num_filters' must be non-empty lists of equal length")
        for name in ("num_rep", "embed_dim", "hidden"):
            _positive(name, getattr(self, name))
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"'dropout' must be in [0, 1), got {self.dropout!r}")


@dataclass
class TransformerDiscriminatorConfig:
    """A transformers encoder built from ``BertConfig`` (``arch = "bert"``) or
    ``GPT2Config`` (``arch = "gpt2"``), random init, reading the (soft) one-hot through
    ``inputs_embeds``; mean-pooled hidden states feed a linear logit."""

    arch: str = "bert"
    hidden: int = 64
    layers: int = 2
    heads: int = 2
    intermediate: int = 128
    dropout: float = 0.1

    def __post_init__(self):
        _choice("arch", self.arch, ("bert", "gpt2"))
        if self.hidden % self.heads:
            raise ValueError(f"'hidden' ({self.hidden}) must be divisible by 'heads' ({self.heads})")
