"""Every figure function draws on a tiny synthetic store, and says what is missing on an empty/partial one.

The synthetic store is built by hand from the paper's regimes (PAPER_SPEC §3): strong runs have
L ∝ m^-max(1, 2(α−1)), weak runs lose exactly (4/3) Σ_{i>m} p_i, so the fits and theory lines agree
with known answers and the figures can be checked against them.
"""

from __future__ import annotations

import io
import math
import warnings

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from superscale import schema
from superscale.fit.loglog import fit_loglog
from superscale.llm.catalog import (
    load_catalog,
    load_chinchilla_shapes,
    load_digitized_losses,
    load_digitized_overlaps,
)
from superscale.metrics.reference import welch_kappa2
from superscale.plots import FIGURES, FIGURES_BY_NAME, FigureData, LLMData, MissingData, WidthFit, draw
from superscale.plots import paper_values as pv
from superscale.plots.data import loglog_fits, power_scan
from superscale.plots.llm import loss_minus_offset, shared_log_slope, token_frequency_exponent
from superscale.plots.style import figure_bytes, fmt, fmt_pm

E2_ALPHAS = (0.5, 1.0, 1.5, 2.0)
E2_GAMMAS = (-1.0, -0.7778, -0.5556, -0.3333, 0.1111, 0.5556)
E2_WIDTHS = (10, 15, 25, 40)
E2_N = 200


def _power_probs(n: int, alpha: float, density: float = 1.0) -> np.ndarray:
    p = np.arange(1, n + 1, dtype=float) ** -alpha
    return density * p / p.sum()


