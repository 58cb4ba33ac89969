"""The compressed-sensing bound, its inverse, and L1 recovery on both sides of it."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from superscale.aspect.compressed_sensing import (
    basis_pursuit,
    critical_width,
    cs_min_width,
    implied_sparsity,
    l1_phase_transition,
    l1_recovery,
)


def test_bound_values_and_inverse() -> None:
    # −n (1−S) ln(1−S) by hand
    assert math.isclose(cs_min_width(1000, 0.99), -1000 * 0.01 * math.log(0.01), rel_tol=1e-12)
    assert math.isclose(cs_min_width(64, 0.9), 6.4 * math.log(10), rel_tol=1e-12)
    for n, S in ((1000, 0.99), (64, 0.9), (500, 0.999)):
        m = cs_min_width(n, S)
        assert math.isclose(implied_sparsity(n, m), S, rel_tol=1e-9)
    # fewer than e features per dimension: the bound says nothing
    assert math.isnan(implied_sparsity(20, 10))
    with pytest.raises(ValueError, match="sparsity must lie in"):
        cs_min_width(100, 1.0)
    with pytest.raises(ValueError, match="need n_features"):
        implied_sparsity(10, 0)


def test_basis_pursuit_recovers_a_sparse_vector_exactly() -> None:
    rng = np.random.default_rng(0)
    x = np.zeros(40)
    x[[3, 17, 29]] = [1.5, 0.4, 1.9]
    A = rng.standard_normal((20, 40)) / math.sqrt(20)
    np.testing.assert_allclose(basis_pursuit(A, A @ x), x, atol=1e-7)
    with pytest.raises(ValueError, match="need A"):
        basis_pursuit(A, np.zeros(3))


def test_l1_recovery_succeeds_well_above_the_bound_and_fails_well_below() -> None:
    n, S = 64, 0.9
    bound = cs_min_width(n, S)  # 14.7
    rate_above, error_above = l1_recovery(n, int(3.3 * bound), S, trials=15, seed=1)
    rate_below, error_below = l1_recovery(n, int(bound / 3), S, trials=15, seed=1)
    assert rate_above >= 0.9 and error_above < 0.01
    assert rate_below <= 0.1 and error_below > 0.5


def test_phase_table_and_critical_width() -> None:
    table = l1_phase_transition(64, [0.9], [4, 48], trials=8, seed=2)
    assert list(table["m"]) == [4, 48] and set(table["method"]) == {"l1"}
    crit = critical_width(table, tol=0.1)
    assert crit["critical_m"].tolist() == [48.0]
    # the suffix rule: a lucky narrow success followed by a failure does not count
    planted = pd.DataFrame(
        {"method": "x", "sparsity": 0.5, "m": [1, 2, 3, 4], "rel_error": [0.05, 0.5, 0.05, 0.01]}
    )
    assert critical_width(planted, tol=0.1)["critical_m"].tolist() == [3.0]
    never = planted.assign(rel_error=1.0)
    assert math.isnan(critical_width(never, tol=0.1)["critical_m"].iloc[0])
