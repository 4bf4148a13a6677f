"""The plugin registry: pluggy's PluginManager plus typed lookup of registered specs.

Plugins come from the built-in plugin (``sparring.builtin.plugin``) and from entry
points of group ``sparring``. A plugin that fails to import, to validate against the
hookspecs, or to register is reported and skipped; the program goes on without it.
Two plugins registering the same name for the same kind is an error naming both.
"""
from __future__ import annotations

import importlib.metadata as md
import os
import sys
import traceback
from dataclasses import dataclass, field
from typing import Any, Iterable

import pluggy

from . import hookspecs
from .errors import DuplicateNameError, UnknownNameError, closest
from .specs import REGISTRATION_KINDS

BUILTIN_NAME = "builtin"


@dataclass
class PluginInfo:
    """One plugin as ``sparring plugins`` shows it."""

    name: str
    distribution: str
    version: str
    hooks: list[str] = field(default_factory=list)
    registers: dict[str, list[str]] = field(default_factory=dict)
    error: str | None = None
    disabled: bool = False

    def to_dict(self) -> dict:
        return {
            "name": self.name, "distribution": self.distribution, "version": self.version,
            "hooks": self.hooks, "registers": self.registers, "error": self.error,
            "disabled": self.disabled,
        }


def _hook_names() -> set[str]:
    return {n for n in dir(hookspecs) if n.startswith("sparring_")}


def _plugin_module_hooks(plugin) -> list[str]:
    return sorted(n for n in dir(plugin) if n.startswith("sparring_") and callable(getattr(plugin, n)))


def _disabled_names() -> set[str]:
    raw = os.environ.get("SPARRING_DISABLE_PLUGINS", "")
    return {p.strip() for p in raw.split(",") if p.strip()}


