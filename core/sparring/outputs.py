"""What a discriminator may return, and how the loop reads it.

A discriminator returns logits of any shape (patch discriminators included), or a
list/tuple whose last element is the logits (MONAI's PatchDiscriminator returns its
intermediate features first), or a :class:`DiscriminatorOutput` naming logits and
features explicitly (for feature matching).
"""
from __future__ import annotations

from typing import Any, NamedTuple


class DiscriminatorOutput(NamedTuple):
    logits: Any
    features: list


def split_output(out) -> tuple[Any, list]:
    """Return ``(logits, features)`` from any supported discriminator output."""
    if isinstance(out, DiscriminatorOutput):
        return out.logits, list(out.features)
    if isinstance(out, (list, tuple)):
        return out[-1], list(out[:-1])
    return out, []


def logits_of(out):
    """The logits of any supported discriminator output."""
    return split_output(out)[0]
