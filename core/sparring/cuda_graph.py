"""One training step (``n_critic`` D updates, then ``g_steps`` G updates) captured as a CUDA graph.

Small GANs on a fast GPU are bound by the host: hundreds of kernel launches per step,
each costing more host time than the GPU needs to run it. Captured once, the whole step
is replayed with one launch. What makes that possible is in the trainer: no host sync
inside the step (the lazy finite check with a fused, capturable optimiser), D's gradients
never toggled, and the per-step numbers kept in tensors; an augmentation must say it is
``graph_safe`` (random draws from torch's CUDA generator, which graphs advance on every
replay; adaptive state in tensors). What the graph cannot hold stays outside it: each D
update's batch is copied into its static buffer before each replay, the EMA update (its
decay changes with the step) and the non-finite counts run eagerly after it.
"""
from __future__ import annotations

import torch

WARMUP_STEPS = 3  # eager steps on a side stream first: cuDNN autotuning, optimiser state


class StepGraph:
    def __init__(self, trainer):
        self.trainer = trainer
        self.graph = None
        self.warmed = 0
        self.side = torch.cuda.Stream(device=trainer.device)
        self.static = None  # [(x, y)] per D update
        self.out = None

    def _body(self, batches):
        """The step: a D update per batch, then G's updates on the last batch (as eager)."""
        tr = self.trainer
        finite = g_finite = None
        for x, y in batches:
            d_logs = tr.d_step(x, y)
            finite = _all(finite, d_logs.pop("finite"))
        for _ in range(tr.config.trainer.g_steps):
            g_logs = tr.g_step(x, y)
            g_finite = _all(g_finite, g_logs.pop("finite"))
        return {**d_logs, "finite": finite}, {**g_logs, "finite": g_finite}

    def step(self, batches: list) -> tuple[dict, dict]:
        """Train one step on these batches (one per D update); returns the D and G logs
        (tensors, no sync)."""
        tr = self.trainer
        if self.warmed < WARMUP_STEPS:
            self.side.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(self.side):
                d_logs, g_logs = self._body(batches)
            torch.cuda.current_stream().wait_stream(self.side)
            self.warmed += 1
            return d_logs, g_logs
        if self.graph is None:
            self._capture(batches)
        for (x, y), (static_x, static_y) in zip(batches, self.static):
            static_x.copy_(x)
            if y is not None:
                static_y.copy_(y)
        self.graph.replay()
        tr.d_updates += len(batches)  # the captured d_steps' own increments ran once, at capture
        d_logs, g_logs = self.out
        return dict(d_logs), dict(g_logs)

    def _capture(self, batches) -> None:
        tr = self.trainer
        self.static = [(x.clone(), None if y is None else y.clone()) for x, y in batches]
        # Gradients are allocated inside the graph's memory pool, at fixed addresses.
        tr.opt_d.zero_grad(set_to_none=True)
        tr.opt_g.zero_grad(set_to_none=True)
        updates = tr.d_updates
        self.graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(self.graph):
            self.out = self._body(self.static)
        tr.d_updates = updates  # capture records the step; it does not run it


def _all(a, b):
    return b if a is None else a & b
