"""Convergence from a loss curve and the warnings on a fit: computed by hand here, then compared."""

from __future__ import annotations

import math
import statistics

import numpy as np
import pandas as pd
import pytest

from superscale.analysis.quality import (
    CONVERGENCE_NOISE_Z,
    CONVERGENCE_TOLERANCE,
    convergence_table,
    fit_flags,
    loss_convergence,
)
from superscale.store import schema


def _curve(total: int, every: int, level: float, drop: float, noise: float, seed: int = 0):
    """Logged points every `every` steps (and the last): level · (1 + drop · remaining fraction) + noise."""
    steps = np.append(np.arange(0, total, every), total - 1)
    steps = np.unique(steps)
    rng = np.random.default_rng(seed)
    loss = level * (1 + drop * (1 - steps / (total - 1))) + noise * level * rng.standard_normal(steps.size)
    return steps, loss


def test_relative_change_is_the_two_half_means_of_the_last_tenth() -> None:
    steps, loss = _curve(total=1000, every=10, level=2.0, drop=1.0, noise=0.003)
    change, se, converged = loss_convergence(steps, loss)
    # by hand: the last 10 % is steps 900..999, halves [900, 950) and [950, 999]
    early = [float(v) for s, v in zip(steps, loss, strict=True) if 900 <= s < 950]
    late = [float(v) for s, v in zip(steps, loss, strict=True) if s >= 950]
    assert len(early) == 5 and len(late) == 6
    level = statistics.fmean(late)
    assert change == pytest.approx((statistics.fmean(early) - level) / level, rel=1e-12)
    expected_se = math.sqrt(statistics.variance(early) / 5 + statistics.variance(late) / 6) / level
    assert se == pytest.approx(expected_se, rel=1e-12)
    # the planted drop: 100 % over the run, so ≈ 5 % between the half means, far beyond tolerance + noise
    assert change == pytest.approx(0.05, abs=0.01)
    assert converged is False and change > CONVERGENCE_TOLERANCE + CONVERGENCE_NOISE_Z * se


def test_a_flat_curve_is_converged_even_when_noisy() -> None:
    """Single-batch noise of 5 % moves the half means by more than 1 %: not evidence of a drift."""
    for seed in range(5):
        change, se, converged = loss_convergence(*_curve(3000, 10, 1.0, 0.0, noise=0.05, seed=seed))
        assert converged is True, (seed, change, se)
    change, _, converged = loss_convergence(*_curve(3000, 10, 1.0, 0.0, noise=0.0))
    assert change == 0.0 and converged is True


def test_a_curve_too_sparse_to_tell_is_unknown() -> None:
    change, se, converged = loss_convergence(np.array([0, 12, 24, 36, 48, 59]), np.ones(6))
    assert math.isnan(change) and math.isnan(se) and converged is None


def test_convergence_table_has_a_row_per_run_and_na_without_a_curve() -> None:
    steps, loss = _curve(200, 2, 1.0, 0.5, noise=0.0)
    curves = pd.DataFrame({schema.RUN_ID: "a", schema.STEP: steps, schema.LOSS: loss})
    table = convergence_table(curves, ["a", "missing"]).set_index(schema.RUN_ID)
    assert not table.loc["a", schema.CONVERGED] and table.loc["a", schema.LOSS_REL_CHANGE] > 0.01
    assert pd.isna(table.loc["missing", schema.CONVERGED])
    assert str(table[schema.CONVERGED].dtype) == "boolean"


def test_flags() -> None:
    m = np.array([8.0, 16, 32, 8, 16, 32])
    falling = 10 * m**-1.0
    assert fit_flags(1.0, m, falling, [True] * 6) == ""
    assert fit_flags(1.0, m, falling, [None] * 6) == ""  # unknown convergence is no warning
    bumpy = falling.copy()
    bumpy[[1, 4]] = 20.0  # m = 16 worse than m = 8 in both seeds
    assert fit_flags(-0.38, m, bumpy, [True, False, True, False, None, True]) == (
        "negative exponent; loss not monotone in m; 2 of 6 runs unconverged"
    )
    assert fit_flags(3.5, m, falling, np.array([True] * 6)) == "implausible exponent (> 3)"
    # one seed's bump that the mean over seeds absorbs is not a rise of the curve
    wobble = falling.copy()
    wobble[1] = falling[0] * 1.05
    assert "monotone" not in fit_flags(1.0, m, wobble, [True] * 6)
