"""Variant comparison: a sweep over architectures, analysed into store tables; planted exponents recovered,
values checked against independent numpy computations, resume, figures and verdict, CLI."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import typer
from matplotlib.figure import Figure
from typer.testing import CliRunner

from superscale.cli import app as main_app
from superscale.cli.variants import register
from superscale.pipeline.analyze import analyze_store
from superscale.store import Store, open_store, schema
from superscale.sweep import run_sweep
from superscale.variants.compare import (
    CE_APPROX,
    CE_EXACT,
    CE_FIRST,
    CE_SPEC_WIDTH,
    CE_WIDTH,
    CE_ZEROTH,
    QUANTITY,
    VARIANT,
    exponent_table,
    fit_variant_exponents,
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


def test_fits_keep_data_distributions_apart() -> None:
    """A sweep with an α axis gets one fit per α, never one fit over both distributions' losses."""
    first, second = _planted(), _planted()
    first[schema.ALPHA], second[schema.ALPHA] = 1.0, 2.0
    second[schema.FINAL_LOSS] = second[schema.FINAL_LOSS] ** 2  # planted exponent doubles at α = 2
    fits = fit_variant_exponents(pd.concat([first, second], ignore_index=True))
    mse = fits[
        (fits[VARIANT] == "mse") & (fits[schema.FIT_KIND] == "loglog") & (fits[QUANTITY] == schema.FINAL_LOSS)
    ]
    pairs = sorted(zip(mse[schema.ALPHA], mse[schema.EXPONENT].round(9), strict=True))
    assert pairs == [(1.0, 1.0), (2.0, 2.0)]


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


#: three architectures × three widths on the same data: 9 runs, one shard each
TINY = {
    "name": "variants-tiny",
    "n": 30,
    "m": [3, 5, 8],
    "gamma": -1.0,
    "seeds": 0,
    "data": {"family": "power", "alpha": 1.2},
    "model": {"architecture": ["tied", "cross_entropy", "unit_norm"]},
    "lr": {"W": {"base": 0.01}},
    "train": {"batch": 64, "steps": 120, "warmup_fraction": 0.1, "final_window": 20},
}
ARCHS = {"tied": "mse", "cross_entropy": "cross_entropy", "unit_norm": "unit_norm"}


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    out = tmp_path_factory.mktemp("variants")
    run_sweep(TINY, out, quiet=True)
    analyze_store(out, n_bootstrap=10)
    return open_store(out)


def test_sweep_analysis_writes_variant_tables_into_the_store(store: Store) -> None:
    runs, fits = store.table(schema.VARIANTS_FILE), store.table(schema.VARIANTS_FITS_FILE)
    assert runs is not None and fits is not None
    assert len(runs) == 9 and set(runs[VARIANT]) == set(ARCHS.values())
    assert not list(store.path.glob(".*tmp*"))  # atomic writes leave no temp files
    unit = runs[runs[VARIANT] == "unit_norm"]
    assert np.allclose(unit[schema.MEAN_NORM], 1.0, atol=1e-5) and unit[schema.GAMMA].isna().all()
    assert runs[runs[VARIANT] != "cross_entropy"][CE_WIDTH].isna().all()
    # the per-architecture exponent is the OLS slope of ln L on ln m of the store's own runs
    table = exponent_table(fits).set_index(VARIANT)
    for arch, label in ARCHS.items():
        own = store.runs[store.runs[schema.ARCHITECTURE] == arch]
        slope = np.polyfit(np.log(own[schema.M_HIDDEN]), np.log(own[schema.FINAL_LOSS]), 1)[0]
        assert table.loc[label, schema.EXPONENT] == pytest.approx(-slope, rel=1e-9)
        assert table.loc[label, schema.N_POINTS] == 3


def test_cross_entropy_terms_match_an_independent_computation(store: Store) -> None:
    runs = store.table(schema.VARIANTS_FILE)
    assert runs is not None
    ce = runs[runs[VARIANT] == "cross_entropy"]
    assert len(ce) == 3 and ce[[CE_EXACT, CE_WIDTH, CE_SPEC_WIDTH]].notna().all().all()
    # the three orders of the expansion sum to its total
    total = ce[CE_ZEROTH] + ce[CE_FIRST] + ce[CE_WIDTH]
    assert np.allclose(total, ce[CE_APPROX], rtol=1e-12)
    p = np.arange(1, 31, dtype=float) ** -1.2
    q = p / p.sum()
    for row in ce.itertuples(index=False):
        params = store.params(getattr(row, schema.RUN_ID))
        W, b = params["W"].double().numpy(), params["b"].double().numpy()
        z = W @ W.T + b[None, :]  # logit of token j for target i: W_j·W_i + b_j
        top = z.max(axis=1, keepdims=True)
        exact = float(q @ (np.log(np.exp(z - top).sum(axis=1)) + top[:, 0] - np.diag(z)))
        assert getattr(row, CE_EXACT) == pytest.approx(exact, rel=1e-9)
    # the measured cross-entropy (last steps, lr at its floor) estimates the exact expected loss
    assert np.allclose(ce[schema.FINAL_LOSS], ce[CE_EXACT], rtol=0.15)