def _run_row(
    experiment: str, family: str, n: int, m: int, gamma: float, probs: np.ndarray, **extra: float
) -> dict:
    """One run and its metrics, following the regime its γ puts it in."""
    alpha, scale, density = (
        extra.get("alpha", math.nan),
        extra.get("scale", math.nan),
        extra.get("density", 1.0),
    )
    strong = gamma < 0
    tail = 4.0 / 3.0 * probs[m:].sum()
    if strong:
        exponent = max(1.0, 2.0 * (alpha - 1.0)) if np.isfinite(alpha) else 1.0
        loss = 0.6 * density * m ** (-exponent) * 10 ** (exponent - 1)
        phi_half, n_strong = 1.0, min(n, m * m // 2)
    else:
        loss, phi_half, n_strong = tail * (1 + 0.02 * gamma), m / n, 0
    run_id = f"{experiment}-{family}-{alpha}-{scale}-{density}-{gamma}-{m}"
    return {
        schema.RUN_ID: run_id,
        schema.SHARD_ID: f"{experiment}-{m}",
        schema.EXPERIMENT: experiment,
        schema.ARCHITECTURE: "tied",
        schema.FAMILY: family,
        schema.ALPHA: alpha,
        schema.SCALE: scale,
        schema.DENSITY: density,
        schema.N_FEATURES: n,
        schema.M_HIDDEN: m,
        schema.GAMMA: gamma,
        schema.SEED: 0,
        schema.N_LAYERS: 1,
        schema.FINAL_LOSS: loss,
        schema.FINAL_LOSS_STD: 0.02 * loss,
        schema.STATUS: "done",
        "_metrics": {
            schema.RUN_ID: run_id,
            schema.PHI_HALF: phi_half,
            schema.PHI_ONE: n_strong / n,
            schema.N_STRONG: n_strong,
            schema.MEAN_COS2_STRONG: 1.1 / m if n_strong > 1 else math.nan,
            schema.WELCH_KAPPA2_STRONG: welch_kappa2(max(n_strong, 1), m) if n_strong > 1 else math.nan,
            schema.VAR_RATIO_STRONG: 0.2 * alpha if strong and np.isfinite(alpha) else math.nan,
            schema.MEAN_COS2_ALL: 1.3 / m,
            schema.PREDICTED_WEAK_LOSS: 4.0 / 3.0 * probs[round(phi_half * n) :].sum(),
            schema.AMBIGUITY: (0.1 if not strong else 3.0) + 0.1 / (alpha if np.isfinite(alpha) else 1.0),
        },
        "_probs": probs,
        "_norms": (
            np.r_[np.full(m, 1.0), np.zeros(n - m)]
            if not strong
            else np.r_[np.full(n_strong, 1.05), np.full(n - n_strong, 0.8)]
        )
        + 0.01 * np.sin(np.arange(n)),
    }


def _fits(runs: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for key, sub in runs.groupby(schema.FIT_GROUP_COLUMNS, dropna=False):
        if sub[schema.M_HIDDEN].nunique() < 3:
            continue
        fit = fit_loglog(sub[schema.M_HIDDEN], sub[schema.FINAL_LOSS], n_bootstrap=20)
        rows.append(
            {
                **dict(zip(schema.FIT_GROUP_COLUMNS, key, strict=True)),
                schema.FIT_KIND: "loglog",
                schema.EXPONENT: fit.exponent,
                schema.EXPONENT_SE: fit.exponent_se,
                schema.R2: fit.r2,
                schema.N_POINTS: fit.n_points,
                "intercept": fit.intercept,
            }
        )
    return pd.DataFrame(rows)


def _curves(runs: pd.DataFrame, steps: int = 1000, every: int = 50) -> pd.DataFrame:
    """Loss every `every` steps, decaying to each run's final loss: L(s) = L_final (1 + 5 e^{-s/200})."""
    step = np.arange(0, steps + 1, every)
    return pd.DataFrame(
        {
            schema.RUN_ID: np.repeat(runs[schema.RUN_ID].to_numpy(), step.size),
            schema.STEP: np.tile(step, len(runs)),
            schema.LOSS: np.concatenate(
                [loss * (1 + 5 * np.exp(-step / 200)) for loss in runs[schema.FINAL_LOSS]]
            ),
        }
    )


def synthetic_data(
    with_llm: bool = True,
    n: int = E2_N,
    gammas: tuple[float, ...] = E2_GAMMAS,
    alphas: tuple[float, ...] = E2_ALPHAS,
    widths: tuple[int, ...] = E2_WIDTHS,
    wide_widths: tuple[int, ...] = (25, 30, 40),
    large_n: int = 512,
    large_scale: float = 40.0,
) -> FigureData:
    """A store of the four toy experiments in miniature, plus the shipped LLM tables.

    E2 (α scan) is `alphas` × `gammas` × `widths` at n features; E4 (every m²/2 > n) `wide_widths` at γ = −1;
    E3 three densities at α = 1 with the smallest and largest γ; E1 three families at n = `large_n` with
    exponential scale `large_scale`. Every run has a loss curve.
    """
    rows = []
    for alpha in alphas:
        probs = _power_probs(n, alpha)
        rows += [_run_row("e2", "power", n, m, g, probs, alpha=alpha) for g in gammas for m in widths]
    for alpha in (1.0, 1.5, 2.0):  # E4: every width has m²/2 > n
        probs = _power_probs(n, alpha)
        rows += [_run_row("e4", "power", n, m, -1.0, probs, alpha=alpha) for m in wide_widths]
    for density in (1.0, 2.5, 4.0):  # E3
        probs = _power_probs(n, 1.0, density)
        rows += [
            _run_row("e3", "power", n, m, g, probs, alpha=1.0, density=density)
            for g in (min(gammas), max(gammas))
            for m in (10, 25, 63)
        ]
    n1 = large_n  # E1
    decay = np.exp(-np.arange(n1) / large_scale)
    families = {
        ("power", 1.2, math.nan): _power_probs(n1, 1.2),
        ("exponential", math.nan, large_scale): decay / decay.sum(),
        ("linear", math.nan, math.nan): np.arange(n1, 0, -1) / np.arange(n1, 0, -1).sum(),
    }
    for (family, alpha, scale), probs in families.items():
        rows += [
            _run_row("e1", family, n1, m, g, probs, alpha=alpha, scale=scale)
            for g in (-1.0, 0.1)
            for m in (8, 16, 32, 64)
        ]
    runs = pd.DataFrame([{k: v for k, v in r.items() if not k.startswith("_")} for r in rows])
    metrics = pd.DataFrame([r["_metrics"] for r in rows])
    return FigureData(
        runs=runs,
        metrics=metrics,
        fits=_fits(runs),
        curves=_curves(runs),
        norms={r[schema.RUN_ID]: r["_norms"] for r in rows},
        probs={r[schema.RUN_ID]: r["_probs"] for r in rows},
        config={"name": "synthetic"},
        llm=synthetic_llm() if with_llm else None,
    )


def synthetic_llm() -> LLMData:
    """LLM tables: the digitised paper losses with a planted-exponent fit, geometry ∝ 1/m, token counts."""
    losses = load_digitized_losses()
    catalog = load_catalog()
    offsets = {f"{f}/{d}": 2.0 for f in losses["family"].unique() for d in losses["dataset"].unique()}
    losses = losses.assign(loss=[2.0 + 400.0 * m**-0.9 for m in losses["m"]])
    geometry = catalog.rename(columns={"d_model": "m"}).assign(
        mean_cos2=lambda t: 1.2 / t["m"],
        inv_m=lambda t: 1.0 / t["m"],
        mean_norm=1.0,
        std_norm=0.1,
        min_norm=0.4,
        max_norm=1.8,
    )
    ranks = np.arange(1, 2001)
    token_freq = pd.DataFrame(
        [
            {"tokenizer": t, "dataset": d, "rank": r, "count": int(1e6 / r)}
            for t in ("gpt2", "opt")
            for d in ("c4", "pile")
            for r in ranks
        ]
    )
    return LLMData(
        geometry=geometry,
        losses=losses,
        losses_source="synthetic",
        width_fit=WidthFit(exponent=0.9, exponent_se=0.01, C=400.0, offsets=offsets),
        norms=np.abs(np.sin(np.arange(5000))) + 0.3,
        norms_label="synthetic head",
        paper_overlaps=load_digitized_overlaps(),
        token_freq=token_freq,
        models=catalog,
        chinchilla=load_chinchilla_shapes(),
    )


@pytest.fixture(scope="module")
def data() -> FigureData:
    return synthetic_data()


@pytest.mark.parametrize("spec", FIGURES, ids=lambda s: s.name)
def test_every_figure_draws_on_a_synthetic_store(spec, data: FigureData) -> None:
    fig = spec.draw(data)
    assert isinstance(fig, Figure)
    assert fig.axes, f"{spec.name} drew no axes"
    for ax in fig.axes:
        if ax.get_label() == "<colorbar>" or not ax.axison:
            continue
        assert ax.has_data() or ax.images or ax.patches, f"{spec.name}: an axes without data"
    main = fig.axes[0]
    assert main.get_xlabel() or fig.get_supxlabel() or main.get_xticklabels(), spec.name
    # rendering (where log-axis and layout warnings surface, as errors) happens once for every figure in
    # tests/test_report.py, which embeds them all; here one cheap render proves the figure is complete
    if spec.name in ("fig1d", "fig5c", "fig6b"):
        assert figure_bytes(fig, "png", dpi=30).startswith(b"\x89PNG")


@pytest.mark.parametrize("spec", FIGURES, ids=lambda s: s.name)
def test_every_figure_says_what_is_missing_on_an_empty_store(spec) -> None:
    result = draw(spec.name, FigureData())
    assert isinstance(result, MissingData)
    message = str(result)
    assert message.startswith(spec.label), message
    assert "needs" in message


def test_partial_store_missing_messages_name_the_gap(data: FigureData) -> None:
    weak_only = FigureData(runs=data.runs[data.runs[schema.GAMMA] > 0], metrics=data.metrics, fits=data.fits)
    missing = draw("fig1d", weak_only)
    assert isinstance(missing, MissingData)
    assert str(missing) == "Fig. 1d needs strong-regime runs (γ < 0); this store has none."
    no_metrics = FigureData(runs=data.runs, fits=data.fits)
    message = str(draw("fig5d", no_metrics))
    assert "mean_cos2_strong" in message and "metrics.parquet" in message
    no_fits = FigureData(runs=data.runs, metrics=data.metrics)
    assert "fits.parquet" in str(draw("fig9b", no_fits))
    no_wide = FigureData(
        runs=data.runs[data.runs[schema.EXPERIMENT] != "e4"],
        metrics=data.metrics,
        fits=data.fits[data.fits[schema.EXPERIMENT] != "e4"],
    )
    assert "m²/2 > n" in str(draw("fig18", no_wide))
    no_weights = FigureData(runs=data.runs, metrics=data.metrics, fits=data.fits)
    assert "weights" in str(draw("fig5a", no_weights))
    with pytest.raises(ValueError, match="name must be one of"):
        draw("fig99", data)


def test_loss_figure_reports_the_planted_exponents(data: FigureData) -> None:
    fig = FIGURES_BY_NAME["fig1d"].draw(data)
    labels = fig.axes[0].get_legend_handles_labels()[1]
    # strong regime synthetic losses are exactly ∝ 1/m for every family
    assert "exponential τ = 40: α_m = 1.000 ± 0.000" in labels, labels
    assert "slope −1 (theory)" in labels
    assert any("LLMs" in label for label in labels)
    texts = " ".join(t.get_text() for t in fig.axes[0].texts)
    assert pv.STRONG_LARGE_EXPONENT["linear"].text() in texts  # published numbers are marked
    assert fig.axes[0].get_xscale() == "log" and fig.axes[0].get_yscale() == "log"


def test_labels_come_from_the_data_not_hand_typed(data: FigureData) -> None:
    fig = FIGURES_BY_NAME["fig17"].draw(data)
    title = fig.axes[0].get_title()
    assert f"γ = {fmt(min(E2_GAMMAS))}" in title and f"n = {E2_N}" in title
    shifted = FigureData(
        runs=data.runs.assign(**{schema.GAMMA: data.runs[schema.GAMMA] * 0.5}), metrics=data.metrics
    )
    assert f"γ = {fmt(min(E2_GAMMAS) * 0.5)}" in FIGURES_BY_NAME["fig17"].draw(shifted).axes[0].get_title()


def test_low_ambiguity_selection_is_weak_and_follows_alpha(data: FigureData) -> None:
    from superscale.plots.exponents import N_LOW_AMBIGUITY, low_ambiguity_fits

    chosen = low_ambiguity_fits(data)
    n_weak = len(E2_ALPHAS) * sum(g > 0 for g in E2_GAMMAS)  # only the α scan's own groups compete
    assert len(chosen) == min(N_LOW_AMBIGUITY, n_weak) and (chosen[schema.GAMMA] > 0).all()
    assert set(chosen[schema.EXPERIMENT]) == {"e2"}
    assert chosen["max_ambiguity"].is_monotonic_increasing
    # weak runs lose (4/3) Σ_{i>m} p_i: steeper for larger α, and near α − 1 once α is well above 1
    by_alpha = chosen.groupby(schema.ALPHA)[schema.EXPONENT].mean()
    assert by_alpha.is_monotonic_increasing
    assert by_alpha[2.0] == pytest.approx(1.0, abs=0.15)


def test_selection_keeps_experiments_apart(data: FigureData) -> None:
    from superscale.plots.data import done_runs

    scan = power_scan(done_runs(data), "Fig. x")
    assert set(scan[schema.N_FEATURES]) == {E2_N}
    fits = loglog_fits(data)
    assert {"m_min", "m_max"} <= set(fits.columns)


def test_llm_helpers_reproduce_published_numbers() -> None:
    from superscale.fit.loglog import fit_log_slope

    chin = load_chinchilla_shapes()
    line = fit_log_slope(chin["d_model"], chin["params_million"] * 1e6)
    assert line.slope == pytest.approx(2.5226, abs=5e-4)  # PAPER_SPEC §5.7
    assert line.slope_se == pytest.approx(0.0258, abs=5e-4)
    x = np.array([1.0, 2, 4, 8, 1, 2, 4, 8])
    slope, _se, coefs = shared_log_slope(
        x, np.r_[3 * x[:4] ** 2.5, 7 * x[4:] ** 2.5] * (1 + 1e-9 * x), np.r_[[0] * 4, [1] * 4]
    )
    assert slope == pytest.approx(2.5) and coefs["0"] == pytest.approx(3) and coefs["1"] == pytest.approx(7)
    counts = 1e7 / np.arange(1, 100_001) ** 1.1
    assert token_frequency_exponent(counts) == pytest.approx(1.1, abs=1e-6)
    table = loss_minus_offset(
        pd.DataFrame({"family": ["a"], "dataset": ["x"], "m": [10.0], "loss": [3.0]}),
        WidthFit(1.0, 0.1, 1.0, {"a/x": 2.5}),
    )
    assert table["loss_minus_offset"].iloc[0] == pytest.approx(0.5)


def test_formatting_helpers() -> None:
    assert fmt(-0.7778) == "−0.778" and fmt(10240.0) == "10240" and fmt(math.nan) == "n/a"
    assert fmt_pm(1.0123, 0.0456) == "1.012 ± 0.046"
    assert pv.LLM_EXPONENT.text() == "0.91 ± 0.04 (Fig. 6b)"


def test_figures_leave_no_pyplot_state(data: FigureData) -> None:
    """Figures are plain Figure objects: no pyplot, no backend switch, nothing global left open."""
    from pathlib import Path

    import superscale.plots

    for module in Path(superscale.plots.__file__).parent.glob("*.py"):
        source = module.read_text(encoding="utf-8")
        assert "pyplot" not in source and "matplotlib.use(" not in source, module.name
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig = FIGURES_BY_NAME["fig5a"].draw(data)
        buffer = io.BytesIO()
        fig.savefig(buffer, format="pdf")
    assert buffer.getvalue().startswith(b"%PDF")
