"""Fits recover planted exponents within their error bars, and reproduce the paper's numbers."""

from __future__ import annotations

import io
from importlib import resources

import numpy as np
import pandas as pd
import pytest

from superscale.analysis.fit import (
    CHINCHILLA_LAW,
    WIDTH_LAW,
    FitWindow,
    fit_log_slope,
    fit_loglog,
    fit_parametric,
    fit_power_law_offset,
    fit_shared_exponent,
)

WIDTHS = np.array([8, 16, 32, 64, 128, 256, 512, 1024], dtype=float)


def _csv(name: str) -> pd.DataFrame:
    text = resources.files("superscale").joinpath("data_files", name).read_text()
    return pd.read_csv(io.StringIO(text))


def test_chinchilla_params_vs_width_exponent_is_2_52() -> None:
    table = _csv("chinchilla_table_a9.csv")
    line = fit_log_slope(table["d_model"], table["params_million"] * 1e6)
    assert line.n_points == 50
    assert line.slope == pytest.approx(2.5226, abs=5e-5)
    assert line.slope_se == pytest.approx(0.0258, abs=5e-5)


def test_loglog_recovers_a_planted_exponent_within_its_error() -> None:
    rng = np.random.default_rng(0)
    m = np.repeat(WIDTHS, 4)
    loss = 3.0 * m**-1.1 * np.exp(rng.normal(0, 0.05, m.size))
    fit = fit_loglog(m, loss, seed=1)
    assert abs(fit.exponent - 1.1) < 3 * fit.exponent_se
    assert fit.ci_low < 1.1 < fit.ci_high
    assert fit.coefficient == pytest.approx(3.0, rel=0.2)
    assert fit.r2 > 0.99 and fit.n_points == 32
    # the bootstrap interval has the width the OLS standard error implies
    assert (fit.ci_high - fit.ci_low) / (2 * 1.96 * fit.exponent_se) == pytest.approx(1.0, abs=0.25)


def test_loglog_standard_error_is_calibrated() -> None:
    rng = np.random.default_rng(2)
    inside = 0
    for _ in range(300):
        loss = 2.0 * WIDTHS**-0.8 * np.exp(rng.normal(0, 0.1, WIDTHS.size))
        fit = fit_loglog(WIDTHS, loss, n_bootstrap=10)
        inside += abs(fit.exponent - 0.8) < 2.447 * fit.exponent_se  # t(0.975, 6 dof)
    assert 0.91 < inside / 300 < 0.99


def test_fit_window_is_applied_and_recorded() -> None:
    loss = WIDTHS**-1.0
    loss[:2] *= 3  # a bend at small m that the paper's "from the 3rd point" fit leaves out
    full = fit_loglog(WIDTHS, loss)
    later = fit_loglog(WIDTHS, loss, window=FitWindow(skip_first=2))
    assert later.exponent == pytest.approx(1.0, abs=1e-12) and full.exponent > 1.1
    assert (later.n_points, later.m_min, later.window) == (6, 32.0, "skip_first=2")
    last5 = fit_loglog(WIDTHS, loss, window=FitWindow(last=5))
    assert (last5.n_points, last5.m_min, last5.window) == (5, 64.0, "last=5")
    box = fit_loglog(WIDTHS, loss, window=FitWindow(m_min=16, m_max=256))
    assert (box.n_points, box.m_max, box.window) == (5, 256.0, "m>=16,m<=256")


def test_offset_power_law_recovers_planted_parameters() -> None:
    rng = np.random.default_rng(3)
    m = np.repeat(WIDTHS, 2)
    loss = (3.0 * m**-1.2 + 0.05) * np.exp(rng.normal(0, 0.01, m.size))
    fit = fit_power_law_offset(m, loss, n_bootstrap=60)
    assert abs(fit.exponent - 1.2) < 3 * fit.exponent_se
    assert abs(fit.offset - 0.05) < 3 * fit.offset_se
    assert fit.ci_low < 1.2 < fit.ci_high
    assert not fit.offset_at_bound
    # a pure log-log slope on the same data is biased low by the floor
    assert fit_loglog(m, loss).exponent < 1.0


