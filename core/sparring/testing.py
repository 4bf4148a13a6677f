"""The contract test kit: every spec a plugin registers, checked on the CPU in seconds.

A plugin adds one test file (docs/writing-a-plugin.md lists what each case checks)::

    from sparring.testing import contract_test

    test_contract = contract_test(
        "timeseries",                                        # entry-point name or module
        overrides={"generator:conv": {"channels": 8}},       # tiny configs, per spec
        skip={"dataset:file": "reads a user's file"},        # with a reason, shown by -ra
    )

pytest then runs one case per spec, with ids like ``generator:conv``, ``train:timeseries``
or ``plugin:no-torch-on-import``; each failure says what to fix. ``overrides`` maps
``"<kind>:<name>"`` to config keys, or to a callable ``tmp_path -> dict`` (for a file a
dataset reads); ``"train:<modality>"`` takes ``[trainer]`` keys; ``skip`` maps a case id
to a reason. A key naming nothing registered is an error, not a silent no-op. Specs are
checked against the installed registry: a plugin adding a generator to another plugin's
modality is paired with that modality's defaults.
"""
from __future__ import annotations

import dataclasses
import importlib
import importlib.metadata as md
import inspect
import io
import os
import subprocess
import sys
import tomllib
import types
import unittest
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import torch
import torch.nn.functional as F

from . import hookimpl
from .checkpoint import latest_checkpoint
from .config import build_dataclass, resolve, to_toml
from .data import BatchStream
from .errors import closest
from .outputs import logits_of
from .registry import BUILTIN_NAME, load_registry
from .specs import REGISTRATION_KINDS, DataInfo
from .train import Trainer, _needs_real

KINDS = tuple(kind for kind, _ in REGISTRATION_KINDS.values())
SYNTHETIC_CLASSES = 3  # labels for a conditional model when the data have none


class ContractError(AssertionError):
    """A plugin breaks the contract; the message names the case and what to fix."""


@dataclass
class ContractCase:
    """One check: ``id`` is ``"<kind>:<name>"`` (e.g. ``generator:dcgan``)."""

    id: str
    kind: str
    name: str
    context: "_Context" = field(repr=False)

    def __str__(self) -> str:
        return self.id


def _expect(condition: bool, message: str) -> None:
    if not condition:
        raise ContractError(message)


# --- loading the plugin and its context -------------------------------------------------


def _module_entry_point_name(module_name: str) -> str | None:
    for ep in md.entry_points(group="sparring"):
        if ep.value.split(":")[0] == module_name:
            return ep.name
    return None


