"""The model exponent α_m across regimes: Figs. 4b, 5e, 9a, 9b, 10 and 18."""

from __future__ import annotations

import contextlib
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from superscale import schema
from superscale.plots import paper_values as pv
from superscale.plots.data import (
    FigureData,
    MissingData,
    at,
    context_line,
    distributions,
    done_runs,
    fit_for,
    group_key,
    loglog_fits,
    main_population,
    of_distribution,
    require_columns,
    unit_density,
)
from superscale.plots.lines import draw_exponent_lines, draw_heatmap, grid_table
from superscale.plots.loss import regime_runs
from superscale.plots.style import (
    PAPER_COLOR,
    axis_label,
    distribution_label,
    fmt,
    new_figure,
    note,
    value_label,
)

FITS_SOURCE = "fits.parquet (run `superscale analyze`)"
N_LOW_AMBIGUITY = 9  # Fig. 4b keeps the 9 (γ, α) cases with the smallest max ambiguity


def power_fits(data: FigureData, figure: str, min_points: int = 3, main: bool = True) -> pd.DataFrame:
    """α_m fits of power-law groups at unit density with ≥ `min_points` widths (the α-scan fits; with
    `main`, only the experiment that scans (α, γ) most, see `main_population`)."""
    fits = loglog_fits(data)
    if fits.empty:
        raise MissingData(f"{figure} needs α_m fits from {FITS_SOURCE}; this store has none.")
    fits = unit_density(fits[fits[schema.FAMILY] == "power"])
    if main:
        fits = main_population(fits, [schema.ALPHA, schema.GAMMA])
    if schema.N_POINTS in fits:
        fits = fits[fits[schema.N_POINTS] >= min_points]
    if fits.empty:
        raise MissingData(
            f"{figure} needs α_m fits of power-law groups over ≥ {min_points} values of m; "
            "this store has none."
        )
    return fits


def low_ambiguity_fits(data: FigureData, figure: str = "Fig. 4b") -> pd.DataFrame:
    """Fig. 4b's selection: weak-regime (γ > 0) groups with the smallest max-over-m ambiguity."""
    fits = power_fits(data, figure)
    fits = fits[fits[schema.GAMMA] > 0]
    if fits.empty:
        raise MissingData(f"{figure} needs γ > 0 runs at ≥ 3 values of m; this store has none.")
    runs = done_runs(data)
    require_columns(runs, [schema.AMBIGUITY], figure, "metrics.parquet (run `superscale analyze`)")
    cols = [c for c in schema.FIT_GROUP_COLUMNS if c in fits and c in runs]
    worst = {
        group_key(dict(zip(cols, key if isinstance(key, tuple) else (key,), strict=True)), cols): value
        for key, value in runs.groupby(cols, dropna=False)[schema.AMBIGUITY].max().items()
    }
    fits = fits.assign(max_ambiguity=[worst.get(group_key(r, cols), np.nan) for r in fits.to_dict("records")])
    return fits.dropna(subset=["max_ambiguity"]).nsmallest(N_LOW_AMBIGUITY, "max_ambiguity")


def _draw_exponents(ax: Axes, fits: pd.DataFrame, label: str, **style: Any) -> None:
    se = fits.get(schema.EXPONENT_SE)
    ax.errorbar(
        fits[schema.ALPHA], fits[schema.EXPONENT], yerr=se, fmt="o", ms=5, capsize=2, label=label, **style
    )  # type: ignore[arg-type]


def _finish_exponent_axes(ax: Axes, title: str) -> None:
    ax.set_xlabel(axis_label(schema.ALPHA))
    ax.set_ylabel(axis_label(schema.EXPONENT))
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7)


