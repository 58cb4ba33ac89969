"""The store a user opens from Python: the store layer's reader plus the report's figures by name.

Figures draw from every layer below (the toy paper's, the LLM and study figures), so `figure` cannot live
in the store layer itself; this subclass adds it, and `superscale.Store`, `superscale.open_store` and
`superscale.load` and `superscale.run_sweep` return it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

from superscale.plots import FIGURES_BY_NAME
from superscale.plots.load import load_figure_data
from superscale.store import reader
from superscale.sweep import runner

__all__ = ["Store", "load", "open_store", "run_sweep"]


class Store(reader.Store):
    """A store on disk, read lazily: tables as pandas (`runs()`, `curves()`, `metrics()`, `fits()`,
    `table(name)`), weights one run at a time (`params`), figures by name (`figure`)."""

    def figure(self, name: str, ax: Any = None) -> Figure:
        """A figure of the report by name ("fig5e", "fig1d", … `superscale.plots.FIGURES`) as a matplotlib
        Figure, drawn into `ax` when given; MissingData names what the store lacks and the preset with it."""
        if name not in FIGURES_BY_NAME:
            raise ValueError(f"figure must be one of {', '.join(FIGURES_BY_NAME)}, got {name!r}")
        return FIGURES_BY_NAME[name].draw(load_figure_data(self.path), ax=ax)


def open_store(path: str | Path) -> Store:
    """Open a store for reading, with its figures; FileNotFoundError if `path` is not one."""
    return Store(path)


load = open_store


def run_sweep(config_or_preset: Any, out: str | Path, **options: Any) -> Store:
    """`superscale.sweep.run_sweep` (train every shard `out` lacks; its options), returning the store with
    its figures."""
    return Store(runner.run_sweep(config_or_preset, out, **options).path)
