"""Which runs and fits an analysis uses: the selection shared by the figures (`superscale.plots`) and the
report's verdicts and tables (`superscale.report`), so that a figure and the sentence beside it read the
same rows. Plain pandas on the store's tables; nothing here draws or imports the figure stack.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Protocol

import pandas as pd

from superscale.store import schema


class RunTables(Protocol):
    """What `done_runs` reads: the store's runs table and, when computed, its metrics table."""

    @property
    def runs(self) -> pd.DataFrame: ...

    @property
    def metrics(self) -> pd.DataFrame | None: ...


def done_runs(data: RunTables) -> pd.DataFrame:
    """Finished runs joined with their metrics (one row per run)."""
    runs = data.runs
    if runs.empty or schema.RUN_ID not in runs:
        return pd.DataFrame()
    if schema.STATUS in runs:
        runs = runs[runs[schema.STATUS] == "done"]
    if data.metrics is not None and not data.metrics.empty:
        extra = [c for c in data.metrics.columns if c == schema.RUN_ID or c not in runs.columns]
        runs = runs.merge(data.metrics[extra], on=schema.RUN_ID, how="left")
    return runs.reset_index(drop=True)


def group_key(row: Mapping[str, Any], columns: list[str]) -> tuple:
    """A hashable key of group columns with NaN made comparable (NaN → None)."""
    out = []
    for col in columns:
        value = row.get(col)
        out.append(None if isinstance(value, float) and math.isnan(value) else value)
    return tuple(out)


def of_scope(fits: pd.DataFrame, scope: str = schema.SCOPE_RECIPE) -> pd.DataFrame:
    """The fits of one fit_scope: "recipe" (the sweep's fit windows, the paper's for E1) or "all" (every
    width). Tables written before fit_scope existed hold all-width fits only and are returned whole."""
    if scope not in (schema.SCOPE_RECIPE, schema.SCOPE_ALL):
        raise ValueError(f"scope must be {schema.SCOPE_RECIPE!r} or {schema.SCOPE_ALL!r}, got {scope!r}")
    if schema.FIT_SCOPE not in fits:
        return fits
    return fits[fits[schema.FIT_SCOPE] == scope]
