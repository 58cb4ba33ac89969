"""Power law with an offset, L = C m^−α + L0, fitted on log loss (relative errors, as losses span decades)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import optimize

from superscale.analysis.fit._threads import single_thread_blas
from superscale.analysis.fit.points import as_points, check_bootstrap, check_distinct
from superscale.config.window import FitWindow


@dataclass(frozen=True)
class PowerLawOffsetFit:
    """Parameters with asymptotic (Jacobian) standard errors, log-space R², and a bootstrap CI on α."""

    C: float
    exponent: float
    offset: float
    C_se: float
    exponent_se: float
    offset_se: float
    r2: float
    n_points: int
    ci_low: float
    ci_high: float
    confidence: float
    m_min: float
    m_max: float
    window: str
    offset_at_bound: bool  # L0 pinned at 0 or at min(L): its standard error is not meaningful


def _residuals(theta: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    log_c, alpha, offset = theta
    return y - np.log(np.exp(log_c - alpha * x) + offset)


def _jacobian(theta: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    log_c, alpha, offset = theta
    power = np.exp(log_c - alpha * x)
    model = power + offset
    return -np.stack([power / model, -x * power / model, 1.0 / model], axis=1)


def _solve(x: np.ndarray, y: np.ndarray, starts: list[np.ndarray], upper: float) -> optimize.OptimizeResult:
    best = None
    for theta0 in starts:
        theta0 = theta0.copy()
        theta0[2] = min(max(theta0[2], 0.0), upper * (1 - 1e-6))
        res = optimize.least_squares(
            _residuals,
            theta0,
            jac=_jacobian,
            args=(x, y),
            bounds=([-np.inf, -np.inf, 0.0], [np.inf, np.inf, upper]),
            method="trf",
            x_scale="jac",
        )
        if best is None or res.cost < best.cost:
            best = res
    assert best is not None
    return best


@single_thread_blas
def fit_power_law_offset(
    m: Any,
    loss: Any,
    window: FitWindow | None = None,
    n_bootstrap: int = 200,
    confidence: float = 0.95,
    seed: int = 0,
) -> PowerLawOffsetFit:
    """Least squares on ln L − ln(C m^−α + L0) with 0 ≤ L0 < min L, multi-start over L0; needs 4+ points."""
    check_bootstrap(n_bootstrap)
    window = window or FitWindow()
    ma, la = as_points(m, loss)
    keep = window.mask(ma)
    ma, la = ma[keep], la[keep]
    if ma.size < 4:
        raise ValueError(f"the offset power law has 3 parameters and needs >= 4 points, got {ma.size}")
    check_distinct(ma, 4, "the offset power law (3 parameters) over m")
    x, y = np.log(ma), np.log(la)
    upper = float(la.min())
    starts = []
    for frac in (0.0, 0.3, 0.6, 0.9):
        shifted = np.log(np.maximum(la - frac * upper, 1e-300))
        slope, intercept = np.polyfit(x, shifted, 1)
        starts.append(np.array([intercept, -slope, frac * upper]))
    best = _solve(x, y, starts, upper)
    dof = ma.size - 3
    resid = best.fun
    sigma2 = float(resid @ resid) / dof if dof > 0 else math.nan
    J = best.jac
    try:
        cov = sigma2 * np.linalg.inv(J.T @ J)
        se = np.sqrt(np.clip(np.diag(cov), 0, None))
    except np.linalg.LinAlgError:
        se = np.full(3, math.nan)
    log_c, alpha, offset = best.x
    # bootstrap: refit ŷ + resampled residuals, starting from the best fit
    rng = np.random.default_rng(seed)
    fitted = y - resid
    scale = math.sqrt(ma.size / dof) if dof > 0 else 1.0
    exps = []
    for _ in range(n_bootstrap):
        y_star = fitted + scale * resid[rng.integers(0, ma.size, ma.size)]
        upper_star = float(np.exp(y_star).min())
        exps.append(_solve(x, y_star, [best.x], upper_star).x[1])
    tail = (1 - confidence) / 2
    ss_tot = float(((y - y.mean()) ** 2).sum())
    at_bound = offset <= 1e-9 * upper or offset >= upper * (1 - 1e-4)
    return PowerLawOffsetFit(
        C=math.exp(log_c),
        exponent=float(alpha),
        offset=float(offset),
        C_se=math.exp(log_c) * float(se[0]),
        exponent_se=float(se[1]),
        offset_se=float(se[2]),
        r2=1 - float(resid @ resid) / ss_tot if ss_tot > 0 else math.nan,
        n_points=int(ma.size),
        ci_low=float(np.quantile(exps, tail)) if exps else math.nan,
        ci_high=float(np.quantile(exps, 1 - tail)) if exps else math.nan,
        confidence=confidence,
        m_min=float(ma.min()),
        m_max=float(ma.max()),
        window=window.describe(),
        offset_at_bound=bool(at_bound),
    )
