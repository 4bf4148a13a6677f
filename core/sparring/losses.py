"""Adversarial losses on logits, each a pair of small pure functions.

Every function returns a scalar to *minimise*. D's outputs are raw logits ``l``, so
D(x) = sigmoid(l) and the log terms use softplus, which is exact and never overflows:
log sigmoid(l) = -softplus(-l) and log(1 - sigmoid(l)) = -softplus(l).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from .specs import LossSpec


# The seed's formulation: D maximises log D(x) + log(1 - D(G(z))).
def minimax_d_loss(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """-(log D(x) + log(1 - D(G(z)))), i.e. binary cross-entropy with real=1, fake=0."""
    return F.softplus(-real).mean() + F.softplus(fake).mean()


def minimax_g_loss(fake: torch.Tensor, real: torch.Tensor | None = None) -> torch.Tensor:
    """G minimises log(1 - D(G(z))): the saturating original, kept for study."""
    return -F.softplus(fake).mean()


def nonsaturating_g_loss(fake: torch.Tensor, real: torch.Tensor | None = None) -> torch.Tensor:
    """G minimises -log D(G(z)): same fixed point, strong gradients early on."""
    return F.softplus(-fake).mean()


def hinge_d_loss(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """max(0, 1 - D(x)) + max(0, 1 + D(G(z))) (Lim & Ye; SNGAN, BigGAN)."""
    return F.relu(1.0 - real).mean() + F.relu(1.0 + fake).mean()


def hinge_g_loss(fake: torch.Tensor, real: torch.Tensor | None = None) -> torch.Tensor:
    """-D(G(z))."""
    return -fake.mean()


def wasserstein_d_loss(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """The critic minimises D(G(z)) - D(x); pair it with a gradient penalty."""
    return fake.mean() - real.mean()


def wasserstein_g_loss(fake: torch.Tensor, real: torch.Tensor | None = None) -> torch.Tensor:
    """-D(G(z))."""
    return -fake.mean()


def least_squares_d_loss(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """LSGAN with targets 1 (real) and 0 (fake): 1/2 (D(x)-1)^2 + 1/2 D(G(z))^2."""
    return 0.5 * ((real - 1.0) ** 2).mean() + 0.5 * (fake**2).mean()


def least_squares_g_loss(fake: torch.Tensor, real: torch.Tensor | None = None) -> torch.Tensor:
    """1/2 (D(G(z)) - 1)^2."""
    return 0.5 * ((fake - 1.0) ** 2).mean()


def relativistic_d_loss(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """RSGAN: -log sigmoid(D(x) - D(G(z))), pairing each real with a fake."""
    return F.softplus(-(real - fake)).mean()


def relativistic_g_loss(fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """RSGAN: -log sigmoid(D(G(z)) - D(x))."""
    return F.softplus(-(fake - real)).mean()


BUILTIN_LOSSES = (
    LossSpec("minimax", minimax_d_loss, minimax_g_loss,
             "the seed's minimax game; G minimises log(1 - D(G(z))) (saturates)"),
    LossSpec("ns", minimax_d_loss, nonsaturating_g_loss,
             "minimax D, non-saturating G: -log D(G(z)) (the default)"),
    LossSpec("hinge", hinge_d_loss, hinge_g_loss, "hinge loss (SNGAN, BigGAN)"),
    LossSpec("wasserstein", wasserstein_d_loss, wasserstein_g_loss,
             "WGAN critic loss; use with the gp regularizer"),
    LossSpec("lsgan", least_squares_d_loss, least_squares_g_loss, "least squares (LSGAN)"),
    LossSpec("rsgan", relativistic_d_loss, relativistic_g_loss, "relativistic standard GAN"),
)


def feature_matching_loss(real_features: list, fake_features: list) -> torch.Tensor:
    """Mean over D's layers of the L1 distance between its features on real and generated
    samples (pix2pixHD; Salimans et al. 2016 match batch means instead). ``real_features``
    are targets: no gradient flows into them."""
    if len(real_features) != len(fake_features) or not real_features:
        raise ValueError(f"feature matching needs the same non-empty list of features for real and "
                         f"generated samples, got {len(real_features)} and {len(fake_features)}")
    return sum(F.l1_loss(fake.float(), real.detach().float())
               for real, fake in zip(real_features, fake_features)) / len(real_features)


def mode_seeking_loss(fake: torch.Tensor, z: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """MSGAN (Mao et al. 2019): 1 / (mean |G(z1) - G(z2)| / mean |z1 - z2| + eps).

    The batch's first half is paired with its second half. Minimising it pushes G to map
    distant latents to distant samples, which works against mode collapse."""
    half = fake.shape[0] // 2
    if half == 0 or z.shape[0] < 2 * half:
        raise ValueError(f"mode seeking pairs a batch's two halves: it needs at least 2 samples "
                         f"and as many latents, got {fake.shape[0]} samples and {z.shape[0]} latents")
    sample_distance = (fake[:half].float() - fake[half:2 * half].float()).abs().mean()
    latent_distance = (z[:half].float() - z[half:2 * half].float()).abs().mean()
    return 1.0 / (sample_distance / latent_distance + eps)


def nearest_candidate(real: torch.Tensor, candidates: torch.Tensor, real_labels: torch.Tensor | None = None,
                      candidate_labels: torch.Tensor | None = None) -> torch.Tensor:
    """Index of each real sample's nearest candidate by Euclidean distance over all its
    entries; with labels, only candidates of the real sample's own label count."""
    if real.shape[1:] != candidates.shape[1:]:
        raise ValueError(f"real samples {tuple(real.shape[1:])} and generated ones "
                         f"{tuple(candidates.shape[1:])} must have the same shape to be compared")
    distance = torch.cdist(real.flatten(1).float(), candidates.flatten(1).float())
    if real_labels is not None:
        distance = distance.masked_fill(real_labels[:, None] != candidate_labels[None, :], float("inf"))
    return distance.argmin(dim=1)


