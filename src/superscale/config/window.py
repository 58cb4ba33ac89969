"""Fit windows: which widths a fit uses, chosen by explicit arguments and recorded with the result."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class FitWindow:
    """Keep m_min ≤ m ≤ m_max, then drop the `skip_first` smallest widths, then keep the `last` largest.

    The paper's choices (docs/recipe.md §1.8): "from the 3rd point" = skip_first=2; "last 5 points" = last=5.
    Counts are over distinct widths, so replicate seeds at one m stay together.
    """

    m_min: float | None = None
    m_max: float | None = None
    skip_first: int = 0
    last: int | None = None

    def __post_init__(self) -> None:
        if self.skip_first < 0:
            raise ValueError(f"skip_first must be >= 0, got {self.skip_first}")
        if self.last is not None and self.last < 1:
            raise ValueError(f"last must be >= 1, got {self.last}")
        if self.m_min is not None and self.m_max is not None and self.m_min > self.m_max:
            raise ValueError(f"m_min ({self.m_min:g}) is larger than m_max ({self.m_max:g}): no width fits")

    def mask(self, m: np.ndarray) -> np.ndarray:
        """Boolean mask of the points of `m` inside the window."""
        keep = np.ones(m.shape, dtype=bool)
        if self.m_min is not None:
            keep &= m >= self.m_min
        if self.m_max is not None:
            keep &= m <= self.m_max
        widths = np.unique(m[keep])
        widths = widths[self.skip_first :]
        if self.last is not None:
            widths = widths[-self.last :] if widths.size else widths
        return keep & np.isin(m, widths)

    def describe(self) -> str:
        """Short text for tables and fits.parquet, e.g. "m>=32,last=5"; "all" for the full range."""
        parts = []
        if self.m_min is not None:
            parts.append(f"m>={self.m_min:g}")
        if self.m_max is not None:
            parts.append(f"m<={self.m_max:g}")
        if self.skip_first:
            parts.append(f"skip_first={self.skip_first}")
        if self.last is not None:
            parts.append(f"last={self.last}")
        return ",".join(parts) or "all"
