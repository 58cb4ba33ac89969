"""How many features are represented: φ_{1/2} and φ_1 (Figs. 3b, 8a, 8c, 13, 16)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from superscale.analysis import theory
from superscale.plots import paper_settings as ps
from superscale.plots import paper_values as pv
from superscale.plots.captions import (
    Choice,
    choose_gamma,
    choose_value,
    grid_text,
    plural,
    set_caption,
    stand_in_text,
    where_text,
)
from superscale.plots.compose import accepts_ax
from superscale.plots.data import (
    FigureData,
    MissingData,
    at,
    context_line,
    distributions,
    done_runs,
    of_distribution,
    power_scan,
    require_columns,
)
from superscale.plots.lines import default_n, draw_capacity_lines, draw_heatmap, grid_table
from superscale.plots.loss import regime_choice, regime_runs
from superscale.plots.norms import METRICS_SOURCE
from superscale.plots.style import (
    ALPHA_CMAP,
    add_colorbar,
    axis_label,
    distribution_label,
    fmt,
    new_figure,
    set_loglog,
    value_colors,
    value_label,
)
from superscale.store import schema


@accepts_ax
def fig3b(data: FigureData) -> Figure:
    """Fig. 3b: fraction represented φ_{1/2} against γ at one α, one line per m, with m/n dotted.

    In the paper: α = 1, n = 1000, m = 10–100; φ_{1/2} = 1 for γ ≤ −0.56 at every m, falling to ≈ m/n for
    large γ, with the transition near γ ≈ 0 to 0.1 (the repository's version of the figure).
    """
    scan = power_scan(done_runs(data), "Fig. 3b")
    require_columns(scan, [schema.PHI_HALF], "Fig. 3b", METRICS_SOURCE)
    alpha = choose_value(scan, schema.ALPHA, ps.FIG3B_ALPHA)
    runs = at(scan, schema.ALPHA, alpha.value)
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
    low = float(runs[schema.GAMMA].min())
    if low <= pv.PHI_HALF_FULL_BELOW_GAMMA:  # the paper's band, where this grid reaches it
        ax.axvspan(
            low,
            pv.PHI_HALF_FULL_BELOW_GAMMA,
            color="0.9",
            zorder=0,
            label=f"paper: φ = 1 for γ ≤ {fmt(pv.PHI_HALF_FULL_BELOW_GAMMA)}",
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
    band = runs[runs[schema.GAMMA] <= pv.PHI_HALF_FULL_BELOW_GAMMA]
    full = int((band[schema.PHI_HALF] >= 1).sum())
    text = (
        f"φ_{{1/2}} against γ for {plural(len(runs), 'run')} at {value_label(schema.ALPHA, alpha.value)}: "
        f"{grid_text(runs, [schema.GAMMA, schema.M_HIDDEN])}{where_text(runs)}; dotted m/n per m. "
    )
    text += (
        f"Grey band: the paper's γ ≤ {fmt(pv.PHI_HALF_FULL_BELOW_GAMMA)}, where {full} of the "
        f"{plural(len(band), 'run')} drawn have φ_{{1/2}} = 1."
        if not band.empty
        else f"No drawn γ reaches the paper's γ ≤ {fmt(pv.PHI_HALF_FULL_BELOW_GAMMA)}, so no grey band."
    )
    return set_caption(fig, f"{text} {stand_in_text([alpha])}")


def _fraction_vs_width(data: FigureData, column: str, figure: str, regimes: tuple[str, ...]) -> Figure:
    fig, axes = new_figure(width=6.0, height=4.4)
    ax = axes[0, 0]
    drawn = []
    parts = []
    choices: list[Choice] = []
    zeros = 0
    for regime, marker in zip(regimes, ("o", "s"), strict=False):
        try:
            runs, gamma = regime_runs(data, regime, figure)
        except MissingData:
            continue
        require_columns(runs, [column], figure, METRICS_SOURCE)
        dists = distributions(runs)
        for index, dist in enumerate(dists):
            agg = of_distribution(runs, dist).groupby(schema.M_HIDDEN)[column].mean()
            zeros += int((agg <= 0).sum())
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
        shown = pd.concat([of_distribution(runs, d) for d in dists])
        drawn.append(shown)
        choices.append(regime_choice(regime, gamma))
        parts.append(
            f"{regime} {value_label(schema.GAMMA, gamma)} ({plural(len(shown), 'run')}; "
            f"{', '.join(distribution_label(*d) for d in dists)}): {_against_reference(shown, column)}"
        )
    if not drawn:
        raise MissingData(f"{figure} needs runs at ≥ 2 values of m in some regime; this store has none.")
    allruns = pd.concat(drawn)
    n = default_n(allruns)
    draw_capacity_lines(
        ax, allruns[schema.M_HIDDEN].to_numpy(dtype=float), n, strong=column == schema.PHI_ONE
    )
    set_loglog(ax)
    ax.set_xlabel(axis_label(schema.M_HIDDEN))
    ax.set_ylabel(axis_label(column))
    ax.set_title(f"{figure} ({context_line(allruns)})", fontsize=9)
    ax.legend(fontsize=6)
    symbol = column_symbol(column)
    lines = "dashed m/n and dotted min{1, m²/2n}" if column == schema.PHI_ONE else "dashed m/n"
    text = (
        f"{symbol} against m, {grid_text(allruns, [schema.M_HIDDEN])}{where_text(allruns)}: "
        f"{'; '.join(parts)}; {lines}."
    )
    if zeros:
        text += f" {plural(zeros, 'point')} at {symbol} = 0 not drawn (log axis)."
    return set_caption(fig, f"{text} {stand_in_text(choices)}")


def _against_reference(runs: pd.DataFrame, column: str) -> str:
    """Median of the fraction over its reference: m/n for φ_{1/2}, min{1, m²/2n} for φ_1."""
    ms, ns = runs[schema.M_HIDDEN].to_numpy(float), runs[schema.N_FEATURES].to_numpy(float)
    values = runs[column].to_numpy(float)
    if column == schema.PHI_ONE:
        reference = np.array(
            [theory.strong_represented_fraction(int(m), int(n)) for m, n in zip(ms, ns, strict=True)]
        )
        name = "φ_1 / min{1, m²/2n}"
    else:
        reference, name = ms / ns, "φ_{1/2} / (m/n)"
    return f"median {column_symbol(column)} = {fmt(float(np.median(values)))}, median {name} = " + fmt(
        float(np.median(values / reference))
    )


def column_symbol(column: str) -> str:
    """φ_{1/2} or φ_1 for the fraction columns."""
    return "φ_{1/2}" if column == schema.PHI_HALF else "φ_1"


@accepts_ax
def fig8a(data: FigureData) -> Figure:
    """Fig. 8a: fraction represented φ_{1/2} against m in the strong and weak regimes, with m/n.

    In the paper: the large models (n = 10240) at γ = −1 and 0.1; strong φ_{1/2} = 1, weak ≈ m/n.
    """
    return _fraction_vs_width(data, schema.PHI_HALF, "Fig. 8a", ("strong", "weak"))


@accepts_ax
def fig8c(data: FigureData) -> Figure:
    """Fig. 8c: fraction strongly represented φ_1 against m in the strong regime, with m/n and
    min{1, m²/2n}.

    In the paper: the large models (n = 10240) at γ = −1; φ_1 ≫ m/n and ≈ min{1, m²/2n}.
    """
    return _fraction_vs_width(data, schema.PHI_ONE, "Fig. 8c", ("strong",))


@accepts_ax
def fig13(data: FigureData) -> Figure:
    """Fig. 13: fraction represented φ_{1/2} over (γ, α) as heatmaps, one per m.

    In the paper: n = 1000, 10 γ × 17 α, one panel per m = 10, 15, 25, 39, 63, 100.
    """
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
    strong, weak = scan[scan[schema.GAMMA] < 0], scan[scan[schema.GAMMA] > 0]
    medians = "; ".join(
        f"median φ_{{1/2}} at {name}: {fmt(float(sub[schema.PHI_HALF].median()))}"
        for name, sub in (("γ < 0", strong), ("γ > 0", weak))
        if not sub.empty
    )
    text = (
        f"φ_{{1/2}} of {plural(len(scan), 'run')} in {plural(len(widths), 'panel')} "
        f"({grid_text(scan, [schema.M_HIDDEN])}), each over "
        f"{grid_text(scan, [schema.GAMMA])} × {grid_text(scan, [schema.ALPHA])}{where_text(scan)}; {medians}."
    )
    return set_caption(fig, text)


@accepts_ax
def fig16(data: FigureData) -> Figure:
    """Fig. 16: fraction strongly represented φ_1 against m at one strong-regime γ, one line per α, with
    m/n and min{1, m²/2n}.

    In the paper: γ = −1, n = 1000; φ_1 ≫ m/n and ≈ min{1, m²/2n}.
    """
    scan = power_scan(done_runs(data), "Fig. 16")
    require_columns(scan, [schema.PHI_ONE], "Fig. 16", METRICS_SOURCE)
    choice = choose_gamma(scan, "strong", ps.STRONG_SMALL_GAMMA, "Fig. 16")
    gamma = choice.value
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
    text = (
        f"φ_1 against m for {plural(len(runs), 'run')} at {value_label(schema.GAMMA, gamma)}: "
        f"{grid_text(runs, [schema.ALPHA, schema.M_HIDDEN])}{where_text(runs)}; one line per α; "
        f"dashed m/n, dotted min{{1, m²/2n}}; {_against_reference(runs, schema.PHI_ONE)}."
    )
    zeros = int((runs[schema.PHI_ONE] <= 0).sum())
    if zeros:
        text += f" {plural(zeros, 'run')} at φ_1 = 0 not drawn (log axis)."
    return set_caption(fig, f"{text} {stand_in_text([choice])}")
