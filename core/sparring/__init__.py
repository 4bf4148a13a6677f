"""sparring: adversarial training for any modality.

The public API: ``hookimpl`` for plugins, the spec dataclasses, ``load_registry``,
``Trainer`` and the configuration loader. Importing this package does not import torch.
"""
from __future__ import annotations

import pluggy

hookimpl = pluggy.HookimplMarker("sparring")

from .errors import SparringError, ConfigError, UnknownNameError, DuplicateNameError  # noqa: E402
from .specs import (  # noqa: E402
    AugmentationSpec,
    DataInfo,
    DatasetSpec,
    LossSpec,
    MetricSpec,
    ModalitySpec,
    ModelSpec,
    RegularizerSpec,
    WriterSpec,
)

__version__ = "0.1.0"


def load_registry(*args, **kwargs):
    """Load every installed plugin and return the :class:`sparring.registry.Registry`."""
    from .registry import load_registry as _load

    return _load(*args, **kwargs)


def __getattr__(name):
    # Trainer imports torch: load it only when asked for.
    if name == "Trainer":
        from .train import Trainer

        return Trainer
    raise AttributeError(name)


__all__ = [
    "hookimpl", "load_registry", "Trainer", "SparringError", "ConfigError",
    "UnknownNameError", "DuplicateNameError", "AugmentationSpec", "DataInfo",
    "DatasetSpec", "LossSpec", "MetricSpec", "ModalitySpec", "ModelSpec",
    "RegularizerSpec", "WriterSpec",
]
