"""Exponents over the whole grid: R² per frequency family (Fig. 9a), α_m and R² heatmaps over (γ, α)
(Figs. 9b, 10)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from superscale.plots import paper_values as pv
from superscale.plots.captions import (
    flags_text,
    plural,
    set_caption,
    stand_in_text,
    values_text,
    where_text,
)
from superscale.plots.compose import accepts_ax
from superscale.plots.data import (
    FigureData,
    MissingData,
    context_line,
    distributions,
    fit_for,
    loglog_fits,
    of_distribution,
)
from superscale.plots.exponents import FITS_SOURCE, power_fits
from superscale.plots.lines import draw_heatmap, grid_table
from superscale.plots.loss import is_large_family, regime_choice, regime_runs
from superscale.plots.style import (
    axis_label,
    distribution_label,
    fmt,
    new_figure,
    note,
    value_label,
)
from superscale.store import schema


@accepts_ax
def fig9a(data: FigureData) -> Figure:
    """Fig. 9a: R² of the log–log fits of loss against m, strong vs weak regime, per frequency family;
    black marks give the paper's R² where a drawn family is one of its three.

    In the paper: the large models (n = 10240, γ = −1 and 0.1); R² read from its bars: strong ≈ 0.985
    (exponential), 0.965 (power), 0.987 (linear); weak ≈ 0.80 (exponential), 0.99 (power), 0.87 (linear).
    """
    fits = loglog_fits(data)
    if fits.empty:
        raise MissingData(f"Fig. 9a needs α_m fits from {FITS_SOURCE}; this store has none.")
    bars = []
    bar_fits: list[pd.Series] = []
    used = []
    gammas = []
    for regime in ("strong", "weak"):
        try:
            runs, gamma = regime_runs(data, regime, "Fig. 9a")
        except MissingData:
            continue
        used.append(runs)
        gammas.append(regime_choice(regime, gamma))
        for dist in distributions(runs):
            fit = fit_for(fits, of_distribution(runs, dist).iloc[0].to_dict())
            if fit is not None:
                bars.append((regime, dist, float(fit[schema.R2])))
                bar_fits.append(fit)
    if not bars:
        raise MissingData("Fig. 9a needs α_m fits of strong- or weak-regime groups; this store has none.")
    fig, axes = new_figure(width=6.4, height=4.2)
    ax = axes[0, 0]
    labels = sorted({distribution_label(*d) for _, d, _ in bars})
    pool = pd.concat(used)
    marked = 0
    for offset, regime, color in ((-0.2, "strong", "tab:blue"), (0.2, "weak", "tab:red")):
        for regime_b, dist, r2 in bars:
            if regime_b != regime:
                continue
            x = labels.index(distribution_label(*dist)) + offset
            ax.bar(x, r2, width=0.38, color=color, label=regime)
            paper = pv.R2_LARGE.get((regime, dist[0]))
            if paper is not None and is_large_family(dist, _n_of(of_distribution(pool, dist))):
                marked += 1
                ax.plot(
                    [x - 0.19, x + 0.19],
                    [paper.value] * 2,
                    color="black",
                    lw=2,
                    label=f"{pv.PAPER} (read from plot)",
                )
    handles, names = ax.get_legend_handles_labels()
    unique = dict(zip(names, handles, strict=True))
    ax.legend(unique.values(), unique.keys(), fontsize=7, loc="lower right")
    ax.set_xticks(range(len(labels)), labels, fontsize=8)
    ax.set_ylabel(axis_label(schema.R2))
    ax.set_ylim(min(0.5, min(r for *_, r in bars) - 0.05), 1.0)
    ax.set_title(f"Fig. 9a: how much of a power law ({context_line(pool)})", fontsize=9)
    regimes = " and ".join(
        f"{'strong' if c.value < 0 else 'weak'} {value_label(schema.GAMMA, c.value)}" for c in gammas
    )
    text = (
        f"R² of {plural(len(bars), 'log–log fit')} of final loss against m ({regimes}): "
        f"{', '.join(labels)}{where_text(pool)}. "
    )
    text += (
        f"Black marks: the paper's R² (its large models, read from its bars) on {marked} of the "
        f"{len(bars)} bars, "
        "those of its three families (power α = 1.2, exponential of the same τ/n as its τ = 400, linear)."
        if marked
        else "No drawn family is one of the paper's three (power α = 1.2, exponential of τ/n = 400/10240, "
        "linear), so none of its R² values is marked."
    )
    text += flags_text(pd.DataFrame(bar_fits))
    return set_caption(fig, f"{text} {stand_in_text(gammas)}")


def _n_of(frame: pd.DataFrame) -> float:
    """The n of these runs (NaN when absent or mixed)."""
    ns = frame[schema.N_FEATURES].dropna().unique() if schema.N_FEATURES in frame else []
    return float(ns[0]) if len(ns) == 1 else float("nan")


def _fit_heatmap(data: FigureData, column: str, figure: str, title: str) -> tuple[Figure, Axes, pd.DataFrame]:
    fits = power_fits(data, figure)
    if fits[schema.GAMMA].nunique() < 2 or fits[schema.ALPHA].nunique() < 2:
        raise MissingData(
            f"{figure} needs α_m fits at ≥ 2 values of γ and ≥ 2 values of α; this store has fewer."
        )
    fig, axes = new_figure(width=7.0, height=5.2)
    ax = axes[0, 0]
    draw_heatmap(fig, ax, grid_table(fits, schema.ALPHA, schema.GAMMA, column), column, cmap="viridis")
    ax.set_title(f"{figure}: {title} ({context_line(fits)})", fontsize=9)
    return fig, ax, fits


def _grid_caption(fits: pd.DataFrame, what: str) -> str:
    """'α_m of 24 log–log fits over γ = … × α = … (n = 200 · e2).'"""
    return (
        f"{what} of {plural(len(fits), 'log–log fit')} over "
        f"{values_text(schema.GAMMA, fits[schema.GAMMA])} × {values_text(schema.ALPHA, fits[schema.ALPHA])}"
        f"{where_text(fits)}."
    )


def _mean_text(fits: pd.DataFrame, column: str, symbol: str) -> str:
    """'mean α_m = 1.02 over 6 fits' ('no fit' when empty)."""
    if fits.empty:
        return "no fit"
    return f"mean {symbol} = {fmt(float(fits[column].mean()))} over {plural(len(fits), 'fit')}"


@accepts_ax
def fig9b(data: FigureData) -> Figure:
    """Fig. 9b: α_m over (γ, α) as a heatmap, with the paper's three regimes boxed.

    In the paper: n = 1000, 10 γ × 17 α; γ > 0 gives small α_m; γ < 0 with α ≲ 1.2 gives α_m ≈ 1;
    γ < 0 with α ≳ 1.6 gives α_m rising to ≈ 2.3.
    """
    fig, ax, fits = _fit_heatmap(data, schema.EXPONENT, "Fig. 9b", "model exponent")
    table = grid_table(fits, schema.ALPHA, schema.GAMMA, schema.EXPONENT)
    gammas, alphas = np.asarray(table.columns, dtype=float), np.asarray(table.index, dtype=float)
    pos = np.flatnonzero(gammas > 0)
    neg = np.flatnonzero(gammas < 0)
    boxes = []
    if pos.size:
        boxes.append((pos.min(), pos.max(), 0, len(alphas) - 1, "weak: small α_m"))
    low = np.flatnonzero(alphas <= pv.REGIME_ALPHA_LOW)
    high = np.flatnonzero(alphas >= pv.REGIME_ALPHA_HIGH)
    if neg.size and low.size:
        boxes.append((neg.min(), neg.max(), low.min(), low.max(), "strong: α_m ≈ 1"))
    if neg.size and high.size:
        boxes.append((neg.min(), neg.max(), high.min(), high.max(), "strong, skewed: α_m ↑"))
    for x0, x1, y0, y1, text in boxes:
        ax.add_patch(
            Rectangle((x0 - 0.5, y0 - 0.5), x1 - x0 + 1, y1 - y0 + 1, fill=False, ec="white", lw=2, ls="--")
        )
        ax.text(x0 - 0.4, y1 + 0.3, text, color="white", fontsize=7, va="top")
    note(ax, f"regimes of {pv.PAPER} Fig. 9b", "lower right")
    strong = fits[fits[schema.GAMMA] < 0]
    regions = [
        ("γ > 0", fits[fits[schema.GAMMA] > 0]),
        (f"γ < 0, α ≤ {fmt(pv.REGIME_ALPHA_LOW)}", strong[strong[schema.ALPHA] <= pv.REGIME_ALPHA_LOW]),
        (f"γ < 0, α ≥ {fmt(pv.REGIME_ALPHA_HIGH)}", strong[strong[schema.ALPHA] >= pv.REGIME_ALPHA_HIGH]),
    ]
    inside = "; ".join(f"{name}: {_mean_text(sub, schema.EXPONENT, 'α_m')}" for name, sub in regions)
    text = (
        f"{_grid_caption(fits, 'α_m')} Dashed boxes: the paper's {plural(len(boxes), 'regime')} "
        f"where this grid has cells. Measured: {inside}."
    )
    return set_caption(fig, text + flags_text(fits))


@accepts_ax
def fig10(data: FigureData) -> Figure:
    """Fig. 10: R² of the α_m log–log fits over (γ, α) as a heatmap.

    In the paper: n = 1000, 10 γ × 17 α; R² is high for γ < 0 and lower for large γ with α > 1.
    """
    fig, _, fits = _fit_heatmap(data, schema.R2, "Fig. 10", "how much of a power law")
    halves = [("γ < 0", fits[fits[schema.GAMMA] < 0]), ("γ > 0", fits[fits[schema.GAMMA] > 0])]
    medians = "; ".join(
        f"{name}: median R² = {fmt(float(sub[schema.R2].median()))} over {plural(len(sub), 'fit')}"
        for name, sub in halves
        if not sub.empty
    )
    return set_caption(fig, f"{_grid_caption(fits, 'R²')} {medians}.{flags_text(fits)}")