def test_analysis_is_idempotent_and_the_tables_are_queryable(store: Store) -> None:
    files = [store.path / schema.VARIANTS_FILE, store.path / schema.VARIANTS_FITS_FILE]
    before = [f.stat().st_mtime_ns for f in files]
    result = analyze_store(store.path, n_bootstrap=10)
    assert result.extra_steps == ("variants",)
    assert [f.stat().st_mtime_ns for f in files] == before  # same content: not rewritten
    counts = store.query("SELECT variant, count(*) AS k FROM variants GROUP BY variant ORDER BY variant")
    assert list(counts["variant"]) == sorted(ARCHS.values()) and set(counts["k"]) == {3}
    runner = CliRunner()
    shown = runner.invoke(main_app, ["show", str(store.path)])
    assert shown.exit_code == 0 and schema.VARIANTS_FITS_FILE in shown.output, shown.output
    listed = runner.invoke(main_app, ["ls", str(store.path)])
    assert listed.exit_code == 0 and "variants-tiny" in listed.output, listed.output


def test_an_interrupted_variants_sweep_resumes_to_the_same_tables(store: Store, tmp_path: Path) -> None:
    from superscale.train.engine import train_shard

    calls: list[int] = []

    def stop_after_one(*args: object, **kwargs: object) -> object:
        if calls:
            raise KeyboardInterrupt
        calls.append(1)
        return train_shard(*args, **kwargs)  # type: ignore[arg-type]

    with pytest.raises(KeyboardInterrupt):
        run_sweep(TINY, tmp_path, quiet=True, train_fn=stop_after_one)
    assert len(open_store(tmp_path).runs) == 1 and not (tmp_path / schema.VARIANTS_FILE).exists()
    run_sweep(TINY, tmp_path, quiet=True)
    analyze_store(tmp_path, n_bootstrap=10)
    resumed = open_store(tmp_path)
    for name in (schema.VARIANTS_FILE, schema.VARIANTS_FITS_FILE):
        got, want = resumed.table(name), store.table(name)
        assert got is not None and want is not None
        drop = [schema.TRAIN_SECONDS] if schema.TRAIN_SECONDS in got else []
        key = [c for c in (VARIANT, schema.M_HIDDEN, QUANTITY, schema.FIT_KIND) if c in got]
        got = got.drop(columns=drop).sort_values(key).reset_index(drop=True)
        want = want.drop(columns=drop).sort_values(key).reset_index(drop=True)
        pd.testing.assert_frame_equal(got, want)


def test_a_single_architecture_store_gets_no_variant_tables(tmp_path: Path) -> None:
    config = {**TINY, "m": [3], "model": {"architecture": "tied"}}
    run_sweep(config, tmp_path, quiet=True)
    assert analyze_store(tmp_path, n_bootstrap=10).extra_steps == ()
    assert open_store(tmp_path).table(schema.VARIANTS_FILE) is None


def test_compare_cli_runs_analyses_and_draws(tmp_path: Path) -> None:
    from superscale.config.tomlwrite import dump_toml_table

    config = tmp_path / "tiny.toml"
    config.write_text(dump_toml_table(TINY))
    out = tmp_path / "store"
    result = CliRunner().invoke(main_app, ["variants", "compare", "--out", str(out), "--preset", str(config)])
    assert result.exit_code == 0, result.output
    assert "model exponent" in result.output and (out / "variants-1.png").stat().st_size > 0
    assert open_store(out).table(schema.VARIANTS_FITS_FILE) is not None


def test_phase_cli_writes_table_and_figure_and_refuses_bad_input(tmp_path: Path) -> None:
    app = typer.Typer()
    register(app)

    @app.callback()
    def main() -> None:  # a callback keeps `variants` a sub-command, as in the real app
        """test app"""

    runner = CliRunner()
    args = ["variants", "phase", "--out", str(tmp_path), "--densities", "1.0", "--importances", "0.1,2"]
    result = runner.invoke(app, [*args, "--steps", "60", "--seeds", "1"])
    assert result.exit_code == 0, result.output
    table = pd.read_parquet(tmp_path / "phase_diagram.parquet")
    assert list(table["importance"]) == [0.1, 2.0]
    assert (tmp_path / "phase_diagram.png").stat().st_size > 0
    assert isinstance(phase_diagram_figure(table), Figure)
    bad = runner.invoke(app, ["variants", "phase", "-o", str(tmp_path), "--densities", "a,b"])
    assert bad.exit_code == 2
