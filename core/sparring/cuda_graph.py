"""One training step (a D update, then a G update) captured as a CUDA graph.

Small GANs on a fast GPU are bound by the host: hundreds of kernel launches per step,
each costing more host time than the GPU needs to run it. Captured once, the whole step
is replayed with one launch. What makes that possible is in the trainer: no host sync
inside the step (the lazy finite check with a fused, capturable optimiser), D's gradients
never toggled, and the per-step numbers kept in tensors. What the graph cannot hold stays
outside it: the batch is copied into a static buffer before each replay, the EMA update
(its decay changes with the step) and the non-finite counts run eagerly after it.
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
        self.static_x = self.static_y = None
        self.out = None

    def _body(self, x, y):
        tr = self.trainer
        return tr.d_step(x, y), tr.g_step(x, y)

    def step(self, x: torch.Tensor, y) -> tuple[dict, dict]:
        """Train one step on this batch; returns the D and G logs (tensors, no sync)."""
        tr = self.trainer
        if self.warmed < WARMUP_STEPS:
            self.side.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(self.side):
                d_logs, g_logs = self._body(x, y)
            torch.cuda.current_stream().wait_stream(self.side)
            self.warmed += 1
            return d_logs, g_logs
        if self.graph is None:
            self._capture(x, y)
        self.static_x.copy_(x)
        if y is not None:
            self.static_y.copy_(y)
        self.graph.replay()
        tr.d_updates += 1  # the captured d_step's own increment ran once, at capture
        d_logs, g_logs = self.out
        return dict(d_logs), dict(g_logs)

    def _capture(self, x, y) -> None:
        tr = self.trainer
        self.static_x = x.clone()
        self.static_y = None if y is None else y.clone()
        # Gradients are allocated inside the graph's memory pool, at fixed addresses.
        tr.opt_d.zero_grad(set_to_none=True)
        tr.opt_g.zero_grad(set_to_none=True)
        updates = tr.d_updates
        self.graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(self.graph):
            self.out = self._body(self.static_x, self.static_y)
        tr.d_updates = updates  # capture records the step; it does not run it
