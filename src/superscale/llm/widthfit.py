"""Loss vs width across LLM families (spec §3.7, §5.5, §5.7), all fitting done by `superscale.fit`.

`fit_width_table` fits L = A/m^α + B_g with one α shared by every group g = family × dataset and reports
the paper's slope error and a bootstrap one; `chinchilla_cross_check` turns Table A9's N ∝ d_model^2.52
and Chinchilla's α_N into the predicted α_m = 2.52 α_N.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from superscale.fit import SharedExponentFit, fit_log_slope, fit_shared_exponent
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

# α_N of L(N, D) = E + A/N^α + B/D^β: the paper's rounded Epoch value, and Epoch's exact one (spec §5.7).
PAPER_ALPHA_N, PAPER_ALPHA_N_SE = 0.35, 0.02
EPOCH_ALPHA_N, EPOCH_ALPHA_N_SE = 0.34781, 0.01540


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
    points["group"] = points["family"].astype(str) + "/" + points["dataset"].astype(str)
    return points


def fit_width_table(
    table: pd.DataFrame, n_bootstrap: int = 200, confidence: float = 0.95, seed: int = 0
) -> WidthFit:
    """Shared-exponent fit L = A m^−α + B_{family×dataset} (the paper's α_m = 0.91 ± 0.04)."""
    points = width_points(table)
    fit = fit_shared_exponent(
        points["m"].to_numpy(),
        points["loss"].to_numpy(),
        points["group"].to_numpy(),
        n_bootstrap=n_bootstrap,
        confidence=confidence,
        seed=seed,
    )
    points["offset"] = points["group"].map(fit.offsets)
    points["loss_minus_offset"] = points["loss"] - points["offset"]
    points["fit_curve"] = fit.A * points["m"] ** (-fit.exponent)
    return WidthFit(fit=fit, points=points[POINT_COLUMNS])


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
    """α_m = slope × α_N with slope the exponent of N ∝ d_model^slope over Table A9 (spec §5.7)."""

    slope: float
    slope_se: float
    n_models: int
    alpha_n: float
    alpha_n_se: float
    alpha_m: float
    alpha_m_se_linear: float  # the paper's ±0.06: errors added linearly
    alpha_m_se_quadrature: float


def chinchilla_cross_check(
    alpha_n: float = PAPER_ALPHA_N, alpha_n_se: float = PAPER_ALPHA_N_SE
) -> ChinchillaCheck:
    """Regress ln N on ln d_model over the 50 Table A9 models and multiply the slope by α_N."""
    if not alpha_n > 0 or not alpha_n_se >= 0:
        raise ValueError(f"alpha_n must be > 0 and alpha_n_se >= 0, got {alpha_n}, {alpha_n_se}")
    shapes = load_chinchilla_shapes()
    line = fit_log_slope(shapes["d_model"].to_numpy(), shapes["params_million"].to_numpy() * 1e6)
    return ChinchillaCheck(
        slope=line.slope,
        slope_se=line.slope_se,
        n_models=line.n_points,
        alpha_n=alpha_n,
        alpha_n_se=alpha_n_se,
        alpha_m=line.slope * alpha_n,
        alpha_m_se_linear=line.slope_se * alpha_n + line.slope * alpha_n_se,
        alpha_m_se_quadrature=math.hypot(line.slope_se * alpha_n, line.slope * alpha_n_se),
    )