def test_shared_exponent_recovers_planted_parameters_and_prefers_the_shared_model() -> None:
    rng = np.random.default_rng(4)
    widths = np.array([512, 768, 1024, 2048, 4096, 8192], dtype=float)
    offsets = {"a": 2.2, "b": 1.6, "c": 1.9}
    m = np.tile(widths, 3)
    groups = np.repeat(list(offsets), widths.size)
    loss = 480 * m**-0.9 + np.array([offsets[g] for g in groups]) + rng.normal(0, 0.01, m.size)
    fit = fit_shared_exponent(m, loss, groups, n_bootstrap=60)
    assert abs(fit.exponent - 0.9) < 3 * fit.exponent_se_bootstrap
    assert fit.exponent_ci_low < 0.9 < fit.exponent_ci_high
    assert fit.offsets["b"] == pytest.approx(1.6, abs=0.05)
    assert set(fit.per_group) == {"a", "b", "c"}
    assert fit.preferred == "shared"


def test_shared_exponent_comparison_detects_different_exponents() -> None:
    widths = np.array([8, 16, 32, 64, 128, 256], dtype=float)
    m = np.tile(widths, 2)
    groups = np.repeat(["slow", "fast"], widths.size)
    loss = np.where(groups == "slow", 5 * m**-0.5 + 1.0, 5 * m**-1.5 + 1.0)
    loss = loss * (1 + 1e-3 * np.random.default_rng(5).normal(size=m.size))
    fit = fit_shared_exponent(m, loss, groups, n_bootstrap=10)
    assert fit.preferred == "per_group"
    assert fit.per_group["fast"].exponent == pytest.approx(1.5, abs=0.05)


def test_shared_exponent_reproduces_the_papers_llm_fit() -> None:
    """On the paper's fitted-curve values the fit returns the notebook's α = 0.9098, A = 476.08 (§5.5)."""
    table = _csv("liu2025_llm_loss_digitized.csv")
    groups = table["family"] + "/" + table["dataset"]
    fit = fit_shared_exponent(table["m"], table["loss_fit_curve"], groups, n_bootstrap=10)
    assert fit.n_points == 108
    assert fit.exponent == pytest.approx(0.9098, abs=2e-3)
    assert pytest.approx(476.08, rel=0.02) == fit.A
    assert fit.offsets["opt/wikitext"] == pytest.approx(2.2074, abs=2e-3)


def test_parametric_fit_recovers_a_planted_chinchilla_law() -> None:
    rng = np.random.default_rng(6)
    N = np.exp(rng.uniform(np.log(1e7), np.log(1e10), 60))
    D = np.exp(rng.uniform(np.log(1e9), np.log(1e12), 60))
    loss = (1.8 + 482 / N**0.35 + 2085 / D**0.37) * np.exp(rng.normal(0, 0.01, 60))
    fit = fit_parametric(CHINCHILLA_LAW, {"N": N, "D": D}, loss, n_refine=3, n_bootstrap=20)
    for name, truth in (("alpha", 0.35), ("beta", 0.37)):
        assert abs(fit.params[name] - truth) < 4 * fit.params_se[name], name
    assert fit.coefficients["E"] == pytest.approx(1.8, rel=0.05)
    assert fit.n_points == 60


def test_width_law_agrees_with_the_offset_fit() -> None:
    loss = 3.0 * WIDTHS**-1.1 + 0.05
    fit = fit_parametric(WIDTH_LAW, {"m": WIDTHS}, loss, n_bootstrap=0)
    assert fit.params["alpha"] == pytest.approx(1.1, abs=1e-3)
    assert fit.coefficients["E"] == pytest.approx(0.05, rel=1e-2)


def test_bad_inputs() -> None:
    with pytest.raises(ValueError, match="same length"):
        fit_loglog([1, 2, 3], [1, 2])
    with pytest.raises(ValueError, match="> 0"):
        fit_loglog([1, 2, 3], [1, 0, 2])
    with pytest.raises(ValueError, match=">= 3 points"):
        fit_loglog([1, 2, 4], [3, 2, 1], window=FitWindow(skip_first=1))
    with pytest.raises(ValueError, match=">= 4 points"):
        fit_power_law_offset([1, 2, 4], [3, 2, 1])
    with pytest.raises(ValueError, match="skip_first"):
        FitWindow(skip_first=-1)
    with pytest.raises(ValueError, match="missing"):
        fit_parametric(CHINCHILLA_LAW, {"N": [1.0, 2.0]}, [1.0, 2.0])
