"""One exponent across groups: L_{g,k} = A m_k^−α + B_g (docs/recipe.md §3.7, §5.5; the LLM fit, Fig. 6b).

The objective is the paper's: squared error in raw loss over all points. The model is linear in
(A, B_g) for fixed α, so starts come from a grid over α with (A, B_g) solved exactly (variable
projection), then all parameters are refined together. Per-group exponents (A_g, α_g, B_g) are fitted
for comparison, with AIC/BIC saying whether one shared α is enough.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import optimize

from superscale.analysis.fit._threads import single_thread_blas
from superscale.analysis.fit.points import check_bootstrap, check_distinct

_ALPHA_GRID = (0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0)


@dataclass(frozen=True)
class GroupExponent:
    """One group's own fit L = A_g m^−α_g + B_g (asymptotic standard error on α_g)."""

    exponent: float
    exponent_se: float
    A: float
    offset: float
    n_points: int


@dataclass(frozen=True)
class SharedExponentFit:
    """Shared α and A, one offset per group; the paper's slope error and a residual-bootstrap one."""

    exponent: float
    exponent_se_paper: float  # sqrt(Σ[ln(L − B_g) − ln(A m^−α)]² / Σ(ln m − mean ln m)² / (N − 3))
    exponent_se_bootstrap: float
    exponent_ci_low: float
    exponent_ci_high: float
    confidence: float
    A: float
    offsets: dict[str, float]
    mse: float
    n_points: int
    n_excluded_paper_se: int  # points with L ≤ B_g, left out of the paper's log residuals
    aic: float
    bic: float
    per_group: dict[str, GroupExponent] = field(default_factory=dict)
    per_group_aic: float = math.nan
    per_group_bic: float = math.nan

    @property
    def preferred(self) -> str:
        """ "shared" or "per_group", by BIC (NaN comparison → "shared")."""
        return "per_group" if self.per_group_bic < self.bic else "shared"


def _design(x: np.ndarray, codes: np.ndarray, n_groups: int, alpha: float) -> np.ndarray:
    onehot = np.zeros((x.size, n_groups))
    onehot[np.arange(x.size), codes] = 1.0
    return np.column_stack([np.exp(-alpha * x), onehot])


def _profile_start(x: np.ndarray, y: np.ndarray, codes: np.ndarray, n_groups: int) -> np.ndarray:
    """Best (ln A, α, B_g) over the α grid with A, B_g solved by linear least squares."""
    best, best_rss = None, math.inf
    for alpha in _ALPHA_GRID:
        X = _design(x, codes, n_groups, alpha)
        coef, *_ = np.linalg.lstsq(X, y, rcond=None)
        rss = float(((X @ coef - y) ** 2).sum())
        if coef[0] > 0 and rss < best_rss:
            best, best_rss = np.concatenate([[math.log(coef[0]), alpha], coef[1:]]), rss
    if best is None:
        raise ValueError("no positive amplitude A fits these data: loss does not decrease with m")
    return best


def _fit(x: np.ndarray, y: np.ndarray, codes: np.ndarray, n_groups: int, theta0: np.ndarray) -> np.ndarray:
    def resid(theta: np.ndarray) -> np.ndarray:
        return np.exp(theta[0] - theta[1] * x) + theta[2:][codes] - y

    def jac(theta: np.ndarray) -> np.ndarray:
        power = np.exp(theta[0] - theta[1] * x)
        J = np.zeros((x.size, theta.size))
        J[:, 0] = power
        J[:, 1] = -x * power
        J[np.arange(x.size), 2 + codes] = 1.0
        return J

    return optimize.least_squares(resid, theta0, jac=jac, method="lm" if x.size >= theta0.size else "trf").x


def _information(rss: float, n: int, k: int) -> tuple[float, float]:
    base = n * math.log(max(rss, 1e-300) / n)
    return base + 2 * k, base + k * math.log(n)


