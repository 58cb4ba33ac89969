"""Straight lines in log–log space: the paper's α_m (OLS of ln L on ln m, docs/recipe.md §1.8).

Standard errors are the OLS ones of `scipy.stats.linregress` (what the notebook reports); the
confidence interval comes from a residual bootstrap, which does not assume normal residuals.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from superscale.analysis.fit.points import as_points
from superscale.config.window import FitWindow


@dataclass(frozen=True)
class LineFit:
    """y = intercept + slope·x by OLS, with standard errors and R²."""

    slope: float
    slope_se: float
    intercept: float
    intercept_se: float
    r2: float
    n_points: int


def fit_line(x: Any, y: Any) -> LineFit:
    """OLS line with linregress's standard errors (n − 2 degrees of freedom); needs 3+ points."""
    xa = np.asarray(x, dtype=np.float64)
    ya = np.asarray(y, dtype=np.float64)
    if xa.size < 3:
        raise ValueError(f"a line fit with standard errors needs >= 3 points, got {xa.size}")
    if np.ptp(xa) == 0:
        raise ValueError("x must take at least two distinct values")
    res = stats.linregress(xa, ya)
    return LineFit(
        slope=float(res.slope),
        slope_se=float(res.stderr),
        intercept=float(res.intercept),
        intercept_se=float(res.intercept_stderr),
        r2=float(res.rvalue**2),
        n_points=int(xa.size),
    )


def fit_log_slope(x: Any, y: Any) -> LineFit:
    """OLS of ln y on ln x: the exponent of y ∝ x^slope (e.g. N vs d_model = 2.52 ± 0.03, §5.7)."""
    xa, ya = as_points(x, y, "x", "y")
    return fit_line(np.log(xa), np.log(ya))


@dataclass(frozen=True)
class SharedSlopeFit:
    """ln y = ln C_g + slope · ln x: one slope for every group g, one coefficient C_g per group."""

    slope: float
    slope_se: float
    coefficients: dict[str, float]
    n_points: int


def fit_shared_log_slope(x: Any, y: Any, groups: Any) -> SharedSlopeFit:
    """OLS of ln y on ln x with one intercept per group (e.g. N vs d_model across LLM families, Fig. 23a);
    the slope's standard error is the OLS one with n − (1 + number of groups) degrees of freedom."""
    xa, ya = as_points(x, y, "x", "y")
    names, codes = np.unique(np.asarray(groups).astype(str).ravel(), return_inverse=True)
    if codes.size != xa.size:
        raise ValueError(f"groups must label every point: {codes.size} labels for {xa.size} points")
    design = np.column_stack([np.log(xa), np.eye(names.size)[codes]])  # (points, 1 + groups)
    target = np.log(ya)
    coef, *_ = np.linalg.lstsq(design, target, rcond=None)
    dof = target.size - design.shape[1]
    if dof < 1:
        raise ValueError(
            f"shared slope over {names.size} groups needs > {design.shape[1]} points, got {target.size}"
        )
    sigma2 = float(np.sum((target - design @ coef) ** 2)) / dof
    cov = sigma2 * np.linalg.inv(design.T @ design)
    return SharedSlopeFit(
        slope=float(coef[0]),
        slope_se=float(np.sqrt(cov[0, 0])),
        coefficients={str(name): float(c) for name, c in zip(names, np.exp(coef[1:]), strict=True)},
        n_points=int(target.size),
    )


def bootstrap_slopes(x: np.ndarray, y: np.ndarray, n_bootstrap: int, seed: int) -> np.ndarray:
    """Slopes refitted on ŷ + resampled residuals (scaled by sqrt(n/(n−2)) for the lost dof)."""
    line = fit_line(x, y)
    fitted = line.intercept + line.slope * x
    resid = (y - fitted) * math.sqrt(x.size / (x.size - 2))
    rng = np.random.default_rng(seed)
    y_star = fitted + resid[rng.integers(0, x.size, size=(n_bootstrap, x.size))]
    xc = x - x.mean()
    return (y_star - y_star.mean(axis=1, keepdims=True)) @ xc / (xc @ xc)


@dataclass(frozen=True)
class LogLogFit:
    """α_m = −slope of ln L on ln m, its OLS standard error, R², and a bootstrap percentile interval."""

    exponent: float
    exponent_se: float
    intercept: float
    r2: float
    n_points: int
    ci_low: float
    ci_high: float
    confidence: float
    m_min: float
    m_max: float
    window: str

    @property
    def coefficient(self) -> float:
        """C in L = C m^−α_m."""
        return math.exp(self.intercept)


def fit_loglog(
    m: Any,
    loss: Any,
    window: FitWindow | None = None,
    n_bootstrap: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> LogLogFit:
    """The paper's model exponent: fit ln L = c − α_m ln m by OLS over the widths in `window`."""
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must lie in (0, 1), got {confidence}")
    if n_bootstrap < 10:
        raise ValueError(f"n_bootstrap must be >= 10, got {n_bootstrap}")
    window = window or FitWindow()
    ma, la = as_points(m, loss)
    keep = window.mask(ma)
    ma, la = ma[keep], la[keep]
    x, y = np.log(ma), np.log(la)
    line = fit_line(x, y)
    exps = -bootstrap_slopes(x, y, n_bootstrap, seed)
    tail = (1 - confidence) / 2
    return LogLogFit(
        exponent=-line.slope,
        exponent_se=line.slope_se,
        intercept=line.intercept,
        r2=line.r2,
        n_points=line.n_points,
        ci_low=float(np.quantile(exps, tail)),
        ci_high=float(np.quantile(exps, 1 - tail)),
        confidence=confidence,
        m_min=float(ma.min()),
        m_max=float(ma.max()),
        window=window.describe(),
    )
