"""Input checks shared by the fits."""

from __future__ import annotations

from typing import Any

import numpy as np


def as_points(x: Any, y: Any, x_name: str = "m", y_name: str = "loss") -> tuple[np.ndarray, np.ndarray]:
    """Two equal-length float64 vectors of positive finite values (log–log fits need them)."""
    xa = np.asarray(x, dtype=np.float64).ravel()
    ya = np.asarray(y, dtype=np.float64).ravel()
    if xa.shape != ya.shape:
        raise ValueError(f"{x_name} and {y_name} must have the same length, got {xa.size} and {ya.size}")
    for name, arr in ((x_name, xa), (y_name, ya)):
        if not np.all(np.isfinite(arr)) or np.any(arr <= 0):
            raise ValueError(f"{name} must be finite and > 0 for a log-log fit, got {arr}")
    return xa, ya


def check_bootstrap(n_bootstrap: Any, minimum: int = 0) -> None:
    """A resample count: an int ≥ `minimum` (a negative count would print NaN errors as if fitted)."""
    if (
        isinstance(n_bootstrap, bool)
        or not isinstance(n_bootstrap, int | np.integer)
        or n_bootstrap < minimum
    ):
        raise ValueError(f"n_bootstrap must be an integer >= {minimum}, got {n_bootstrap!r}")


def check_distinct(x: np.ndarray, needed: int, what: str) -> None:
    """At least `needed` distinct values of `x` (a fit through fewer determines nothing: all points at one
    width give a confident exponent of any value)."""
    distinct = np.unique(x).size
    if distinct < needed:
        raise ValueError(f"{what} needs >= {needed} distinct values, got {distinct}")
