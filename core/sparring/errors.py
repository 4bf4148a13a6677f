"""Errors sparring reports to users as a message, not a traceback."""
from __future__ import annotations

import difflib


class SparringError(Exception):
    """Base class: the CLI prints these as one clear message and exits with status 2."""


class ConfigError(SparringError):
    """A configuration key, value or file is wrong."""


class UnknownNameError(ConfigError, KeyError):
    """A name (generator, dataset, loss, ...) that no installed plugin registers: a
    configuration error, so ``except ConfigError`` catches it too."""

    def __str__(self):  # KeyError would quote the message
        return str(self.args[0])


class DuplicateNameError(SparringError):
    """Two plugins register the same name for the same kind."""


class DataError(SparringError):
    """A dataset could not be read (e.g. a folder without a single readable file)."""


class TrainingDiverged(SparringError):
    """Too many consecutive steps with non-finite losses or gradients."""


def closest(name: str, known) -> str | None:
    """The known name closest to ``name``, or None when nothing is close."""
    match = difflib.get_close_matches(str(name), [str(k) for k in known], n=1, cutoff=0.5)
    return match[0] if match else None


def did_you_mean(name: str, known) -> str:
    """A ``; did you mean 'x'?`` suffix, or the empty string."""
    best = closest(name, known)
    return f"; did you mean '{best}'?" if best else ""
