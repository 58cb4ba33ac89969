"""What the figure functions take: loaded tables, never a path; and how they pick the runs they need.

The report builds a `FigureData` from a store; tests build one by hand. A figure that lacks its runs
raises `MissingData` with a sentence naming what is missing, which the report shows in its place. The run
and fit selection the report shares (`done_runs`, `group_key`, `of_scope`) lives in
`superscale.analysis.selection`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from superscale.analysis.selection import done_runs as done_runs  # re-exported: the figures' run selection
from superscale.analysis.selection import group_key as group_key
from superscale.analysis.selection import of_scope as of_scope
from superscale.store import schema


class MissingData(LookupError):
    """A figure cannot be drawn from this store; `str(exc)` says what is missing, for a human."""


@dataclass(frozen=True)
class WidthFit:
    """L_g(m) = C m^-exponent + offsets[g]: the shared-exponent LLM fit (docs/recipe.md §3.7, §5.5)."""

    exponent: float
    exponent_se: float
    C: float
    offsets: Mapping[str, float]  # keyed by group label "family/dataset"


@dataclass
class LLMData:
    """LLM tables for Figs. 6, 19–23; every field optional, figures say which one they miss.

    geometry: model, family, m, mean_cos2, inv_m, mean_norm, std_norm, min_norm, max_norm (one row per model)
    losses: family, model, m, dataset, loss (nats/token; one row per model and dataset)
    token_freq: tokenizer, dataset, rank, count
    models: family, model, d_model, n_params (parameter counts for Fig. 23a)
    chinchilla: params_million, d_model (Hoffmann et al. Table A9)
    """

    geometry: pd.DataFrame | None = None
    geometry_source: str = "measured"
    losses: pd.DataFrame | None = None
    losses_source: str = "measured"
    width_fit: WidthFit | None = None
    norms: np.ndarray | None = None
    norms_label: str = ""
    norm_histogram: pd.DataFrame | None = None  # model, family, m, bin_low, bin_high, count
    paper_overlaps: pd.DataFrame | None = (
        None  # digitised Fig. 6a: family, model, inv_m, mean_square_overlap_digitized
    )
    token_freq: pd.DataFrame | None = None
    models: pd.DataFrame | None = None
    chinchilla: pd.DataFrame | None = None


@dataclass
class FigureData:
    """Everything a toy-model figure may need, already loaded.

    norms and probs map run_id → row norms ‖W_i‖ and feature probabilities p_i; the report passes lazy
    mappings so only the runs a figure touches are read from disk.
    """

    runs: pd.DataFrame = field(default_factory=pd.DataFrame)
    metrics: pd.DataFrame | None = None
    fits: pd.DataFrame | None = None
    curves: pd.DataFrame | None = None
    norms: Mapping[str, np.ndarray] = field(default_factory=dict)
    probs: Mapping[str, np.ndarray] = field(default_factory=dict)
    config: Mapping[str, Any] = field(default_factory=dict)
    llm: LLMData | None = None


def require_columns(frame: pd.DataFrame, columns: list[str], figure: str, source: str) -> None:
    """MissingData unless every column exists and has at least one finite value."""
    absent = [c for c in columns if c not in frame or frame[c].isna().all()]
    if absent:
        raise MissingData(f"{figure} needs {', '.join(absent)} from {source}; this store has none.")


def loglog_fits(data: FigureData, scope: str = schema.SCOPE_RECIPE) -> pd.DataFrame:
    """The α_m fits (fit_kind 'loglog') of one `scope` (see `of_scope`; one row per group), with m_min /
    m_max of each group's runs added when the table lacks them."""
    fits = data.fits
    if fits is None or fits.empty or schema.EXPONENT not in fits:
        return pd.DataFrame()
    if schema.FIT_KIND in fits:
        fits = fits[fits[schema.FIT_KIND] == "loglog"]
    fits = of_scope(fits, scope).reset_index(drop=True)
    runs = done_runs(data)
    present = [c for c in schema.FIT_GROUP_COLUMNS if c in fits and c in runs]
    if "m_min" not in fits and not runs.empty and present:
        span = runs.groupby(present, dropna=False)[schema.M_HIDDEN].agg(m_min="min", m_max="max")
        lookup = {
            group_key(dict(zip(present, key if isinstance(key, tuple) else (key,), strict=True)), present): (
                row["m_min"],
                row["m_max"],
            )
            for key, row in span.iterrows()
        }
        bounds = [lookup.get(group_key(row, present), (np.nan, np.nan)) for row in fits.to_dict("records")]
        fits = fits.assign(m_min=[b[0] for b in bounds], m_max=[b[1] for b in bounds])
    return fits


def nearest(values: pd.Series | np.ndarray | list[float], target: float) -> float:
    """The value closest to `target` (the grid's own number, so selections never retype the grid)."""
    arr = np.unique(np.asarray(values, dtype=float))
    arr = arr[np.isfinite(arr)]
    if arr.size == 0:
        raise MissingData(f"no finite values to pick {target} from")
    return float(arr[np.argmin(np.abs(arr - target))])


def at(frame: pd.DataFrame, column: str, value: float) -> pd.DataFrame:
    """Rows whose `column` equals `value` up to float round-off."""
    return frame[np.isclose(frame[column].astype(float), value, rtol=1e-6, atol=1e-9)]


