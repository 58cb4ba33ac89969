"""Store → metrics.parquet (one row per run) and fits.parquet (rows per fit group, kind and scope), then any
further steps the caller passes (`steps`: the studies' own tables; `superscale.pipeline.analyze` passes them).

Each group is fitted twice: over every width (fit_scope "all") and over the width window the sweep's
`[analysis]` rules give it (fit_scope "recipe", the paper's windows for E1; the all-width fit again when
no rule matches). Every fit carries flags (superscale.analysis.quality) and every run a convergence verdict.

Idempotent and incremental: metrics rows of runs already analysed (same run_id) are kept, and a group's
fits are recomputed only when its runs (ids, final losses, convergence) or its window changed. `force`
recomputes all.
"""

from __future__ import annotations

import hashlib
import logging
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from superscale._checks import check_positive_int
from superscale.analysis import metrics, quality, theory
from superscale.analysis.fit import FitWindow, fit_loglog, fit_power_law_offset
from superscale.analysis.fit.points import check_bootstrap
from superscale.config import AnalysisConfig
from superscale.progress import progress_bar
from superscale.store import Store, open_store, schema
from superscale.store.atomic import write_parquet_atomic

#: a further analysis step: given the store and `force`, writes its tables if the runs call for it and
#: returns whether it ran (each is idempotent)
Step = Callable[[Store, bool], bool]

log = logging.getLogger(__name__)

# fits.parquet columns (short local names; the names themselves live in superscale.store.schema)
COEFFICIENT, OFFSET, OFFSET_SE = schema.COEFFICIENT, schema.OFFSET, schema.OFFSET_SE
M_MIN, M_MAX, FIT_WINDOW = schema.M_MIN, schema.M_MAX, schema.FIT_WINDOW
RUNS_SIGNATURE, LOGLOG, OFFSET_KIND = schema.RUNS_SIGNATURE, schema.LOGLOG, schema.OFFSET_KIND
FIT_SCOPE, FIT_FLAGS, SCOPE_ALL, SCOPE_RECIPE = (
    schema.FIT_SCOPE,
    schema.FIT_FLAGS,
    schema.SCOPE_ALL,
    schema.SCOPE_RECIPE,
)
#: part of every fit signature: bump it when the fits or their flags change, so old fits.parquet rows refit
FIT_VERSION = 2

METRIC_COLUMNS = [
    schema.PHI_HALF,
    schema.PHI_ONE,
    schema.N_STRONG,
    schema.MEAN_NORM,
    schema.MEAN_ABS_COS_ALL,
    schema.MEAN_COS2_ALL,
    schema.MEAN_COS2_STRONG,
    schema.VAR_COS2_STRONG,
    schema.VAR_RATIO_STRONG,
    schema.WELCH_KAPPA2_STRONG,
    schema.MAX_ABS_COS,
    schema.PREDICTED_WEAK_LOSS,
    schema.AMBIGUITY,
    schema.DIMENSIONALITY_MEAN,
    schema.M_OVER_FROBENIUS2,
]
CONVERGENCE_COLUMNS = [schema.LOSS_REL_CHANGE, schema.LOSS_REL_CHANGE_SE, schema.CONVERGED]
FIT_VALUE_COLUMNS = [
    schema.FIT_KIND,
    FIT_SCOPE,
    schema.EXPONENT,
    schema.EXPONENT_SE,
    schema.EXPONENT_CI_LOW,
    schema.EXPONENT_CI_HIGH,
    schema.R2,
    schema.N_POINTS,
    COEFFICIENT,
    OFFSET,
    OFFSET_SE,
    M_MIN,
    M_MAX,
    FIT_WINDOW,
    FIT_FLAGS,
    RUNS_SIGNATURE,
]


