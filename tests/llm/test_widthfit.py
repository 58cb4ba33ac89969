"""Loss vs width (one exponent across family × dataset) and the Chinchilla check (recipe §5.5, §5.7)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from superscale.llm.catalog import load_digitized_losses
from superscale.llm.widthfit import POINT_COLUMNS, chinchilla_cross_check, fit_summary, fit_width_table


def _planted(alpha: float = 0.8, A: float = 300.0, noise: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    rows = []
    offsets = {("a", "x"): 2.0, ("a", "y"): 1.5, ("b", "x"): 2.3, ("b", "y"): 1.8}
    for (family, dataset), B in offsets.items():
        for m in (256, 512, 1024, 2048, 4096, 8192):
            loss = A * m**-alpha + B + noise * rng.standard_normal()
            rows.append(
                {"family": family, "model": f"{family}-{m}", "dataset": dataset, "m": m, "loss": loss}
            )
    return pd.DataFrame(rows)


def test_planted_shared_exponent_and_offsets_are_recovered() -> None:
    result = fit_width_table(_planted(), n_bootstrap=20)
    assert result.fit.exponent == pytest.approx(0.8, abs=1e-6)
    assert pytest.approx(300.0, rel=1e-5) == result.fit.A
    assert result.fit.offsets["b/x"] == pytest.approx(2.3, abs=1e-6)
    points = result.points
    assert list(points.columns) == POINT_COLUMNS
    assert np.allclose(points["loss_minus_offset"], points["fit_curve"], rtol=1e-5)


def test_paper_curve_values_give_back_the_paper_fit() -> None:
    """The digitised table carries the authors' fitted curve A/m^α + B_g (3 decimals): α = 0.9098, A = 476."""
    table = load_digitized_losses(usable_only=False)
    curve = table.assign(loss=table["loss_fit_curve"])
    fit = fit_width_table(curve, n_bootstrap=20).fit
    assert fit.exponent == pytest.approx(0.9098, abs=0.01)
    assert pytest.approx(476.08, rel=0.05) == fit.A
    assert fit.offsets["opt/wikitext"] == pytest.approx(2.2074, abs=0.01)


def test_digitised_losses_land_near_the_papers_exponent() -> None:
    fit = fit_width_table(load_digitized_losses(), n_bootstrap=50).fit
    assert fit.n_points == 96 and len(fit.offsets) == 16
    assert 0.85 < fit.exponent < 1.0  # paper: 0.91 ± 0.04; the digitised points are ±0.01–0.02 nats
    assert 0.02 < fit.exponent_se_paper < 0.05
    assert fit.exponent_ci_low < fit.exponent < fit.exponent_ci_high
    summary = fit_summary(fit_width_table(load_digitized_losses(), n_bootstrap=20))
    assert summary.iloc[0].tolist() == ["alpha", pytest.approx(fit.exponent)]


def test_missing_columns_and_unusable_rows() -> None:
    with pytest.raises(ValueError, match="lacks columns"):
        fit_width_table(pd.DataFrame({"family": ["a"], "m": [1], "loss": [1.0]}))
    table = _planted()
    table.loc[0, "loss"] = np.nan
    assert fit_width_table(table, n_bootstrap=10).fit.n_points == len(table) - 1


def test_chinchilla_cross_check_reproduces_the_paper() -> None:
    check = chinchilla_cross_check()
    assert check.n_models == 50
    assert check.slope == pytest.approx(2.5226, abs=1e-4)
    assert check.slope_se == pytest.approx(0.0258, abs=1e-4)
    assert check.alpha_m == pytest.approx(0.88, abs=0.005)
    assert check.alpha_m_se_linear == pytest.approx(0.06, abs=0.002)
    assert check.alpha_m_se_quadrature == pytest.approx(0.05, abs=0.002)
    with pytest.raises(ValueError, match="alpha_n"):
        chinchilla_cross_check(alpha_n=-1.0)