def unit_density(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows at the density closest to E = 1 (the paper's default), so density scans do not mix in."""
    if frame.empty or schema.DENSITY not in frame or frame[schema.DENSITY].isna().all():
        return frame
    return at(frame, schema.DENSITY, nearest(frame[schema.DENSITY], 1.0))


def pick_gamma(frame: pd.DataFrame, regime: str, target: float, figure: str) -> float:
    """The γ of `regime` ('weak': γ > 0, 'strong': γ < 0) closest to the paper's `target`; `figure`
    names the figure in the MissingData sentence when the store has no run of that regime."""
    gammas = frame[schema.GAMMA].astype(float)
    pool = gammas[gammas > 0] if regime == "weak" else gammas[gammas < 0]
    if pool.empty:
        sign = "> 0" if regime == "weak" else "< 0"
        raise MissingData(f"{figure} needs {regime}-regime runs (γ {sign}); this store has none.")
    return nearest(pool, target)


def distributions(frame: pd.DataFrame, limit: int = 6) -> list[tuple[str, float, float]]:
    """The distinct (family, α, τ) of `frame`, at most `limit` of them evenly spread through the list."""
    cols = [schema.FAMILY, schema.ALPHA, schema.SCALE]
    present = frame.reindex(columns=cols)
    keys = sorted(
        {group_key(r, cols) for r in present.to_dict("records")},
        key=lambda k: (str(k[0]), k[1] if k[1] is not None else -1.0, k[2] if k[2] is not None else -1.0),
    )
    if len(keys) > limit:
        keys = [keys[int(i)] for i in np.linspace(0, len(keys) - 1, limit).round()]
    return [(str(k[0]), math.nan if k[1] is None else k[1], math.nan if k[2] is None else k[2]) for k in keys]


def of_distribution(frame: pd.DataFrame, dist: tuple[str, float, float]) -> pd.DataFrame:
    """Rows of one (family, α, τ)."""
    family, alpha, scale = dist
    mask = frame[schema.FAMILY] == family
    for col, value in ((schema.ALPHA, alpha), (schema.SCALE, scale)):
        if col in frame:
            column = frame[col].astype(float)
            mask &= column.isna() if math.isnan(value) else np.isclose(column, value)
    return frame[mask]


def mean_over_seeds(frame: pd.DataFrame, by: list[str], column: str) -> pd.DataFrame:
    """Mean of `column` per `by` with an error bar: std over seeds, or the stored step-loss std (one seed)."""
    grouped = frame.groupby(by, dropna=False)[column]
    out = grouped.agg(value="mean", spread="std", count="count").reset_index()
    if column == schema.FINAL_LOSS and schema.FINAL_LOSS_STD in frame:
        step_std = frame.groupby(by, dropna=False)[schema.FINAL_LOSS_STD].mean().reset_index(drop=True)
        out["spread"] = np.where(out["count"] > 1, out["spread"], step_std)
    out["spread"] = out["spread"].fillna(0.0)
    return out.sort_values(by).reset_index(drop=True)


def main_population(frame: pd.DataFrame, spread: list[str]) -> pd.DataFrame:
    """Rows of the (experiment, n) whose runs vary most in `spread` (ties: the larger n), so a store holding
    several experiments (large models at n = 10240, the α scan, the density scan) never mixes them in one
    figure."""
    keys = [c for c in (schema.EXPERIMENT, schema.N_FEATURES) if c in frame]
    if frame.empty or not keys or len(frame[keys].drop_duplicates()) < 2:
        return frame
    cols = [c for c in spread if c in frame]
    variety = {key: len(sub[cols].drop_duplicates()) for key, sub in frame.groupby(keys)}
    best = max(variety, key=lambda k: (variety[k], k[-1] if isinstance(k, tuple) else k))
    best_key = best if isinstance(best, tuple) else (best,)
    mask = np.ones(len(frame), dtype=bool)
    for col, value in zip(keys, best_key, strict=True):
        mask &= (frame[col] == value).to_numpy()
    return frame[mask]


def power_scan(frame: pd.DataFrame, figure: str) -> pd.DataFrame:
    """Power-law runs at unit density: the α-scan (E2) population of Figs. 3–5, 9b, 10, 13, 16, 17."""
    if frame.empty or schema.FAMILY not in frame:
        raise MissingData(f"{figure} needs power-law runs (p_i ∝ i^-α); this store has no runs.")
    scan = unit_density(frame[frame[schema.FAMILY] == "power"])
    if scan.empty:
        raise MissingData(f"{figure} needs power-law runs (p_i ∝ i^-α); this store has none.")
    return main_population(scan, [schema.ALPHA, schema.GAMMA])


def fit_for(fits: pd.DataFrame, row: Mapping[str, Any], scope: str = schema.SCOPE_RECIPE) -> pd.Series | None:
    """The α_m fit of `scope` whose group columns equal those of `row` (None if that group was not fitted)."""
    fits = of_scope(fits, scope)
    if fits.empty:
        return None
    cols = [c for c in schema.FIT_GROUP_COLUMNS if c in fits and c in row]
    target = group_key(row, cols)
    for _, fit in fits.iterrows():
        if group_key(fit, cols) == target:
            return fit
    return None


def context_line(frame: pd.DataFrame) -> str:
    """'n = 1000 · e2' from the runs' own values, for figure titles."""
    parts = []
    if schema.N_FEATURES in frame and not frame.empty:
        ns = sorted(frame[schema.N_FEATURES].dropna().unique())
        parts.append("n = " + ", ".join(str(int(n)) for n in ns))
    if schema.EXPERIMENT in frame and not frame.empty:
        names = sorted(str(e) for e in frame[schema.EXPERIMENT].dropna().unique())
        if names:
            parts.append(", ".join(names))
    return " · ".join(parts)