def run_metrics(W: Any, probs: Any, block_size: int = 8192, device: str | None = None) -> dict[str, float]:
    """Every metrics.parquet value of one model (docs/recipe.md §2) from W [n, m] and its p_i [n]."""
    W = torch.as_tensor(W)
    m = W.shape[1]
    norms = metrics.row_norms(W)
    nonzero = norms > 0
    strong = norms > 1
    n_strong = int(strong.sum())
    phi_half = float((norms > 0.5).double().mean())
    all_rows = metrics.overlap_stats(W, rows=nonzero.cpu(), block_size=block_size, device=device)
    out = {
        schema.PHI_HALF: phi_half,
        schema.PHI_ONE: float(strong.double().mean()),
        schema.N_STRONG: float(n_strong),
        schema.MEAN_NORM: float(norms.mean()),
        schema.MEAN_ABS_COS_ALL: all_rows.mean_abs_cos,
        schema.MEAN_COS2_ALL: all_rows.mean_cos2,
        schema.MAX_ABS_COS: all_rows.max_abs_cos,
        schema.MEAN_COS2_STRONG: math.nan,
        schema.VAR_COS2_STRONG: math.nan,
        schema.VAR_RATIO_STRONG: math.nan,
        schema.WELCH_KAPPA2_STRONG: metrics.welch_kappa2(n_strong, m) if n_strong else math.nan,
        schema.PREDICTED_WEAK_LOSS: theory.predicted_weak_loss(probs, phi_half),
        schema.AMBIGUITY: metrics.ambiguity(W) if m <= W.shape[0] else math.nan,
        schema.DIMENSIONALITY_MEAN: float(metrics.feature_dimensionality(W).mean()),
        schema.M_OVER_FROBENIUS2: metrics.m_over_frobenius2(W),
    }
    if n_strong >= 2:
        strong_stats = metrics.overlap_stats(W, rows=strong.cpu(), block_size=block_size, device=device)
        out[schema.MEAN_COS2_STRONG] = strong_stats.mean_cos2
        out[schema.VAR_COS2_STRONG] = strong_stats.var_cos2
        out[schema.VAR_RATIO_STRONG] = (
            strong_stats.var_cos2 / metrics.random_vector_cos2_var(m) if m > 1 else math.nan
        )
    return out


def _signature(group: pd.DataFrame, converged: list[bool | None], window: FitWindow | None) -> str:
    """What a group's fits depend on: its runs and their convergence, its window, the fit code's version."""
    runs = zip(
        group[schema.RUN_ID].astype(str), group[schema.FINAL_LOSS].astype(float), converged, strict=True
    )
    key = (sorted(runs, key=lambda r: r[0]), (window or FitWindow()).describe(), FIT_VERSION)
    return hashlib.sha256(repr(key).encode()).hexdigest()[:16]