def imle_view(generator):
    """What IMLE compares and pulls: the generator's ``imle_view`` if it has one, else the
    samples themselves."""
    return getattr(generator, "imle_view", None) or (lambda x: x)


def imle_loss(fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """IMLE (Li & Malik 2018): mean squared distance between each real sample and the
    generated sample picked for it (its nearest of a pool). Every real sample pulls some
    sample toward it, so a mode G has dropped still gets a gradient, unlike D's."""
    return F.mse_loss(fake.float(), real.detach().float())


def top_k_fraction(step: int, fraction: float, halflife: float) -> float:
    """The share of each G batch that top-k training keeps at ``step``: it starts at 1 and
    halves every ``halflife`` steps down to ``fraction`` (0 half-life: ``fraction`` from
    the start). Sinha et al. 2020 decay it by 0.99 an epoch to a floor of 0.5-0.75."""
    if fraction >= 1.0:
        return 1.0
    if halflife <= 0:
        return fraction
    return max(fraction, 0.5 ** (step / halflife))


def top_k_logits(fake: torch.Tensor, k: int, real: torch.Tensor | None = None):
    """Top-k training (Sinha et al. 2020): keep the ``k`` generated samples D rates most
    real (by their mean logit) so that G's loss ignores its worst samples, whose gradients
    point away from the data. ``real`` logits, when a loss pairs them with the fake ones,
    keep the same rows. Returns ``(fake, real)``."""
    if not 1 <= k <= fake.shape[0]:
        raise ValueError(f"top-k keeps between 1 and {fake.shape[0]} samples, not {k}")
    score = fake.detach().float().reshape(fake.shape[0], -1).mean(dim=1)
    keep = score.topk(k).indices
    if real is not None and real.shape[0] == fake.shape[0]:
        real = real[keep]
    return fake[keep], real
