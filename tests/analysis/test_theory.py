"""Theory predictions against hand-checked values (docs/recipe.md §3, §5.7, §6)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from superscale.analysis import theory


def _power(n: int, alpha: float) -> np.ndarray:
    w = np.arange(1, n + 1, dtype=np.float64) ** -alpha
    return w / w.sum()


def test_predicted_weak_loss_is_four_thirds_of_the_missing_mass() -> None:
    probs = [0.5, 0.3, 0.2]
    # k = φn = 1 represented: the tail 0.3 + 0.2 is lost
    assert theory.predicted_weak_loss(probs, 1 / 3) == pytest.approx(4 / 3 * 0.5)
    # optimal-bias variance Σ (4/3 p − p²) = 2/3 − 0.13
    assert theory.predicted_weak_loss(probs, 1 / 3, exact_variance=True) == pytest.approx(2 / 3 - 0.13)
    assert theory.predicted_weak_loss(probs, 1.0) == 0.0
    assert theory.predicted_weak_loss(probs, 0.0) == pytest.approx(4 / 3)


def test_tail_integral_by_hand_and_against_the_exact_sum() -> None:
    assert theory.weak_tail_integral(0.1, 1000, 1.0) == pytest.approx(1 / 3)  # ln 10 / ln 1000
    assert theory.weak_tail_integral(0.1, 1000, 2.0) == pytest.approx(9 * 0.001 / 0.999)
    assert theory.weak_tail_integral(1.0, 1000, 1.7) == pytest.approx(0.0)
    assert theory.predicted_weak_loss_integral(0.1, 1000, 1.0) == pytest.approx(4 / 9)
    # the integral estimate tracks the discrete sum it approximates (eq. 14 vs Fig. 8b's exact sum)
    for alpha in (0.5, 1.0):
        exact = theory.predicted_weak_loss(_power(1000, alpha), 0.1)
        assert theory.predicted_weak_loss_integral(0.1, 1000, alpha) == pytest.approx(exact, rel=0.1)
    # for α > 1 the integral misses much of the head's mass (ζ(1.5) = 2.61 vs ∫ ≈ 1.94), so it
    # overstates the normalised tail: a reason Fig. 8b uses the exact sum
    exact = theory.predicted_weak_loss(_power(1000, 1.5), 0.1)
    assert 1.2 * exact < theory.predicted_weak_loss_integral(0.1, 1000, 1.5) < 1.5 * exact


def test_weak_tail_scales_as_m_to_minus_alpha_minus_one() -> None:
    n, alpha = 100_000, 1.8
    ms = np.array([50, 100, 200, 400])
    tails = [theory.predicted_weak_loss(_power(n, alpha), m / n) for m in ms]
    slope = np.polyfit(np.log(ms), np.log(tails), 1)[0]
    assert -slope == pytest.approx(theory.weak_exponent(alpha), abs=0.02)


def test_exponents_and_strong_fraction() -> None:
    assert theory.weak_exponent(1.5) == 0.5
    assert theory.strong_exponent() == 1.0
    assert theory.skewed_exponent(1.75) == 1.5
    assert theory.strong_exponent_envelope(1.2) == 1.0
    assert theory.strong_exponent_envelope(2.0) == 2.0
    assert theory.strong_represented_fraction(10, 1000) == pytest.approx(0.05)
    assert theory.strong_represented_fraction(100, 1000) == 1.0
    with pytest.raises(ValueError, match="alpha"):
        theory.weak_exponent(0.5)


def test_katta_ratio_values_and_inverse() -> None:
    assert theory.katta_ratio(0.9) == pytest.approx(1 / (0.1 * math.log(10)))
    assert theory.katta_ratio(0.9) == pytest.approx(4.3429, abs=1e-4)
    assert theory.katta_ratio(0.99) == pytest.approx(21.715, abs=1e-3)
    assert theory.katta_ratio(0.999) == pytest.approx(144.76, abs=1e-2)
    assert theory.katta_ratio(1 - 1 / math.e) == pytest.approx(math.e)  # the minimum
    for s in (0.7, 0.9, 0.99, 0.9999):
        assert theory.katta_sparsity(theory.katta_ratio(s)) == pytest.approx(s, rel=1e-10)
    assert theory.katta_sparsity(theory.katta_ratio(0.3), branch="dense") == pytest.approx(0.3, rel=1e-10)
    with pytest.raises(ValueError, match="ratio"):
        theory.katta_sparsity(2.0)
    with pytest.raises(ValueError, match="sparsity"):
        theory.katta_ratio(1.0)


def test_chinchilla_width_exponent() -> None:
    inf = theory.width_exponent_from_params(2.52, 0.03, 0.35, 0.02)
    assert inf.exponent == pytest.approx(0.882)
    assert inf.error_linear == pytest.approx(0.0609)  # the paper's ± 0.06
    assert inf.error_quadrature == pytest.approx(math.hypot(0.0105, 0.0504))  # ± 0.05
