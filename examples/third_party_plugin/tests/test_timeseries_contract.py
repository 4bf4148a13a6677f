"""The sparring contract, checked on every spec this plugin registers: one file is all
a plugin needs (see docs/writing-a-plugin.md)."""
import numpy as np

from sparring.testing import contract_test


def _own_series(tmp_path):
    """The 'csv' dataset reads a file: write a small one for it."""
    path = tmp_path / "series.csv"
    t = np.linspace(0, 1, 64)
    np.savetxt(path, [np.sin(2 * np.pi * f * t) for f in range(1, 9)], delimiter=",")
    return {"path": str(path)}


test_contract = contract_test(
    "timeseries",  # the entry-point name in pyproject.toml
    overrides={
        "generator:conv": {"channels": 8, "latent_dim": 8},
        "discriminator:conv": {"channels": 8},
        "dataset:sines": {"size": 256},
        "dataset:csv": _own_series,
    },
)
