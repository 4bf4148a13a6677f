"""Medical sample metrics, for 2-D slices and 3-D volumes in [-1, 1].

Each metric compares ``generated`` with ``real`` (equally many samples); ``sparring eval``
adds the same metric of real versus other real samples beside it (``real/<key>``), the
value a perfect generator would reach with this many samples.

- ``ms-ssim`` -> ``ms_ssim``: diversity, the mean MS-SSIM (MONAI's ``MultiScaleSSIMMetric``)
  of disjoint pairs of generated samples; its real-vs-real value is the same among real
  samples. Closer to the real value is better (higher: less diverse, e.g. mode collapse).
  Scales and kernel size are chosen from the sample size (see :func:`ms_ssim_setup`).
- ``voxel-mmd`` -> ``mmd``: MONAI's ``MMDMetric`` (unbiased, linear kernel) between generated
  and real samples, with intensities divided by sqrt(voxels): a per-voxel squared
  difference of the mean images. Lower is better.
- ``ae-features`` -> ``ae_fd``: Frechet distance between generated and real samples on the
  64-d bottleneck of a small convolutional autoencoder trained on the training data on
  first use (400 Adam steps of batch 32 for 2-D, 150 of batch 8 for 3-D; MSE) and cached under ``${SPARRING_CACHE:-~/.cache/sparring}/medical/``
  by a fingerprint of the data; ``ae_rec`` is the autoencoder's reconstruction error on the
  generated samples (the real samples' own is the reference). Lower is better.
- ``intensity-hist`` -> ``hist_w1`` and ``hist_w1_fg``: 1-Wasserstein distance between
  the intensity histograms (128 bins over [-1, 1]) of all voxels and of foreground voxels
  (above -0.9). Lower is better.
"""
from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
import time
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

from .configs import FeatureNetConfig

log = logging.getLogger("sparring.medical")

MS_SSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)  # Wang et al. 2003
FOREGROUND = -0.9
_LOADED: dict = {}


def _spatial_dims(x: torch.Tensor) -> int:
    if x.ndim not in (4, 5):
        raise ValueError(f"medical metrics need (N, C, H, W) or (N, C, X, Y, Z) samples, got {tuple(x.shape)}")
    return x.ndim - 2


# --- MS-SSIM diversity ---------------------------------------------------------------


def ms_ssim_setup(min_size: int) -> tuple[int, tuple[float, ...]]:
    """(kernel size, scale weights) that MONAI's MS-SSIM accepts for images of ``min_size``.

    Prefers more scales, then larger kernels (>= 5); the standard weights are truncated
    to the number of scales and renormalised.
    """
    for kernels in ((11, 9, 7, 5), (3,)):
        for scales in (5, 4, 3, 2):
            for k in kernels:
                # MONAI's own check, and the coarsest scale must hold the kernel.
                if min_size // max(1, scales - 1) ** 2 > k - 1 and min_size / 2 ** (scales - 1) >= k:
                    w = MS_SSIM_WEIGHTS[:scales]
                    return k, tuple(v / sum(w) for v in w)
    raise ValueError(f"samples of {min_size} voxels a side are too small for MS-SSIM")


