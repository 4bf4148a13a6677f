"""The RelGAN discriminator's convolutions: the fast 1-D form computes the 2-D one."""
from __future__ import annotations

import pytest
import torch
from torch.nn import functional as F

from sparring.specs import DataInfo
from sparring_text.configs import RelGANDiscriminatorConfig
from sparring_text.models import RelGANDiscriminator


def _two_dimensional_reference(D, x):
    """RelGAN's published form: each (width, embed) filter as a Conv2d over one channel."""
    n, length, _ = x.shape
    emb = D.embed(x).view(n, length, D.num_rep, D.embed_dim)
    emb = emb.permute(0, 2, 1, 3).reshape(n * D.num_rep, 1, length, D.embed_dim)
    if length < D.min_len:
        emb = F.pad(emb, (0, 0, 0, D.min_len - length))
    pooled = [F.relu(conv(emb)).squeeze(3).amax(dim=2) for conv in D.convs]
    h = D.dropout(D.highway(torch.cat(pooled, dim=1)))
    return D.logit(F.relu(D.feature(h))).view(n, D.num_rep)


@pytest.mark.parametrize("length", [12, 3])  # 3: shorter than the widest filter, padded
def test_relgan_convolutions_match_the_two_dimensional_form(length):
    torch.manual_seed(0)
    cfg = RelGANDiscriminatorConfig(num_rep=3, embed_dim=8, num_filters=[5, 6, 7, 8], hidden=16)
    D = RelGANDiscriminator(cfg, DataInfo((length, 11))).eval()
    x = torch.softmax(torch.randn(4, length, 11), -1).requires_grad_()
    fast, ref = D(x), _two_dimensional_reference(D, x)
    assert fast.shape == (4, 3)
    torch.testing.assert_close(fast, ref, rtol=1e-5, atol=1e-5)
    (g_fast,) = torch.autograd.grad(fast.sum(), x)
    (g_ref,) = torch.autograd.grad(_two_dimensional_reference(D, x).sum(), x)
    torch.testing.assert_close(g_fast, g_ref, rtol=1e-5, atol=1e-5)
