"""Drawing into the caller's axes: every figure function takes `ax=`, so it composes in a notebook.

    fig, (left, right) = plt.subplots(1, 2)
    superscale.plots.fig5e(data, ax=left)
    store.figure("fig1d", ax=right)

A figure function opens its panels with `style.new_figure`; while `ax` is given, `new_figure` hands out
the caller's axes instead of a new Figure (one Axes per panel, in row-major order) and the function
returns the Figure those axes belong to.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any, Protocol

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure, SubFigure

# the caller's axes for the figure being drawn (None: draw on a new Figure)
_TARGET: ContextVar[list[Axes] | None] = ContextVar("superscale_target_axes", default=None)


class FigureFunction(Protocol):
    __name__: str
    __doc__: str | None

    def __call__(self, data: Any, ax: Any = None) -> Figure: ...


def _as_axes(ax: Any) -> list[Axes]:
    axes = [ax] if isinstance(ax, Axes) else list(np.ravel(np.asarray(ax, dtype=object)))
    if not axes or not all(isinstance(a, Axes) for a in axes):
        raise ValueError(f"ax must be a matplotlib Axes or an array of them, got {type(ax).__name__}")
    return axes


def accepts_ax(func: Callable[[Any], Figure]) -> FigureFunction:
    """`func(data)` that can also draw into the caller's axes: `func(data, ax=...)`."""

    @functools.wraps(func)
    def draw(data: Any, ax: Any = None) -> Figure:
        if ax is None:
            return func(data)
        token = _TARGET.set(_as_axes(ax))
        try:
            return func(data)
        finally:
            _TARGET.reset(token)

    return draw  # type: ignore[return-value]


def caller_axes(nrows: int, ncols: int) -> tuple[Figure, np.ndarray] | None:
    """The caller's axes shaped [nrows, ncols] and their Figure, once per call; None when not given."""
    axes = _TARGET.get()
    if axes is None:
        return None
    _TARGET.set(None)  # a helper figure the function may open after its first one is its own
    if len(axes) != nrows * ncols:
        raise ValueError(
            f"this figure draws {nrows * ncols} panel(s); pass ax= with as many axes, got {len(axes)}"
        )
    fig = axes[0].figure
    while isinstance(fig, SubFigure):
        fig = fig.figure
    assert isinstance(fig, Figure)
    return fig, np.array(axes, dtype=object).reshape(nrows, ncols)
