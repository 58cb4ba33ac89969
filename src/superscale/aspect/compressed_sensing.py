"""Compressed sensing: the bound Katta's argument rests on (docs/recipe.md §6.1), and classical L1 recovery.

With sparsity S (each of n features active with probability 1 − S, so k = (1 − S) n are active on average),
recovering x ∈ ℝⁿ from m linear measurements needs about

    m ≳ k ln(n/k) = −n (1 − S) ln(1 − S)          (`cs_min_width`; = n / theory.katta_ratio(S))

Read backwards, a layer of width m holding n_repr features in superposition *implies* a sparsity: the S at
which the bound is tight (`implied_sparsity`). The classical check is basis pursuit on a random Gaussian
matrix: min ‖z‖₁ subject to A z = A x, solved as a linear program by scipy's HiGHS.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
import pandas as pd
import torch
from scipy.optimize import linprog

from superscale._checks import check_finite, check_positive_int
from superscale.analysis.theory import katta_ratio, katta_sparsity
from superscale.train.data import derive_seed, sample_dense

__all__ = [
    "basis_pursuit",
    "critical_width",
    "cs_min_width",
    "implied_sparsity",
    "l1_phase_transition",
    "l1_recovery",
    "uniform_probs",
]


def _check_sparsity(sparsity: float) -> None:
    check_finite("sparsity", sparsity)
    if not 0.0 < sparsity < 1.0:
        raise ValueError(f"sparsity must lie in (0, 1), got {sparsity!r}")


def cs_min_width(n: int, sparsity: float) -> float:
    """m ≳ −n (1 − S) ln(1 − S): the width below which n features at sparsity S cannot be recovered."""
    check_positive_int("n", n)
    _check_sparsity(sparsity)
    return n / katta_ratio(sparsity)


def implied_sparsity(n_features: float, m: float) -> float:
    """The S (sparse branch, S ≥ 1 − 1/e) at which `n_features` fit in width m exactly at the bound.

    NaN when n_features / m < e: fewer than e features per dimension need no sparsity at all (the bound's
    n/m is at least e for every S), so the model implies nothing.
    """
    check_finite("n_features", n_features)
    check_finite("m", m)
    if n_features < 0 or m <= 0:
        raise ValueError(f"need n_features ≥ 0 and m > 0, got n_features={n_features!r}, m={m!r}")
    ratio = n_features / m
    return math.nan if ratio < math.e else katta_sparsity(ratio, "sparse")


def uniform_probs(n: int, sparsity: float) -> torch.Tensor:
    """p_i = 1 − S for every feature (the compressed-sensing setting; E = n (1 − S))."""
    check_positive_int("n", n)
    _check_sparsity(sparsity)
    return torch.full((n,), 1.0 - sparsity, dtype=torch.float64)


def basis_pursuit(A: np.ndarray, y: np.ndarray) -> np.ndarray:
    """argmin ‖z‖₁ s.t. A z = y, as the LP min 1ᵀ(u + v), A(u − v) = y, u, v ≥ 0 (HiGHS)."""
    if A.ndim != 2 or y.shape != (A.shape[0],):
        raise ValueError(f"need A [m, n] and y [m], got A {A.shape} and y {y.shape}")
    n = A.shape[1]
    result = linprog(c=np.ones(2 * n), A_eq=np.hstack([A, -A]), b_eq=y, bounds=(0, None), method="highs")
    if result.status != 0:
        return np.full(n, np.nan)  # infeasible or failed: counts as a recovery failure
    return np.asarray(result.x[:n] - result.x[n:])


def l1_recovery(
    n: int, m: int, sparsity: float, trials: int = 20, seed: int = 0, tol: float = 0.1
) -> tuple[float, float]:
    """Basis pursuit from m Gaussian measurements A ~ N(0, 1/m) of `trials` samples x of the paper's data
    (p_i = 1 − S; x = 0 samples redrawn). Returns (success rate: fraction with ‖x̂ − x‖² / ‖x‖² < tol,
    relative error Σ‖x̂ − x‖² / Σ‖x‖², the measure the toy models' loss is compared on)."""
    check_positive_int("n", n)
    check_positive_int("m", m)
    check_positive_int("trials", trials)
    check_finite("tol", tol)
    generator = torch.Generator().manual_seed(derive_seed(seed, f"l1:{n}:{m}:{sparsity}"))
    probs = uniform_probs(n, sparsity)
    successes, error_sum, norm_sum = 0, 0.0, 0.0
    for _ in range(trials):
        x = np.zeros(n)
        while not x.any():
            x = sample_dense(probs, 1, generator, torch.float64)[0].numpy()
        A = (torch.randn(m, n, generator=generator, dtype=torch.float64) / math.sqrt(m)).numpy()
        x_hat = basis_pursuit(A, A @ x)
        # a failed LP (NaN) is scored as returning zero: it recovers nothing
        sq_error = float(np.sum(np.square(np.nan_to_num(x_hat) - x)))
        sq_norm = float(np.sum(np.square(x)))
        successes += bool(sq_error < tol * sq_norm)
        error_sum, norm_sum = error_sum + sq_error, norm_sum + sq_norm
    return successes / trials, error_sum / norm_sum


def l1_phase_transition(
    n: int,
    sparsities: Iterable[float],
    widths: Iterable[int],
    trials: int = 20,
    seed: int = 0,
    tol: float = 0.1,
) -> pd.DataFrame:
    """Basis pursuit over a grid of (S, m): columns method ("l1"), n, n_layers (0), sparsity, m,
    success_rate, rel_error, bound_m (= cs_min_width(n, S))."""
    rows = []
    widths = list(widths)
    for sparsity in sparsities:
        bound = cs_min_width(n, sparsity)
        for m in widths:
            rate, rel_error = l1_recovery(n, m, sparsity, trials, seed, tol)
            rows.append(
                {
                    "method": "l1",
                    "n": n,
                    "n_layers": 0,
                    "sparsity": sparsity,
                    "m": m,
                    "success_rate": rate,
                    "rel_error": rel_error,
                    "bound_m": bound,
                }
            )
    return pd.DataFrame(rows)


def critical_width(table: pd.DataFrame, tol: float = 0.1, value: str = "rel_error") -> pd.DataFrame:
    """Per (method, sparsity): the smallest m with `value` ≤ tol at that width and every wider one
    (NaN when the widest fails). `table` needs columns method, sparsity, m and `value`."""
    out = []
    for (method, sparsity), group in table.groupby(["method", "sparsity"], sort=True):
        by_m = group.groupby("m")[value].mean().sort_index()
        ok = (by_m <= tol).to_numpy()
        # the suffix of widths that all succeed: one lucky narrow width does not count
        failed = np.flatnonzero(~ok)
        first = int(failed[-1]) + 1 if failed.size else 0
        m_star = float(by_m.index[first]) if first < len(by_m) else math.nan
        out.append({"method": method, "sparsity": sparsity, "critical_m": m_star})
    return pd.DataFrame(out)
