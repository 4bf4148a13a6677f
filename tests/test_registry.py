"""The registry: built-ins, duplicates, misspelled hooks, broken and disabled plugins."""
from __future__ import annotations

import importlib.metadata as md
import types

import pytest

from sparring import hookimpl
from sparring.errors import DuplicateNameError, UnknownNameError
from sparring.registry import load_registry
from sparring.specs import LossSpec, ModelSpec


def plugin_module(name, **hooks):
    mod = types.ModuleType(name)
    for hook_name, fn in hooks.items():
        setattr(mod, hook_name, hookimpl(fn))
    return mod


def test_builtin_plugin_registers_core_names(registry):
    assert {"minimax", "ns", "hinge", "wasserstein", "lsgan", "rsgan"} <= set(registry.names("loss"))
    assert {"gp", "r1", "r2"} <= set(registry.names("regularizer"))
    assert registry.names("modality") == ["toy"]
    assert registry.names("dataset", "toy") == ["grid", "ring"]
    assert registry.provider("loss", "hinge") == "builtin"


def test_duplicate_name_names_both_providers():
    dup = plugin_module("dup", sparring_losses=lambda: [LossSpec("hinge", d_loss=None, g_loss=None)])
    with pytest.raises(DuplicateNameError) as err:
        load_registry(extra_plugins=[("my-plugin", dup)], entry_points=False)
    assert "'builtin'" in str(err.value) and "'my-plugin'" in str(err.value) and "hinge" in str(err.value)


def test_misspelled_hook_is_reported_with_the_closest_hook_and_skipped(capsys):
    bad = plugin_module("bad", sparring_lossess=lambda: [])
    reg = load_registry(extra_plugins=[("typo", bad)], entry_points=False)
    info = reg.plugins["typo"]
    assert "sparring_lossess" in info.error and "sparring_losses" in info.error
    assert "typo" in capsys.readouterr().err
    assert not reg.pm.is_registered(bad)


def test_plugin_failing_in_registration_is_skipped_not_fatal():
    def boom():
        raise RuntimeError("kaput")
        yield  # pragma: no cover

    bad = plugin_module("boom", sparring_losses=boom)
    reg = load_registry(extra_plugins=[("boom", bad)], entry_points=False)
    assert "kaput" in reg.plugins["boom"].error
    assert "hinge" in reg.names("loss")  # the rest still works


def test_wrong_spec_type_is_a_registration_error():
    bad = plugin_module("wrong", sparring_generators=lambda: [LossSpec("x", None, None)])
    reg = load_registry(extra_plugins=[("wrong", bad)], entry_points=False)
    assert "expected ModelSpec" in reg.plugins["wrong"].error


def test_bad_hook_signature_is_a_registration_error():
    bad = plugin_module("sig", sparring_step_end=lambda trainer, step, logs, nonsense: None)
    reg = load_registry(extra_plugins=[("sig", bad)], entry_points=False)
    assert "nonsense" in reg.plugins["sig"].error


def fake_entry_points(monkeypatch, eps):
    def entry_points(group=None):
        return [ep for ep in eps if ep.group == group]

    monkeypatch.setattr(md, "entry_points", entry_points)


def test_entry_point_that_fails_to_import_is_reported(monkeypatch):
    fake_entry_points(monkeypatch, [md.EntryPoint("ghost", "no_such_module_xyz.plugin", "sparring")])
    reg = load_registry()
    assert "no_such_module_xyz" in reg.plugins["ghost"].error
    assert "ModuleNotFoundError" in reg.plugins["ghost"].error
    with pytest.raises(UnknownNameError) as err:
        reg.get("generator", "dcgan")
    assert "ghost" in str(err.value)  # the unknown-name message points at the failed plugin


def test_entry_point_plugin_loads(monkeypatch, tmp_path):
    (tmp_path / "ep_plugin_mod.py").write_text(
        "from sparring import hookimpl\nfrom sparring.specs import LossSpec\n"
        "@hookimpl\ndef sparring_losses():\n    yield LossSpec('from-ep', d_loss=None, g_loss=None)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    fake_entry_points(monkeypatch, [md.EntryPoint("ep", "ep_plugin_mod", "sparring")])
    reg = load_registry()
    assert reg.provider("loss", "from-ep") == "ep"
    assert reg.plugins["ep"].hooks == ["sparring_losses"]


def test_disabled_plugins(monkeypatch, tmp_path):
    (tmp_path / "ep_plugin_dis.py").write_text("raise RuntimeError('must not be imported')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    fake_entry_points(monkeypatch, [md.EntryPoint("off", "ep_plugin_dis", "sparring")])
    monkeypatch.setenv("SPARRING_DISABLE_PLUGINS", "off, other")
    reg = load_registry()
    assert reg.plugins["off"].disabled and reg.plugins["off"].error is None


def test_unknown_name_lists_known_and_closest(registry):
    with pytest.raises(UnknownNameError) as err:
        registry.get("loss", "hinje")
    msg = str(err.value)
    assert "did you mean 'hinge'" in msg and "wasserstein" in msg


def test_name_of_another_modality_is_refused():
    other = plugin_module("other", sparring_generators=lambda: [ModelSpec("conv", "image", build=None)])
    reg = load_registry(extra_plugins=[("other", other)], entry_points=False)
    with pytest.raises(UnknownNameError) as err:
        reg.get("generator", "conv", "toy")
    assert "belongs to modality 'image'" in str(err.value)


def test_tracing_writes_hook_calls(monkeypatch, capsys):
    monkeypatch.setenv("SPARRING_TRACE_PLUGINS", "1")
    reg = load_registry(entry_points=False)
    reg.pm.hook.sparring_train_start(trainer=None)
    assert "sparring_train_start" in capsys.readouterr().err


def test_every_hook_is_documented_with_an_example():
    from sparring import hookspecs

    for name in hookspecs.REGISTRATION_HOOKS + hookspecs.LIFECYCLE_HOOKS:
        doc = getattr(hookspecs, name).__doc__
        assert doc and doc.strip().splitlines()[0].endswith("."), name
        assert "Example::" in doc, name
    declared = {n for n in dir(hookspecs) if n.startswith("sparring_")}
    assert declared == set(hookspecs.REGISTRATION_HOOKS + hookspecs.LIFECYCLE_HOOKS + ("sparring_cli_commands", "sparring_report_gallery"))
