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
