"""Loss vs width across LLM families (docs/recipe.md §3.7, §5.5, §5.7), all fitting done by
`superscale.analysis.fit`.

`fit_width_table` fits L = A/m^α + B_g with one α shared by every group g = family × dataset and reports
the paper's slope error and a bootstrap one; `chinchilla_cross_check` turns Table A9's N ∝ d_model^2.52
(`chinchilla_slope`) and Chinchilla's α_N into the predicted α_m = 2.52 α_N; `open_families_slope` is
the shared N ∝ m^s of the open families (Fig. 23a). The report's verdicts, its loader and the figures
call these; none of them refits.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from superscale.analysis import theory
from superscale.analysis.fit import (
    LineFit,
    SharedExponentFit,
    SharedSlopeFit,
    fit_log_slope,
    fit_shared_exponent,
    fit_shared_log_slope,
)
from superscale.llm.catalog import load_chinchilla_shapes

REQUIRED_COLUMNS = ("family", "dataset", "m", "loss")
# Columns of the tidy points table (Fig. 6b: loss − B_g vs m with the line A m^−α).
POINT_COLUMNS = [
    "family",
    "model",
    "dataset",
    "group",
    "m",
    "loss",
    "offset",
    "loss_minus_offset",
    "fit_curve",
]

# α_N of L(N, D) = E + A/N^α + B/D^β: the paper's rounded Epoch value, and Epoch's exact one (recipe §5.7).
PAPER_ALPHA_N, PAPER_ALPHA_N_SE = 0.35, 0.02
EPOCH_ALPHA_N, EPOCH_ALPHA_N_SE = 0.34781, 0.01540


def group_label(family: str, dataset: str) -> str:
    """Group name of the shared-exponent fit: one offset B_g per family × dataset."""
    return f"{family}/{dataset}"


@dataclass(frozen=True)
class WidthFit:
    """The shared-exponent fit and the per-point table it was fitted on."""

    fit: SharedExponentFit
    points: pd.DataFrame


def width_points(table: pd.DataFrame) -> pd.DataFrame:
    """Validate a loss table (family, dataset, m, loss; model optional) and keep usable rows."""
    missing = [c for c in REQUIRED_COLUMNS if c not in table.columns]
    if missing:
        raise ValueError(f"loss table lacks columns {missing}; it needs {list(REQUIRED_COLUMNS)}")
    points = table.copy()
    if "model" not in points.columns:
        points["model"] = ""
    points["m"] = pd.to_numeric(points["m"], errors="coerce")
    points["loss"] = pd.to_numeric(points["loss"], errors="coerce")
    points = points[np.isfinite(points["m"]) & np.isfinite(points["loss"]) & (points["m"] > 0)]
    points = points.reset_index(drop=True)
    points["group"] = [
        group_label(f, d)
        for f, d in zip(points["family"].astype(str), points["dataset"].astype(str), strict=True)
    ]
    return points


def fit_width_table(
    table: pd.DataFrame,
    n_bootstrap: int = 200,
    confidence: float = 0.95,
    seed: int = 0,
    compare_per_group: bool = True,
) -> WidthFit:
    """Shared-exponent fit L = A m^−α + B_{family×dataset} (the paper's α_m = 0.91 ± 0.04); the report
    skips the per-group comparison (`compare_per_group=False`) and bootstraps less, its numbers the same."""
    points = width_points(table)
    fit = fit_shared_exponent(
        points["m"].to_numpy(),
        points["loss"].to_numpy(),
        points["group"].to_numpy(),
        n_bootstrap=n_bootstrap,
        confidence=confidence,
        seed=seed,
        compare_per_group=compare_per_group,
    )
    points["offset"] = points["group"].map(fit.offsets)
    points["loss_minus_offset"] = points["loss"] - points["offset"]
    points["fit_curve"] = fit.A * points["m"] ** (-fit.exponent)
    return WidthFit(fit=fit, points=points[POINT_COLUMNS])


def loss_minus_offset(losses: pd.DataFrame, offsets: Mapping[str, float]) -> pd.DataFrame:
    """L − L_\\m = L − B_g for every (model, dataset) whose group has a fitted offset (Fig. 6b's y)."""
    labels = [group_label(f, d) for f, d in zip(losses["family"], losses["dataset"], strict=True)]
    offset = np.array([offsets.get(label, np.nan) for label in labels])
    table = losses.assign(group=labels, loss_minus_offset=losses["loss"].to_numpy(dtype=float) - offset)
    return table[np.isfinite(table["loss_minus_offset"])]


def fit_summary(result: WidthFit) -> pd.DataFrame:
    """One row per group offset plus the shared parameters, for printing or saving."""
    fit = result.fit
    rows = [{"parameter": "alpha", "value": fit.exponent}]
    rows += [
        {"parameter": "alpha_se_paper", "value": fit.exponent_se_paper},
        {"parameter": "alpha_se_bootstrap", "value": fit.exponent_se_bootstrap},
        {"parameter": "alpha_ci_low", "value": fit.exponent_ci_low},
        {"parameter": "alpha_ci_high", "value": fit.exponent_ci_high},
        {"parameter": "A", "value": fit.A},
        {"parameter": "mse", "value": fit.mse},
        {"parameter": "n_points", "value": float(fit.n_points)},
    ]
    rows += [{"parameter": f"B[{group}]", "value": value} for group, value in sorted(fit.offsets.items())]
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class ChinchillaCheck:
    """α_m = slope × α_N with slope the exponent of N ∝ d_model^slope over Table A9 (docs/recipe.md §5.7)."""

    slope: float
    slope_se: float
    n_models: int
    alpha_n: float
    alpha_n_se: float
    alpha_m: float
    alpha_m_se_linear: float  # the paper's ±0.06: errors added linearly
    alpha_m_se_quadrature: float


def chinchilla_slope(shapes: pd.DataFrame | None = None) -> LineFit:
    """OLS of ln N on ln d_model over Table A9 (`shapes`: params_million, d_model; default the shipped
    50 models): the paper's N ∝ d_model^2.52 ± 0.03 (Fig. 23b)."""
    shapes = load_chinchilla_shapes() if shapes is None else shapes
    return fit_log_slope(shapes["d_model"].to_numpy(float), shapes["params_million"].to_numpy(float) * 1e6)


def chinchilla_cross_check(
    alpha_n: float = PAPER_ALPHA_N, alpha_n_se: float = PAPER_ALPHA_N_SE, shapes: pd.DataFrame | None = None
) -> ChinchillaCheck:
    """Regress ln N on ln d_model over the Table A9 models and multiply the slope by α_N."""
    if not alpha_n > 0 or not alpha_n_se >= 0:
        raise ValueError(f"alpha_n must be > 0 and alpha_n_se >= 0, got {alpha_n}, {alpha_n_se}")
    line = chinchilla_slope(shapes)
    inferred = theory.width_exponent_from_params(line.slope, line.slope_se, alpha_n, alpha_n_se)
    return ChinchillaCheck(
        slope=line.slope,
        slope_se=line.slope_se,
        n_models=line.n_points,
        alpha_n=alpha_n,
        alpha_n_se=alpha_n_se,
        alpha_m=inferred.exponent,
        alpha_m_se_linear=inferred.error_linear,
        alpha_m_se_quadrature=inferred.error_quadrature,
    )


def open_families_slope(models: pd.DataFrame) -> SharedSlopeFit:
    """N ∝ C_family · d_model^s with one s across the open families (`models`: family, d_model, n_params;
    the paper's 2.51, Fig. 23a). N is every parameter, embeddings included."""
    return fit_shared_log_slope(
        models["d_model"].to_numpy(float), models["n_params"].to_numpy(float), models["family"].to_numpy()
    )
