"""Closed-form predictions and bounds; each docstring names its equation in docs/recipe.md.

Weak superposition (§3.1): the loss is the frequency mass of the features left out.
Strong superposition (§3.2–3.3): overlaps ∝ 1/m give α_m = 1, skewed data at most 2(α − 1).
Katta (§6): compressed sensing ties n/m to the sparsity S. Chinchilla (§5.7): α_m = (N vs d_model) × α_N.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import special

V_SQUARED_MEAN = 4.0 / 3.0  # ⟨v²⟩ for v ~ U(0, 2) (§1.1)
V_MEAN = 1.0  # ⟨v⟩
STRONG_EXPONENT = 1.0  # α_m in strong superposition with even-ish frequencies (§3.2)


def _probs(probs: Any) -> np.ndarray:
    p = np.asarray(probs.cpu() if hasattr(probs, "cpu") else probs, dtype=np.float64)
    if p.ndim != 1 or p.size == 0:
        raise ValueError(f"probs must be a non-empty 1-D array, got shape {p.shape}")
    if np.any(p < 0) or np.any(p > 1) or not np.all(np.isfinite(p)):
        raise ValueError("probs must lie in [0, 1]")
    return p


def n_represented(phi: float, n: int) -> int:
    """k = φ n rounded to the nearest integer (φ from counting rows is already k/n)."""
    if not 0 <= phi <= 1:
        raise ValueError(f"phi must lie in [0, 1], got {phi}")
    return round(phi * n)


def predicted_weak_loss(probs: Any, phi: float, exact_variance: bool = False) -> float:
    """§3.1, "loss by unlearned": L = ⟨v²⟩ Σ_{i>k} p_i with k = φ n (exact discrete sum, Figs. 4a, 8b).

    Features are ranked by frequency (p decreasing). `exact_variance=True` returns the unapproximated
    Σ_{i>k} (⟨v²⟩p_i − ⟨v⟩²p_i²), the loss of the idealised configuration with optimal biases b_i = p_i.
    """
    p = _probs(probs)
    tail = p[n_represented(phi, p.size) :]
    if exact_variance:
        return float(np.sum(V_SQUARED_MEAN * tail - V_MEAN**2 * tail * tail))
    return float(V_SQUARED_MEAN * np.sum(tail))


def weak_tail_integral(phi: float, n: int, alpha: float) -> float:
    """§3.1, App. D.5 eq. 14: T(φ) ≈ Σ_{i>φn} p_i for p_i ∝ i^−α, Σp = 1, by the integral estimate.

    α ≠ 1: T = (φ^{1−α} − 1) n^{1−α} / (1 − n^{1−α});  α = 1: T = −ln φ / ln n.
    """
    if not 0 < phi <= 1:
        raise ValueError(f"phi must lie in (0, 1], got {phi}")
    if n < 2:
        raise ValueError(f"n must be >= 2, got {n}")
    if math.isclose(alpha, 1.0, abs_tol=1e-12):
        return -math.log(phi) / math.log(n)
    s = n ** (1 - alpha)
    return (phi ** (1 - alpha) - 1) * s / (1 - s)


def predicted_weak_loss_integral(phi: float, n: int, alpha: float) -> float:
    """(4/3) T(φ): eq. 14 with the ⟨v²⟩ factor the paper's plot includes (Fig. 4a's x-axis)."""
    return V_SQUARED_MEAN * weak_tail_integral(phi, n, alpha)


def weak_exponent(alpha: float) -> float:
    """§3.1: α_m = α − 1 when the top m features are represented and n ≫ m (power law only for α > 1)."""
    if alpha < 1:
        raise ValueError(f"alpha must be >= 1 for the weak-regime power law, got {alpha}")
    return alpha - 1.0


def strong_exponent() -> float:
    """§3.2: overlaps of isotropic vectors scale as 1/m, so the loss ∝ 1/m (α_m = 1)."""
    return STRONG_EXPONENT


def skewed_exponent(alpha: float) -> float:
    """§3.3 (App. A.1): the top ~m²/2 features ETF-like, the rest lost, gives α_m = 2(α − 1)."""
    if alpha < 1:
        raise ValueError(f"alpha must be >= 1 for the skewed-frequency prediction, got {alpha}")
    return 2.0 * (alpha - 1.0)


def strong_exponent_envelope(alpha: float) -> float:
    """§3.3: the observed strong-regime α_m roughly follows max{1, 2(α − 1)} (Fig. 5e)."""
    return max(STRONG_EXPONENT, 2.0 * (alpha - 1.0))


def strong_represented_fraction(m: int, n: int) -> float:
    """§3.2: φ_1 ≈ min{1, m²/(2n)}, the ETF-like set bounded by about m²/2 vectors (Figs. 8c, 16)."""
    if m < 1 or n < 1:
        raise ValueError(f"m and n must be >= 1, got m={m}, n={n}")
    return min(1.0, m * m / (2.0 * n))


def katta_ratio(sparsity: float) -> float:
    """§6.1: n/m = 1 / ((1 − S) ln(1/(1 − S))), compressed sensing m ≳ k ln(n/k) with k = (1 − S) n.

    [K] prints 1/((1 − S) log(1 − S)), which is negative; this is the positive form. The ratio has its
    minimum e at S = 1 − 1/e and grows without bound as S → 1 (S = 0.9 → 4.34, 0.99 → 21.7).
    """
    if not 0 < sparsity < 1:
        raise ValueError(f"sparsity must lie in (0, 1), got {sparsity}")
    q = 1.0 - sparsity
    return 1.0 / (q * math.log(1.0 / q))


def katta_sparsity(ratio: float, branch: str = "sparse") -> float:
    """Inverse of `katta_ratio`: the S that allows n/m = `ratio` features per dimension (ratio ≥ e).

    With q = 1 − S = e^t, −q ln q = 1/ratio becomes t e^t = −1/ratio, so t = W_k(−1/ratio) (Lambert W).
    branch "sparse" (k = −1, S ≥ 1 − 1/e) is the superposition regime; "dense" (k = 0) the other root.
    """
    if not ratio >= math.e:
        raise ValueError(f"ratio must be >= e = 2.718 (the minimum of n/m over S), got {ratio}")
    if branch not in ("sparse", "dense"):
        raise ValueError(f"branch must be 'sparse' or 'dense', got {branch!r}")
    t = special.lambertw(-1.0 / ratio, k=-1 if branch == "sparse" else 0).real
    return 1.0 - math.exp(t)


@dataclass(frozen=True)
class WidthExponentInference:
    """α_m = s α_N from N ∝ m^s and L_N ∝ N^−α_N, with the paper's linear error and the quadrature one."""

    exponent: float
    error_linear: float  # s_err α_N + s α_N_err: the paper's ±0.06
    error_quadrature: float  # sqrt((s_err α_N)² + (s α_N_err)²): ±0.05


def width_exponent_from_params(
    params_vs_width_slope: float, params_vs_width_se: float, alpha_n: float, alpha_n_se: float
) -> WidthExponentInference:
    """§3.7 / §5.7: Chinchilla's α_m = 2.52 × 0.35 = 0.88 (± 0.06 linear, ± 0.05 quadrature)."""
    if params_vs_width_se < 0 or alpha_n_se < 0:
        raise ValueError(f"standard errors must be >= 0, got {params_vs_width_se}, {alpha_n_se}")
    a = params_vs_width_se * alpha_n
    b = params_vs_width_slope * alpha_n_se
    return WidthExponentInference(
        exponent=params_vs_width_slope * alpha_n, error_linear=a + b, error_quadrature=math.hypot(a, b)
    )
