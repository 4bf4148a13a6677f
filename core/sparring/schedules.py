"""Learning-rate schedules: pure functions of the step, so resume needs no saved state."""

from __future__ import annotations

import math

LR_SCHEDULES = ("constant", "linear", "cosine")


def lr_factor(schedule: str, step: int, steps: int, decay_start: float = 0.0, final: float = 0.0) -> float:
    """The multiplier of the base learning rate for 0-based ``step`` of ``steps``.

    Constant until the fraction ``decay_start`` of training, then down to ``final`` x the
    base rate at the last step, linearly or along half a cosine.
    """
    if schedule == "constant" or steps <= 1:
        return 1.0
    start = decay_start * (steps - 1)
    if step <= start:
        return 1.0
    progress = min((step - start) / max(steps - 1 - start, 1e-12), 1.0)
    if schedule == "linear":
        return 1.0 - (1.0 - final) * progress
    if schedule == "cosine":
        return final + (1.0 - final) * 0.5 * (1.0 + math.cos(math.pi * progress))
    raise ValueError(f"unknown learning-rate schedule {schedule!r}; known: {', '.join(LR_SCHEDULES)}")
