"""Text metrics: BLEU-2..5 against held-out text, Self-BLEU, NLL-oracle and NLL-gen.

BLEU is nltk's ``sentence_bleu`` with ``SmoothingFunction().method1`` and uniform
weights, averaged over generated sentences, every held-out sentence a reference (the
protocol of the published tables). Hypotheses and references are split into words as
the published tables split them (Texygen: ``nltk.word_tokenize``; see :func:`bleu_tokens`):
on a plain whitespace split the COCO training captions score BLEU-2 0.711 against the
test file instead of the 0.740 Texygen reports. :class:`BleuReferences` computes exactly that value,
but collects the references' clipping counts once instead of once per hypothesis, which
makes 10,000 references affordable (the tests check it against nltk itself).
"""
from __future__ import annotations

import math
from collections import Counter, defaultdict

import torch

ORDERS = (2, 3, 4, 5)


def bleu_tokens(text: str) -> list[str]:
    """The words BLEU counts: nltk's word tokenizer (``word_tokenize`` without its sentence
    splitter, which needs punkt data that is not shipped), so "wheel." is "wheel", "."."""
    return _word_tokenizer().tokenize(text)


_WORD_TOKENIZER = []


def _word_tokenizer():
    if not _WORD_TOKENIZER:
        from nltk.tokenize import NLTKWordTokenizer

        _WORD_TOKENIZER.append(NLTKWordTokenizer())
    return _WORD_TOKENIZER[0]


def to_ids(x: torch.Tensor) -> torch.Tensor:
    """Token ids from samples as D sees them (one-hot or relaxed: argmax) or from ids."""
    return x.argmax(-1) if x.dim() == 3 else x.long()


def ngrams(tokens, n: int):
    return [tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1)]


def _bleu_from_counts(numerators, denominators, hyp_len, ref_len, orders) -> dict[int, float]:
    """nltk's corpus_bleu arithmetic for one sentence, smoothing method1 (epsilon 0.1)."""
    if hyp_len > ref_len:
        bp = 1.0
    elif hyp_len == 0:
        bp = 0.0
    else:
        bp = math.exp(1 - ref_len / hyp_len)
    if numerators[0] == 0:
        return {n: 0.0 for n in orders}
    p = [num / den if num else 0.1 / den for num, den in zip(numerators, denominators)]
    return {n: bp * math.exp(math.fsum(math.log(pi) / n for pi in p[:n])) for n in orders}


def _hyp_counts(hyp, max_n):
    return [Counter(ngrams(hyp, n)) for n in range(1, max_n + 1)]


def _closest(lengths, hyp_len: int) -> int:
    return min(lengths, key=lambda r: (abs(r - hyp_len), r))


class BleuReferences:
    """A fixed reference set: the most times each n-gram occurs in any one reference."""

    def __init__(self, references: list[list[str]], max_n: int = max(ORDERS)):
        if not references:
            raise ValueError("BLEU needs at least one reference")
        self.max_n = max_n
        self.max_counts = [defaultdict(int) for _ in range(max_n)]
        for ref in references:
            for n, counts in enumerate(_hyp_counts(ref, max_n)):
                table = self.max_counts[n]
                for gram, c in counts.items():
                    if c > table[gram]:
                        table[gram] = c
        self.lengths = sorted({len(r) for r in references})

    def sentence_bleu(self, hyp: list[str], orders=ORDERS) -> dict[int, float]:
        counts = _hyp_counts(hyp, self.max_n)
        nums = [sum(min(c, table.get(g, 0)) for g, c in cnt.items())
                for cnt, table in zip(counts, self.max_counts)]
        dens = [max(1, sum(cnt.values())) for cnt in counts]
        return _bleu_from_counts(nums, dens, len(hyp), _closest(self.lengths, len(hyp)), orders)

    def corpus_mean(self, hyps: list[list[str]], orders=ORDERS) -> dict[int, float]:
        totals = Counter()
        for hyp in hyps:
            totals.update(self.sentence_bleu(hyp, orders))
        return {n: totals[n] / max(len(hyps), 1) for n in orders}


