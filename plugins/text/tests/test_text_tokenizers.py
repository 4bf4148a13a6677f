import pytest

from sparring_text.tokenization import decode, encode, load_tokenizer, train_tokenizer

TEXTS = ["a cat sits on the mat.", "the dog, a big one, runs!", "naïve café au lait", "two  spaces"]


@pytest.mark.parametrize("kind", ["char", "bpe"])
def test_round_trip_is_exact(kind, tmp_path):
    tok = train_tokenizer(TEXTS, kind, vocab_size=300)
    assert tok.pad_token_id == 0 and tok.unk_token_id == 1
    for text in TEXTS:
        ids = encode(tok, text)
        assert 0 not in ids
        assert decode(tok, ids + [0, 0, 0]) == text  # pads end a sample
    tok.save_pretrained(str(tmp_path / "tok"))
    again = load_tokenizer(tmp_path / "tok")
    for text in TEXTS:
        assert encode(again, text) == encode(tok, text)


def test_word_tokenizer_round_trips_single_spaced_text():
    tok = train_tokenizer(TEXTS, "word", vocab_size=100)
    assert decode(tok, encode(tok, "a cat sits on the mat.")) == "a cat sits on the mat."
    assert decode(tok, encode(tok, "a zebra")) == "a <unk>"


def test_word_decoding_puts_split_punctuation_back_where_it_was_written():
    lines = ["a cat sits on the mat.", "the dog, a big one, runs!", "a man's dog doesn't sit (here).",
             'a sign that reads "stop" on a post.', "(\"quoted\") words; and 'single' ones?"]
    tok = train_tokenizer(lines, "word", vocab_size=100)
    for line in lines:
        ids = encode(tok, line)
        assert len(ids) > len(line.split())  # the punctuation was split off ...
        assert decode(tok, ids + [0]) == line  # ... and decoding puts it back
    # a space before a full stop is not kept: the split cannot see it
    assert decode(tok, encode(tok, "on the mat .")) == "on the mat."


def test_word_tokenizer_splits_punctuation_as_nltk_does():
    from nltk.tokenize import NLTKWordTokenizer

    lines = ["a cat sits on the mat.", "the dog, a big one, runs!", "a man's dog doesn't sit (here).",
             'a sign that reads "stop" on a post .']
    tok = train_tokenizer(lines, "word", vocab_size=100)
    nltk_words = NLTKWordTokenizer()
    for line in lines:
        words = tok.convert_ids_to_tokens(encode(tok, line))
        assert "<unk>" not in words
        # nltk turns straight double quotes into `` and ''; the split points are the same
        assert [w.replace('"', "q") for w in words] == \
            [w.replace("``", "q").replace("''", "q") for w in nltk_words.tokenize(line)]
    assert tok.convert_ids_to_tokens(encode(tok, "the mat.")) == ["the", "mat", "."]
    assert tok.convert_ids_to_tokens(encode(tok, "doesn't")) == ["does", "n't"]
    # "mat." and "mat" are one word: the vocabulary holds no word with its full stop
    assert not any(w.endswith(".") and len(w) > 1 for w in tok.get_vocab())


def test_char_vocabulary_is_the_characters_plus_specials():
    tok = train_tokenizer(["abc", "cab"], "char")
    assert len(tok) == 2 + 3
    assert decode(tok, encode(tok, "abz")) == "ab<unk>"


def test_bpe_vocab_size_is_respected_and_merges_happen():
    tok = train_tokenizer(TEXTS * 10, "bpe", vocab_size=280)
    assert len(tok) <= 280
    assert len(encode(tok, "the dog")) < len("the dog")


def test_missing_tokenizer_folder_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="no saved tokenizer"):
        load_tokenizer(tmp_path)


def test_oracle_ids_decode_as_numbers_including_zero():
    assert decode(None, [3, 0, 12]) == "3 0 12"