class _Context:
    """The registry, the options and the data one plugin's cases share (built lazily)."""

    def __init__(self, plugin, name, entry_points, overrides, skip, data, batch_size, metric_samples):
        self.module_name = None
        extra = []
        if plugin == BUILTIN_NAME:
            plugin = "sparring.builtin.plugin"
        if isinstance(plugin, str) and "." in plugin:
            plugin = importlib.import_module(plugin)
        if isinstance(plugin, str):
            self.name = plugin  # an entry-point name
        elif isinstance(plugin, types.ModuleType):
            self.module_name = plugin.__name__
            if plugin.__name__ == "sparring.builtin.plugin":
                self.name = BUILTIN_NAME
            else:
                ep_name = _module_entry_point_name(plugin.__name__) if entry_points else None
                self.name = ep_name or name or plugin.__name__
                if ep_name is None:
                    extra = [(self.name, plugin)]
        else:  # a plugin object registered in code
            self.name = name or type(plugin).__name__
            extra = [(self.name, plugin)]
        self.registry = load_registry(extra_plugins=extra, entry_points=entry_points)
        info = self.registry.plugins.get(self.name)
        if self.module_name is None and info is not None and not extra and self.registry.pm.get_plugin(self.name):
            self.module_name = getattr(self.registry.pm.get_plugin(self.name), "__name__", None)
        self.overrides = dict(overrides or {})
        self.skip = dict(skip or {})
        self.feeds = dict(data or {})
        self.batch_size = batch_size
        self.metric_samples = metric_samples
        self._data: dict[str, Any] = {}

    # -- names ------------------------------------------------------------------------

    def registers(self) -> dict[str, list[str]]:
        info = self.registry.plugins.get(self.name)
        return {} if info is None else info.registers

    def check_keys(self, case_ids: set[str]) -> None:
        """An override or skip naming nothing registered is a typo: say so now."""
        known = {f"{kind}:{n}" for kind in KINDS for n in self.registry.names(kind)}
        known |= {f"train:{m}" for m in self.registry.names("modality")}
        for label, keys, valid in (("overrides", self.overrides, known), ("skip", self.skip, known | case_ids),
                                   ("data", self.feeds, known)):
            for key in keys:
                if key not in valid:
                    hint = closest(key, valid)
                    raise ValueError(f"sparring.testing: {label} key '{key}' names nothing registered"
                                     + (f"; did you mean '{hint}'?" if hint else "")
                                     + " (keys look like 'generator:dcgan' or 'train:image')")

    def override(self, key: str, tmp_path: Path) -> dict:
        value = self.overrides.get(key, {})
        return dict(value(tmp_path) if callable(value) else value)

    def params(self, kind: str, spec, tmp_path: Path):
        """The spec's config dataclass: its defaults with this plugin's tiny overrides."""
        values = self.override(f"{kind}:{spec.name}", tmp_path)
        if spec.config is None:
            _expect(not values, f"{kind} '{spec.name}' takes no config, but overrides give {values}")
            return None
        return build_dataclass(spec.config, values, f"{kind}.")

    # -- what a modality's models see ----------------------------------------------------

    def modality(self, name: str):
        return self.registry.get("modality", name)

    def data(self, modality: str, tmp_path: Path, case_key: str | None = None) -> "_Data":
        """A small real batch of ``modality``: from the dataset ``data`` names for this
        case (a model that needs its own representation), else a dataset not skipped."""
        table = self.feeds.get(case_key)
        key = case_key if table is not None else modality
        if key not in self._data:
            spec = self.modality(modality)
            if table is not None:
                table = dict(table(tmp_path) if callable(table) else table)
                ds_spec = self.registry.get("dataset", table.pop("name", spec.dataset), modality)
                values = {**self.override(f"dataset:{ds_spec.name}", tmp_path), **table}
            else:
                names = [spec.dataset] + [n for n in self.registry.names("dataset", modality) if n != spec.dataset]
                usable = [n for n in names if f"dataset:{n}" not in self.skip]
                if not usable:
                    raise unittest.SkipTest(f"every dataset of modality '{modality}' is skipped, so its models "
                                            "cannot be fed real data here")
                ds_spec = self.registry.get("dataset", usable[0], modality)
                values = self.override(f"dataset:{ds_spec.name}", tmp_path)
            params = build_dataclass(ds_spec.config, values, "dataset.") if ds_spec.config else None
            self._data[key] = _Data(ds_spec.name, ds_spec.build(params), spec, self.batch_size)
            self._data[key].values = values  # the train case configures the same dataset
        return self._data[key]

    def partner(self, kind: str, modality: str, conditional: bool, prefer: str):
        """A model of the other kind for ``modality``: same name, the default, or any."""
        spec_mod = self.modality(modality)
        default = spec_mod.generator if kind == "generator" else spec_mod.discriminator
        names = [prefer, default] + self.registry.names(kind, modality)
        names = [n for n in names if n in self.registry.names(kind, modality) and f"{kind}:{n}" not in self.skip]
        _expect(bool(names), f"modality '{modality}' has no {kind} to pair with")
        for n in names:
            if self.registry.get(kind, n).conditional == conditional:
                return self.registry.get(kind, n)
        return self.registry.get(kind, names[0])

    def build_model(self, kind: str, spec, data: "_Data", tmp_path: Path):
        module = spec.build(self.params(kind, spec, tmp_path), data.info(spec.conditional))
        _expect(isinstance(module, torch.nn.Module), f"{kind} '{spec.name}': build returned "
                                                     f"{type(module).__name__}, not a torch.nn.Module")
        return module

    def latent(self, modality: str, G, n: int):
        sampler = self.modality(modality).sample_latent
        if sampler is not None:
            return sampler(n, G, torch.device("cpu"), torch.Generator().manual_seed(0))
        _expect(isinstance(getattr(G, "latent_dim", None), int),
                f"generator {type(G).__name__} has no integer 'latent_dim' and modality '{modality}' "
                "has no sample_latent: the loop cannot draw its noise")
        return torch.randn(n, G.latent_dim)