def fig4b(data: FigureData) -> Figure:
    """Fig. 4b: α_m vs α for the 9 lowest-ambiguity weak cases, following α_m = α − 1."""
    chosen = low_ambiguity_fits(data)
    fig, axes = new_figure(width=5.6, height=4.4)
    ax = axes[0, 0]
    _draw_exponents(ax, chosen, f"{len(chosen)} lowest-ambiguity (γ, α) cases, γ > 0", color="tab:red")
    for row in chosen.to_dict("records"):
        ax.annotate(
            value_label(schema.GAMMA, row[schema.GAMMA]),
            (row[schema.ALPHA], row[schema.EXPONENT]),
            fontsize=6,
            xytext=(3, 3),
            textcoords="offset points",
        )
    alphas = np.append(chosen[schema.ALPHA].to_numpy(dtype=float), [1.0, 2.0])
    draw_exponent_lines(ax, alphas, ["weak"])
    _finish_exponent_axes(ax, f"Fig. 4b: weak superposition, α_m = α − 1 ({context_line(chosen)})")
    return fig


def fig5e(data: FigureData) -> Figure:
    """Fig. 5e: α_m vs α in the strong regime (2nd–4th smallest γ) plus Fig. 4b's weak points."""
    fits = power_fits(data, "Fig. 5e")
    negative = sorted(fits.loc[fits[schema.GAMMA] < 0, schema.GAMMA].unique())
    if not negative:
        raise MissingData("Fig. 5e needs α_m fits at γ < 0; this store has none.")
    chosen = negative[1:4] if len(negative) >= 4 else negative[:3]
    fig, axes = new_figure(width=6.0, height=4.6)
    ax = axes[0, 0]
    for index, gamma in enumerate(chosen):
        _draw_exponents(
            ax, at(fits, schema.GAMMA, gamma), value_label(schema.GAMMA, gamma), color=f"C{index}"
        )
    with contextlib.suppress(MissingData):  # Fig. 4b's points are an overlay; Fig. 5e stands without them
        _draw_exponents(
            ax, low_ambiguity_fits(data, "Fig. 5e"), "Fig. 4b cases (γ > 0)", color="tab:red", mfc="none"
        )
    alphas = np.append(fits[schema.ALPHA].to_numpy(dtype=float), [1.0, 2.0])
    draw_exponent_lines(ax, alphas, ["strong", "skewed", "weak"])
    _mark_strong_bands(ax)
    _finish_exponent_axes(ax, f"Fig. 5e: strong superposition ({context_line(fits)})")
    return fig


def _mark_strong_bands(ax: Axes) -> None:
    """The paper's read-off ranges: α_m ≈ 0.8–1.1 for α ≲ 1.25 and ≈ 2–2.3 at α = 2."""
    lo, hi = pv.STRONG_SMALL_ALPHA_BAND
    xmin = ax.get_xlim()[0]
    ax.add_patch(
        Rectangle(
            (xmin, lo),
            pv.STRONG_SMALL_ALPHA_MAX - xmin,
            hi - lo,
            fc="none",
            ec=PAPER_COLOR,
            ls="--",
            lw=0.8,
            label=f"{pv.PAPER} (read from plot)",
        )
    )
    lo2, hi2 = pv.STRONG_ALPHA2_BAND
    ax.plot([2.0, 2.0], [lo2, hi2], color=PAPER_COLOR, lw=3, alpha=0.6)


def fig18(data: FigureData) -> Figure:
    """Fig. 18: α_m vs α with every width satisfying m²/2 > n, over the ordinary strong fits (Fig. 5e)."""
    fits = power_fits(data, "Fig. 18", main=False)  # the wide runs are their own experiment (E4)
    fits = fits[fits[schema.GAMMA] < 0]
    wide_mask = fits["m_min"].astype(float) ** 2 / 2 > fits[schema.N_FEATURES].astype(float)
    wide, narrow = fits[wide_mask], fits[~wide_mask]
    if wide.empty:
        raise MissingData(
            "Fig. 18 needs strong-regime (γ < 0) α_m fits whose widths all have m²/2 > n "
            "(the paper's m = 50–150 at n = 1000); this store has none."
        )
    fig, axes = new_figure(width=6.0, height=4.6)
    ax = axes[0, 0]
    if not narrow.empty:
        _draw_exponents(ax, narrow, "m²/2 < n for some m (Fig. 5e)", color="0.6", mfc="none")
    _draw_exponents(
        ax, wide, f"m = {fmt(wide['m_min'].min())}–{fmt(wide['m_max'].max())} (m²/2 > n)", color="C3"
    )
    draw_exponent_lines(
        ax, np.append(fits[schema.ALPHA].to_numpy(dtype=float), [1.0, 2.0]), ["strong", "skewed"]
    )
    _finish_exponent_axes(ax, f"Fig. 18: wide models ({context_line(wide)})")
    return fig


