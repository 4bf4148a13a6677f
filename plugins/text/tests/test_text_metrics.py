import math
import random

import pytest
import torch
from nltk.translate.bleu_score import SmoothingFunction, sentence_bleu

from sparring_text.metrics import BleuReferences, bleu_metrics, bleu_tokens, self_bleu

SMOOTH = SmoothingFunction().method1


def _nltk(refs, hyp, n):
    return sentence_bleu(refs, hyp, weights=tuple([1.0 / n] * n), smoothing_function=SMOOTH)


def test_identical_sentence_scores_one_and_disjoint_scores_zero():
    refs = BleuReferences([["a", "cat", "sits", "on", "the", "mat"]])
    assert refs.sentence_bleu(["a", "cat", "sits", "on", "the", "mat"])[4] == pytest.approx(1.0)
    assert refs.sentence_bleu(["dogs", "bark"]) == {2: 0.0, 3: 0.0, 4: 0.0, 5: 0.0}
    assert refs.sentence_bleu([])[2] == 0.0


def test_hand_checked_bleu2():
    # hyp "the cat the cat" vs ref "the cat sat": unigram clipped 2/4, bigram "the cat" x1
    # (hyp has it twice, clipped to 1) + "cat the" 0 -> 1/3; hyp longer than ref: no penalty.
    refs = BleuReferences([["the", "cat", "sat"]])
    expected = math.sqrt(0.5 * (1 / 3))
    assert refs.sentence_bleu(["the", "cat", "the", "cat"])[2] == pytest.approx(expected)
    # Shorter hypothesis: brevity penalty exp(1 - 3/2); "the cat" matches fully.
    assert refs.sentence_bleu(["the", "cat"])[2] == pytest.approx(math.exp(1 - 1.5))
    # Method1: a zero trigram count becomes 0.1 / 2 trigrams.
    got = refs.sentence_bleu(["the", "cat", "ran", "off"])[3]
    assert got == pytest.approx((2 / 4 * 1 / 3 * 0.1 / 2) ** (1 / 3))


def _corpus(rng, n, vocab=8):
    return [[f"w{rng.randrange(vocab)}" for _ in range(rng.randint(0, 9))] for _ in range(n)]


def test_matches_nltk_sentence_bleu_on_random_sentences():
    rng = random.Random(0)
    refs, hyps = _corpus(rng, 30), _corpus(rng, 20)
    fast = BleuReferences(refs)
    for hyp in hyps:
        got = fast.sentence_bleu(hyp)
        for n in (2, 3, 4, 5):
            assert got[n] == pytest.approx(_nltk(refs, hyp, n), abs=1e-12), (hyp, n)


def test_self_bleu_matches_nltk_against_all_other_sentences():
    rng = random.Random(1)
    sents = _corpus(rng, 15, vocab=5) + [["w1", "w2", "w3"]] * 2  # duplicates: max held twice
    got = self_bleu(sents)
    for n in (2, 3, 4, 5):
        want = sum(_nltk(sents[:i] + sents[i + 1:], s, n) for i, s in enumerate(sents)) / len(sents)
        assert got[n] == pytest.approx(want, abs=1e-12)


def test_collapsed_samples_have_high_self_bleu():
    rng = random.Random(2)
    assert self_bleu([["a", "b", "c", "d"]] * 5)[2] == pytest.approx(1.0)
    assert self_bleu(_corpus(rng, 20, vocab=50))[2] < 0.5


class _Words:
    """A dataset stand-in: ids are decoded by a tiny tokenizer-like object."""

    def __init__(self, test_texts):
        from sparring_text.tokenization import train_tokenizer

        self.tokenizer = train_tokenizer(test_texts, "word", 50)
        self.test_texts = test_texts


def test_bleu_metric_decodes_one_hot_samples():
    texts = ["a cat sits", "a dog runs", "the cat runs"]
    ds = _Words(texts)
    ids = torch.tensor([ds.tokenizer(t, add_special_tokens=False)["input_ids"] for t in texts])
    one_hot = torch.nn.functional.one_hot(ids, len(ds.tokenizer)).float()
    out = bleu_metrics(one_hot, one_hot, ds)
    assert out["bleu2"] == pytest.approx(1.0) and out["bleu3"] == pytest.approx(1.0)
    assert out["bleu5"] < 1  # 3-word sentences have no 4- or 5-grams: method1 gives 0.1 counts
    assert 0 < out["self_bleu2"] < 1
    shuffled = one_hot[:, [2, 1, 0]]
    assert bleu_metrics(shuffled, one_hot, ds)["bleu2"] < 0.5


def test_bleu_splits_punctuation_from_words_as_the_published_tables_do():
    # Texygen tokenizes with nltk: "wheel." is the word "wheel" and a full stop, so a caption
    # with its stop glued on still matches a reference written with spaces.
    assert bleu_tokens("a clock as the front wheel.") == ["a", "clock", "as", "the", "front", "wheel", "."]
    assert bleu_tokens("a man's dog doesn't sit, here") == ["a", "man", "'s", "dog", "does", "n't", "sit", ",", "here"]
    refs = BleuReferences([bleu_tokens("a clock as the front wheel .")])
    assert refs.sentence_bleu(bleu_tokens("a clock as the front wheel."))[4] == pytest.approx(1.0)
    glued = BleuReferences(["a clock as the front wheel .".split()])
    assert glued.sentence_bleu("a clock as the front wheel.".split())[4] < 0.7


def test_bleu_metric_reads_references_and_samples_with_the_same_split():
    texts = ["a cat sits on the mat.", "a dog runs, fast.", "the cat runs home."]
    ds = _Words(texts)
    rows = [ds.tokenizer(t, add_special_tokens=False)["input_ids"] for t in texts]
    ids = torch.tensor([r + [0] * (8 - len(r)) for r in rows])  # pads end a sample
    assert bleu_metrics(ids, ids, ds)["bleu4"] == pytest.approx(1.0)
