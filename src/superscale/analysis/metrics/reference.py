"""Reference geometry: random unit vectors, the Welch bound and ETFs (docs/recipe.md §3.2).

Measured overlaps mean little alone; these are the yardsticks the paper divides by.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy import special

from superscale.analysis.metrics.overlaps import OverlapStats


def _check_m(m: int) -> None:
    if m < 1:
        raise ValueError(f"m must be >= 1, got {m}")


def random_vector_cos2_mean(m: int) -> float:
    """⟨c²⟩ = 1/m for independent uniform unit vectors in R^m (c² ~ Beta(1/2, (m−1)/2))."""
    _check_m(m)
    return 1.0 / m


def random_vector_cos2_var(m: int) -> float:
    """Var(c²) = 2(m−1) / (m²(m+2)) for independent uniform unit vectors in R^m (Fig. 5c's divisor)."""
    _check_m(m)
    return 2.0 * (m - 1) / (m * m * (m + 2))


def random_vector_abs_cos_mean(m: int) -> float:
    """⟨|c|⟩ = Γ(m/2) / (√π Γ((m+1)/2)) ≈ sqrt(2/(π m)) for uniform unit vectors in R^m (m ≥ 2)."""
    if m < 2:
        raise ValueError(f"m must be >= 2 for a random cosine, got {m}")
    return math.exp(special.gammaln(m / 2) - special.gammaln((m + 1) / 2)) / math.sqrt(math.pi)


def welch_bound(nu: int, m: int) -> float:
    """Welch bound κ = sqrt((ν − m)/(m(ν − 1))) on max |cos| of ν unit vectors in R^m (0 when ν ≤ m)."""
    _check_m(m)
    if nu < 1:
        raise ValueError(f"nu must be >= 1, got {nu}")
    if nu <= m:
        return 0.0  # ν ≤ m vectors can be orthogonal
    return math.sqrt((nu - m) / (m * (nu - 1)))


def welch_kappa2(nu: int, m: int) -> float:
    """κ², the reference for the mean squared overlap of an ETF-like set of ν vectors (Figs. 5d, 8d)."""
    return welch_bound(nu, m) ** 2


def etf_max_size(m: int) -> int:
    """Largest ν for which a real equiangular tight frame in R^m can exist: m(m+1)/2."""
    _check_m(m)
    return m * (m + 1) // 2


@dataclass(frozen=True)
class GeometryComparison:
    """Measured overlap statistics divided by their reference values (1 = as random / as the ETF)."""

    mean_cos2_over_random: float  # ⟨c²⟩ / (1/m)
    var_cos2_over_random: float  # Var(c²) / (2(m−1)/(m²(m+2))), Fig. 5c
    mean_cos2_over_welch: float  # ⟨c²⟩ / κ²(ν, m), Figs. 5d, 8d (NaN when κ = 0)
    max_abs_cos_over_welch: float  # coherence / κ (≥ 1 by the Welch bound)
    welch_kappa: float
    nu: int
    m: int


def compare_to_reference(overlaps: OverlapStats, m: int, nu: int | None = None) -> GeometryComparison:
    """Ratios of `overlaps` to the random-vector and Welch values; ν defaults to the number of rows."""
    nu = overlaps.n_rows if nu is None else nu
    kappa = welch_bound(nu, m)
    return GeometryComparison(
        mean_cos2_over_random=overlaps.mean_cos2 / random_vector_cos2_mean(m),
        var_cos2_over_random=overlaps.var_cos2 / random_vector_cos2_var(m) if m > 1 else math.nan,
        mean_cos2_over_welch=overlaps.mean_cos2 / kappa**2 if kappa > 0 else math.nan,
        max_abs_cos_over_welch=overlaps.max_abs_cos / kappa if kappa > 0 else math.nan,
        welch_kappa=kappa,
        nu=nu,
        m=m,
    )