def fit_group(
    m: np.ndarray,
    loss: np.ndarray,
    n_bootstrap: int = 200,
    seed: int = 0,
    window: FitWindow | None = None,
    converged: list[bool | None] | None = None,
) -> list[dict[str, Any]]:
    """The loglog (the paper's OLS α_m) and offset fits of one group over the widths in `window` (all by
    default), each with its flags (`converged`: per point, None = unknown); too few widths skip a kind."""
    window = window or FitWindow()
    m, loss = np.asarray(m, dtype=float), np.asarray(loss, dtype=float)
    keep = window.mask(m)
    kept_converged = [c for c, k in zip(converged or [None] * m.size, keep, strict=True) if k]

    def flags(exponent: float) -> str:
        return quality.fit_flags(exponent, m[keep], loss[keep], kept_converged)

    rows: list[dict[str, Any]] = []
    n_widths = np.unique(m[keep]).size
    if n_widths >= 3:
        ll = fit_loglog(m, loss, window=window, n_bootstrap=max(n_bootstrap, 10), seed=seed)
        rows.append(
            {
                schema.FIT_KIND: LOGLOG,
                schema.EXPONENT: ll.exponent,
                schema.EXPONENT_SE: ll.exponent_se,
                schema.EXPONENT_CI_LOW: ll.ci_low,
                schema.EXPONENT_CI_HIGH: ll.ci_high,
                schema.R2: ll.r2,
                schema.N_POINTS: ll.n_points,
                COEFFICIENT: ll.coefficient,
                OFFSET: math.nan,
                OFFSET_SE: math.nan,
                M_MIN: ll.m_min,
                M_MAX: ll.m_max,
                FIT_WINDOW: ll.window,
                FIT_FLAGS: flags(ll.exponent),
            }
        )
    if n_widths >= 4:
        try:
            off = fit_power_law_offset(m, loss, window=window, n_bootstrap=n_bootstrap // 2, seed=seed)
        except (ValueError, np.linalg.LinAlgError) as exc:
            log.warning("offset fit failed: %s", exc)
        else:
            rows.append(
                {
                    schema.FIT_KIND: OFFSET_KIND,
                    schema.EXPONENT: off.exponent,
                    schema.EXPONENT_SE: off.exponent_se,
                    schema.EXPONENT_CI_LOW: off.ci_low,
                    schema.EXPONENT_CI_HIGH: off.ci_high,
                    schema.R2: off.r2,
                    schema.N_POINTS: off.n_points,
                    COEFFICIENT: off.C,
                    OFFSET: off.offset,
                    OFFSET_SE: off.offset_se,
                    M_MIN: off.m_min,
                    M_MAX: off.m_max,
                    FIT_WINDOW: off.window,
                    FIT_FLAGS: flags(off.exponent),
                }
            )
    return rows


@dataclass(frozen=True)
class AnalysisResult:
    """What `analyze_store` wrote and how much it had to compute."""

    metrics: pd.DataFrame
    fits: pd.DataFrame
    n_metrics_computed: int
    n_metrics_reused: int
    n_groups_fitted: int
    n_groups_reused: int
    extra_steps: tuple[str, ...] = ()  # the EXTRA_STEPS the store's runs needed (their tables written)
    n_groups_too_few: int = 0  # groups with fewer than 3 widths: no fit at all (counted, not "fitted")


def _done_runs(store: Store) -> pd.DataFrame:
    runs = store.runs()
    if not len(runs):
        raise ValueError(f"store {str(store.path)!r} has no runs yet")
    return runs[runs[schema.STATUS] == "done"].reset_index(drop=True)


def _update_metrics(
    store: Store,
    done: pd.DataFrame,
    convergence: pd.DataFrame,
    force: bool,
    block_size: int,
    device: str | None,
    on_run: Callable[[int, int], None] | None,
) -> tuple[pd.DataFrame, int, int]:
    """Geometry metrics of the runs not analysed yet, kept ones reused; convergence joined afresh (cheap)."""
    old = None if force else store.metrics()
    ids = set(done[schema.RUN_ID])
    kept = old[old[schema.RUN_ID].isin(ids)] if old is not None and len(old) else None
    if kept is not None:
        kept = kept[[c for c in kept.columns if c not in CONVERGENCE_COLUMNS]]
    have = set(kept[schema.RUN_ID]) if kept is not None else set()
    todo = [r for r in done[schema.RUN_ID] if r not in have]
    rows = []
    for i, run_id in enumerate(todo):
        params = store.params(run_id)
        W = params.get("W")
        if W is None or W.ndim != 2:
            log.warning("run %s has no 2-D W (keys %s): no metrics", run_id, sorted(params))
            continue
        rows.append(
            {schema.RUN_ID: run_id, **run_metrics(W, store.feature_probs(run_id), block_size, device)}
        )
        if on_run is not None:
            on_run(i + 1, len(todo))
    new = pd.DataFrame(rows, columns=[schema.RUN_ID, *METRIC_COLUMNS])
    frames = [f for f in (kept, new) if f is not None and len(f)]
    geometry = pd.concat(frames, ignore_index=True) if frames else new
    table = geometry.merge(convergence, on=schema.RUN_ID, how="left")
    if old is None or not table.equals(old.reset_index(drop=True)):
        write_parquet_atomic(table, store.path / schema.METRICS_FILE)
    return table, len(rows), len(have)


def _fit_rows(
    group: pd.DataFrame, window: FitWindow | None, converged: list[bool | None], n_bootstrap: int, seed: int
) -> list[dict[str, Any]]:
    """The group's all-width fits and its recipe fits (over `window`; the all-width ones when None)."""
    m = group[schema.M_HIDDEN].to_numpy(dtype=float)
    loss = group[schema.FINAL_LOSS].to_numpy(dtype=float)
    every = fit_group(m, loss, n_bootstrap=n_bootstrap, seed=seed, converged=converged)
    if window is None or window == FitWindow():
        recipe = every
    else:
        recipe = fit_group(m, loss, n_bootstrap=n_bootstrap, seed=seed, window=window, converged=converged)
        if len(recipe) < len(every):
            log.warning("window %s leaves too few widths for some fits of a group", window.describe())
    return [{**row, FIT_SCOPE: SCOPE_ALL} for row in every] + [
        {**row, FIT_SCOPE: SCOPE_RECIPE} for row in recipe
    ]


def _update_fits(
    store: Store,
    done: pd.DataFrame,
    converged_by_run: dict[str, bool | None],
    analysis: AnalysisConfig,
    force: bool,
    n_bootstrap: int,
    seed: int,
) -> tuple[pd.DataFrame, int, int, int]:
    group_cols = [c for c in schema.FIT_GROUP_COLUMNS if c in done.columns]
    usable = done[np.isfinite(done[schema.FINAL_LOSS].astype(float)) & (done[schema.FINAL_LOSS] > 0)]
    old = None if force else store.fits()
    old_by_sig = (
        {sig: part for sig, part in old.groupby(RUNS_SIGNATURE)} if old is not None and len(old) else {}
    )
    rows: list[dict[str, Any]] = []
    reused: list[pd.DataFrame] = []
    n_fitted = n_too_few = 0
    for key, group in usable.groupby(group_cols, dropna=False, sort=True):
        ident = dict(zip(group_cols, key if isinstance(key, tuple) else (key,), strict=True))
        window = analysis.window_for(
            str(ident.get(schema.FAMILY, "")), float(ident.get(schema.GAMMA, math.nan))
        )
        converged = [converged_by_run.get(run_id) for run_id in group[schema.RUN_ID]]
        sig = _signature(group, converged, window)
        if sig in old_by_sig:
            reused.append(old_by_sig[sig])
            continue
        fitted = _fit_rows(group, window, converged, n_bootstrap, seed)
        rows += [{**ident, **fit_row, RUNS_SIGNATURE: sig} for fit_row in fitted]
        n_fitted += bool(fitted)
        n_too_few += not fitted
    new = pd.DataFrame(rows, columns=[*group_cols, *FIT_VALUE_COLUMNS])
    frames = [f for f in (*reused, new) if len(f)]
    table = pd.concat(frames, ignore_index=True) if frames else new
    if n_fitted or old is None or len(table) != len(old):
        write_parquet_atomic(table, store.path / schema.FITS_FILE)
    return table, n_fitted, len(reused), n_too_few


def analyze_metrics_and_fits(
    store: Store | str | Path,
    force: bool = False,
    block_size: int = 8192,
    device: str | None = None,
    n_bootstrap: int = 200,
    seed: int = 0,
    on_run: Callable[[int, int], None] | None = None,
    analysis: AnalysisConfig | None = None,
    quiet: bool = False,
    steps: Mapping[str, Step] | None = None,
) -> AnalysisResult:
    """Metrics and convergence for every finished run, fits for every (γ, data) group across m; writes
    both tables. `analysis` (fit windows) defaults to the `[analysis]` table of the store's sweep.toml.
    A progress bar over the runs measured shows in a terminal or notebook unless `quiet`."""
    check_bootstrap(n_bootstrap)  # before anything is read or written
    check_positive_int("block_size", block_size)
    if not isinstance(store, Store):
        store = open_store(store)
    if analysis is None:
        analysis = AnalysisConfig.model_validate(store.config.get("analysis", {}))
    done = _done_runs(store)
    convergence = quality.convergence_table(store.curves(), list(done[schema.RUN_ID]))
    converged_by_run = {
        r: None if pd.isna(c) else bool(c)
        for r, c in zip(convergence[schema.RUN_ID], convergence[schema.CONVERGED], strict=True)
    }
    with progress_bar("metrics", quiet=quiet) as bar:

        def tick(done_runs: int, total: int) -> None:
            bar.update(done_runs, total)
            if on_run is not None:
                on_run(done_runs, total)

        metrics_table, n_new, n_kept = _update_metrics(
            store, done, convergence, force, block_size, device, tick
        )
    fits_table, n_fit, n_reused, n_too_few = _update_fits(
        store, done, converged_by_run, analysis, force, n_bootstrap, seed
    )
    log.info("metrics: %d computed, %d kept; fits: %d groups fitted, %d kept", n_new, n_kept, n_fit, n_reused)
    extra = tuple(name for name, step in (steps or {}).items() if step(store, force))
    return AnalysisResult(metrics_table, fits_table, n_new, n_kept, n_fit, n_reused, extra, n_too_few)
