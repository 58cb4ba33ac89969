"""Every caption names only what its figure drew: two differently shaped synthetic stores, each figure's
caption checked against the numbers drawn (counts, γ, α, m, n, verdicts)."""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from superscale.plots import (
    FIGURES,
    FIGURES_BY_NAME,
    FigureData,
    caption_of,
)
from superscale.plots.style import fmt
from superscale.store import schema
from tests.plots.synthetic import E2_ALPHAS, E2_GAMMAS, E2_N, E2_WIDTHS, synthetic_data

# --- captions against the drawn data, on two differently shaped stores -------------------------------
# store B differs from the default store A in every axis a caption reports: n, the γ grid (none of the
# paper's values), the number of α and widths, the large models' n and exponential scale (B's τ/n equals
# the paper's 400/10240, A's does not), so a caption that keeps A's numbers, or mixes stores, fails here.
STORE_B = {
    "n": 120,
    "gammas": (-1.0, -0.5, 0.25, 0.75),
    "alphas": (1.0, 2.0),
    "widths": (6, 12, 24),
    "wide_widths": (16, 20, 24),
    "large_n": 256,
    "large_scale": 10.0,
}
TOY_FIGURES = [s.name for s in FIGURES if s.section != "llm"]
NUMBER = r"[−-]?\d+(?:\.\d+)?"


@pytest.fixture(scope="module")
def store_b() -> FigureData:
    return synthetic_data(with_llm=False, **STORE_B)


@pytest.fixture(scope="module")
def stores(data: FigureData, store_b: FigureData) -> dict[str, FigureData]:
    return {"A": data, "B": store_b}


@pytest.fixture(scope="module")
def drawn(stores: dict[str, FigureData]) -> dict[tuple[str, str], tuple[Figure, str]]:
    """Every toy figure drawn once per store, with its computed caption."""
    out = {}
    for key, store in stores.items():
        for name in TOY_FIGURES:
            spec = FIGURES_BY_NAME[name]
            fig = spec.draw(store)
            out[key, name] = fig, spec.caption_for(fig).drawn
    return out


def _listed(caption: str, symbol: str) -> list[str]:
    """The values listed after '<symbol> = ' ('γ = −1, −0.5' → ['−1', '−0.5']), as fmt writes them."""
    values = []
    pattern = rf"(?<![\w_]){symbol} = ({NUMBER}(?:(?:, | … ){NUMBER})*)"
    for match in re.finditer(pattern, caption):
        values += re.split(r", | … ", match.group(1))
    return values


@pytest.mark.parametrize("store", ["A", "B"])
@pytest.mark.parametrize("name", TOY_FIGURES)
def test_every_caption_names_only_values_the_store_holds(name, store, stores, drawn) -> None:
    fig, caption = drawn[store, name]
    runs = stores[store].runs
    assert caption_of(fig) is not None, f"{name} attached no caption"
    assert caption and "In the paper" not in caption
    ns = set(_listed(caption, "n"))
    assert ns, f"{name}: the caption names no n: {caption}"
    assert len(ns) == 1, f"{name} mixes stores of different n: {caption}"
    assert ns <= {fmt(v) for v in runs[schema.N_FEATURES]}, caption
    for names in re.findall(rf"n = {NUMBER} · ([^)]*)\)", caption):  # one experiment per group of runs
        assert len(names.split(", ")) == 1, f"{name} mixes experiments {names}: {caption}"
    for symbol, column in (("γ", schema.GAMMA), ("α", schema.ALPHA), ("m", schema.M_HIDDEN)):
        held = {fmt(v) for v in runs[column].dropna()}
        assert set(_listed(caption, symbol)) <= held, f"{name}: {symbol} not in store {store}: {caption}"


def _points(ax) -> np.ndarray:
    """(x, y) of every scatter point drawn on `ax`."""
    offsets = [c.get_offsets() for c in ax.collections if len(c.get_offsets())]
    return np.concatenate(offsets) if offsets else np.empty((0, 2))


def test_eq14_prediction_by_hand() -> None:
    from superscale.plots.loss import eq14_prediction

    frame = pd.DataFrame(
        {
            schema.PHI_HALF: [0.1, 0.1, 0.25, 0.0, 1.0],
            schema.N_FEATURES: [1000, 1000, 100, 1000, 1000],
            schema.ALPHA: [1.0, 2.0, 0.5, 1.0, 1.5],
        }
    )
    got = eq14_prediction(frame)
    assert got[0] == pytest.approx(4 / 3 * (1 / 3))  # −ln 0.1 / ln 1000 = 1/3
    assert got[1] == pytest.approx(4 / 3 * 9 * 0.001 / 0.999)  # (0.1^-1 − 1) 1000^-1 / (1 − 1000^-1)
    assert got[2] == pytest.approx(4 / 3 * 5 / 9)  # (0.25^0.5 − 1) · 10 / (1 − 10) = 5/9
    assert np.isnan(got[3])  # T diverges at φ = 0: no point rather than an infinite one
    assert got[4] == pytest.approx(0.0)  # every feature represented: nothing left to lose