class _Data:
    """One dataset of a modality and a batch of it as D sees it."""

    def __init__(self, name, dataset, modality_spec, batch_size):
        self.name, self.dataset = name, dataset
        _expect(len(dataset) >= 2, f"dataset '{name}' has {len(dataset)} items; the checks need at least 2")
        self.n = min(batch_size, len(dataset))
        self.stream = BatchStream(dataset, self.n, seed=0, device=torch.device("cpu"), on_device=False,
                                  name=f"dataset '{name}'")
        x, self.y = self.stream.next()
        self.real_to_d = modality_spec.real_to_d or (lambda v: v)
        self.x = self.real_to_d(x)
        self.num_classes = getattr(dataset, "num_classes", None)

    def info(self, conditional: bool) -> DataInfo:
        classes = (self.num_classes or SYNTHETIC_CLASSES) if conditional else None
        return DataInfo(tuple(self.x.shape[1:]), classes, 1)

    def labels(self, conditional: bool, n: int | None = None):
        if not conditional:
            return None
        n = n or self.n
        if self.y is not None and n == self.n:
            return self.y
        return torch.randint(self.num_classes or SYNTHETIC_CLASSES, (n,))


# --- the checks, one per kind -----------------------------------------------------------


def _finite(t) -> bool:
    return bool(torch.isfinite(t.detach().float()).all())


def _check_grads(module, who: str) -> None:
    grads = [p.grad for p in module.parameters() if p.requires_grad]
    _expect(any(g is not None for g in grads), f"{who}: no gradient reached its parameters")
    _expect(all(_finite(g) for g in grads if g is not None), f"{who}: non-finite gradients")


def _check_config_toml(kind: str, spec, params) -> None:
    """The run's config.toml holds these values: they must survive writing and reading."""
    if params is None:
        return
    table = dataclasses.asdict(params)
    try:
        text = to_toml({kind: table})
    except TypeError as exc:
        raise ContractError(f"{kind} '{spec.name}': its config {type(params).__name__} cannot be written to "
                            f"config.toml ({exc}); use str, int, float, bool or lists of them") from None
    back = dataclasses.asdict(build_dataclass(spec.config, tomllib.loads(text)[kind], f"{kind}."))
    _expect(_plain(back) == _plain(table), f"{kind} '{spec.name}': config changes when written to "
                                           f"config.toml and read back: {table} became {back}")


