"""Run configuration: dataclasses, TOML files and ``--set`` overrides.

A run is described by one TOML document::

    modality = "toy"
    seed = 0
    [trainer]          # TrainerConfig below
    steps = 2000
    [generator]        # name + the fields of that generator's config dataclass
    name = "mlp"
    [discriminator]
    name = "mlp"
    [dataset]
    name = "ring"

Every key is checked: an unknown key names the closest valid one, a wrong type names
the expected type, a value out of range names its bound. The resolved configuration
(every default filled in) is written to the run folder and reruns the run exactly.
"""
from __future__ import annotations

import dataclasses
import math
import tomllib
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ConfigError, closest
from .schedules import LR_SCHEDULES


NONE = "none"  # writer = "none", metrics = ["none"]: switch the modality's default off


def _f(default, help: str, min=None, choices=None, max=None, **kw):
    """A dataclass field carrying its help text and bounds (used by checks and docs)."""
    meta = {"help": help}
    if min is not None:
        meta["min"] = min
    if max is not None:
        meta["max"] = max
    if choices is not None:
        meta["choices"] = tuple(choices)
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda: type(default)(default), metadata=meta, **kw)
    return field(default=default, metadata=meta, **kw)


@dataclass
class TrainerConfig:
    """The ``[trainer]`` table: everything the loop itself does."""

    steps: int = _f(2000, "training steps (one G update each)", min=1)
    time_limit: float = _f(0.0, "minutes of training (pre-training included) after which the run ends as "
                           "if trainer.steps were reached: final samples, checkpoint and evaluation "
                           "(0: no limit)", min=0.0)
    batch_size: int = _f(64, "samples per step for D and for G", min=1)
    lr_g: float = _f(2e-4, "generator learning rate", min=0.0)
    lr_d: float = _f(2e-4, "discriminator learning rate (TTUR: may differ from lr_g)", min=0.0)
    betas_g: list[float] = _f([0.5, 0.999], "Adam betas of the generator")
    betas_d: list[float] = _f([0.5, 0.999], "Adam betas of the discriminator")
    lr_schedule: str = _f("constant", "learning-rate schedule of G and D: constant, or a linear or cosine "
                          "decay from trainer.lr_decay_start to the end", choices=LR_SCHEDULES)
    lr_decay_start: float = _f(0.0, "fraction of trainer.steps after which the learning rates decay "
                               "(0: from the first step)", min=0.0)
    lr_final: float = _f(0.0, "learning rate at the last step, as a fraction of lr_g / lr_d", min=0.0)
    optimizer: str = _f("adam", "optimizer for G and D", choices=("adam", "adamw", "rmsprop", "sgd"))
    weight_decay: float = _f(0.0, "weight decay of both optimizers", min=0.0)
    loss: str = _f("", "adversarial loss name (empty: the modality's default)")
    n_critic: int = _f(1, "discriminator updates per generator update", min=1)
    g_steps: int = _f(1, "generator updates per step, after the D updates (PacGAN's code uses 2)", min=1)
    regularizer: str = _f("", "D penalty: gp, r1, r2 or a plugin's (empty: none)")
    reg_weight: float = _f(-1.0, "penalty weight (-1: the regularizer's default)")
    reg_interval: int = _f(0, "apply the penalty every N D steps, lazily (0: its default)", min=0)
    feature_matching: float = _f(0.0, "weight of a feature-matching term in G's loss: L1 between D's "
                                 "intermediate features on real and generated samples (0: off; needs a "
                                 "discriminator that returns features)", min=0.0)
    mode_seeking: float = _f(0.0, "weight of MSGAN's mode-seeking term in G's loss: 1 / (distance between "
                             "two samples / distance between their latents), over the batch's two "
                             "halves; counters mode collapse (0: off; needs tensor latents)", min=0.0)
    imle: float = _f(0.0, "weight of an IMLE term in G's loss (Li & Malik 2018; Inclusive GAN): each real "
                     "sample pulls the nearest of trainer.imle_candidates generated samples toward it (mean "
                     "squared distance), so a mode G drops still pulls on G; counters mode dropping (0: off; "
                     "needs tensor latents and samples shaped like the real ones; a generator's imle_view(x), if it "
                     "has one, is what is compared and pulled)", min=0.0)
    imle_candidates: int = _f(4, "generated candidates per real sample for trainer.imle (one shared pool, "
                              "kept with its graph so the picks are pulled as drawn: G's memory for the term "
                              "grows with it; class-conditional runs match each real sample's label)", min=1)
    top_k: float = _f(1.0, "top-k training (Sinha et al. 2020): the share of each G micro-batch whose loss counts, "
                      "the samples D rates most real; G's worst samples no longer pull it (1: off)",
                      min=0.01, max=1.0)
    top_k_halflife: float = _f(0.0, "steps in which the share kept by trainer.top_k halves, from 1 down to "
                               "trainer.top_k (0: trainer.top_k from the first step)", min=0.0)
    ema_halflife: float = _f(10000.0, "EMA half-life of G in samples (0: no EMA)", min=0.0)
    ema_rampup: float = _f(0.05, "EMA ramp-up: half-life <= rampup * samples seen (0: none)", min=0.0)
    grad_accum: int = _f(1, "micro-batches per step (batch_size must divide evenly)", min=1)
    grad_clip: float = _f(0.0, "clip gradient norm of G and D to this (0: off)", min=0.0)
    precision: str = _f("auto", "auto (bf16 on CUDA, fp32 elsewhere), fp32, bf16 or fp16",
                        choices=("auto", "fp32", "bf16", "fp16"))
    compile: bool = _f(False, "torch.compile G and D")
    compile_mode: str = _f("default", "torch.compile mode: default, reduce-overhead (CUDA graphs), max-autotune",
                           choices=("default", "reduce-overhead", "max-autotune"))
    cuda_graph: bool = _f(False, "capture each step (D and G updates) as one CUDA graph and replay it: "
                          "for small models bound by kernel launches; needs CUDA, the lazy finite check, "
                          "no lazy penalty interval, a graph_safe augmentation if any; combines with compile "
                          "in its default mode (the compiled kernels replayed in the graph)")
    channels_last: str = _f("auto", "channels-last memory format for image-shaped (C, H, W) data: "
                            "auto (on CUDA), yes, no", choices=("auto", "yes", "no"))
    fused_optimizer: str = _f("auto", "fused Adam/AdamW/SGD kernels: auto (on CUDA), yes, no",
                              choices=("auto", "yes", "no"))
    finite_check: str = _f("auto", "non-finite steps are detected every step (a host sync each step) or "
                           "on the device and read at log steps (needs a fused optimizer, no fp16); "
                           "auto: log where the fused optimizer is on",
                           choices=("auto", "step", "log"))
    pack: int = _f(1, "PacGAN packing: D sees this many samples concatenated", min=1)
    conditional: str = _f("auto", "class-conditional G and D: auto (when data and models allow), yes, no",
                          choices=("auto", "yes", "no"))
    pretrain_steps: int = _f(0, "generator pre-training steps with the modality's loss (e.g. MLE)", min=0)
    lr_pretrain: float = _f(1e-3, "learning rate of generator pre-training", min=0.0)
    nan_patience: int = _f(20, "stop after this many consecutive non-finite steps", min=1)
    log_every: int = _f(10, "write metrics.jsonl every N steps", min=1)
    sample_every: int = _f(500, "write samples every N steps (and at the end)", min=1)
    n_samples: int = _f(64, "samples written each time", min=1)
    eval_every: int = _f(0, "evaluate every N steps (0: only at the end, -1: never)", min=-1)
    eval_samples: int = _f(2500, "samples drawn for each evaluation", min=2)
    checkpoint_every: int = _f(500, "checkpoint every N steps (and at the end)", min=1)
    keep_last: int = _f(2, "how many step checkpoints to keep (older ones are deleted)", min=1)
    data_on_device: bool = _f(True, "keep small in-memory datasets on the training device")
    num_workers: int = _f(0, "DataLoader workers for datasets read from disk", min=0)
    progress: bool = _f(True, "show a progress bar when attached to a terminal")


