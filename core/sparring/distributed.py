"""Data parallelism under torchrun: every rank holds G and D whole and sees its slice of
each global batch; gradients are averaged across ranks before each optimiser step.

Why not ``DistributedDataParallel``: the loop runs D frozen inside the generator step and
double-backward penalties (R1, gradient penalty) inside the discriminator step, which
DDP's reducer does not support; averaging the gradients of G and of D separately, right
before their optimisers step, gives the same update (StyleGAN2-ADA does the same).

Every rank draws the *global* batch of noise and data indices from the same seed and
keeps its slice, so N ranks compute exactly what one process with the same global batch
computes, up to the order of floating-point sums; the RNG streams stay identical on all
ranks, which is also why a run resumes on a different number of ranks.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class Context:
    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world > 1


def init_from_env(device_name: str) -> Context:
    """Join the process group torchrun describes in the environment (if any)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Context()
    rank, local_rank = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    use_cuda = torch.cuda.is_available() and device_name in ("auto", "cuda") or device_name.startswith("cuda")
    if not dist.is_initialized():
        dist.init_process_group("nccl" if use_cuda else "gloo")
    if use_cuda:
        torch.cuda.set_device(local_rank)
    return Context(rank, world, local_rank)


def local_slice(x: torch.Tensor, ctx: Context) -> torch.Tensor:
    """This rank's part of a tensor drawn for the global batch (dimension 0)."""
    if not ctx.enabled:
        return x
    n = x.shape[0] // ctx.world
    return x[ctx.rank * n:(ctx.rank + 1) * n]


def average_gradients(module: torch.nn.Module, loss: torch.Tensor, ctx: Context) -> torch.Tensor:
    """Average ``module``'s gradients and the loss over ranks, in one flat all-reduce."""
    if not ctx.enabled:
        return loss
    params = [p for p in module.parameters() if p.grad is not None]
    flat = torch.cat([p.grad.reshape(-1) for p in params] + [loss.detach().reshape(1).to(params[0].grad.dtype)])
    dist.all_reduce(flat)
    flat /= ctx.world
    offset = 0
    for p in params:
        n = p.grad.numel()
        p.grad.copy_(flat[offset:offset + n].view_as(p.grad))
        offset += n
    return flat[-1]


def broadcast_parameters(module: torch.nn.Module, ctx: Context) -> None:
    """Start every rank from rank 0's weights (they agree already when seeded alike)."""
    if ctx.enabled:
        for t in list(module.parameters()) + list(module.buffers()):
            dist.broadcast(t.data, 0)


def shutdown(ctx: Context) -> None:
    """Wait for every rank, then leave the process group. Without this a rank that finishes
    first (rank 0 still writes samples, checkpoints and metrics) exits with gloo's threads
    alive, aborts, and torchrun then kills rank 0 in the middle of its work."""
    if ctx.enabled and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()
