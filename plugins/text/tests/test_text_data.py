import pytest
import torch

from sparring.errors import DataError
from sparring_text.configs import OracleConfig, TextFileConfig
from sparring_text.data import build_coco, build_oracle, build_text_file, split_vocab_column
from sparring_text.configs import COCOConfig
from sparring_text.plugin import mle_loss, real_to_d


def _file(tmp_path, body: bytes):
    path = tmp_path / "data.txt"
    path.write_bytes(body)
    return str(path)


def test_text_file_counts_empty_long_and_invalid_lines(tmp_path, capsys):
    body = b"ab\n\n  \nabcdefgh\n\xff\xfe\nabc\n"
    ds = build_text_file(TextFileConfig(path=_file(tmp_path, body), max_len=4, test_fraction=0.0))
    assert len(ds) == 2
    assert dict(ds.skipped) == {"empty": 2, "too_long": 1, "invalid_utf8": 1}
    assert "1 too long" in capsys.readouterr().err
    assert [ds.decode(r) for r in ds.ids.tolist()] == ["ab", "abc"]
    assert ds.tensors[0].shape == (2, 5) and (ds.tensors[0][:, -1] == ds.vocab_size).all()


def test_truncate_and_error_policies(tmp_path):
    path = _file(tmp_path, b"abcdefgh\nab\n")
    ds = build_text_file(TextFileConfig(path=path, max_len=4, too_long="truncate", test_fraction=0.0))
    assert [ds.decode(r) for r in ds.ids.tolist()] == ["abcd", "ab"] and ds.skipped["truncated"] == 1
    with pytest.raises(DataError, match="too_long"):
        build_text_file(TextFileConfig(path=path, max_len=4, too_long="error"))
    with pytest.raises(DataError, match="empty"):
        build_text_file(TextFileConfig(path=_file(tmp_path, b"ab\n\ncd\n"), empty="error"))


def test_a_file_without_usable_lines_is_a_clear_error(tmp_path):
    with pytest.raises(DataError, match="no usable line"):
        build_text_file(TextFileConfig(path=_file(tmp_path, b"\n\n")))
    with pytest.raises(DataError, match="every line was skipped"):
        build_text_file(TextFileConfig(path=_file(tmp_path, b"abcdef\n"), max_len=2, test_fraction=0.0))
    with pytest.raises(DataError, match="does not exist"):
        build_text_file(TextFileConfig(path=str(tmp_path / "missing.txt")))


def test_held_out_fraction_and_test_file(tmp_path):
    lines = b"".join(b"line %d\n" % i for i in range(10))
    ds = build_text_file(TextFileConfig(path=_file(tmp_path, lines), test_fraction=0.2))
    assert len(ds) == 8 and ds.test_texts == ["line 8", "line 9"] and ds.test_ids.shape[0] == 2
    test = tmp_path / "test.txt"
    test.write_text("line 1\nline 2\nline 3\n")
    ds = build_text_file(TextFileConfig(path=str(tmp_path / "data.txt"), test_path=str(test)))
    assert len(ds) == 10 and len(ds.test_texts) == 3


def test_config_rejects_unknown_choices():
    with pytest.raises(ValueError, match="tokenizer"):
        TextFileConfig(tokenizer="sentencepiece")
    with pytest.raises(ValueError, match="too_long"):
        TextFileConfig(too_long="wrap")


def test_real_to_d_is_one_hot_and_idempotent(tmp_path):
    ds = build_text_file(TextFileConfig(path=_file(tmp_path, b"abc\nba\n"), test_fraction=0.0, max_len=4))
    x = ds.tensors[0]
    ids, vocab = split_vocab_column(x)
    one_hot = real_to_d(x)
    assert one_hot.shape == (2, 4, vocab) and vocab == ds.vocab_size
    assert torch.equal(one_hot.argmax(-1), ids)
    assert torch.equal(real_to_d(one_hot), one_hot)


def test_oracle_is_deterministic_cached_and_scores_its_own_data(tmp_path):
    cfg = OracleConfig(vocab_size=50, size=200, test_size=50, seq_len=10)
    a = build_oracle(cfg)
    b = build_oracle(cfg)  # from the cache
    assert torch.equal(a.tensors[0], b.tensors[0]) and torch.equal(a.test_ids, b.test_ids)
    assert a.ids.shape == (200, 10) and int(a.ids.max()) < 50
    for pa, pb in zip(a.oracle.parameters(), b.oracle.parameters()):
        assert torch.equal(pa, pb)
    std = torch.cat([p.flatten() for p in a.oracle.parameters()]).std()
    assert 0.9 < float(std) < 1.1  # weights drawn from N(0, 1)
    own = a.oracle.nll(a.test_ids)
    uniform = a.oracle.nll(torch.randint(50, (50, 10)))
    assert own < uniform - 1.0
    other = build_oracle(OracleConfig(vocab_size=50, size=200, test_size=50, seq_len=10, seed=1))
    assert not torch.equal(other.ids, a.ids)


def test_pretrain_loss_reads_the_ids_without_the_vocab_column(tmp_path):
    from sparring.specs import DataInfo
    from sparring_text.configs import LSTMGeneratorConfig
    from sparring_text.models import LSTMGenerator

    ds = build_oracle(OracleConfig(vocab_size=30, size=20, test_size=4, seq_len=5))
    G = LSTMGenerator(LSTMGeneratorConfig(latent_dim=2, embed_dim=4, hidden_dim=4), DataInfo((5, 30)))
    loss = mle_loss(G, ds.tensors[0][:8]).detach()
    assert loss.dim() == 0 and 2.5 < float(loss) < 4.5  # about log(30) at random init


def test_coco_reads_the_shared_split():
    from sparring_text.data import resolve_path

    root = resolve_path(COCOConfig().root)
    if not ((root / "train.txt").is_file() and (root / "test.txt").is_file()):
        pytest.skip(f"the shared COCO captions are not in '{root}'")
    ds = build_coco(COCOConfig(max_lines=300, vocab_size=500))  # present: a DataError here is a failure
    assert len(ds) == 300 and ds.seq_len == 37 and len(ds.test_texts) == 300
    assert ds.decode(ds.ids[0].tolist()).split()[0] == "a"