def _group_fit(x: np.ndarray, y: np.ndarray) -> tuple[GroupExponent, float]:
    codes = np.zeros(x.size, dtype=int)
    theta = _fit(x, y, codes, 1, _profile_start(x, y, codes, 1))
    power = np.exp(theta[0] - theta[1] * x)
    resid = power + theta[2] - y
    rss = float(resid @ resid)
    J = np.column_stack([power, -x * power, np.ones_like(x)])
    dof = x.size - 3
    try:
        se = math.sqrt(rss / dof * np.linalg.inv(J.T @ J)[1, 1]) if dof > 0 else math.nan
    except np.linalg.LinAlgError:
        se = math.nan
    fit = GroupExponent(float(theta[1]), se, math.exp(theta[0]), float(theta[2]), int(x.size))
    return fit, rss


@single_thread_blas
def fit_shared_exponent(
    m: Any,
    loss: Any,
    groups: Any,
    n_bootstrap: int = 200,
    confidence: float = 0.95,
    seed: int = 0,
    compare_per_group: bool = True,
) -> SharedExponentFit:
    """Fit L = A m^−α + B_g (raw-loss least squares) across `groups` (labels, one per point)."""
    x = np.log(np.asarray(m, dtype=np.float64).ravel())
    y = np.asarray(loss, dtype=np.float64).ravel()
    labels = np.asarray(groups).ravel()
    if not (x.size == y.size == labels.size):
        raise ValueError(f"m, loss and groups must have equal lengths, got {x.size}, {y.size}, {labels.size}")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise ValueError("m must be finite and > 0, and loss finite")
    check_bootstrap(n_bootstrap)
    check_distinct(x, 3, "the shared-exponent fit (A, α and the offsets) over m")
    names, codes = np.unique(labels.astype(str), return_inverse=True)
    n_groups = names.size
    n_params = 2 + n_groups
    if x.size < n_params + 1:
        raise ValueError(f"{n_params} parameters need more than {n_params} points, got {x.size}")
    theta = _fit(x, y, codes, n_groups, _profile_start(x, y, codes, n_groups))
    log_a, alpha, offsets = theta[0], theta[1], theta[2:]
    fitted = np.exp(log_a - alpha * x) + offsets[codes]
    resid = y - fitted
    rss = float(resid @ resid)

    # the paper's slope error: log residuals about the fitted curve, N_data − 3 dof (§5.5)
    above = y - offsets[codes]
    ok = above > 0
    log_resid = np.log(above[ok]) - (log_a - alpha * x[ok])
    sxx = float(((x - x.mean()) ** 2).sum())
    se_paper = math.sqrt(float(log_resid @ log_resid) / sxx / (x.size - 3))

    rng = np.random.default_rng(seed)
    scale = math.sqrt(x.size / (x.size - n_params))
    boot = np.array(
        [
            _fit(x, fitted + scale * resid[rng.integers(0, x.size, x.size)], codes, n_groups, theta)[1]
            for _ in range(n_bootstrap)
        ]
    )
    tail = (1 - confidence) / 2
    aic, bic = _information(rss, x.size, n_params)

    per_group: dict[str, GroupExponent] = {}
    per_aic = per_bic = math.nan
    if compare_per_group and all(np.sum(codes == g) >= 4 for g in range(n_groups)):
        rss_groups = 0.0
        for g, name in enumerate(names):
            fit, rss_g = _group_fit(x[codes == g], y[codes == g])
            per_group[str(name)] = fit
            rss_groups += rss_g
        per_aic, per_bic = _information(rss_groups, x.size, 3 * n_groups)
    return SharedExponentFit(
        exponent=float(alpha),
        exponent_se_paper=se_paper,
        exponent_se_bootstrap=float(boot.std(ddof=1)) if boot.size > 1 else math.nan,
        exponent_ci_low=float(np.quantile(boot, tail)) if boot.size else math.nan,
        exponent_ci_high=float(np.quantile(boot, 1 - tail)) if boot.size else math.nan,
        confidence=confidence,
        A=math.exp(log_a),
        offsets={str(name): float(offsets[g]) for g, name in enumerate(names)},
        mse=rss / x.size,
        n_points=int(x.size),
        n_excluded_paper_se=int((~ok).sum()),
        aic=aic,
        bic=bic,
        per_group=per_group,
        per_group_aic=per_aic,
        per_group_bic=per_bic,
    )
