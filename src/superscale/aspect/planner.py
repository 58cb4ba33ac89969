"""Shapes (L, m) of deep toy models with an equal parameter count N: the families Katta's argument compares.

N = n m (1 + [untied]) + (L − 1) m² + [(L − 1) m] + n (`deep_param_count`), so for each depth L the width
that spends the budget solves a quadratic in m; the planner takes the nearest integer and keeps the shape
when its N is within `tolerance` (relative) of the budget. Aspect ratio = m / L (Kaplan's d_model/n_layer).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from superscale._checks import check_finite, check_positive_int
from superscale.train.architectures.deep import deep_param_count

__all__ = ["Shape", "plan_shapes", "width_for_budget"]


@dataclass(frozen=True)
class Shape:
    """One planned model shape and how far its parameter count is from the budget."""

    n_layers: int  # L
    m: int  # width
    params: int  # N of this shape
    rel_error: float  # (N − budget) / budget

    @property
    def aspect_ratio(self) -> float:
        """m / L, the toy model's d_model / n_layer."""
        return self.m / self.n_layers


def width_for_budget(
    n: int, params: int, n_layers: int, tied: bool = True, hidden_bias: bool = False
) -> float:
    """The real width m ≥ 0 whose N equals `params` exactly: root of a m² + b m + c = 0."""
    check_positive_int("n", n)
    check_positive_int("params", params)
    check_positive_int("n_layers", n_layers)
    depth = n_layers - 1
    a = float(depth)
    b = n * (1 if tied else 2) + (depth if hidden_bias else 0)
    c = n - params
    if c >= 0:
        return 0.0  # the output bias alone already spends the budget
    if a == 0:
        return -c / b
    return (-b + math.sqrt(b * b - 4 * a * c)) / (2 * a)


def plan_shapes(
    n: int,
    params: int,
    depths: Iterable[int] = range(1, 17),
    tolerance: float = 0.05,
    tied: bool = True,
    hidden_bias: bool = False,
    min_width: int = 2,
) -> list[Shape]:
    """Every depth in `depths` whose best integer width has |N − params| ≤ tolerance · params.

    For each L the candidates are floor and ceil of the exact root; the one nearer the budget wins.
    Shapes narrower than `min_width` are dropped (a width-1 model has no geometry to compare).
    """
    check_positive_int("n", n)
    check_positive_int("params", params)
    check_positive_int("min_width", min_width)
    check_finite("tolerance", tolerance)
    if tolerance < 0:
        raise ValueError(f"tolerance must be ≥ 0, got {tolerance!r}")
    shapes: list[Shape] = []
    for n_layers in sorted(set(depths)):
        check_positive_int("depth", n_layers)
        root = width_for_budget(n, params, n_layers, tied, hidden_bias)
        candidates = {max(1, math.floor(root)), max(1, math.ceil(root))}
        best = min(
            candidates,
            key=lambda m: abs(deep_param_count(n, m, n_layers, tied, hidden_bias) - params),
        )
        count = deep_param_count(n, best, n_layers, tied, hidden_bias)
        rel_error = (count - params) / params
        if best >= min_width and abs(rel_error) <= tolerance:
            shapes.append(Shape(n_layers, best, count, rel_error))
    return shapes