def _plain(value):
    """TOML has arrays, not tuples: compare configs with tuples as lists."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _check_generator(ctx: _Context, spec, tmp_path: Path) -> None:
    data = ctx.data(spec.modality, tmp_path, f"generator:{spec.name}")
    params = ctx.params("generator", spec, tmp_path)
    _check_config_toml("generator", spec, params)
    G = ctx.build_model("generator", spec, data, tmp_path)
    d_spec = ctx.partner("discriminator", spec.modality, spec.conditional, spec.name)
    D = ctx.build_model("discriminator", d_spec, data, tmp_path)
    y = data.labels(spec.conditional)
    fake = G(ctx.latent(spec.modality, G, data.n), y)
    want = (data.n, *data.x.shape[1:])
    _expect(torch.is_tensor(fake), f"generator '{spec.name}' returned {type(fake).__name__}, not a tensor")
    _expect(tuple(fake.shape) == want,
            f"generator '{spec.name}' returned shape {tuple(fake.shape)}; real batches reach D as {want} "
            f"(dataset '{data.name}' after real_to_d): G(z) must have that shape")
    _expect(_finite(fake), f"generator '{spec.name}' returned non-finite values")
    logits = logits_of(D(fake, y if d_spec.conditional else None))
    F.softplus(-logits.float()).mean().backward()
    _check_grads(G, f"generator '{spec.name}' (through discriminator '{d_spec.name}')")
    G.eval()  # the sampler (EMA copy) runs in eval mode, without gradients
    with torch.no_grad():
        again = G(ctx.latent(spec.modality, G, data.n), y)
    _expect(tuple(again.shape) == want, f"generator '{spec.name}' in eval mode returned {tuple(again.shape)}")


def _check_discriminator(ctx: _Context, spec, tmp_path: Path) -> None:
    data = ctx.data(spec.modality, tmp_path, f"discriminator:{spec.name}")
    _check_config_toml("discriminator", spec, ctx.params("discriminator", spec, tmp_path))
    D = ctx.build_model("discriminator", spec, data, tmp_path)
    g_spec = ctx.partner("generator", spec.modality, spec.conditional, spec.name)
    G = ctx.build_model("generator", g_spec, data, tmp_path)
    y = data.labels(spec.conditional)
    with torch.no_grad():
        fake = G(ctx.latent(spec.modality, G, data.n), y if g_spec.conditional else None)
    real_logits = logits_of(D(data.x, y))
    fake_logits = logits_of(D(fake, y))
    for what, logits in (("real", real_logits), ("fake", fake_logits)):
        _expect(torch.is_tensor(logits), f"discriminator '{spec.name}' returned {type(logits).__name__} logits "
                                         "for " + what + " data; return a tensor, a list ending in one, or "
                                         "sparring.outputs.DiscriminatorOutput")
        _expect(_finite(logits), f"discriminator '{spec.name}' returned non-finite logits for {what} data")
        _expect(logits.shape[0] == data.n, f"discriminator '{spec.name}': logits for {what} data have "
                                           f"{logits.shape[0]} rows for a batch of {data.n}")
    _expect(real_logits.shape == fake_logits.shape,
            f"discriminator '{spec.name}': real logits {tuple(real_logits.shape)} and fake logits "
            f"{tuple(fake_logits.shape)} differ in shape (relativistic losses pair them)")
    loss = F.softplus(-real_logits.float()).mean() + F.softplus(fake_logits.float()).mean()
    loss.backward()
    _check_grads(D, f"discriminator '{spec.name}'")
    if data.x.is_floating_point():  # R1 / WGAN-GP: d(logits)/dx, then backward through it
        x = data.x.detach().clone().requires_grad_(True)
        try:
            (grad,) = torch.autograd.grad(logits_of(D(x, y)).sum(), x, create_graph=True)
            grad.pow(2).sum().backward()
        except RuntimeError as exc:
            raise ContractError(f"discriminator '{spec.name}' cannot take the input-gradient penalty "
                                f"(r1, gp): {str(exc).splitlines()[0]}") from None
        _expect(_finite(grad), f"discriminator '{spec.name}': non-finite gradient with respect to its input")


def _check_dataset(ctx: _Context, spec, tmp_path: Path) -> None:
    params = ctx.params("dataset", spec, tmp_path)
    _check_config_toml("dataset", spec, params)
    ctx.modality(spec.modality)  # a dataset of a modality nobody registers is unusable
    dataset = spec.build(params)
    n = len(dataset)
    _expect(n > 0, f"dataset '{spec.name}' is empty")
    item = dataset[0]
    classes = getattr(dataset, "num_classes", None)
    if isinstance(item, (tuple, list)):
        _expect(len(item) == 2, f"dataset '{spec.name}': an item has {len(item)} parts; yield x or (x, label)")
        x, label = item
        _expect(isinstance(classes, int) and classes >= 1,
                f"dataset '{spec.name}' yields (x, label) but has no integer num_classes attribute")
        label = int(label.item()) if torch.is_tensor(label) else label
        _expect(isinstance(label, int) and 0 <= label < classes,
                f"dataset '{spec.name}': label {label!r} is not an int in [0, num_classes={classes})")
    else:
        x = item
        _expect(classes is None, f"dataset '{spec.name}' sets num_classes={classes} but its items carry no label")
    _expect(torch.is_tensor(x), f"dataset '{spec.name}': an item is {type(x).__name__}, not a tensor")
    tensors = getattr(dataset, "tensors", None)
    if tensors is not None:  # the loop indexes these directly instead of calling __getitem__
        first = torch.as_tensor(tensors[0][0])
        _expect(len(tensors[0]) == n and torch.equal(first.float().nan_to_num(), x.float().nan_to_num()),
                f"dataset '{spec.name}': .tensors[0] disagrees with dataset[0] / len(dataset)")
    data = _Data(spec.name, dataset, ctx.modality(spec.modality), ctx.batch_size)
    _expect(tuple(data.stream.sample(1, seed=0).shape[1:]) == tuple(x.shape),
            f"dataset '{spec.name}': batches and items differ in shape")
    if data.x.is_floating_point():
        _expect(_finite(data.x), f"dataset '{spec.name}': non-finite values after real_to_d")


def _check_loss(ctx: _Context, spec, tmp_path: Path) -> None:
    for shape in ((8,), (8, 1, 3, 3)):  # per-sample and patch logits
        real = torch.randn(shape, requires_grad=True)
        fake = torch.randn(shape, requires_grad=True)
        for role, fn, args in (("d_loss", spec.d_loss, (real, fake)),
                               ("g_loss", spec.g_loss, (fake, real if _needs_real(spec) else None))):
            value = fn(*args)
            _expect(torch.is_tensor(value) and value.dim() == 0,
                    f"loss '{spec.name}': {role} on logits {shape} returned {value!r}, not a scalar tensor")
            _expect(_finite(value), f"loss '{spec.name}': {role} is not finite on random logits {shape}")
            grads = torch.autograd.grad(value, [a for a in args if a is not None], allow_unused=True)
            _expect(any(g is not None for g in grads), f"loss '{spec.name}': {role} does not depend on the logits")
            _expect(all(_finite(g) for g in grads if g is not None), f"loss '{spec.name}': {role} has non-finite gradients")


def _check_regularizer(ctx: _Context, spec, tmp_path: Path) -> None:
    D = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(6, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1))
    real, fake = torch.randn(4, 2, 3), torch.randn(4, 2, 3)
    for label, call in (("logits", lambda x, y=None: D(x)), ("a list ending in logits", lambda x, y=None: [x, D(x)])):
        D.zero_grad()
        value = spec.penalty(call, real, fake, None)
        _expect(torch.is_tensor(value) and value.dim() == 0 and _finite(value),
                f"regularizer '{spec.name}' returned {value!r} for a D returning {label}: want a finite scalar")
        value.backward()
        _check_grads(D, f"regularizer '{spec.name}'")


def _check_augmentation(ctx: _Context, spec, tmp_path: Path) -> None:
    params = ctx.params("augmentation", spec, tmp_path)
    _check_config_toml("augment", spec, params)
    x = ctx.data(spec.modality, tmp_path, f"augmentation:{spec.name}").x if spec.modality else torch.randn(4, 3, 8, 8)
    x = x.detach().float().clone().requires_grad_(True)
    aug = spec.build(params)
    out = aug(x)
    _expect(tuple(out.shape) == tuple(x.shape) and _finite(out),
            f"augmentation '{spec.name}' changed the shape {tuple(x.shape)} -> {tuple(out.shape)} or made non-finite values")
    out.float().sum().backward()
    _expect(x.grad is not None, f"augmentation '{spec.name}' is not differentiable: G learns through it")
    if hasattr(aug, "update"):
        aug.update(torch.randn(x.shape[0]))
    if hasattr(aug, "state_dict"):
        buffer = io.BytesIO()
        try:
            torch.save(aug.state_dict(), buffer)
            buffer.seek(0)
            state = torch.load(buffer, weights_only=True)
        except Exception as exc:
            raise ContractError(f"augmentation '{spec.name}': state_dict does not load with weights_only=True "
                                f"(checkpoints must): {str(exc).splitlines()[0]}") from None
        aug.load_state_dict(state)


@torch.no_grad()
def _generate(ctx: _Context, modality: str, data: "_Data", n: int, tmp_path: Path):
    """``n`` samples of the modality's default generator in eval mode: what the loop
    hands to metrics and writers."""
    g_spec = ctx.partner("generator", modality, False, ctx.modality(modality).generator)
    G = ctx.build_model("generator", g_spec, data, tmp_path).eval()
    return G(ctx.latent(modality, G, n), data.labels(g_spec.conditional, n))


def _check_metric(ctx: _Context, spec, tmp_path: Path) -> None:
    if spec.modality is None:
        generated, real, dataset = torch.randn(64, 8), torch.randn(64, 8), None
    else:
        data = ctx.data(spec.modality, tmp_path, f"metric:{spec.name}")
        n = min(ctx.metric_samples, data.stream.n)
        generated = data.real_to_d(_generate(ctx, spec.modality, data, n, tmp_path)).float()
        real, dataset = data.real_to_d(data.stream.sample(n, seed=1)), data.dataset
    results = spec.compute(generated, real, dataset)
    _expect(isinstance(results, dict) and results, f"metric '{spec.name}' returned {results!r}, not a non-empty dict")
    for key, value in results.items():
        _expect(isinstance(key, str), f"metric '{spec.name}': key {key!r} is not a string")
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ContractError(f"metric '{spec.name}': '{key}' = {value!r} is not a number") from None
        _expect(number == number, f"metric '{spec.name}': '{key}' is NaN")


def _check_writer(ctx: _Context, spec, tmp_path: Path) -> None:
    data = ctx.data(spec.modality, tmp_path, f"writer:{spec.name}")
    samples = _generate(ctx, spec.modality, data, data.n, tmp_path).float().cpu()
    folder = tmp_path / "samples"
    folder.mkdir(parents=True, exist_ok=True)
    kwargs = {"dataset": data.dataset} if "dataset" in _parameters(spec.write) else {}
    paths = spec.write(samples, folder / "step_0000001", **kwargs)
    paths = [Path(p) for p in (paths or [])]
    _expect(bool(paths), f"writer '{spec.name}' returned no paths: return every file it wrote")
    for p in paths:
        _expect(p.is_file() and p.stat().st_size > 0, f"writer '{spec.name}' returned '{p}', which is not a written file")
        _expect(folder.resolve() in p.resolve().parents, f"writer '{spec.name}' wrote '{p}' outside '{folder}'")


def _parameters(fn) -> dict:
    try:
        return dict(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        return {}


def _check_modality(ctx: _Context, spec, tmp_path: Path) -> None:
    cfg = resolve({"modality": spec.name, "out": str(tmp_path / "run")}, ctx.registry)
    _expect((cfg.generator.name, cfg.discriminator.name, cfg.dataset.name)
            == (spec.generator, spec.discriminator, spec.dataset),
            f"modality '{spec.name}': its defaults did not resolve to its own generator/discriminator/dataset")
    again = resolve(tomllib.loads(to_toml(cfg.to_dict())), ctx.registry)
    _expect(again.to_dict() == cfg.to_dict(), f"modality '{spec.name}': the written config.toml resolves differently")


def _train_config(ctx: _Context, modality: str, out: Path, tmp_path: Path, steps: int) -> dict:
    spec = ctx.modality(modality)
    data = ctx.data(modality, tmp_path, f"train:{modality}")
    trainer = {"steps": steps, "batch_size": data.n, "log_every": 1, "sample_every": 2,
               "checkpoint_every": 2, "n_samples": data.n, "eval_samples": data.n, "progress": False}
    if spec.pretrain_loss is not None:
        trainer["pretrain_steps"] = 1
    trainer.update(ctx.override(f"train:{modality}", tmp_path))
    raw = {"modality": modality, "out": str(out), "device": "cpu", "seed": 0, "trainer": trainer,
           "dataset": {"name": data.name, **data.values}}
    for section, name in (("generator", spec.generator), ("discriminator", spec.discriminator)):
        raw[section] = {"name": name, **ctx.override(f"{section}:{name}", tmp_path)}
    return raw


class _StopAfter:
    """Stops a run after ``step`` as SIGTERM would: checkpoint, then return."""

    def __init__(self, step: int):
        self.step = step

    @hookimpl
    def sparring_step_end(self, trainer, step, logs):
        if step == self.step:
            trainer._stop_signal = "the contract test"


def _check_training(ctx: _Context, spec, tmp_path: Path) -> None:
    def run(out: str, stop_after: int = 0, resume: bool = False):
        cfg = resolve(_train_config(ctx, spec.name, tmp_path / out, tmp_path, 3), ctx.registry)
        cfg.metrics = []  # metrics have their own cases; some train a feature network
        stopper = _StopAfter(stop_after)
        if stop_after:
            ctx.registry.pm.register(stopper, name="contract-stopper")
        try:
            trainer = Trainer(cfg, ctx.registry, resume=resume)
            trainer.train()
        finally:
            if stop_after:
                ctx.registry.pm.unregister(stopper)
        return trainer

    with torch.random.fork_rng(devices=[]):
        first = run("run", stop_after=2)
        _expect(first.step == 2 and latest_checkpoint(first.run_dir) is not None,
                f"train:{spec.name}: no checkpoint written when the run stopped at step {first.step}")
        if first.writer is not None:
            written = list((first.run_dir / "samples").iterdir())
            _expect(bool(written), f"train:{spec.name}: writer '{first.writer.name}' wrote no samples")
        resumed = run("run", resume=True)
        straight = run("straight")
    _expect(resumed.step == 3, f"train:{spec.name}: resumed run stopped at step {resumed.step}, not 3")
    _expect(all(_finite(p) for p in resumed.G.parameters()), f"train:{spec.name}: G has non-finite weights")
    for part in ("G", "D"):
        a, b = getattr(straight, part).state_dict(), getattr(resumed, part).state_dict()
        differ = [k for k in a if not torch.equal(a[k], b[k])]
        _expect(not differ, f"train:{spec.name}: stopped at step 2 and resumed, {part} differs from a run "
                            f"that never stopped ({', '.join(differ[:3])}): some state of the plugin's data, "
                            "models or augmentation is not saved, or draws from an unseeded generator")


def _check_loads(ctx: _Context, tmp_path: Path) -> None:
    info = ctx.registry.plugins.get(ctx.name)
    installed = ", ".join(sorted(ctx.registry.plugins)) or "(none)"
    _expect(info is not None, f"plugin '{ctx.name}' is not installed (installed: {installed}); "
                              "`pip install -e` your distribution, or pass the module")
    _expect(not info.disabled, f"plugin '{ctx.name}' is disabled by SPARRING_DISABLE_PLUGINS")
    _expect(info.error is None, f"plugin '{ctx.name}' failed to load: {info.error}")
    _expect(bool(info.hooks), f"plugin '{ctx.name}' implements no sparring_* hook")


_SPY = r"""
import importlib, sys, traceback
class Spy:
    def find_spec(self, name, path=None, target=None):
        if name == "torch":
            sys.meta_path.remove(self)
            print("".join(traceback.format_stack()[:-1][-6:]), file=sys.stderr)
        return None