@pytest.mark.parametrize("store", ["A", "B"])
def test_fig4a_draws_eq14_on_linear_axes_one_colour_per_gamma(store, stores, drawn) -> None:
    fig, caption = drawn[store, "fig4a"]
    shape = (
        STORE_B
        if store == "B"
        else {"n": E2_N, "gammas": E2_GAMMAS, "alphas": E2_ALPHAS, "widths": E2_WIDTHS}
    )
    n, gammas, alphas, widths = shape["n"], shape["gammas"], shape["alphas"], shape["widths"]
    ax = fig.axes[0]
    assert ax.get_xscale() == "linear" and ax.get_yscale() == "linear"
    # synthetic φ_{1/2}: 1 for γ < 0 (prediction 0, kept on the linear axis), m/n for γ > 0; eq. 14 by hand
    expected = []
    for alpha in alphas:
        for gamma in gammas:
            for m in widths:
                phi = 1.0 if gamma < 0 else m / n
                tail = (
                    -math.log(phi) / math.log(n)
                    if alpha == 1
                    else (phi ** (1 - alpha) - 1) * n ** (1 - alpha) / (1 - n ** (1 - alpha))
                )
                expected.append(4 / 3 * tail)
    xs = np.sort(_points(ax)[:, 0])
    np.testing.assert_allclose(xs, np.sort(expected), atol=1e-12)
    count = len(alphas) * len(gammas) * len(widths)
    assert f"for {count} runs:" in caption
    assert "γ = " + ", ".join(fmt(g) for g in sorted(gammas)) in caption
    labels = [t.get_text() for t in ax.get_legend().get_texts() if t.get_text().startswith("γ")]
    assert len(labels) == len(gammas)
    colours = {tuple(np.round(c.get_facecolor()[0], 4)) for c in ax.collections if len(c.get_offsets())}
    assert len(colours) == len(gammas)  # a distinct colour per γ present


@pytest.mark.parametrize(
    ("store", "cases", "of"),
    [("A", 8, 8), ("B", 4, 4)],  # weak fits: α × (γ > 0), all below the paper's 9
)
def test_fig4b_caption_counts_the_cases_drawn(store, cases, of, drawn) -> None:
    fig, caption = drawn[store, "fig4b"]
    assert f"for the {cases} (γ, α) cases" in caption and f"of the {of} weak-regime" in caption
    assert "9" not in caption.split("ambiguity")[0]  # the paper's 9 lives in the paper note only
    assert len(fig.axes[0].containers[0].lines[0].get_xdata()) == cases


def test_fig5e_draws_the_papers_gammas_or_says_which_stand_in(drawn) -> None:
    fig, caption = drawn["A", "fig5e"]
    assert "at γ = −0.778, −0.556, −0.333;" in caption and "in place of" not in caption
    fig_b, caption_b = drawn["B", "fig5e"]
    assert "at γ = −1, −0.5;" in caption_b
    assert "γ = −1 in place of the paper's −0.778" in caption_b
    assert "γ = −0.5 in place of the paper's −0.556 and −0.333" in caption_b
    for figure, count in ((fig, 3), (fig_b, 2)):
        labels = figure.axes[0].get_legend_handles_labels()[1]
        assert sum(label.startswith("γ = ") for label in labels) == count


def test_fig5c_and_fig5a_use_the_papers_settings(drawn) -> None:
    _, caption = drawn["A", "fig5c"]
    assert "16 runs at γ = −0.556" in caption and "in place of" not in caption
    fig_b, caption_b = drawn["B", "fig5c"]
    assert "6 runs at γ = −0.5" in caption_b and "γ = −0.5 in place of the paper's −0.556" in caption_b
    assert fig_b.axes[0].images[0].get_array().shape == (2, 3)  # α × m of store B
    _, caption = drawn["A", "fig5a"]
    assert "γ = −0.778, α = 1, m = 15" in caption and "in place of" not in caption
    _, caption_b = drawn["B", "fig5a"]
    assert "γ = −1, α = 1, m = 12" in caption_b
    assert "γ = −1 in place of the paper's −0.778; m = 12 in place of the paper's 15" in caption_b


