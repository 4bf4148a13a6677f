"""Discriminator rejection sampling as a top-k (after Azadi et al. 2019, "DRS").

For the non-saturating game's optimal D the logit is log p_data(x) - log p_g(x): high
where G puts too little mass for the data, low where it puts too much. Drawing more
samples than asked and keeping those D rates most real therefore moves the kept set
toward the data, bringing back some of what G makes too rarely. Like the truncation
trick it is a sampling choice, never used in training.

A top-k rather than DRS's per-sample acceptance probability: it needs no calibration of
D's logits (a trained D's are not calibrated, and DRS fits a correction for that) and it
returns exactly the number of samples asked for. The price of a small ``keep``: the kept
set gathers where D is most sure, which can be narrower than the data. On the 2-D ring
and grid (``benchmarks/rejection.py``) keeping half raises the share of on-mode points but
drops whole modes; on the spoken digits it evened the digits out. Score a few shares.
"""
from __future__ import annotations

import math

import torch

from .errors import ConfigError


def check_d_keep(keep) -> None:
    """A clear error unless ``keep`` is None (no ranking) or a fraction in (0, 1]."""
    ok = keep is None or (isinstance(keep, (int, float)) and not isinstance(keep, bool)
                          and math.isfinite(keep) and 0 < keep <= 1)
    if not ok:
        raise ConfigError(f"d_keep must be the fraction of drawn samples to keep, in (0, 1] "
                          f"(0.5: draw twice as many, keep the half D rates most real), got {keep!r}")


def candidates(n: int, keep: float) -> int:
    """How many samples to draw so that keeping a ``keep`` share of them leaves ``n``."""
    check_d_keep(keep)
    return max(n, math.ceil(round(n / keep, 6)))  # round: 3 / 0.3 is 10.000000000000002


def keep_most_real(logits: torch.Tensor, n: int, labels: torch.Tensor | None = None,
                   num_classes: int | None = None) -> torch.Tensor:
    """Indices of the ``n`` samples with the highest ``logits`` (one per sample).

    With ``labels`` (class-conditional samples, drawn as 0, 1, ..., C-1, 0, ... in turn)
    the ranking is within each class and the result keeps that order, so position i
    again holds class i % C: the classes stay balanced whatever D prefers."""
    logits = logits.flatten()
    if n > len(logits):
        raise ValueError(f"cannot keep {n} of {len(logits)} samples")
    if labels is None:
        return logits.argsort(descending=True, stable=True)[:n].sort().values
    if num_classes is None:
        raise ValueError("keep_most_real: labels need num_classes")
    wanted = torch.arange(n) % num_classes
    chosen = torch.empty(n, dtype=torch.long)
    for c in range(num_classes):
        slots = (wanted == c).nonzero().flatten()
        pool = (labels == c).nonzero().flatten()
        if len(pool) < len(slots):
            raise ValueError(f"class {c}: {len(pool)} samples drawn, {len(slots)} to keep")
        best = pool[logits[pool].argsort(descending=True, stable=True)[:len(slots)]]
        chosen[slots] = best.sort().values
    return chosen