sys.meta_path.insert(0, Spy())
importlib.import_module(sys.argv[1])
print("torch" in sys.modules)
"""


def _check_import(ctx: _Context, tmp_path: Path) -> None:
    path = os.pathsep.join([p for p in sys.path if p] + [os.environ.get("PYTHONPATH", "")])
    env = dict(os.environ, PYTHONPATH=path, OMP_NUM_THREADS="1")
    proc = subprocess.run([sys.executable, "-c", _SPY, ctx.module_name], capture_output=True, text=True,
                          env=env, timeout=120)
    _expect(proc.returncode == 0, f"importing '{ctx.module_name}' failed:\n{proc.stderr[-2000:]}")
    _expect(proc.stdout.strip().endswith("False"),
            f"importing '{ctx.module_name}' imports torch; import it inside the factories (build, "
            f"compute, write) so `sparring plugins` stays fast. First import of torch:\n{proc.stderr[-2000:]}")


_CHECKS: dict[str, Callable] = {
    "modality": _check_modality, "generator": _check_generator, "discriminator": _check_discriminator,
    "dataset": _check_dataset, "loss": _check_loss, "regularizer": _check_regularizer,
    "augmentation": _check_augmentation, "metric": _check_metric, "writer": _check_writer,
}


# --- the public API -----------------------------------------------------------------------


def contract_cases(plugin, *, name: str | None = None, overrides: dict | None = None,
                   skip: dict | None = None, data: dict | None = None, entry_points: bool = True,
                   batch_size: int = 8, metric_samples: int = 64) -> list[ContractCase]:
    """Every contract case of ``plugin``: an entry-point name (``"image"``), ``"builtin"``,
    a dotted module name, a module, or a plugin object registered in code under ``name``.

    ``data`` maps a case key (``"generator:specgan"``) to the dataset table that feeds it
    (``{"name": "chorale-audio", "representation": "spectrogram"}``, or a callable of the
    case folder) when it needs other data than the modality's default. Cheap: it loads
    the registry and lists names; nothing is built until a case runs.
    """
    ctx = _Context(plugin, name, entry_points, overrides, skip, data, batch_size, metric_samples)
    cases = [ContractCase("plugin:loads", "plugin", "loads", ctx)]
    if ctx.module_name:
        cases.append(ContractCase("plugin:no-torch-on-import", "plugin", "import", ctx))
    for kind in KINDS:
        for spec_name in ctx.registers().get(kind, []):
            cases.append(ContractCase(f"{kind}:{spec_name}", kind, spec_name, ctx))
            if kind == "modality":
                cases.append(ContractCase(f"train:{spec_name}", "train", spec_name, ctx))
    ctx.check_keys({c.id for c in cases})
    return cases


def run_contract_case(case: ContractCase, tmp_path) -> None:
    """Run one case; raises :class:`ContractError` on a breach, ``unittest.SkipTest`` when skipped."""
    ctx, tmp_path = case.context, Path(tmp_path)
    if case.id in ctx.skip:
        raise unittest.SkipTest(str(ctx.skip[case.id]))
    if case.kind == "plugin":
        (_check_loads if case.name == "loads" else _check_import)(ctx, tmp_path)
        return
    _check_loads(ctx, tmp_path)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        try:
            if case.kind == "train":
                _check_training(ctx, ctx.modality(case.name), tmp_path)
            else:
                _CHECKS[case.kind](ctx, ctx.registry.get(case.kind, case.name), tmp_path)
        except (ContractError, unittest.SkipTest):
            raise
        except Exception as exc:
            raise ContractError(f"[{case.id}] {type(exc).__name__}: {exc}") from exc


def contract_test(plugin, *, name: str | None = None, overrides: dict | None = None, skip: dict | None = None,
                  data: dict | None = None, entry_points: bool = True, batch_size: int = 8,
                  metric_samples: int = 64):
    """A pytest test function parametrised over :func:`contract_cases` (same arguments);
    assign it to a module-level name starting with ``test_``."""
    import pytest

    kwargs = dict(name=name, overrides=overrides, skip=skip, data=data, entry_points=entry_points,
                  batch_size=batch_size, metric_samples=metric_samples)
    cases = contract_cases(plugin, **kwargs)

    @pytest.mark.parametrize("contract_case", cases, ids=[c.id for c in cases])
    def test_contract(contract_case, tmp_path):
        try:
            run_contract_case(contract_case, tmp_path)
        except unittest.SkipTest as exc:
            pytest.skip(f"{contract_case.id}: {exc}")

    return test_contract


def check_plugin(plugin, tmp_path, **kwargs) -> dict[str, str]:
    """Run every case; return ``{case id: "ok" | "skipped: reason"}`` or raise one
    :class:`ContractError` that lists every failure."""
    results, failures = {}, []
    for case in contract_cases(plugin, **kwargs):
        folder = Path(tmp_path) / case.id.replace(":", "-")
        folder.mkdir(parents=True, exist_ok=True)
        try:
            run_contract_case(case, folder)
            results[case.id] = "ok"
        except unittest.SkipTest as exc:
            results[case.id] = f"skipped: {exc}"
        except ContractError as exc:
            results[case.id] = f"FAILED: {exc}"
            failures.append(f"{case.id}: {exc}")
    if failures:
        raise ContractError(f"{len(failures)} contract case(s) failed:\n" + "\n".join(failures))
    return results