def pairwise_ms_ssim(x: torch.Tensor, max_pairs: int = 256) -> float:
    """Mean MS-SSIM of disjoint pairs (x[0], x[1]), (x[2], x[3]), ... of one sample set."""
    from monai.metrics import MultiScaleSSIMMetric

    dims = _spatial_dims(x)
    n = min(len(x) // 2, max_pairs)
    if n < 1:
        raise ValueError("MS-SSIM diversity needs at least 2 samples")
    x = x.detach().float().cpu().clamp(-1, 1)
    kernel, weights = ms_ssim_setup(min(x.shape[2:]))
    metric = MultiScaleSSIMMetric(spatial_dims=dims, data_range=2.0, kernel_size=kernel, weights=weights)
    values = []
    for start in range(0, n, 64):
        stop = min(n, start + 64)
        a, b = x[2 * start:2 * stop:2], x[2 * start + 1:2 * stop:2]
        values.append(metric(a, b).reshape(-1))
    return float(torch.cat(values).mean())


def ms_ssim_metrics(generated, real=None, dataset=None) -> dict:
    return {"ms_ssim": pairwise_ms_ssim(generated)}


# --- MMD -----------------------------------------------------------------------------


def voxel_mmd(generated, real) -> float:
    """MONAI's unbiased linear-kernel MMD, intensities scaled by 1/sqrt(voxels)."""
    from monai.metrics import MMDMetric

    _spatial_dims(generated)
    n = min(len(generated), len(real))
    g, r = generated[:n].detach().float().cpu(), real[:n].detach().float().cpu()
    scale = float(g[0].numel()) ** -0.5
    return float(MMDMetric(y_mapping=lambda t: t * scale)(g, r).mean())


def mmd_metrics(generated, real, dataset=None) -> dict:
    return {"mmd": voxel_mmd(generated, real)}


# --- intensity histograms ------------------------------------------------------------


def histogram_w1(a: torch.Tensor, b: torch.Tensor, bins: int = 128) -> float:
    """1-Wasserstein distance between the histograms over [-1, 1] of two sets of values."""
    if a.numel() == 0 or b.numel() == 0:
        return float("nan")
    ha = torch.histc(a.float().clamp(-1, 1), bins=bins, min=-1.0, max=1.0).double()
    hb = torch.histc(b.float().clamp(-1, 1), bins=bins, min=-1.0, max=1.0).double()
    cdf = (ha / ha.sum()).cumsum(0) - (hb / hb.sum()).cumsum(0)
    return float(cdf.abs().sum() * (2.0 / bins))


def histogram_metrics(generated, real, dataset=None) -> dict:
    g = generated.detach().float().cpu().flatten()
    r = real.detach().float().cpu().flatten()
    return {"hist_w1": histogram_w1(g, r),
            "hist_w1_fg": histogram_w1(g[g > FOREGROUND], r[r > FOREGROUND])}


# --- autoencoder features ------------------------------------------------------------


def cache_dir() -> Path:
    root = os.environ.get("SPARRING_CACHE") or "~/.cache/sparring"
    return Path(root).expanduser() / "medical"


class FeatureAutoencoder(nn.Module):
    """Strided convs (x1/2, GroupNorm, SiLU) down to <= 8 voxels a side, a linear
    ``feature_dim`` bottleneck, and the mirror image back up: 2-D or 3-D."""

    def __init__(self, shape, width: int = 16, feature_dim: int = 64):
        super().__init__()
        channels, *spatial = shape
        dims = len(spatial)
        conv = {2: nn.Conv2d, 3: nn.Conv3d}[dims]
        deconv = {2: nn.ConvTranspose2d, 3: nn.ConvTranspose3d}[dims]
        steps = 0
        while min(spatial) // 2 ** steps > 8 and all(s % 2 ** (steps + 1) == 0 for s in spatial):
            steps += 1
        grid = [s // 2 ** steps for s in spatial]
        enc, dec, c = [], [], channels
        widths = [min(width * 2 ** i, 128) for i in range(steps)]
        for w in widths:
            enc += [conv(c, w, 4, 2, 1), nn.GroupNorm(min(8, w), w), nn.SiLU()]
            c = w
        flat = c * int(torch.tensor(grid).prod())
        self.encoder = nn.Sequential(*enc, nn.Flatten(), nn.Linear(flat, feature_dim))
        unflatten = nn.Unflatten(1, (c, *grid))
        for w in (list(reversed(widths))[1:] + [width]) if widths else []:
            dec += [deconv(c, w, 4, 2, 1), nn.GroupNorm(min(8, w), w), nn.SiLU()]
            c = w
        self.decoder = nn.Sequential(nn.Linear(feature_dim, flat), unflatten, *dec,
                                     conv(c, channels, 3, 1, 1), nn.Tanh())
        self.register_buffer("feature_scale", torch.ones(()))

    def features(self, x):
        return self.encoder(x) / self.feature_scale

    def forward(self, x):
        return self.decoder(self.encoder(x))


def fingerprint(x: torch.Tensor) -> str:
    """A short hash of a data tensor: its shape and an evenly strided subset of samples."""
    step = max(1, len(x) // 64)
    h = hashlib.sha1(str(tuple(x.shape)).encode())
    h.update(x[::step].detach().float().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


def _train_autoencoder(data: torch.Tensor, cfg: FeatureNetConfig) -> FeatureAutoencoder:
    start = time.time()
    # Our own RNG stream: training inside a GAN run must not change the run's random numbers.
    with torch.random.fork_rng(devices=[]), torch.inference_mode(False), torch.enable_grad():
        torch.manual_seed(cfg.seed)
        model = FeatureAutoencoder(tuple(data.shape[1:]), cfg.width, cfg.feature_dim)
        opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, cfg.lr, total_steps=max(1, cfg.steps))
        model.train()
        for _ in range(cfg.steps):
            idx = torch.randint(len(data), (min(cfg.batch_size, len(data)),))
            xb = data[idx]
            loss = F.mse_loss(model(xb), xb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
    model.eval()
    with torch.no_grad():
        feats = torch.cat([model.encoder(data[i:i + 256]) for i in range(0, len(data), 256)])
        model.feature_scale.fill_(feats.pow(2).mean().sqrt().clamp_min(1e-6).item())
    log.info("trained the ae-features autoencoder on %d samples %s in %.1fs (final MSE %.4f)",
             len(data), tuple(data.shape[1:]), time.time() - start, float(loss.detach()))
    return model


def load_autoencoder(data: torch.Tensor, cfg: FeatureNetConfig | None = None) -> FeatureAutoencoder:
    """The autoencoder for ``data`` (N, C, ...): from memory, the cache, or trained now."""
    cfg = cfg or FeatureNetConfig()
    data = data.detach().float().cpu()
    if len(data) > cfg.max_train:
        data = data[torch.linspace(0, len(data) - 1, cfg.max_train).long()]
    tag = "-".join(f"{k}{v}" for k, v in sorted(dataclasses.asdict(cfg).items()))
    path = cache_dir() / f"ae-{fingerprint(data)}-{hashlib.sha1(tag.encode()).hexdigest()[:8]}.pt"
    if path in _LOADED:
        return _LOADED[path]
    model = None
    if path.is_file():
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
            with torch.random.fork_rng(devices=[]):  # leave the run's RNG untouched
                model = FeatureAutoencoder(tuple(data.shape[1:]), cfg.width, cfg.feature_dim)
            model.load_state_dict(state)
        except Exception as exc:  # a corrupt or stale cache file: train again
            log.warning("ignoring unreadable feature-network cache %s: %s", path, exc)
            model = None
    if model is None:
        model = _train_autoencoder(data, cfg)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        torch.save(model.state_dict(), tmp)
        os.replace(tmp, path)
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    _LOADED[path] = model
    return model


@torch.no_grad()
def ae_features(model: FeatureAutoencoder, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(features (N, D) float64, per-sample reconstruction MSE (N,))."""
    feats, errors = [], []
    x = x.detach().float().cpu().clamp(-1, 1)
    for i in range(0, len(x), 256):
        xb = x[i:i + 256]
        feats.append(model.features(xb))
        errors.append((model(xb) - xb).pow(2).flatten(1).mean(1))
    return torch.cat(feats).double(), torch.cat(errors)


def feature_metrics(generated, real, dataset=None, cfg: FeatureNetConfig | None = None) -> dict:
    """Frechet distance on the autoencoder's features and its reconstruction error."""
    from sparring.metrics.frechet import frechet_distance_from_features

    _spatial_dims(generated)
    train = getattr(dataset, "tensors", (real,))[0]
    if cfg is None and generated.ndim == 5:  # 3-D: a CPU-affordable training
        cfg = FeatureNetConfig(steps=150, batch_size=8)
    model = load_autoencoder(train, cfg)
    f_gen, e_gen = ae_features(model, generated)
    f_real, _ = ae_features(model, real)
    return {"ae_fd": frechet_distance_from_features(f_gen, f_real), "ae_rec": float(e_gen.mean())}
