"""Every figure function draws on a tiny synthetic store, and says what is missing on an empty/partial one.

The synthetic store is built by hand from the paper's regimes (docs/recipe.md §3): strong runs have
L ∝ m^-max(1, 2(α−1)), weak runs lose exactly (4/3) Σ_{i>m} p_i, so the fits and theory lines agree
with known answers and the figures can be checked against them.
"""

from __future__ import annotations

import io
import math
import re
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
from superscale.plots import (
    ALPHA_SCAN,
    DENSITY,
    FIGURES,
    FIGURES_BY_NAME,
    LARGE,
    SECTION_PRESETS,
    FigureData,
    LLMData,
    MissingData,
    WidthFit,
    caption_of,
    draw,
)
from superscale.plots import paper_values as pv
from superscale.plots.data import loglog_fits, power_scan
from superscale.plots.style import figure_bytes, fmt, fmt_pm
from superscale.presets import list_presets

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
