"""transformers models built from configs (random init, nothing fetched from a hub):
a GPT-2 Gumbel-softmax generator and a BERT / GPT-2 encoder discriminator."""
from __future__ import annotations

import inspect

import torch
from torch import nn

from sparring.specs import DataInfo

from .configs import GPT2GeneratorConfig, TransformerDiscriminatorConfig
from .models import GumbelGenerator, seq_vocab


def _cache_keyword(model) -> str:
    """transformers 5.x calls the key/value cache ``cache``; earlier versions ``past_key_values``."""
    return "cache" if "cache" in inspect.signature(model.forward).parameters else "past_key_values"


class GPT2Generator(GumbelGenerator):
    """A GPT-2 decoder that reads its own relaxed outputs back through ``inputs_embeds``.

    The first input is a learned vector plus a projection of z; logits come from the
    tied token embedding. Sampling keeps the key/value cache, so each step costs one
    position.
    """

    def __init__(self, cfg: GPT2GeneratorConfig, info: DataInfo):
        super().__init__(cfg, info)
        from transformers import GPT2Config, GPT2Model

        config = GPT2Config(vocab_size=self.vocab_size, n_positions=self.seq_len, n_embd=cfg.n_embd,
                            n_layer=cfg.n_layer, n_head=cfg.n_head, resid_pdrop=cfg.dropout,
                            embd_pdrop=cfg.dropout, attn_pdrop=cfg.dropout, use_cache=True,
                            bos_token_id=0, eos_token_id=0)
        self.transformer = GPT2Model(config)
        self._cache = _cache_keyword(self.transformer)
        self.start = nn.Parameter(0.02 * torch.randn(cfg.n_embd))
        self.z_to_start = nn.Linear(cfg.latent_dim, cfg.n_embd)

    @property
    def embedding(self):
        return self.transformer.wte.weight

    def begin(self, z):
        return self.start + self.z_to_start(z), None

    def step(self, inp, past):
        out = self.transformer(inputs_embeds=inp[:, None], use_cache=True, **{self._cache: past})
        return out.last_hidden_state[:, 0] @ self.embedding.T, out[self._cache]

    def teacher_logits(self, z, ids):
        first, _ = self.begin(z)
        inp = torch.cat([first[:, None], self.transformer.wte(ids[:, :-1])], dim=1)
        return self.transformer(inputs_embeds=inp, use_cache=False).last_hidden_state @ self.embedding.T


class TransformerDiscriminator(nn.Module):
    """A BERT or GPT-2 encoder over ``one_hot @ token_embeddings``, mean-pooled, one logit."""

    def __init__(self, cfg: TransformerDiscriminatorConfig, info: DataInfo):
        super().__init__()
        seq_len, vocab = seq_vocab(info)
        positions = seq_len * info.pack  # packed samples arrive as one longer sequence
        if cfg.arch == "bert":
            from transformers import BertConfig, BertModel

            config = BertConfig(vocab_size=vocab, hidden_size=cfg.hidden, num_hidden_layers=cfg.layers,
                                num_attention_heads=cfg.heads, intermediate_size=cfg.intermediate,
                                hidden_dropout_prob=cfg.dropout, attention_probs_dropout_prob=cfg.dropout,
                                max_position_embeddings=positions, type_vocab_size=1)
            self.encoder = BertModel(config, add_pooling_layer=False)
            self._tokens = lambda: self.encoder.embeddings.word_embeddings.weight
        else:
            from transformers import GPT2Config, GPT2Model

            config = GPT2Config(vocab_size=vocab, n_positions=positions, n_embd=cfg.hidden,
                                n_layer=cfg.layers, n_head=cfg.heads, n_inner=cfg.intermediate,
                                resid_pdrop=cfg.dropout, embd_pdrop=cfg.dropout, attn_pdrop=cfg.dropout,
                                use_cache=False, bos_token_id=0, eos_token_id=0)
            self.encoder = GPT2Model(config)
            self._tokens = lambda: self.encoder.wte.weight
        self.logit = nn.Linear(cfg.hidden, 1)

    def forward(self, x, y=None):
        emb = x.to(self._tokens().dtype) @ self._tokens()
        h = self.encoder(inputs_embeds=emb).last_hidden_state
        return self.logit(h.mean(dim=1)).squeeze(-1)
