"""Gumbel-softmax generators and RelGAN's CNN discriminator.

Generators map ``z`` to ``(n, seq_len, vocab)``: in training mode the relaxed one-hot
(gradients flow from D back through it), in eval mode the hard one-hot of a true sample.
``mle_loss(ids)`` is the teacher-forced cross-entropy used for pre-training.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from sparring.specs import DataInfo

from .configs import GumbelConfig, LSTMGeneratorConfig, RelGANDiscriminatorConfig
from .gumbel import generator_from, gumbel_softmax, inverse_temperature


def seq_vocab(info: DataInfo) -> tuple[int, int]:
    if len(info.shape) != 2:
        raise ValueError(f"text models expect samples of shape (seq_len, vocab), got {info.shape}")
    return int(info.shape[0]), int(info.shape[1])


class GumbelGenerator(nn.Module):
    """Autoregressive sampling through Gumbel-softmax; subclasses supply ``begin`` (state
    and first input from z), ``step`` (logits and next state) and ``embedding``."""

    def __init__(self, cfg: GumbelConfig, info: DataInfo):
        super().__init__()
        self.seq_len, self.vocab_size = seq_vocab(info)
        self.latent_dim = cfg.latent_dim
        self.beta_max = cfg.beta_max
        self.schedule = cfg.schedule
        self.anneal_steps = cfg.anneal_steps
        self.straight_through = cfg.straight_through
        self.feed = getattr(cfg, "feed", "hard")
        self.beta = 1.0

    def anneal(self, step: int, total: int) -> float:
        """Set beta for adversarial step ``step`` of ``total`` (called by the plugin's hook);
        a configured ``anneal_steps`` replaces ``total``."""
        self.beta = inverse_temperature(self.schedule, step, self.anneal_steps or total, self.beta_max)
        return self.beta

    @property
    def embedding(self) -> torch.Tensor:
        raise NotImplementedError

    def begin(self, z):
        raise NotImplementedError

    def step(self, inp, state):
        raise NotImplementedError

    def teacher_logits(self, z, ids):
        raise NotImplementedError

    def forward(self, z, y=None):
        rng = None if self.training else generator_from(z)
        inp, state = self.begin(z)
        out = []
        for _ in range(self.seq_len):
            logits, state = self.step(inp, state)
            soft, ids = gumbel_softmax(logits.float(), self.beta, self.straight_through, rng)
            if not self.training:
                soft = F.one_hot(ids, self.vocab_size).float()
            out.append(soft)
            emb = self.embedding
            inp = soft.to(emb.dtype) @ emb if self.feed == "soft" else F.embedding(ids, emb)
        return torch.stack(out, dim=1)

    def mle_loss(self, ids: torch.Tensor, z: torch.Tensor | None = None) -> torch.Tensor:
        """Mean per-token cross-entropy (nats) of ``ids`` under teacher forcing."""
        if z is None:
            z = torch.randn(len(ids), self.latent_dim, device=ids.device)
        logits = self.teacher_logits(z, ids)
        return F.cross_entropy(logits.float().reshape(-1, self.vocab_size), ids.reshape(-1))


class LSTMGenerator(GumbelGenerator):
    """One LSTM layer; z sets the initial state, a learned vector is the first input."""

    def __init__(self, cfg: LSTMGeneratorConfig, info: DataInfo):
        super().__init__(cfg, info)
        self.embed = nn.Embedding(self.vocab_size, cfg.embed_dim)
        self.start = nn.Parameter(0.1 * torch.randn(cfg.embed_dim))
        self.z_to_state = nn.Linear(cfg.latent_dim, 2 * cfg.hidden_dim)
        self.lstm = nn.LSTM(cfg.embed_dim, cfg.hidden_dim, batch_first=True)
        self.head = nn.Linear(cfg.hidden_dim, self.vocab_size)

    @property
    def embedding(self):
        return self.embed.weight

    def _state(self, z):
        h, c = torch.tanh(self.z_to_state(z)).chunk(2, dim=-1)
        return h[None].contiguous(), c[None].contiguous()

    def begin(self, z):
        return self.start.expand(len(z), -1), self._state(z)

    def step(self, inp, state):
        h, state = self.lstm(inp[:, None], state)
        return self.head(h[:, 0]), state

    def teacher_logits(self, z, ids):
        inp = torch.cat([self.start.expand(len(ids), 1, -1), self.embed(ids[:, :-1])], dim=1)
        h, _ = self.lstm(inp, self._state(z))
        return self.head(h)


class Highway(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.transform = nn.Linear(dim, dim)
        self.gate = nn.Linear(dim, dim)

    def forward(self, x):
        t = torch.sigmoid(self.gate(x))
        return t * F.relu(self.transform(x)) + (1 - t) * x


class RelGANDiscriminator(nn.Module):
    """RelGAN's D: ``num_rep`` embeddings of the one-hot, each a separate CNN input.

    Returns logits of shape ``(n, num_rep)``: one per representation (RelGAN averages
    the loss over them). With PacGAN packing, the packed sequences are read as one
    longer sequence.
    """

    def __init__(self, cfg: RelGANDiscriminatorConfig, info: DataInfo):
        super().__init__()
        seq_len, vocab = seq_vocab(info)
        self.num_rep, self.embed_dim = cfg.num_rep, cfg.embed_dim
        self.min_len = max(cfg.filter_sizes)
        self.embed = nn.Linear(vocab, cfg.num_rep * cfg.embed_dim, bias=False)
        nn.init.normal_(self.embed.weight, std=1.0 / cfg.embed_dim ** 0.5)
        self.convs = nn.ModuleList(nn.Conv2d(1, n, (f, cfg.embed_dim))
                                   for f, n in zip(cfg.filter_sizes, cfg.num_filters))
        width = sum(cfg.num_filters)
        self.highway = Highway(width)
        self.dropout = nn.Dropout(cfg.dropout)
        self.feature = nn.Linear(width, cfg.hidden)
        self.logit = nn.Linear(cfg.hidden, 1)

    def forward(self, x, y=None):
        n, length, _ = x.shape
        emb = self.embed(x).view(n, length, self.num_rep, self.embed_dim)
        # (n * rep, embed, length): each (f, embed) filter is a 1-D convolution over time
        # with the embedding as channels; the same numbers as the 2-D form, about twice
        # as fast (the Conv2d modules stay, so checkpoints keep their shapes).
        emb = emb.permute(0, 2, 3, 1).reshape(n * self.num_rep, self.embed_dim, length)
        if length < self.min_len:  # shorter than the widest filter: pad the time axis
            emb = F.pad(emb, (0, self.min_len - length))
        pooled = [F.relu(F.conv1d(emb, conv.weight.squeeze(1).transpose(1, 2), conv.bias)).amax(dim=2)
                  for conv in self.convs]
        h = self.dropout(self.highway(torch.cat(pooled, dim=1)))
        return self.logit(F.relu(self.feature(h))).view(n, self.num_rep)