def fig9a(data: FigureData) -> Figure:
    """Fig. 9a: R² of the log–log fits, strong vs weak, per family, with the paper's bars marked."""
    fits = loglog_fits(data)
    if fits.empty:
        raise MissingData(f"Fig. 9a needs α_m fits from {FITS_SOURCE}; this store has none.")
    bars = []
    used = []
    for regime in ("strong", "weak"):
        try:
            runs, _ = regime_runs(data, regime, "Fig. 9a")
        except MissingData:
            continue
        used.append(runs)
        for dist in distributions(runs):
            fit = fit_for(fits, of_distribution(runs, dist).iloc[0].to_dict())
            if fit is not None:
                bars.append((regime, dist, float(fit[schema.R2])))
    if not bars:
        raise MissingData("Fig. 9a needs α_m fits of strong- or weak-regime groups; this store has none.")
    fig, axes = new_figure(width=6.4, height=4.2)
    ax = axes[0, 0]
    labels = sorted({distribution_label(*d) for _, d, _ in bars})
    for offset, regime, color in ((-0.2, "strong", "tab:blue"), (0.2, "weak", "tab:red")):
        for regime_b, dist, r2 in bars:
            if regime_b != regime:
                continue
            x = labels.index(distribution_label(*dist)) + offset
            ax.bar(x, r2, width=0.38, color=color, label=regime)
            paper = pv.R2_LARGE.get((regime, dist[0]))
            if paper is not None and distribution_label(*dist) in _large_labels():
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
    ax.set_title(f"Fig. 9a: how much of a power law ({context_line(pd.concat(used))})", fontsize=9)
    return fig


def _large_labels() -> set[str]:
    """Legend names of the paper's three large-model families (the ones Fig. 9a's numbers belong to)."""
    return {
        distribution_label("power", pv.LARGE_POWER_ALPHA),
        distribution_label("exponential", scale=pv.LARGE_EXPONENTIAL_SCALE),
        distribution_label("linear"),
    }


def _fit_heatmap(data: FigureData, column: str, figure: str, title: str) -> tuple[Figure, Axes]:
    fits = power_fits(data, figure)
    if fits[schema.GAMMA].nunique() < 2 or fits[schema.ALPHA].nunique() < 2:
        raise MissingData(
            f"{figure} needs α_m fits at ≥ 2 values of γ and ≥ 2 values of α; this store has fewer."
        )
    fig, axes = new_figure(width=7.0, height=5.2)
    ax = axes[0, 0]
    draw_heatmap(fig, ax, grid_table(fits, schema.ALPHA, schema.GAMMA, column), column, cmap="viridis")
    ax.set_title(f"{figure}: {title} ({context_line(fits)})", fontsize=9)
    return fig, ax


def fig9b(data: FigureData) -> Figure:
    """Fig. 9b: α_m over (γ, α) with the paper's three regime boxes."""
    fig, ax = _fit_heatmap(data, schema.EXPONENT, "Fig. 9b", "model exponent")
    table = grid_table(power_fits(data, "Fig. 9b"), schema.ALPHA, schema.GAMMA, schema.EXPONENT)
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
    return fig


def fig10(data: FigureData) -> Figure:
    """Fig. 10: R² of the α_m fits over (γ, α): high for γ < 0, lower for large γ and α > 1."""
    fig, _ = _fit_heatmap(data, schema.R2, "Fig. 10", "how much of a power law")
    return fig
