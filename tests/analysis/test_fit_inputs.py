"""What each fit refuses before fitting: non-finite inputs, negative bootstrap counts, and fewer distinct
widths than its parameters (where any exponent fits "confidently")."""

from __future__ import annotations

import numpy as np
import pytest

from superscale.analysis.fit import WIDTH_LAW, fit_parametric, fit_power_law_offset, fit_shared_exponent
from superscale.analysis.fit.parametric import CHINCHILLA_LAW

M = np.array([2.0, 4, 8, 16, 32, 64])
LOSS = 0.2 + 1.6 / M


def test_the_width_law_needs_three_distinct_widths() -> None:
    fit = fit_parametric(WIDTH_LAW, {"m": M[:3]}, LOSS[:3], n_bootstrap=0)
    assert fit.params["alpha"] == pytest.approx(1.0, abs=1e-3)  # three widths determine it
    with pytest.raises(ValueError, match=r"needs >= 3 distinct values of m, got 1"):
        fit_parametric(WIDTH_LAW, {"m": np.full(6, 8.0)}, LOSS, n_bootstrap=0)
    with pytest.raises(ValueError, match=r"needs >= 3 distinct values of m, got 2"):
        fit_parametric(WIDTH_LAW, {"m": np.array([8.0, 8, 16, 16])}, LOSS[:4], n_bootstrap=0)


def test_chinchilla_needs_two_values_of_each_covariate_and_five_points() -> None:
    N, D = np.array([1e7, 1e8, 1e9, 1e7, 1e8, 1e9]), np.full(6, 1e10)
    with pytest.raises(ValueError, match=r"needs >= 2 distinct values of D, got 1"):
        fit_parametric(CHINCHILLA_LAW, {"N": N, "D": D}, 2 + 1 / N**0.3, n_bootstrap=0)
    N, D = np.array([1e7, 1e8, 1e7, 1e8]), np.array([1e9, 1e9, 1e10, 1e10])
    with pytest.raises(ValueError, match=r"needs >= 5 distinct \(N, D\) points, got 4"):
        fit_parametric(CHINCHILLA_LAW, {"N": N, "D": D}, 2 + 1 / N**0.3 + 1 / D**0.3, n_bootstrap=0)


@pytest.mark.parametrize("bad", [np.inf, np.nan, -1.0, 0.0])
def test_a_covariate_that_is_not_finite_and_positive_is_refused(bad: float) -> None:
    m = M.copy()
    m[2] = bad
    with pytest.raises(ValueError, match="covariate 'm' must be finite and > 0"):
        fit_parametric(WIDTH_LAW, {"m": m}, LOSS, n_bootstrap=0)


@pytest.mark.parametrize("count", [-1, -5, 2.5, True])
def test_a_bootstrap_count_is_a_non_negative_integer_in_every_fit(count: object) -> None:
    with pytest.raises(ValueError, match=r"n_bootstrap must be an integer >= 0"):
        fit_parametric(WIDTH_LAW, {"m": M}, LOSS, n_bootstrap=count)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"n_bootstrap must be an integer >= 0"):
        fit_power_law_offset(M, LOSS, n_bootstrap=count)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"n_bootstrap must be an integer >= 0"):
        fit_shared_exponent(M, LOSS, ["a"] * 6, n_bootstrap=count)  # type: ignore[arg-type]


def test_the_offset_and_shared_fits_need_distinct_widths() -> None:
    with pytest.raises(ValueError, match=r"needs >= 4 distinct values, got 2"):
        fit_power_law_offset(np.array([8.0, 8, 16, 16, 8]), LOSS[:5], n_bootstrap=0)
    with pytest.raises(ValueError, match=r"needs >= 3 distinct values, got 1"):
        fit_shared_exponent(np.full(6, 8.0), LOSS, ["a"] * 3 + ["b"] * 3, n_bootstrap=0)
    with pytest.raises(ValueError, match=r"m must be finite and > 0, and loss finite"):
        fit_shared_exponent(np.array([2.0, 4, np.inf, 16, 32, 64]), LOSS, ["a"] * 6, n_bootstrap=0)