def self_bleu(sentences: list[list[str]], orders=ORDERS) -> dict[int, float]:
    """Mean BLEU of each sentence against all the others (Texygen's Self-BLEU)."""
    if len(sentences) < 2:
        return {n: float("nan") for n in orders}
    max_n = max(orders)
    per_sentence = [_hyp_counts(s, max_n) for s in sentences]
    # For each n-gram: the largest count, how many sentences hold it, the runner-up count;
    # enough to know the maximum over "all sentences but this one".
    top = [defaultdict(lambda: [0, 0, 0]) for _ in range(max_n)]
    for counts in per_sentence:
        for n, cnt in enumerate(counts):
            for g, c in cnt.items():
                t = top[n][g]
                if c > t[0]:
                    t[:] = [c, 1, t[0]]
                elif c == t[0]:
                    t[1] += 1
                elif c > t[2]:
                    t[2] = c
    lengths = Counter(len(s) for s in sentences)
    totals = Counter()
    for sentence, counts in zip(sentences, per_sentence):
        nums = []
        for n, cnt in enumerate(counts):
            clipped = 0
            for g, c in cnt.items():
                best, holders, runner_up = top[n][g]
                other = runner_up if (c == best and holders == 1) else best
                clipped += min(c, other)
            nums.append(clipped)
        dens = [max(1, sum(cnt.values())) for cnt in counts]
        lengths[len(sentence)] -= 1
        ref_len = _closest([l for l, k in lengths.items() if k > 0], len(sentence))
        lengths[len(sentence)] += 1
        totals.update(_bleu_from_counts(nums, dens, len(sentence), ref_len, orders))
    return {n: totals[n] / len(sentences) for n in orders}


# --- metric functions (MetricSpec.compute) ---------------------------------------------


def _words(dataset, ids: torch.Tensor) -> list[list[str]]:
    from .tokenization import decode

    tokenizer = getattr(dataset, "tokenizer", None)
    if tokenizer is None:  # oracle ids: the numbers are the tokens
        return [decode(None, row).split() for row in ids.tolist()]
    return [bleu_tokens(decode(tokenizer, row)) for row in ids.tolist()]


def bleu_metrics(generated, real, dataset) -> dict:
    """BLEU-2..5 against the held-out text (else ``real``) and Self-BLEU-2..5.

    Tokens are the decoded text split on whitespace (oracle data: the ids themselves).
    """
    hyps = _words(dataset, to_ids(generated))
    refs = getattr(dataset, "_bleu_references", None)
    if refs is None:
        if getattr(dataset, "test_texts", None):
            refs = BleuReferences([bleu_tokens(t) for t in dataset.test_texts])
        elif getattr(dataset, "test_ids", None) is not None:
            refs = BleuReferences(_words(dataset, dataset.test_ids))
        if refs is not None and dataset is not None:
            dataset._bleu_references = refs  # held-out references: built once per dataset
        else:
            refs = BleuReferences(_words(dataset, to_ids(real)))
    out = {f"bleu{n}": v for n, v in refs.corpus_mean(hyps).items()}
    out.update({f"self_bleu{n}": v for n, v in self_bleu(hyps).items()})
    return out


@torch.no_grad()
def generator_nll(G, ids: torch.Tensor, batch_size: int = 256, seed: int = 0) -> float:
    """Mean per-token NLL (nats) of ``ids`` under G with teacher forcing (NLL-gen)."""
    device = next(G.parameters()).device
    rng = torch.Generator().manual_seed(seed)
    was_training = G.training
    G.eval()
    total, count = 0.0, 0
    try:
        for start in range(0, len(ids), batch_size):
            x = ids[start:start + batch_size].to(device)
            z = torch.randn(len(x), G.latent_dim, generator=rng).to(device)
            total += float(G.mle_loss(x, z)) * x.numel()
            count += x.numel()
    finally:
        G.train(was_training)
    return total / max(count, 1)


def nll_metrics(generated, real, dataset) -> dict:
    """NLL-oracle of the samples (oracle data) and NLL-gen of the held-out text.

    NLL-gen reads the run's sampling generator (attached to the dataset by the plugin's
    hooks), not the samples: its real-vs-real column repeats the same number.
    """
    out = {}
    oracle = getattr(dataset, "oracle", None)
    if oracle is not None:
        out["nll_oracle"] = oracle.nll(to_ids(generated).cpu())
    ref = getattr(dataset, "trainer_ref", None)
    trainer = ref() if ref is not None else None
    if trainer is not None and getattr(dataset, "test_ids", None) is not None:
        G = trainer.sampler
        if hasattr(G, "mle_loss"):
            out["nll_gen"] = generator_nll(G, dataset.test_ids, seed=trainer.config.seed)
    return out