def test_fig5a_counts_the_histograms_peaks(data: FigureData) -> None:
    from superscale.plots.captions import histogram_peaks
    from superscale.plots.lines import norm_bins

    rng = np.random.default_rng(0)
    two = np.r_[rng.normal(0.8, 0.03, 400), rng.normal(1.1, 0.03, 300)]
    assert [round(p, 1) for p in histogram_peaks(two, norm_bins(two))] == [0.8, 1.1]
    one = rng.normal(0.9, 0.05, 700)
    assert len(histogram_peaks(one, norm_bins(one))) == 1
    # the synthetic strong norms are two spikes (0.8 and 1.05); one spike must be read as one peak
    caption = FIGURES_BY_NAME["fig5a"].caption_for(FIGURES_BY_NAME["fig5a"].draw(data)).drawn
    assert "has 2 peaks" in caption and "112 with ‖W_i‖ > 1" in caption  # m = 15: 15²/2 = 112 rows
    flat = {run_id: np.full(E2_N, 0.9) + 0.01 * np.sin(np.arange(E2_N)) for run_id in data.norms}
    single = FigureData(runs=data.runs, metrics=data.metrics, norms=flat, probs=data.probs)
    caption = FIGURES_BY_NAME["fig5a"].caption_for(FIGURES_BY_NAME["fig5a"].draw(single)).drawn
    assert "has 1 peak, at ‖W_i‖ ≈ 0.9" in caption and "0 with ‖W_i‖ > 1" in caption


@pytest.mark.parametrize(("store", "marked"), [("A", 4), ("B", 6)])
def test_fig9a_caption_counts_the_paper_marks_drawn(store, marked, drawn) -> None:
    fig, caption = drawn[store, "fig9a"]
    black = [line for line in fig.axes[0].lines if line.get_color() == "black"]
    assert len(black) == marked  # A's exponential τ/n = 40/512 is not the paper's 400/10240; B's is
    assert f"on {marked} of the 6 bars" in caption


def test_fig3a_names_its_stand_ins(drawn) -> None:
    _, caption = drawn["A", "fig3a"]
    assert (
        "γ = 0.556 in place of the paper's 1" in caption and "m = 40 in place of the paper's 100" in caption
    )
    _, caption_b = drawn["B", "fig3a"]
    assert (
        "γ = 0.75 in place of the paper's 1" in caption_b
        and "m = 24 in place of the paper's 100" in caption_b
    )
    assert "strong γ = −1, α = 1, m = 24: 120 features, 120 with ‖W_i‖ > 1/2" in caption_b


@pytest.mark.parametrize(("store", "runs"), [("A", 2 * 4 * 4), ("B", 2 * 2 * 3)])  # regimes × α × m
def test_loss_curves_draw_one_line_per_run_the_caption_counts(store, runs, drawn) -> None:
    fig, caption = drawn[store, "loss_curves"]
    lines = [line for ax in fig.axes for line in ax.lines if len(line.get_xdata()) > 1]
    assert len(lines) == runs
    assert f"of {runs} runs against step" in caption and "up to step 1000" in caption
    assert all(ax.get_yscale() == "log" for ax in fig.axes)


def test_loss_curves_report_unconverged_runs_and_fits_report_flags(data: FigureData) -> None:
    metrics = data.metrics.assign(
        **{schema.CONVERGED: ~data.metrics[schema.RUN_ID].str.endswith("-10")}  # every m = 10 run drifts
    )
    flagged = data.fits.assign(
        **{schema.FIT_FLAGS: np.where(data.fits[schema.GAMMA] > 0, "loss not monotone in m", "")}
    )
    store = FigureData(runs=data.runs, metrics=metrics, fits=flagged, curves=data.curves)
    spec = FIGURES_BY_NAME["loss_curves"]
    caption = spec.caption_for(spec.draw(store)).drawn
    assert "8 of the 32 runs are marked not converged" in caption  # m = 10 in 2 regimes × 4 α
    spec = FIGURES_BY_NAME["fig4b"]
    caption = spec.caption_for(spec.draw(store)).drawn
    assert "8 of the 8 fits drawn carry flags in fits.parquet: loss not monotone in m." in caption


def test_caption_and_paper_note_are_separate_fields(data: FigureData) -> None:
    for spec in FIGURES:
        assert spec.paper_note, f"{spec.name} has no 'In the paper:' paragraph"
        assert "In the paper" not in spec.caption
    spec = FIGURES_BY_NAME["fig5e"]
    caption = spec.caption_for(spec.draw(data))
    assert caption.paper.startswith("γ = −0.78, −0.56, −0.33")
    assert caption.text() == f"{caption.drawn} In the paper: {caption.paper}"
    from superscale.plots import Caption

    bare = Figure()  # a figure drawn elsewhere falls back to the static caption
    assert spec.caption_for(bare) == Caption(spec.caption, spec.paper_note)
