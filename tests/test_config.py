"""Configuration: TOML, --set, every key checked with a message naming it."""
from __future__ import annotations

import tomllib

import pytest

from sparring.config import apply_override, parse_value, read_toml, resolve, to_toml
from sparring.errors import ConfigError, UnknownNameError


def test_defaults_come_from_the_modality(registry):
    cfg = resolve({"modality": "toy"}, registry)
    assert (cfg.generator.name, cfg.discriminator.name, cfg.dataset.name) == ("mlp", "mlp", "ring")
    assert cfg.trainer.loss == "ns" and cfg.writer == "scatter" and cfg.metrics == ["modes", "fd"]
    assert cfg.out.endswith("toy-ring")


@pytest.mark.parametrize("raw, words", [
    ({"modality": "toy", "trainer": {"lr_gg": 1e-3}}, ["trainer.lr_gg", "did you mean 'trainer.lr_g'"]),
    ({"modality": "toy", "trainr": {}}, ["'trainr'", "did you mean 'trainer'"]),
    ({"modality": "toy", "generator": {"hiden": 3}}, ["generator.hiden", "did you mean 'generator.hidden'"]),
    ({"modality": "toy", "trainer": {"steps": "many"}}, ["trainer.steps", "expects int", "'many'"]),
    ({"modality": "toy", "trainer": {"steps": 1.5}}, ["trainer.steps", "expects int"]),
    ({"modality": "toy", "trainer": {"compile": 1}}, ["trainer.compile", "expects bool"]),
    ({"modality": "toy", "trainer": {"batch_size": 0}}, ["trainer.batch_size", ">= 1"]),
    ({"modality": "toy", "trainer": {"lr_d": -1.0}}, ["trainer.lr_d", ">= 0"]),
    ({"modality": "toy", "trainer": {"precision": "fp8"}}, ["trainer.precision", "one of"]),
    ({"modality": "toy", "trainer": {"betas_g": [0.5]}}, ["trainer.betas_g"]),
    ({"modality": "toy", "trainer": {"betas_g": "x"}}, ["trainer.betas_g", "expects a list"]),
    ({"modality": "toy", "trainer": {"batch_size": 10, "grad_accum": 3}}, ["trainer.batch_size", "grad_accum"]),
    ({"modality": "toy", "trainer": {"batch_size": 10, "pack": 4}}, ["trainer.pack"]),
    ({"modality": "toy", "dataset": {"name": "grid", "values": "x"}}, ["dataset.values", "expects a list"]),
    ({"modality": "toy", "trainer": 3}, ["'trainer' must be a table"]),
    ({}, ["no modality", "toy"]),
])
def test_bad_configuration_names_the_key(registry, raw, words):
    with pytest.raises(ConfigError) as err:
        resolve(raw, registry)
    for word in words:
        assert word in str(err.value)


def test_unknown_component_names_known_ones(registry):
    with pytest.raises(UnknownNameError) as err:
        resolve({"modality": "toy", "dataset": {"name": "rign"}}, registry)
    assert "did you mean 'ring'" in str(err.value)
    with pytest.raises(UnknownNameError, match=r"unknown modality 'toi'; did you mean 'toy'\? Known: .*toy"):
        resolve({"modality": "toi"}, registry)
    with pytest.raises(UnknownNameError, match=r"unknown loss 'hinj'; did you mean 'hinge'\? Known: .*hinge.*ns"):
        resolve({"modality": "toy", "trainer": {"loss": "hinj"}}, registry)


def test_regularizer_defaults_are_filled_in(registry):
    cfg = resolve({"modality": "toy", "trainer": {"regularizer": "r1"}}, registry)
    assert (cfg.trainer.reg_weight, cfg.trainer.reg_interval) == (10.0, 16)
    cfg = resolve({"modality": "toy", "trainer": {"regularizer": "r1", "reg_weight": 0.1, "reg_interval": 4}}, registry)
    assert (cfg.trainer.reg_weight, cfg.trainer.reg_interval) == (0.1, 4)


def test_ints_are_accepted_for_floats(registry):
    cfg = resolve({"modality": "toy", "trainer": {"lr_g": 1}}, registry)
    assert cfg.trainer.lr_g == 1.0 and isinstance(cfg.trainer.lr_g, float)


def test_set_overrides():
    raw = {}
    apply_override(raw, "trainer.lr_g=2e-4")
    apply_override(raw, "trainer.betas_g=[0.0, 0.99]")
    apply_override(raw, "generator.name=mlp")
    apply_override(raw, "trainer.compile=true")
    assert raw == {"trainer": {"lr_g": 2e-4, "betas_g": [0.0, 0.99], "compile": True}, "generator": {"name": "mlp"}}
    assert parse_value('"quoted"') == "quoted" and parse_value("bare words") == "bare words"
    with pytest.raises(ConfigError, match="key=value"):
        apply_override(raw, "trainer.lr_g")
    with pytest.raises(ConfigError, match="not a table"):
        apply_override(raw, "trainer.lr_g.x=1")


def test_resolved_config_round_trips_through_toml(registry, tmp_path):
    cfg = resolve({"modality": "toy", "dataset": {"name": "grid"}, "trainer": {"regularizer": "gp", "steps": 7}}, registry)
    path = tmp_path / "config.toml"
    path.write_text(to_toml(cfg.to_dict()))
    again = resolve(read_toml(path), registry)
    assert again.to_dict() == cfg.to_dict()
    assert again.dataset.params.values == [-4.0, -2.0, 0.0, 2.0, 4.0]


def test_missing_and_malformed_files(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        read_toml(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("trainer = [unclosed")
    with pytest.raises(ConfigError, match="bad.toml"):
        read_toml(bad)


def test_writer_and_metrics_none_switch_the_modality_defaults_off(registry, tmp_path, tiny_toy):
    from sparring.train import Trainer

    raw = tiny_toy(tmp_path / "quiet", steps=4)
    raw.update(writer="none", metrics=["none"])
    trainer = Trainer(resolve(raw, registry), registry)
    assert trainer.writer is None and trainer.metrics == []
    assert trainer.train() == {}
    assert list((tmp_path / "quiet" / "samples").iterdir()) == []
    assert "eval" not in (tmp_path / "quiet" / "metrics.jsonl").read_text()
    again = resolve(tomllib.loads((tmp_path / "quiet" / "config.toml").read_text()), registry)
    assert again.writer == "none" and again.metrics == ["none"]  # a resumed run stays quiet
    raw["metrics"] = ["none", "fd"]
    with pytest.raises(ConfigError, match="'metrics'.*stands alone"):
        resolve(raw, registry)


def test_to_toml_escapes_every_control_character(registry):
    value = "a\u0001b\u007fc\td\re\nf\"g\\h\u2028"
    raw = {"modality": "toy", "out": value}
    text = to_toml(resolve(raw, registry).to_dict())
    assert tomllib.loads(text)["out"] == value


def test_bare_list_tuple_and_dict_annotations_are_checked():
    from sparring.config import coerce

    assert coerce("k", [1, "a"], tuple) == (1, "a") and coerce("k", (1,), list) == [1]
    assert coerce("k", {"a": 1}, dict) == {"a": 1}
    for tp, value in ((tuple, 5), (list, {"a": 1}), (dict, [1])):
        with pytest.raises(ConfigError, match="config key 'k' expects"):
            coerce("k", value, tp)