class Registry:
    """Every spec registered by every loaded plugin, looked up by kind and name."""

    def __init__(self, pm: pluggy.PluginManager):
        self.pm = pm
        self.plugins: dict[str, PluginInfo] = {}
        # kind -> name -> (spec, plugin name)
        self._specs: dict[str, dict[str, tuple[Any, str]]] = {k: {} for k, _ in REGISTRATION_KINDS.values()}

    # -- loading ----------------------------------------------------------------------

    def add_plugin(self, plugin, name: str, distribution: str = "", version: str = "") -> bool:
        """Register one plugin object (module or instance); report and skip it on failure."""
        info = PluginInfo(name, distribution, version, hooks=_plugin_module_hooks(plugin))
        self.plugins[name] = info
        if name in _disabled_names():
            info.disabled = True
            return False
        known = _hook_names()
        misspelt = [h for h in info.hooks if h not in known]
        if misspelt:
            hints = ", ".join(f"'{h}' (did you mean '{closest(h, known)}'?)" if closest(h, known)
                              else f"'{h}'" for h in misspelt)
            info.error = f"unknown hook {hints}"
            return False
        try:
            self.pm.register(plugin, name=name)
            self.pm.check_pending()
        except Exception as exc:  # a bad signature, for example
            if self.pm.is_registered(plugin):
                self.pm.unregister(plugin)
            info.error = f"failed to register: {exc}"
            return False
        # Collect this plugin's specs now, so a failure is pinned on it and it alone.
        collected: list[tuple[str, Any]] = []
        try:
            for hook_name, (kind, cls) in REGISTRATION_KINDS.items():
                impl = getattr(plugin, hook_name, None)
                if impl is None:
                    continue
                result = impl()
                for spec in ([] if result is None else result):
                    if not isinstance(spec, cls):
                        raise TypeError(f"{hook_name} yielded {type(spec).__name__}, expected {cls.__name__}")
                    collected.append((kind, spec))
        except Exception as exc:
            self.pm.unregister(plugin)
            info.error = f"failed in registration: {type(exc).__name__}: {exc}"
            if os.environ.get("SPARRING_TRACE_PLUGINS"):
                traceback.print_exc()
            return False
        for kind, spec in collected:
            previous = self._specs[kind].get(spec.name)
            if previous is not None:
                raise DuplicateNameError(
                    f"{kind} '{spec.name}' is registered twice: by plugin '{previous[1]}' "
                    f"and by plugin '{name}'; disable one with SPARRING_DISABLE_PLUGINS")
            self._specs[kind][spec.name] = (spec, name)
            info.registers.setdefault(kind, []).append(spec.name)
        return True

    def load_entry_points(self, group: str = "sparring") -> None:
        """Import and register every entry point of ``group``, skipping failures."""
        for ep in sorted(md.entry_points(group=group), key=lambda e: e.name):
            dist = getattr(ep, "dist", None)
            dist_name = dist.metadata["Name"] if dist is not None else ""
            version = dist.version if dist is not None else ""
            if ep.name in _disabled_names():
                self.plugins[ep.name] = PluginInfo(ep.name, dist_name, version, disabled=True)
                continue
            if ep.name in self.plugins:
                continue
            try:
                plugin = ep.load()
            except Exception as exc:
                self.plugins[ep.name] = PluginInfo(
                    ep.name, dist_name, version,
                    error=f"failed to import {ep.value}: {type(exc).__name__}: {exc}")
                continue
            self.add_plugin(plugin, ep.name, dist_name, version)

    # -- lookup -----------------------------------------------------------------------

    def names(self, kind: str, modality: str | None = None) -> list[str]:
        """Registered names of ``kind``, optionally only those usable with ``modality``."""
        return sorted(n for n, (spec, _) in self._specs[kind].items()
                      if modality is None or getattr(spec, "modality", None) in (None, modality))

    def specs(self, kind: str) -> list:
        return [spec for spec, _ in self._specs[kind].values()]

    def provider(self, kind: str, name: str) -> str:
        return self._specs[kind][name][1]

    def get(self, kind: str, name: str, modality: str | None = None):
        """The spec ``name`` of ``kind``; an unknown name lists the known ones."""
        if kind not in self._specs:
            raise UnknownNameError(f"unknown kind '{kind}'; kinds: {', '.join(self._specs)}")
        entry = self._specs[kind].get(name)
        if entry is None:
            known = self.names(kind, modality)
            hint = closest(name, known)
            where = f" for modality '{modality}'" if modality else ""
            msg = f"unknown {kind} '{name}'{where}"
            if hint:
                msg += f"; did you mean '{hint}'?"
            msg += f" Known: {', '.join(known) or '(none)'}"
            failed = [p.name for p in self.plugins.values() if p.error]
            if failed:
                msg += f". Plugins that failed to load: {', '.join(failed)} (see `sparring plugins`)"
            raise UnknownNameError(msg)
        spec = entry[0]
        spec_modality = getattr(spec, "modality", None)
        if modality is not None and spec_modality not in (None, modality):
            raise UnknownNameError(
                f"{kind} '{name}' belongs to modality '{spec_modality}', not '{modality}'. "
                f"Known for '{modality}': {', '.join(self.names(kind, modality)) or '(none)'}")
        return spec

    # -- lifecycle --------------------------------------------------------------------

    def has_impls(self, hook_name: str) -> bool:
        """True when at least one plugin implements the lifecycle hook."""
        return bool(getattr(self.pm.hook, hook_name).get_hookimpls())

    def failed(self) -> list[PluginInfo]:
        return [p for p in self.plugins.values() if p.error]


def _enable_tracing(pm: pluggy.PluginManager) -> None:
    pm.trace.root.setwriter(lambda msg: sys.stderr.write(f"[sparring trace] {msg}"))
    pm.enable_tracing()


def load_registry(extra_plugins: Iterable[tuple[str, Any]] = (), entry_points: bool = True) -> Registry:
    """Built-in plugin, then ``extra_plugins`` (name, object) pairs, then entry points.

    Plugins that fail are listed in ``registry.failed()`` and warned about on stderr.
    """
    pm = pluggy.PluginManager("sparring")
    pm.add_hookspecs(hookspecs)
    if os.environ.get("SPARRING_TRACE_PLUGINS"):
        _enable_tracing(pm)
    registry = Registry(pm)
    from .builtin import plugin as builtin_plugin

    import sparring

    registry.add_plugin(builtin_plugin, BUILTIN_NAME, "sparring", sparring.__version__)
    for name, plugin in extra_plugins:
        registry.add_plugin(plugin, name)
    if entry_points:
        registry.load_entry_points()
    for info in registry.failed():
        print(f"sparring: warning: plugin '{info.name}' skipped: {info.error}", file=sys.stderr)
    return registry
