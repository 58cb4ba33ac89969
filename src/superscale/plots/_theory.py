"""Theory lines as vectorised curves for plotting (docs/recipe.md §3); the formulas live in
superscale.analysis.theory.

Figures draw these over x grids, so each wrapper accepts arrays and returns arrays.
"""

from __future__ import annotations

import numpy as np

from superscale.analysis import theory


def weak_exponent(alpha: np.ndarray) -> np.ndarray:
    """α_m = α − 1: weak superposition, power law in, power law out (§3.1); NaN where α < 1 (no power law)."""
    return np.asarray([theory.weak_exponent(float(a)) if a >= 1 else np.nan for a in np.atleast_1d(alpha)])


def strong_exponent() -> float:
    """α_m = 1: isotropic strong superposition, overlaps ∝ 1/m (§3.2)."""
    return float(theory.strong_exponent())


def skewed_exponent(alpha: np.ndarray) -> np.ndarray:
    """α_m = 2(α − 1): top ~m²/2 features ETF-like, tail unlearned (§3.3)."""
    return np.asarray([theory.skewed_exponent(float(a)) if a >= 1 else np.nan for a in np.atleast_1d(alpha)])


def weak_fraction(m: np.ndarray, n: int) -> np.ndarray:
    """φ_{1/2} ≈ m/n in weak superposition."""
    return np.asarray(m, dtype=float) / n


def strong_fraction(m: np.ndarray, n: int) -> np.ndarray:
    """φ_1 ≈ min{1, m²/(2n)}: the strongly represented set is bounded by ~m²/2 (§3.2); m rounded to ints."""
    return np.asarray([theory.strong_represented_fraction(round(float(x)), n) for x in np.atleast_1d(m)])


def random_cos2_mean(m: np.ndarray) -> np.ndarray:
    """⟨c²⟩ = 1/m of random unit vectors in R^m."""
    return 1.0 / np.asarray(m, dtype=float)
