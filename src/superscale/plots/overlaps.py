"""Overlap figures: the squared overlaps of the represented rows against the random-vector and Welch
values (Figs. 5c, 5d, 8d, 17)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from superscale.plots import paper_settings as ps
from superscale.plots.captions import (
    choose_gamma,
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
from superscale.plots.lines import draw_heatmap, draw_inverse_m, grid_table
from superscale.plots.loss import regime_choice, regime_runs
from superscale.plots.norms import METRICS_SOURCE
from superscale.plots.style import (
    ALPHA_CMAP,
    add_colorbar,
    axis_label,
    distribution_label,
    fmt,
    gamma_palette,
    identity_line,
    new_figure,
    set_loglog,
    value_colors,
    value_label,
)
from superscale.store import schema


@accepts_ax
def fig5c(data: FigureData) -> Figure:
    """Fig. 5c: Var(c_ij²) over the rows with ‖W_i‖ > 1, divided by the random-vector value, on the
    (m, α) grid at one strong-regime γ; below 1 is more regular than random (ETF-like).

    In the paper: γ = −0.56, n = 1000; the ratio is below 1 (≈ 0 for small α) and above 1 only at large α.
    """
    scan = power_scan(done_runs(data), "Fig. 5c")
    require_columns(scan, [schema.VAR_RATIO_STRONG], "Fig. 5c", METRICS_SOURCE)
    gamma = choose_gamma(scan, "strong", ps.FIG5C_GAMMA, "Fig. 5c")
    runs = at(scan, schema.GAMMA, gamma.value)
    table = grid_table(runs, schema.ALPHA, schema.M_HIDDEN, schema.VAR_RATIO_STRONG)
    fig, axes = new_figure(width=6.0, height=4.6)
    draw_heatmap(fig, axes[0, 0], table, schema.VAR_RATIO_STRONG, cmap="RdBu_r", center=1.0)
    axes[0, 0].set_title(
        f"Fig. 5c: {value_label(schema.GAMMA, gamma.value)} ({context_line(runs)})", fontsize=9
    )
    values = table.to_numpy(dtype=float)
    finite = values[np.isfinite(values)]
    below = int(np.sum(finite < 1))
    text = (
        f"Var(c²) ratio of {plural(len(runs), 'run')} at {value_label(schema.GAMMA, gamma.value)}: "
        f"{grid_text(runs, [schema.ALPHA, schema.M_HIDDEN])}{where_text(runs)}; "
        f"{below} of the {plural(finite.size, 'filled cell')} are below 1"
        + (f" (range {fmt(float(finite.min()))}–{fmt(float(finite.max()))})." if finite.size else ".")
    )
    blank = values.size - finite.size
    if blank:
        text += f" {plural(blank, 'blank cell')}: fewer than 2 rows with ‖W_i‖ > 1, or no run."
    return set_caption(fig, f"{text} {stand_in_text([gamma])}")


def _median_ratio_text(num: pd.Series, den: pd.Series, what: str) -> str:
    """'median mean c² / κ² = 1.1' over the rows where both are positive ('' when none are)."""
    keep = (num > 0) & (den > 0)
    if not keep.any():
        return ""
    return f"median {what} = {fmt(float(np.median(num[keep] / den[keep])))}"


def _log_slopes_text(runs: pd.DataFrame, column: str, by: str) -> str:
    """'log–log slope against m per α: −1.02 … −0.98' (OLS of ln value on ln m per group, ≥ 2 widths)."""
    slopes = []
    for _, sub in runs.groupby(by):
        agg = sub.groupby(schema.M_HIDDEN)[column].mean()
        agg = agg[agg > 0]
        if len(agg) >= 2:
            slopes.append(
                float(np.polyfit(np.log(agg.index.to_numpy(float)), np.log(agg.to_numpy(float)), 1)[0])
            )
    if not slopes:
        return "too few widths for a slope"
    symbol = "α" if by == schema.ALPHA else by
    if len(slopes) == 1:
        return f"log–log slope against m: {fmt(slopes[0])}"
    if fmt(min(slopes)) == fmt(max(slopes)):
        return f"log–log slope against m: {fmt(min(slopes))} for each of the {len(slopes)} {symbol}"
    return f"log–log slope against m per {symbol}: {fmt(min(slopes))} to {fmt(max(slopes))}"


@accepts_ax
def fig5d(data: FigureData) -> Figure:
    """Fig. 5d: mean c_ij² over the rows with ‖W_i‖ > 1 against m for the strong-regime (γ < 0) runs, one
    colour per γ, with the Welch κ² of those rows and 1/m.

    In the paper: every γ < 0 at n = 1000; the mean c² ≈ κ² ≈ 1/m (≈ 0.1 at m = 10 down to ≈ 0.01 at
    m = 100): the strongly represented rows are ETF-like.
    """
    scan = power_scan(done_runs(data), "Fig. 5d")
    require_columns(scan, [schema.MEAN_COS2_STRONG], "Fig. 5d", METRICS_SOURCE)
    strong = scan[(scan[schema.GAMMA] < 0) & (scan[schema.MEAN_COS2_STRONG] > 0)]
    if strong.empty:
        raise MissingData(
            "Fig. 5d needs strong-regime runs (γ < 0) with ≥ 2 rows of norm > 1; this store has none."
        )
    fig, axes = new_figure(width=5.8, height=4.4)
    ax = axes[0, 0]
    colors = gamma_palette(strong[schema.GAMMA])
    for gamma, sub in strong.groupby(schema.GAMMA):
        ax.scatter(
            sub[schema.M_HIDDEN],
            sub[schema.MEAN_COS2_STRONG],
            color=colors[float(gamma)],
            s=14,
            label=value_label(schema.GAMMA, float(gamma)),
        )
    kappa_text = ""
    if schema.WELCH_KAPPA2_STRONG in strong and (strong[schema.WELCH_KAPPA2_STRONG] > 0).any():
        kappa = strong[strong[schema.WELCH_KAPPA2_STRONG] > 0].groupby(schema.M_HIDDEN)[
            schema.WELCH_KAPPA2_STRONG
        ]
        kappa_mean = kappa.mean()
        ax.plot(
            kappa_mean.index,
            kappa_mean.values,
            "s--",
            color="black",
            mfc="none",
            ms=5,
            label=r"Welch $\kappa^2$ (mean over runs)",
        )
        ratio = _median_ratio_text(
            strong[schema.MEAN_COS2_STRONG], strong[schema.WELCH_KAPPA2_STRONG], "c² / κ²"
        )
        kappa_text = f" Open squares: Welch κ², mean over runs per m; {ratio}."
    draw_inverse_m(ax, strong[schema.M_HIDDEN].to_numpy(dtype=float))
    set_loglog(ax)
    ax.set_xlabel(axis_label(schema.M_HIDDEN))
    ax.set_ylabel(axis_label(schema.MEAN_COS2_STRONG))
    ax.set_title(f"Fig. 5d: overlaps of the rows with norm > 1 ({context_line(strong)})", fontsize=9)
    ax.legend(fontsize=6, ncol=2)
    inverse = _median_ratio_text(strong[schema.MEAN_COS2_STRONG], 1.0 / strong[schema.M_HIDDEN], "c² / (1/m)")
    text = (
        f"Mean c² over the rows with ‖W_i‖ > 1 for {plural(len(strong), 'strong-regime run')}: "
        f"{grid_text(strong, [schema.GAMMA, schema.ALPHA, schema.M_HIDDEN])}{where_text(strong)}; "
        f"dashed 1/m, {inverse}.{kappa_text}"
    )
    left_out = int(((scan[schema.GAMMA] < 0) & ~(scan[schema.MEAN_COS2_STRONG] > 0)).sum())
    if left_out:
        text += f" Left out: {plural(left_out, 'strong-regime run')} with fewer than 2 rows of norm > 1."
    return set_caption(fig, text)


@accepts_ax
def fig8d(data: FigureData) -> Figure:
    """Fig. 8d: strong-regime mean c_ij² over the rows with ‖W_i‖ > 1 against the Welch κ² of those rows,
    per frequency family, with the y = x line.

    In the paper: the large models (n = 10240) at γ = −1; the mean c² sits near κ²: qualitative agreement.
    """
    runs, gamma = regime_runs(data, "strong", "Fig. 8d", min_widths=1)
    require_columns(runs, [schema.MEAN_COS2_STRONG, schema.WELCH_KAPPA2_STRONG], "Fig. 8d", METRICS_SOURCE)
    runs = runs[(runs[schema.MEAN_COS2_STRONG] > 0) & (runs[schema.WELCH_KAPPA2_STRONG] > 0)]
    if runs.empty:
        raise MissingData(
            "Fig. 8d needs strong-regime runs with more rows of norm > 1 than m; this store has none."
        )
    fig, axes = new_figure(width=5.4, height=4.4)
    ax = axes[0, 0]
    dists = distributions(runs)
    for index, dist in enumerate(dists):
        sub = of_distribution(runs, dist)
        ax.scatter(
            sub[schema.WELCH_KAPPA2_STRONG],
            sub[schema.MEAN_COS2_STRONG],
            s=16,
            color=f"C{index}",
            label=distribution_label(*dist),
        )
    identity_line(ax, np.concatenate([runs[schema.WELCH_KAPPA2_STRONG], runs[schema.MEAN_COS2_STRONG]]))
    set_loglog(ax)
    ax.set_xlabel(axis_label(schema.WELCH_KAPPA2_STRONG))
    ax.set_ylabel(axis_label(schema.MEAN_COS2_STRONG))
    ax.set_title(f"Fig. 8d: overlaps against the Welch bound ({context_line(runs)})", fontsize=9)
    ax.legend(fontsize=7)
    drawn = pd.concat([of_distribution(runs, d) for d in dists])
    ratio = _median_ratio_text(drawn[schema.MEAN_COS2_STRONG], drawn[schema.WELCH_KAPPA2_STRONG], "c² / κ²")
    text = (
        f"Mean c² against Welch κ² (rows with ‖W_i‖ > 1) for {plural(len(drawn), 'run')} at "
        f"{value_label(schema.GAMMA, gamma)}: {', '.join(distribution_label(*d) for d in dists)}; "
        f"{grid_text(drawn, [schema.M_HIDDEN])}{where_text(drawn)}; dashed y = x; {ratio}."
    )
    return set_caption(fig, f"{text} {stand_in_text([regime_choice('strong', gamma)])}")


@accepts_ax
def fig17(data: FigureData) -> Figure:
    """Fig. 17: mean c_ij² over all rows against m at one strong-regime γ, one line per α, with 1/m.

    In the paper: γ = −1, n = 1000; the values may sit above 1/m but fall with slope −1.
    """
    scan = power_scan(done_runs(data), "Fig. 17")
    require_columns(scan, [schema.MEAN_COS2_ALL], "Fig. 17", METRICS_SOURCE)
    gamma = choose_gamma(scan, "strong", ps.STRONG_SMALL_GAMMA, "Fig. 17")
    runs = at(scan, schema.GAMMA, gamma.value)
    runs = runs[runs[schema.MEAN_COS2_ALL] > 0]
    fig, axes = new_figure(width=5.8, height=4.4)
    ax = axes[0, 0]
    norm, cmap = value_colors(runs[schema.ALPHA], ALPHA_CMAP)
    for alpha, sub in runs.groupby(schema.ALPHA):
        agg = sub.groupby(schema.M_HIDDEN)[schema.MEAN_COS2_ALL].mean()
        ax.plot(agg.index, agg.values, "o-", ms=3, lw=1.0, color=cmap(norm(alpha)))
    add_colorbar(fig, ax, norm, cmap, schema.ALPHA)
    draw_inverse_m(ax, runs[schema.M_HIDDEN].to_numpy(dtype=float), "$1/m$ (random vectors)")
    set_loglog(ax)
    ax.set_xlabel(axis_label(schema.M_HIDDEN))
    ax.set_ylabel(axis_label(schema.MEAN_COS2_ALL))
    ax.set_title(f"Fig. 17: {value_label(schema.GAMMA, gamma.value)} ({context_line(runs)})", fontsize=9)
    ax.legend(fontsize=7)
    text = (
        f"Mean c² over all rows for {plural(len(runs), 'run')} at {value_label(schema.GAMMA, gamma.value)}: "
        f"{grid_text(runs, [schema.ALPHA, schema.M_HIDDEN])}{where_text(runs)}; dashed 1/m; "
        f"{_log_slopes_text(runs, schema.MEAN_COS2_ALL, schema.ALPHA)}."
    )
    return set_caption(fig, f"{text} {stand_in_text([gamma])}")