@dataclass
class Component:
    """A ``[generator]``-like table: a registered name and its typed parameters."""

    name: str
    params: Any = None  # an instance of the spec's config dataclass, or None

    def to_dict(self) -> dict:
        out = {"name": self.name}
        if self.params is not None:
            out.update(dataclasses.asdict(self.params))
        return out


@dataclass
class RunConfig:
    """The whole run. ``out`` is the run folder."""

    modality: str = _f("", "modality name (e.g. toy, image)")
    out: str = _f("", "run folder (default runs/<modality>-<dataset>)")
    seed: int = _f(0, "seed of every random number generator", min=0)
    device: str = _f("auto", "auto, cpu, cuda, cuda:N or mps")
    writer: str = _f("", "sample writer (empty: the modality's default; \"none\": write no samples)")
    metrics: list[str] = _f([], "metrics computed by eval (empty: the modality's defaults; [\"none\"]: no evaluation)")
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    generator: Component = field(default_factory=lambda: Component(""))
    discriminator: Component = field(default_factory=lambda: Component(""))
    dataset: Component = field(default_factory=lambda: Component(""))
    augment: Component = field(default_factory=lambda: Component(""))

    def to_dict(self) -> dict:
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, Component):
                if value.name:
                    out[f.name] = value.to_dict()
            elif dataclasses.is_dataclass(value):
                out[f.name] = dataclasses.asdict(value)
            else:
                out[f.name] = value
        return out


