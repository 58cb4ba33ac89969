"""Parametric scaling laws L = Σ_k exp(c_k) Π_j x_j^−α_kj fitted as Hoffmann et al. / Epoch AI do.

Chinchilla's L(N, D) = E + A/N^α + B/D^β is three such terms. Parameterise A = e^a, B = e^b, E = e^e so
ln L̂ = LSE(a − α ln N, b − β ln D, e); minimise Σ Huber_δ(ln L̂ − ln L) (δ = 1e-3) with L-BFGS-B from
several starts, keep the best, and bootstrap the data points for standard errors (Besiroglu et al. 2024).

Starts: Epoch refine every point of a 5-D grid (thousands of L-BFGS runs). Here the grid is over the
exponents only; for each exponent vector the coefficients are solved by non-negative least squares
(the law is linear in them), and the `n_refine` best of these starts, plus any given ones, are refined.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import optimize, special

from superscale.analysis.fit._threads import single_thread_blas
from superscale.analysis.fit.points import check_bootstrap


@dataclass(frozen=True)
class PowerTerm:
    """exp(coef) · Π_j x_j^−exponent_j; `coef` names the log-coefficient, `powers` covariate → exponent."""

    coef: str
    powers: Mapping[str, str]


@dataclass(frozen=True)
class ParametricLaw:
    """A sum of power terms; `exponent_grid` gives the values of each exponent tried for starts."""

    name: str
    terms: tuple[PowerTerm, ...]
    exponent_grid: Mapping[str, Sequence[float]]

    @property
    def params(self) -> tuple[str, ...]:
        names = [t.coef for t in self.terms]
        for t in self.terms:
            names += [p for p in t.powers.values() if p not in names]
        return tuple(dict.fromkeys(names))

    @property
    def exponents(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(p for t in self.terms for p in t.powers.values()))

    @property
    def covariates(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(c for t in self.terms for c in t.powers))


_EXPONENTS = (0.05, 0.1, 0.2, 0.3, 0.4, 0.6, 0.8, 1.0, 1.5, 2.0)

# L(N, D) = E + A/N^α + B/D^β
CHINCHILLA_LAW = ParametricLaw(
    name="chinchilla",
    terms=(PowerTerm("a", {"N": "alpha"}), PowerTerm("b", {"D": "beta"}), PowerTerm("e", {})),
    exponent_grid={"alpha": _EXPONENTS, "beta": _EXPONENTS},
)

# L(m) = E + A/m^α: the offset power law of the toy models, fitted the Epoch way
WIDTH_LAW = ParametricLaw(
    name="width",
    terms=(PowerTerm("a", {"m": "alpha"}), PowerTerm("e", {})),
    exponent_grid={"alpha": _EXPONENTS},
)


@dataclass(frozen=True)
class ParametricFit:
    """Best-fit parameters (coefficients as exp(log-coef), e.g. A, B, E) with bootstrap SE and CI."""

    law: str
    params: dict[str, float]  # log-coefficients under their own names ("a"), exponents ("alpha")
    coefficients: dict[str, float]  # exp of each log-coefficient ("A" for "a")
    params_se: dict[str, float]
    params_ci_low: dict[str, float]
    params_ci_high: dict[str, float]
    objective: float  # Σ Huber_δ(ln L̂ − ln L) / δ at the best fit
    n_points: int
    n_starts: int
    n_bootstrap: int
    confidence: float


class _Problem:
    """Huber objective and its gradient for one law on one data set."""

    def __init__(self, law: ParametricLaw, logx: dict[str, np.ndarray], log_loss: np.ndarray, delta: float):
        self.names = law.params
        self.index = {p: i for i, p in enumerate(self.names)}
        self.terms = [
            (self.index[t.coef], [(logx[c], self.index[p]) for c, p in t.powers.items()]) for t in law.terms
        ]
        self.log_loss = log_loss
        self.delta = delta

    def __call__(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        zero = np.zeros_like(self.log_loss)
        logits = np.stack(
            [theta[c] + zero - sum(theta[p] * lx for lx, p in powers) for c, powers in self.terms]
        )
        pred = special.logsumexp(logits, axis=0)
        weights = np.exp(logits - pred)  # softmax over terms: d pred / d logit_k
        r = pred - self.log_loss
        # Σ Huber_δ / δ: the same minimiser, but gradients of order 1 so L-BFGS's tolerances are meaningful
        value = float(special.huber(self.delta, r).sum()) / self.delta
        dr = np.clip(r, -self.delta, self.delta) / self.delta  # d (Huber / δ) / d r
        grad = np.zeros_like(theta)
        for k, (c, powers) in enumerate(self.terms):
            wk = dr * weights[k]
            grad[c] += wk.sum()
            for lx, p in powers:
                grad[p] -= (wk * lx).sum()
        return value, grad

    def minimise(self, starts: np.ndarray) -> tuple[np.ndarray, float]:
        best_x, best_f = starts[0], math.inf
        for theta0 in starts:
            res = optimize.minimize(
                self,
                theta0,
                jac=True,
                method="L-BFGS-B",
                options={"ftol": 1e-13, "gtol": 1e-9, "maxiter": 5000},
            )
            if np.all(np.isfinite(res.x)) and res.fun < best_f:
                best_x, best_f = res.x, float(res.fun)
        return best_x, best_f


def _grid_starts(
    law: ParametricLaw, logx: dict[str, np.ndarray], y: np.ndarray, problem: _Problem, n_refine: int
) -> np.ndarray:
    """Per exponent vector on the grid, coefficients by NNLS on raw loss; keep the `n_refine` best."""
    names = law.params
    index = {p: i for i, p in enumerate(names)}
    candidates = []
    for values in itertools.product(*(law.exponent_grid[p] for p in law.exponents)):
        exps = dict(zip(law.exponents, values, strict=True))
        design = np.column_stack(
            [
                np.exp(-sum(exps[p] * logx[c] for c, p in t.powers.items()) + np.zeros_like(y))
                for t in law.terms
            ]
        )
        scale = design.max(axis=0)
        coef, _ = optimize.nnls(design / scale, y)
        coef = coef / scale
        theta = np.zeros(len(names))
        for t, cval in zip(law.terms, coef, strict=True):
            theta[index[t.coef]] = math.log(max(cval, 1e-12))
        for p, v in exps.items():
            theta[index[p]] = v
        candidates.append((problem(theta)[0], theta))
    candidates.sort(key=lambda pair: pair[0])
    return np.array([theta for _, theta in candidates[:n_refine]])


def _check_identifiable(law: ParametricLaw, logx: Mapping[str, np.ndarray]) -> None:
    """Enough distinct points for the law's parameters: each covariate takes ≥ 2 values (an exponent of a
    constant is anything), and the distinct covariate points are at least as many as the parameters.
    Rows at one width fit any α "confidently"; this refuses them instead."""
    n_params = len(law.params)
    for c, values in logx.items():
        distinct = np.unique(values).size
        if distinct < 2 or (len(logx) == 1 and distinct < n_params):
            need = n_params if len(logx) == 1 else 2
            raise ValueError(
                f"the {law.name} law has {n_params} parameters ({', '.join(law.params)}) and needs >= {need} "
                f"distinct values of {c}, got {distinct}"
            )
    if logx:
        points = np.unique(np.column_stack(list(logx.values())), axis=0).shape[0]
        if points < n_params:
            raise ValueError(
                f"the {law.name} law has {n_params} parameters and needs >= {n_params} distinct "
                f"({', '.join(logx)}) points, got {points}"
            )


@single_thread_blas
def fit_parametric(
    law: ParametricLaw,
    covariates: Mapping[str, Any],
    loss: Any,
    delta: float = 1e-3,
    starts: Sequence[Sequence[float]] | None = None,
    n_refine: int = 8,
    n_bootstrap: int = 100,
    confidence: float = 0.95,
    seed: int = 0,
) -> ParametricFit:
    """Huber-on-log-loss fit of `law`: refine the `n_refine` best grid starts (plus `starts`, rows ordered as
    `law.params`), keep the best, then refit `n_bootstrap` resamples of the points from it."""
    missing = [c for c in law.covariates if c not in covariates]
    if missing:
        raise ValueError(f"covariates is missing {missing} (law {law.name!r} needs {list(law.covariates)})")
    y = np.asarray(loss, dtype=np.float64).ravel()
    if not np.all(np.isfinite(y)) or np.any(y <= 0):
        raise ValueError("loss must be finite and > 0")
    check_bootstrap(n_bootstrap)
    logx = {}
    for c in law.covariates:
        xc = np.asarray(covariates[c], dtype=np.float64).ravel()
        if xc.shape != y.shape or not np.all(np.isfinite(xc)) or not np.all(xc > 0):
            raise ValueError(
                f"covariate {c!r} must be finite and > 0 with one value per loss, got shape {xc.shape}"
            )
        logx[c] = np.log(xc)
    _check_identifiable(law, logx)
    if delta <= 0:
        raise ValueError(f"delta must be > 0, got {delta}")
    if n_refine < 1:
        raise ValueError(f"n_refine must be >= 1, got {n_refine}")
    names = law.params
    problem = _Problem(law, logx, np.log(y), delta)
    start_arr = _grid_starts(law, logx, y, problem, n_refine)
    if starts is not None:
        given = np.asarray(starts, dtype=np.float64)
        if given.ndim != 2 or given.shape[1] != len(names):
            raise ValueError(f"starts must have shape [k, {len(names)}] (params {names}), got {given.shape}")
        start_arr = np.concatenate([given, start_arr])
    theta, value = problem.minimise(start_arr)

    rng = np.random.default_rng(seed)
    boot = []
    for _ in range(n_bootstrap):
        pick = rng.integers(0, y.size, y.size)
        problem = _Problem(law, {c: v[pick] for c, v in logx.items()}, np.log(y[pick]), delta)
        boot.append(problem.minimise(theta[None, :])[0])
    boot_arr = np.array(boot) if boot else np.full((0, len(names)), math.nan)
    tail = (1 - confidence) / 2

    def per_param(values: np.ndarray) -> dict[str, float]:
        return {p: float(values[i]) for i, p in enumerate(names)}

    has_boot = boot_arr.shape[0] > 1
    nan = np.full(len(names), math.nan)
    return ParametricFit(
        law=law.name,
        params=per_param(theta),
        coefficients={t.coef.upper(): math.exp(theta[names.index(t.coef)]) for t in law.terms},
        params_se=per_param(boot_arr.std(axis=0, ddof=1) if has_boot else nan),
        params_ci_low=per_param(np.quantile(boot_arr, tail, axis=0) if has_boot else nan),
        params_ci_high=per_param(np.quantile(boot_arr, 1 - tail, axis=0) if has_boot else nan),
        objective=value,
        n_points=int(y.size),
        n_starts=int(start_arr.shape[0]),
        n_bootstrap=n_bootstrap,
        confidence=confidence,
    )
