"""How many features are represented: φ_{1/2} and φ_1 (Figs. 3b, 8a, 8c, 13, 16)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from superscale import schema
from superscale.plots import paper_values as pv
from superscale.plots.data import (
    FigureData,
    MissingData,
    at,
    context_line,
    distributions,
    done_runs,
    nearest,
    of_distribution,
    pick_gamma,
    power_scan,
    require_columns,
)
from superscale.plots.geometry import METRICS_SOURCE
from superscale.plots.lines import default_n, draw_capacity_lines, draw_heatmap, grid_table
from superscale.plots.loss import regime_runs
from superscale.plots.style import (
    ALPHA_CMAP,
    add_colorbar,
    axis_label,
    distribution_label,
    new_figure,
    set_loglog,
    value_colors,
    value_label,
)


def fig3b(data: FigureData) -> Figure:
    """Fig. 3b: φ_{1/2} vs γ per m at α ≈ 1: ≈ 1 for γ < 0 (strong), ≈ m/n for large γ (weak)."""
    scan = power_scan(done_runs(data), "Fig. 3b")
    require_columns(scan, [schema.PHI_HALF], "Fig. 3b", METRICS_SOURCE)
    runs = at(scan, schema.ALPHA, nearest(scan[schema.ALPHA], 1.0))
    if runs[schema.GAMMA].nunique() < 2:
        raise MissingData(
            f"Fig. 3b needs runs at ≥ 2 values of γ; this store has {runs[schema.GAMMA].nunique()}."
        )
    fig, axes = new_figure(width=6.0, height=4.4)
    ax = axes[0, 0]
    n = default_n(runs)
    for index, (width, sub) in enumerate(runs.groupby(schema.M_HIDDEN)):
        agg = sub.groupby(schema.GAMMA)[schema.PHI_HALF].mean()
        color = f"C{index % 10}"
        ax.plot(agg.index, agg.values, "o-", ms=3, color=color, label=value_label(schema.M_HIDDEN, width))
        ax.axhline(width / n, ls=":", lw=0.8, color=color)
    ax.axvspan(
        float(runs[schema.GAMMA].min()),
        pv.PHI_HALF_FULL_BELOW_GAMMA,
        color="0.9",
        zorder=0,
        label=f"paper: φ = 1 for γ ≤ {pv.PHI_HALF_FULL_BELOW_GAMMA}",
    )
    ax.set_yscale("log")
    ax.set_xlabel(axis_label(schema.GAMMA))
    ax.set_ylabel(axis_label(schema.PHI_HALF))
    ax.set_title(
        f"Fig. 3b: {value_label(schema.ALPHA, float(runs[schema.ALPHA].iloc[0]))}, "
        f"dotted = m/n ({context_line(runs)})",
        fontsize=9,
    )
    ax.legend(fontsize=7, ncol=2)
    return fig


def _fraction_vs_width(data: FigureData, column: str, figure: str, regimes: tuple[str, ...]) -> Figure:
    fig, axes = new_figure(width=6.0, height=4.4)
    ax = axes[0, 0]
    drawn = []
    for regime, marker in zip(regimes, ("o", "s"), strict=False):
        try:
            runs, gamma = regime_runs(data, regime, figure)
        except MissingData:
            continue
        require_columns(runs, [column], figure, METRICS_SOURCE)
        for index, dist in enumerate(distributions(runs)):
            agg = of_distribution(runs, dist).groupby(schema.M_HIDDEN)[column].mean()
            agg = agg[agg > 0]
            ls = "-" if regime == "strong" else "--"
            ax.plot(
                agg.index,
                agg.values,
                marker=marker,
                ls=ls,
                ms=4,
                color=f"C{index}",
                label=f"{regime} ({value_label(schema.GAMMA, gamma)}), {distribution_label(*dist)}",
            )
        drawn.append(runs)
    if not drawn:
        raise MissingData(f"{figure} needs runs at ≥ 2 values of m in some regime; this store has none.")
    allruns = pd.concat(drawn)
    draw_capacity_lines(
        ax,
        allruns[schema.M_HIDDEN].to_numpy(dtype=float),
        default_n(allruns),
        strong=column == schema.PHI_ONE,
    )
    set_loglog(ax)
    ax.set_xlabel(axis_label(schema.M_HIDDEN))
    ax.set_ylabel(axis_label(column))
    ax.set_title(f"{figure} ({context_line(allruns)})", fontsize=9)
    ax.legend(fontsize=6)
    return fig


def fig8a(data: FigureData) -> Figure:
    """Fig. 8a: φ_{1/2} vs m, strong ≈ 1 and weak ≈ m/n."""
    return _fraction_vs_width(data, schema.PHI_HALF, "Fig. 8a", ("strong", "weak"))


def fig8c(data: FigureData) -> Figure:
    """Fig. 8c: φ_1 vs m in the strong regime against m/n and min{1, m²/2n}."""
    return _fraction_vs_width(data, schema.PHI_ONE, "Fig. 8c", ("strong",))


def fig13(data: FigureData) -> Figure:
    """Fig. 13: φ_{1/2} over (γ, α), one heatmap per m."""
    scan = power_scan(done_runs(data), "Fig. 13")
    require_columns(scan, [schema.PHI_HALF], "Fig. 13", METRICS_SOURCE)
    if scan[schema.GAMMA].nunique() < 2 or scan[schema.ALPHA].nunique() < 2:
        raise MissingData("Fig. 13 needs runs at ≥ 2 values of γ and ≥ 2 values of α; this store has fewer.")
    widths = sorted(scan[schema.M_HIDDEN].unique())
    ncols = min(3, len(widths))
    nrows = int(np.ceil(len(widths) / ncols))
    fig, axes = new_figure(nrows, ncols, width=4.6 * ncols, height=3.6 * nrows)
    for ax, width in zip(axes.flat, widths, strict=False):
        table = grid_table(at(scan, schema.M_HIDDEN, width), schema.ALPHA, schema.GAMMA, schema.PHI_HALF)
        draw_heatmap(fig, ax, table, schema.PHI_HALF, cmap="magma", annotate=False)
        ax.set_title(value_label(schema.M_HIDDEN, width), fontsize=9)
    for ax in list(axes.flat)[len(widths) :]:
        ax.set_axis_off()
    fig.suptitle(f"Fig. 13: fraction represented ({context_line(scan)})", fontsize=10)
    return fig


def fig16(data: FigureData) -> Figure:
    """Fig. 16: φ_1 vs m at the most negative γ, coloured by α: ≫ m/n and ≈ min{1, m²/2n}."""
    scan = power_scan(done_runs(data), "Fig. 16")
    require_columns(scan, [schema.PHI_ONE], "Fig. 16", METRICS_SOURCE)
    gamma = pick_gamma(scan, "strong", -1.0, "Fig. 16")
    runs = at(scan, schema.GAMMA, gamma)
    fig, axes = new_figure(width=5.8, height=4.4)
    ax = axes[0, 0]
    norm, cmap = value_colors(runs[schema.ALPHA], ALPHA_CMAP)
    for alpha, sub in runs.groupby(schema.ALPHA):
        agg = sub.groupby(schema.M_HIDDEN)[schema.PHI_ONE].mean()
        agg = agg[agg > 0]
        ax.plot(agg.index, agg.values, "o-", ms=3, lw=1.0, color=cmap(norm(alpha)))
    add_colorbar(fig, ax, norm, cmap, schema.ALPHA)
    draw_capacity_lines(ax, runs[schema.M_HIDDEN].to_numpy(dtype=float), default_n(runs))
    set_loglog(ax)
    ax.set_xlabel(axis_label(schema.M_HIDDEN))
    ax.set_ylabel(axis_label(schema.PHI_ONE))
    ax.set_title(f"Fig. 16: {value_label(schema.GAMMA, gamma)} ({context_line(runs)})", fontsize=9)
    ax.legend(fontsize=7)
    return fig