COMPONENT_KINDS = {"generator": "generator", "discriminator": "discriminator",
                   "dataset": "dataset", "augment": "augmentation"}


# --- reading -------------------------------------------------------------------------


def read_toml(path: str | Path) -> dict:
    """A TOML file as a dict; a missing or malformed file is a ConfigError naming it."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file '{path}' does not exist")
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config file '{path}' is not valid TOML: {exc}") from None


def parse_value(text: str) -> Any:
    """A ``--set`` value: a TOML literal (2e-4, true, [1, 2], "x") or else a bare string."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def apply_override(raw: dict, assignment: str) -> None:
    """Apply ``a.b=value`` to the nested dict ``raw`` in place."""
    if "=" not in assignment:
        raise ConfigError(f"--set '{assignment}' must look like key=value, e.g. trainer.lr_g=2e-4")
    key, value = assignment.split("=", 1)
    parts = [p.strip() for p in key.strip().split(".") if p.strip()]
    if not parts:
        raise ConfigError(f"--set '{assignment}' has an empty key")
    node = raw
    for part in parts[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ConfigError(f"--set '{assignment}': '{part}' is a value, not a table")
        node = child
    node[parts[-1]] = parse_value(value.strip())


# --- type checking -------------------------------------------------------------------


def _type_name(tp) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def coerce(key: str, value: Any, tp) -> Any:
    """Check ``value`` against the annotation ``tp``; convert the harmless cases."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        errors = []
        for arg in args:
            try:
                return coerce(key, value, arg)
            except ConfigError as exc:
                errors.append(str(exc))
        raise ConfigError(errors[0])
    if tp in (list, tuple):  # a bare annotation: a list of anything, but a list
        origin = tp
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"config key '{key}' expects a list, got {type(value).__name__} {value!r}")
        args = typing.get_args(tp)
        item_tp = args[0] if args else Any
        items = [coerce(f"{key}[{i}]", v, item_tp) for i, v in enumerate(value)]
        return items if origin is list else tuple(items)
    if tp is Any:
        return value
    if tp is bool:
        if isinstance(value, bool):
            return value
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
    elif tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    elif tp is str:
        if isinstance(value, str):
            return value
    elif tp is dict:
        if isinstance(value, dict):
            return value
    else:
        return value
    raise ConfigError(f"config key '{key}' expects {_type_name(tp)}, got {type(value).__name__} {value!r}")


def _check_bounds(key: str, value: Any, f: dataclasses.Field) -> None:
    lo = f.metadata.get("min")
    if lo is not None and isinstance(value, (int, float)) and not isinstance(value, bool):
        if not math.isfinite(value) or value < lo:
            raise ConfigError(f"config key '{key}' must be >= {lo}, got {value!r}")
    hi = f.metadata.get("max")
    if hi is not None and isinstance(value, (int, float)) and not isinstance(value, bool) and value > hi:
        raise ConfigError(f"config key '{key}' must be <= {hi}, got {value!r}")
    choices = f.metadata.get("choices")
    if choices and value not in choices:
        raise ConfigError(f"config key '{key}' must be one of {', '.join(map(repr, choices))}, got {value!r}")


def build_dataclass(cls: type, values: dict, prefix: str):
    """An instance of ``cls`` from ``values``, every key and type checked."""
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for key, value in values.items():
        if key not in fields:
            hint = closest(key, fields)
            msg = f"unknown config key '{prefix}{key}'"
            if hint:
                msg += f"; did you mean '{prefix}{hint}'?"
            msg += f" Valid keys: {', '.join(sorted(fields)) or '(none)'}"
            raise ConfigError(msg)
        kwargs[key] = coerce(prefix + key, value, hints[key])
        _check_bounds(prefix + key, kwargs[key], fields[key])
    try:
        instance = cls(**kwargs)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"config table '{prefix.rstrip('.') or 'top level'}': {exc}") from None
    # Defaults of plugin dataclasses must satisfy the bounds as well.
    return instance


TOP_LEVEL_KEYS = [f.name for f in dataclasses.fields(RunConfig)]


def check_raw(raw: dict) -> None:
    """Reject unknown top-level keys before anything is resolved."""
    if not isinstance(raw, dict):
        raise ConfigError("a configuration must be a TOML table")
    for key, value in raw.items():
        if key not in TOP_LEVEL_KEYS:
            hint = closest(key, TOP_LEVEL_KEYS)
            raise ConfigError(f"unknown config key '{key}'" + (f"; did you mean '{hint}'?" if hint else "")
                              + f" Valid keys: {', '.join(TOP_LEVEL_KEYS)}")
        if key in COMPONENT_KINDS or key == "trainer":
            if not isinstance(value, dict):
                raise ConfigError(f"config key '{key}' must be a table ([{key}]), got {type(value).__name__}")


def resolve(raw: dict, registry) -> RunConfig:
    """A complete RunConfig from a raw dict: modality defaults fill what is missing."""
    check_raw(raw)
    raw = {k: (dict(v) if isinstance(v, dict) else v) for k, v in raw.items()}
    scalars = {k: v for k, v in raw.items() if k not in COMPONENT_KINDS and k != "trainer"}
    cfg: RunConfig = build_dataclass(RunConfig, scalars, "")
    cfg.trainer = build_dataclass(TrainerConfig, raw.get("trainer", {}), "trainer.")
    if not cfg.modality:
        raise ConfigError("no modality given: name one, e.g. `sparring train toy`; "
                          f"installed: {', '.join(registry.names('modality'))}")
    modality = registry.get("modality", cfg.modality)
    defaults = {"generator": modality.generator, "discriminator": modality.discriminator,
                "dataset": modality.dataset, "augment": ""}
    for section, kind in COMPONENT_KINDS.items():
        table = dict(raw.get(section, {}))
        name = table.pop("name", None) or defaults[section]
        if not isinstance(name, str):
            raise ConfigError(f"config key '{section}.name' expects str, got {name!r}")
        if not name:
            setattr(cfg, section, Component(""))
            if table:
                raise ConfigError(f"config table '{section}' sets {', '.join(table)} but no '{section}.name'")
            continue
        spec = registry.get(kind, name, cfg.modality)
        params = None
        if spec.config is not None:
            params = build_dataclass(spec.config, table, f"{section}.")
        elif table:
            raise ConfigError(f"{kind} '{name}' takes no options, got {', '.join(table)}")
        setattr(cfg, section, Component(name, params))
    t = cfg.trainer
    t.loss = t.loss or modality.loss
    registry.get("loss", t.loss)
    if t.regularizer:
        reg = registry.get("regularizer", t.regularizer)
        t.reg_weight = reg.weight if t.reg_weight < 0 else t.reg_weight
        t.reg_interval = t.reg_interval or reg.interval
    cfg.writer = cfg.writer or (modality.writer or "")
    if cfg.writer and cfg.writer != NONE:
        registry.get("writer", cfg.writer, cfg.modality)
    cfg.metrics = list(cfg.metrics or modality.metrics)
    if NONE in cfg.metrics and cfg.metrics != [NONE]:
        raise ConfigError(f"config key 'metrics': \"{NONE}\" turns evaluation off and stands alone, "
                          f"got {cfg.metrics}")
    for name in cfg.metrics:
        if name != NONE:
            registry.get("metric", name, cfg.modality)
    if t.batch_size % t.grad_accum:
        raise ConfigError(f"config key 'trainer.batch_size' ({t.batch_size}) must be divisible by "
                          f"'trainer.grad_accum' ({t.grad_accum})")
    if (t.batch_size // t.grad_accum) % t.pack:
        raise ConfigError(f"config key 'trainer.pack' ({t.pack}) must divide the micro-batch size "
                          f"{t.batch_size // t.grad_accum}")
    for key in ("lr_decay_start", "lr_final"):
        if getattr(t, key) > 1.0:
            raise ConfigError(f"config key 'trainer.{key}' is a fraction in [0, 1], got {getattr(t, key)!r}")
    for key in ("betas_g", "betas_d"):
        betas = getattr(t, key)
        if len(betas) != 2 or not all(0.0 <= b < 1.0 for b in betas):
            raise ConfigError(f"config key 'trainer.{key}' must be two numbers in [0, 1), got {betas!r}")
    if not cfg.out:
        cfg.out = str(Path("runs") / f"{cfg.modality}-{cfg.dataset.name}")
    return cfg


# --- writing -------------------------------------------------------------------------


# TOML basic strings: these escapes, and every other control character as \uXXXX.
_TOML_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r", "\b": "\\b", "\f": "\\f"}


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return '"' + "".join(_TOML_ESCAPES.get(c, c if c >= " " and c != "\x7f" else f"\\u{ord(c):04x}")
                             for c in value) + '"'
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")


def to_toml(data: dict) -> str:
    """A flat-or-one-level-nested dict as TOML text (enough for RunConfig)."""
    lines = []
    tables = []
    for key, value in data.items():
        if isinstance(value, dict):
            tables.append((key, value))
        else:
            lines.append(f"{key} = {_toml_value(value)}")
    for key, table in tables:
        lines.append("")
        lines.append(f"[{key}]")
        for k, v in table.items():
            lines.append(f"{k} = {_toml_value(v)}")
    return "\n".join(lines) + "\n"


def fields_help(cls: type) -> list[tuple[str, str, Any, str]]:
    """(name, type, default, help) for every field: the source of docs/configuration.md."""
    hints = typing.get_type_hints(cls)
    rows = []
    for f in dataclasses.fields(cls):
        if f.default is not dataclasses.MISSING:
            default = f.default
        elif f.default_factory is not dataclasses.MISSING:
            default = f.default_factory()
        else:
            default = None
        rows.append((f.name, _type_name(hints[f.name]), default, f.metadata.get("help", "")))
    return rows
