"""Variant comparison: tables written atomically, planted exponents recovered, figures and verdict, CLI."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import typer
from matplotlib.figure import Figure
from typer.testing import CliRunner

from superscale import schema
from superscale.cli.variants import register
from superscale.variants.compare import (
    CE_EXACT,
    CE_SPEC_WIDTH,
    CE_WIDTH,
    FITS_FILE,
    QUANTITY,
    QUICK,
    RUNS_FILE,
    VARIANT,
    compare_variants,
    exponent_table,
    fit_variant_exponents,
    shrink,
)
from superscale.variants.figures import phase_diagram_figure, variants_figures, variants_verdict

MS = np.array([4, 8, 16, 32])


def _planted() -> pd.DataFrame:
    """Losses exactly C m^-a: mse a = 1, cross_entropy a = 1 (width term a = 1), unit_norm a = 1.6."""
    rows = []
    for variant, gamma, a in (("mse", -1.0, 1.0), ("cross_entropy", -1.0, 1.0), ("unit_norm", math.nan, 1.6)):
        for m in MS:
            ce = variant == "cross_entropy"
            rows.append(
                {
                    VARIANT: variant,
                    schema.GAMMA: gamma,
                    schema.M_HIDDEN: int(m),
                    schema.FINAL_LOSS: 3.0 * m**-a,
                    schema.MEAN_COS2_ALL: 1.0 / m,
                    schema.MEAN_NORM: 1.0,
                    CE_EXACT: 2.9 * m**-a if ce else math.nan,
                    CE_WIDTH: 0.5 * m**-1.0 if ce else math.nan,
                    CE_SPEC_WIDTH: 0.2 * m**-1.0 if ce else math.nan,
                }
            )
    return pd.DataFrame(rows)


def test_fit_recovers_planted_exponents() -> None:
    fits = fit_variant_exponents(_planted())
    loss = exponent_table(fits).set_index(VARIANT)
    assert loss.loc["mse", schema.EXPONENT] == pytest.approx(1.0, abs=1e-9)
    assert loss.loc["unit_norm", schema.EXPONENT] == pytest.approx(1.6, abs=1e-9)
    width = fits[(fits[VARIANT] == "cross_entropy") & (fits[QUANTITY] == CE_SPEC_WIDTH)]
    assert float(width[schema.EXPONENT].iloc[0]) == pytest.approx(1.0, abs=1e-9)
    assert set(fits[fits[VARIANT] == "mse"][QUANTITY]) == {schema.FINAL_LOSS}  # no CE terms for MSE


def test_figures_and_verdict_say_what_the_data_say() -> None:
    df = _planted()
    df.loc[df[VARIANT] == "unit_norm", schema.FINAL_LOSS] *= 1 + 0.01 * np.sin(MS)  # noisy, steeper
    figures = variants_figures(df)
    assert len(figures) == 3 and all(isinstance(f, Figure) for f in figures)
    text = variants_verdict(df)
    assert "cross_entropy (γ=-1) is consistent with the MSE model" in text
    assert "unit_norm is steeper than the MSE model" in text
    assert "m^-1.00" in text
    assert len(variants_figures(df[df[VARIANT] == "mse"])) == 2  # no CE panel without the CE model
    with pytest.raises(ValueError, match="needs rows with columns"):
        variants_verdict(pd.DataFrame({"x": [1]}))


def test_small_comparison_trains_every_variant_and_writes_tables(tmp_path: Path) -> None:
    tiny = shrink(QUICK, n=30, ms=(3, 5, 8), batch=64, steps=120, final_window=20)
    runs, fits = compare_variants(tmp_path, comparison=tiny)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([RUNS_FILE, FITS_FILE])  # no temp files left
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / RUNS_FILE), runs)
    assert len(runs) == 3 * 3 and set(runs[VARIANT]) == {"mse", "cross_entropy", "unit_norm"}
    unit = runs[runs[VARIANT] == "unit_norm"]
    assert np.allclose(unit[schema.MEAN_NORM], 1.0, atol=1e-5) and unit[schema.GAMMA].isna().all()
    ce = runs[runs[VARIANT] == "cross_entropy"]
    assert ce[[CE_EXACT, CE_WIDTH, CE_SPEC_WIDTH]].notna().all().all()
    assert runs[runs[VARIANT] != "cross_entropy"][CE_WIDTH].isna().all()
    # the measured cross-entropy (last steps, lr at its floor) estimates the exact expected loss
    assert np.allclose(ce[schema.FINAL_LOSS], ce[CE_EXACT], rtol=0.15)
    assert set(exponent_table(fits)[VARIANT]) == {"mse", "cross_entropy", "unit_norm"}
    with pytest.raises(ValueError, match="at least 3 widths"):
        compare_variants(tmp_path, comparison=shrink(tiny, ms=(3, 5)))


def test_phase_cli_writes_table_and_figure_and_refuses_bad_input(tmp_path: Path) -> None:
    app = typer.Typer()
    register(app)

    @app.callback()
    def main() -> None:  # a callback keeps `variants` a sub-command, as in the real app
        """test app"""

    runner = CliRunner()
    args = ["variants", "phase", str(tmp_path), "--densities", "1.0", "--importances", "0.1,2"]
    result = runner.invoke(app, [*args, "--steps", "60", "--seeds", "1"])
    assert result.exit_code == 0, result.output
    table = pd.read_parquet(tmp_path / "phase_diagram.parquet")
    assert list(table["importance"]) == [0.1, 2.0]
    assert (tmp_path / "phase_diagram.png").stat().st_size > 0
    assert isinstance(phase_diagram_figure(table), Figure)
    bad = runner.invoke(app, ["variants", "phase", str(tmp_path), "--densities", "a,b"])
    assert bad.exit_code == 2
