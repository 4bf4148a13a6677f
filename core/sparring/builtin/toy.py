"""The toy modality: 2-D Gaussian mixtures (the VEEGAN / PacGAN protocol), MLP models,
a scatter-plot writer and the mode-collapse metrics."""
from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from ..errors import ConfigError
from ..specs import DataInfo
from .configs import GridConfig, MLPDiscriminatorConfig, MLPGeneratorConfig, RingConfig


# --- data ----------------------------------------------------------------------------


class MixtureDataset(torch.utils.data.Dataset):
    """``size`` points drawn once from an equal-weight isotropic Gaussian mixture."""

    def __init__(self, centers: torch.Tensor, std: float, size: int, seed: int):
        if size < 1 or std <= 0:
            raise ValueError("a mixture needs size >= 1 and std > 0")
        self.centers = centers.float()
        self.std = float(std)
        g = torch.Generator().manual_seed(seed)
        which = torch.randint(len(self.centers), (size,), generator=g)
        points = self.centers[which] + self.std * torch.randn(size, 2, generator=g)
        self.tensors = (points,)

    def __len__(self) -> int:
        return self.tensors[0].shape[0]

    def __getitem__(self, i):
        return self.tensors[0][i]


def build_ring(cfg: RingConfig) -> MixtureDataset:
    from ..metrics.mixture import ring_centers

    return MixtureDataset(ring_centers(cfg.n_modes, cfg.radius), cfg.std, cfg.size, cfg.seed)


def build_grid(cfg: GridConfig) -> MixtureDataset:
    from ..metrics.mixture import grid_centers

    return MixtureDataset(grid_centers(tuple(cfg.values)), cfg.std, cfg.size, cfg.seed)


# --- models --------------------------------------------------------------------------


def _check_sizes(cfg, kind: str) -> None:
    for key in ("hidden", "layers") + (("latent_dim",) if kind == "generator" else ("maxout",)):
        if getattr(cfg, key) < 1:
            raise ConfigError(f"{kind}.{key} must be at least 1, got {getattr(cfg, key)}")
    if cfg.init_std < 0:
        raise ConfigError(f"{kind}.init_std must be >= 0 (0: PyTorch's default init), got {cfg.init_std}")


def _gaussian_init(module: nn.Module, std: float) -> None:
    """Every linear layer's weights from N(0, std^2) and biases zero (as the PacGAN and
    VEEGAN code initialise their MLPs); ``std`` 0 keeps PyTorch's default."""
    if std <= 0:
        return
    for m in module.modules():
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0.0, std)
            nn.init.zeros_(m.bias)


class Maxout(nn.Module):
    """A linear layer to ``width * pieces`` units, then the max over each unit's pieces
    (Goodfellow et al. 2013; the D of the VEEGAN / PacGAN 2-D experiments)."""

    def __init__(self, in_dim: int, width: int, pieces: int):
        super().__init__()
        self.width, self.pieces = width, pieces
        self.linear = nn.Linear(in_dim, width * pieces)

    def forward(self, x):
        return self.linear(x).view(x.shape[0], self.width, self.pieces).amax(dim=2)


class MLPGenerator(nn.Module):
    """z -> point: ReLU MLP (optionally batch-normalised), linear output."""

    def __init__(self, cfg: MLPGeneratorConfig, info: DataInfo):
        super().__init__()
        _check_sizes(cfg, "generator")
        self.latent_dim = cfg.latent_dim
        out_dim = int(torch.tensor(info.shape).prod())
        self.out_shape = tuple(info.shape)
        layers, width = [], cfg.latent_dim
        for _ in range(cfg.layers):
            layers += [nn.Linear(width, cfg.hidden)]
            if cfg.batch_norm:
                layers += [nn.BatchNorm1d(cfg.hidden)]
            layers += [nn.ReLU()]
            width = cfg.hidden
        layers += [nn.Linear(width, out_dim)]
        self.net = nn.Sequential(*layers)
        _gaussian_init(self, cfg.init_std)

    def forward(self, z, y=None):
        return self.net(z).view(z.shape[0], *self.out_shape)


class MLPDiscriminator(nn.Module):
    """point(s) -> logit: LeakyReLU (or maxout) MLP; with packing it reads m points at once."""

    def __init__(self, cfg: MLPDiscriminatorConfig, info: DataInfo):
        super().__init__()
        _check_sizes(cfg, "discriminator")
        in_dim = int(torch.tensor(info.shape).prod()) * info.pack
        layers, width = [], in_dim
        for _ in range(cfg.layers):
            if cfg.maxout > 1:
                layers += [Maxout(width, cfg.hidden, cfg.maxout)]
            else:
                layers += [nn.Linear(width, cfg.hidden), nn.LeakyReLU(0.2)]
            width = cfg.hidden
        layers += [nn.Linear(width, 1)]
        self.net = nn.Sequential(*layers)
        _gaussian_init(self, cfg.init_std)

    def forward(self, x, y=None):
        return self.net(x.reshape(x.shape[0], -1)).squeeze(1)


# --- writer and metrics --------------------------------------------------------------


def write_scatter(samples: torch.Tensor, path: Path, dataset=None) -> list[Path]:
    """A PNG scatter plot of 2-D samples (blue) over the mixture's centres (red)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path).with_suffix(".png")
    path.parent.mkdir(parents=True, exist_ok=True)
    pts = samples.detach().float().cpu().reshape(-1, 2).numpy()
    fig, ax = plt.subplots(figsize=(5, 5), dpi=100)
    ax.scatter(pts[:, 0], pts[:, 1], s=4, alpha=0.5, c="tab:blue", label="generated")
    centers = getattr(dataset, "centers", None)
    if centers is not None:
        c = torch.as_tensor(centers).cpu().numpy()
        ax.scatter(c[:, 0], c[:, 1], s=60, marker="x", c="tab:red", label="modes")
    ax.set_aspect("equal")
    ax.legend(loc="upper right", fontsize=8)
    ax.set_title(path.stem)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return [path]


def mixture_metrics(generated: torch.Tensor, real: torch.Tensor, dataset) -> dict:
    """Modes captured, % high-quality samples and reverse KL for a mixture dataset."""
    from ..metrics.mixture import mixture_mode_metrics

    return mixture_mode_metrics(generated.reshape(-1, 2), dataset.centers, dataset.std)


def frechet_metric(generated: torch.Tensor, real: torch.Tensor, dataset) -> dict:
    """Frechet distance between the 2-D sample clouds themselves."""
    from ..metrics.frechet import frechet_distance_from_features

    return {"fd": frechet_distance_from_features(generated.reshape(len(generated), -1),
                                                 real.reshape(len(real), -1))}
