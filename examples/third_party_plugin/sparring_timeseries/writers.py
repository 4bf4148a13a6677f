"""The sample writer: a PNG grid of line plots. matplotlib is imported when writing."""
from __future__ import annotations

import math
from pathlib import Path


def write_plot(samples, path, max_series: int = 16) -> list[Path]:
    """Plot up to ``max_series`` series (N, channels, length) to ``path`` + ".png"."""
    import matplotlib

    matplotlib.use("Agg")  # no display: write files only
    import matplotlib.pyplot as plt

    out = Path(str(path) + ".png")
    out.parent.mkdir(parents=True, exist_ok=True)
    series = samples.detach().float().cpu()[:max_series]
    n = series.shape[0]
    cols = max(1, math.ceil(math.sqrt(n)))
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(2.2 * cols, 1.4 * rows), squeeze=False,
                             sharex=True, sharey=True)
    for i, ax in enumerate(axes.flat):
        if i < n:
            for channel in series[i]:
                ax.plot(channel.numpy(), linewidth=1.0)
            ax.set_ylim(-1.1, 1.1)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(out.stem, fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=80)
    plt.close(fig)
    return [out]
