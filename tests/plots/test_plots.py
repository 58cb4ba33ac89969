"""Every figure function draws on a tiny synthetic store, and says what is missing on an empty/partial one.

The synthetic store is built by hand from the paper's regimes (docs/recipe.md §3): strong runs have
L ∝ m^-max(1, 2(α−1)), weak runs lose exactly (4/3) Σ_{i>m} p_i, so the fits and theory lines agree
with known answers and the figures can be checked against them.
"""

from __future__ import annotations

import io
import math
import warnings

import pytest
from matplotlib.figure import Figure

from superscale.config.presets import list_presets
from superscale.plots import (
    ALPHA_SCAN,
    DENSITY,
    FIGURES,
    FIGURES_BY_NAME,
    LARGE,
    SECTION_PRESETS,
    FigureData,
    MissingData,
    draw,
)
from superscale.plots import paper_values as pv
from superscale.plots.data import loglog_fits, power_scan
from superscale.plots.style import figure_bytes, fmt, fmt_pm
from superscale.store import schema
from tests.plots.synthetic import E2_ALPHAS, E2_GAMMAS, E2_N


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
    # the toy figures name the preset that draws them (frozen here, not read from SECTION_PRESETS)
    expected = {LARGE: "paper-e1-large", ALPHA_SCAN: "paper-e2-alpha-quick", DENSITY: "paper-e3-density"}
    if spec.section in expected:
        assert f"the preset {expected[spec.section]}" in message, message


def test_the_presets_named_for_missing_figures_exist() -> None:
    assert set(SECTION_PRESETS.values()) <= set(list_presets())


def test_partial_store_missing_messages_name_the_gap(data: FigureData) -> None:
    weak_only = FigureData(runs=data.runs[data.runs[schema.GAMMA] > 0], metrics=data.metrics, fits=data.fits)
    missing = draw("fig1d", weak_only)
    assert isinstance(missing, MissingData)
    assert str(missing) == (
        "Fig. 1d needs strong-regime runs (γ < 0); this store has none; the preset paper-e1-large-quick "
        "draws it (`superscale run paper-e1-large-quick --out DIR`, then `superscale analyze DIR`)."
    )
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
