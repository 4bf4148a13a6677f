"""A resumable stream of batches: the loop's only view of a dataset.

Each epoch is a permutation drawn from a generator seeded by (seed, epoch), so the
stream's whole state is two integers and a resumed run sees exactly the batches an
uninterrupted one would. In-memory datasets (those exposing ``.tensors``) are indexed
directly, on the training device when asked; others go through a DataLoader.
"""
from __future__ import annotations

import torch
from torch.utils.data import DataLoader, default_collate

from .errors import ConfigError


def _split(batch):
    """``(x, y)`` from a collated batch; y is None for unlabelled data."""
    if isinstance(batch, (list, tuple)):
        x = batch[0]
        y = batch[1] if len(batch) > 1 else None
        return x, (None if y is None else torch.as_tensor(y).long())
    return batch, None


class BatchStream:
    def __init__(self, dataset, batch_size: int, seed: int, device: torch.device,
                 on_device: bool = True, num_workers: int = 0, name: str = "dataset",
                 rank: int = 0, world: int = 1):
        self.dataset = dataset
        self.n = len(dataset)
        if self.n < batch_size:
            raise ConfigError(f"{name} has {self.n} samples, fewer than trainer.batch_size={batch_size}")
        self.batch_size = batch_size
        # Under torchrun: every rank walks the same global permutation, keeps its slice.
        self.rank, self.world = rank, world
        self.seed = seed
        self.device = device
        self.num_workers = num_workers
        self.epoch = 0
        self.pos = 0
        self._perm = None
        self._loader_iter = None
        tensors = getattr(dataset, "tensors", None)
        self.tensors = None
        if tensors is not None:
            target = device if on_device else torch.device("cpu")
            self.tensors = tuple(torch.as_tensor(t).to(target) for t in tensors)

    def _new_permutation(self) -> None:
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
        self._perm = torch.randperm(self.n, generator=g)
        # Indices live where the data does: copying each batch's to the GPU would sync every step.
        self._perm_data = None if self.tensors is None else self._perm.to(self.tensors[0].device)

    def _start_epoch_loader(self):
        # One DataLoader per epoch over the batches not yet consumed.
        rest = self._perm[self.pos:]
        usable = (len(rest) // self.batch_size) * self.batch_size
        batches = [self._local(b) for b in rest[:usable].view(-1, self.batch_size)]
        batches = [b.tolist() for b in batches]
        # Its own generator: a DataLoader iterator otherwise draws a seed from the global
        # RNG, and a resumed run would then diverge from an uninterrupted one.
        loader = DataLoader(self.dataset, batch_sampler=batches, num_workers=self.num_workers,
                            collate_fn=default_collate, pin_memory=self.device.type == "cuda",
                            generator=torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch))
        self._loader_iter = iter(loader)

    def next(self):
        """The next batch as ``(x, y)`` on the device (``y`` None without labels)."""
        if self._perm is None:
            self._new_permutation()
        if self.pos + self.batch_size > self.n:
            self.epoch += 1
            self.pos = 0
            self._new_permutation()
            self._loader_iter = None
        if self.tensors is not None:
            idx = self._local(self._perm_data[self.pos:self.pos + self.batch_size])
            self.pos += self.batch_size
            x = self.tensors[0][idx]
            y = self.tensors[1][idx].long() if len(self.tensors) > 1 else None
        else:
            if self._loader_iter is None:
                self._start_epoch_loader()
            x, y = _split(next(self._loader_iter))
            self.pos += self.batch_size
        x = x.to(self.device, non_blocking=True)
        return x, (None if y is None else y.to(self.device, non_blocking=True))

    def _local(self, idx: torch.Tensor) -> torch.Tensor:
        n = len(idx) // self.world
        return idx[self.rank * n:(self.rank + 1) * n]

    def sample(self, n: int, seed: int):
        """``n`` samples drawn without replacement by their own generator (evaluation)."""
        g = torch.Generator().manual_seed(seed)
        idx = torch.randperm(self.n, generator=g)[:n]
        if self.tensors is not None:
            return self.tensors[0][idx.to(self.tensors[0].device)].cpu()
        return _split(default_collate([self.dataset[i] for i in idx.tolist()]))[0]

    def state_dict(self) -> dict:
        return {"epoch": self.epoch, "pos": self.pos}

    def load_state_dict(self, state: dict) -> None:
        self.epoch, self.pos = int(state["epoch"]), int(state["pos"])
        self._new_permutation()
        self._loader_iter = None
