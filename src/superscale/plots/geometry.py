"""Geometry of W: norms, frequency–rank colouring, overlaps (Figs. 3a, 5a–d, 7, 8d, 17)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from superscale import schema
from superscale.plots.data import (
    FigureData,
    MissingData,
    at,
    choose_run,
    context_line,
    distributions,
    done_runs,
    of_distribution,
    pick_gamma,
    power_scan,
    require_columns,
)
from superscale.plots.lines import draw_heatmap, draw_inverse_m, draw_norm_histogram, grid_table
from superscale.plots.loss import regime_runs
from superscale.plots.style import (
    ALPHA_CMAP,
    GAMMA_CMAP,
    add_colorbar,
    axis_label,
    distribution_label,
    fmt,
    identity_line,
    new_figure,
    set_loglog,
    value_colors,
    value_label,
)

METRICS_SOURCE = "metrics.parquet (run `superscale analyze`)"


def run_title(run: Mapping[str, object]) -> str:
    """'γ = −0.778, α = 1, m = 15' from the run's own values."""
    parts = [value_label(schema.GAMMA, float(run[schema.GAMMA]))]  # type: ignore[arg-type]
    alpha = run.get(schema.ALPHA)
    if isinstance(alpha, float) and np.isfinite(alpha):
        parts.append(value_label(schema.ALPHA, alpha))
    parts.append(value_label(schema.M_HIDDEN, float(run[schema.M_HIDDEN])))  # type: ignore[arg-type]
    return ", ".join(parts)


def _norms_and_probs(data: FigureData, run_id: str, figure: str) -> tuple[np.ndarray, np.ndarray]:
    if run_id not in data.norms or run_id not in data.probs:
        raise MissingData(
            f"{figure} needs the weights and feature probabilities of run {run_id}; the store has none."
        )
    return np.asarray(data.norms[run_id], dtype=float), np.asarray(data.probs[run_id], dtype=float)


def _rank_plot(ax: Axes, probs: np.ndarray, colors: np.ndarray) -> None:
    ranks = np.arange(1, probs.size + 1)
    keep = probs > 0
    ax.scatter(ranks[keep], probs[keep], c=colors[keep], s=4, linewidths=0)
    set_loglog(ax)
    ax.set_xlabel(axis_label("rank"))
    ax.set_ylabel(axis_label("prob"))


def fig3a(data: FigureData) -> Figure:
    """Fig. 3a: p_i vs rank coloured by ‖W_i‖, largest γ > 0 (weak) beside most negative γ (strong)."""
    scan = power_scan(done_runs(data), "Fig. 3a")
    fig, axes = new_figure(1, 2, width=10.0, height=4.0)
    norm, cmap = value_colors([0.0, 1.5], "viridis")
    for ax, regime, target in ((axes[0, 0], "weak", 1.0), (axes[0, 1], "strong", -1.0)):
        gamma = pick_gamma(scan, regime, target, "Fig. 3a")
        run = choose_run(at(scan, schema.GAMMA, gamma), {schema.ALPHA: 1.0, schema.M_HIDDEN: 100.0})
        norms, probs = _norms_and_probs(data, str(run[schema.RUN_ID]), "Fig. 3a")
        _rank_plot(ax, probs, cmap(norm(np.clip(norms, 0, 1.5))))
        ax.set_title(f"{regime} superposition: {run_title(run)}", fontsize=9)
    add_colorbar(fig, axes[0, :].tolist(), norm, cmap, "row_norm")
    fig.suptitle(f"Fig. 3a: which features are represented ({context_line(scan)})", fontsize=10)
    return fig


def _strong_example(data: FigureData, figure: str) -> pd.Series:
    """The run nearest Fig. 5a's m = 15, α = 1, γ = −0.78."""
    scan = power_scan(done_runs(data), figure)
    gamma = pick_gamma(scan, "strong", -0.78, figure)
    return choose_run(at(scan, schema.GAMMA, gamma), {schema.ALPHA: 1.0, schema.M_HIDDEN: 15.0})


def fig5a(data: FigureData) -> Figure:
    """Fig. 5a: row norms in strong superposition are bimodal around 1 (not 0 and 1)."""
    run = _strong_example(data, "Fig. 5a")
    norms, _ = _norms_and_probs(data, str(run[schema.RUN_ID]), "Fig. 5a")
    fig, axes = new_figure(width=5.2, height=3.8)
    draw_norm_histogram(axes[0, 0], norms, f"Fig. 5a: {run_title(run)}, n = {int(run[schema.N_FEATURES])}")
    axes[0, 0].set_xlabel(axis_label("row_norm"))
    axes[0, 0].set_ylabel("number of features")
    return fig


def fig5b(data: FigureData) -> Figure:
    """Fig. 5b: the frequent features have ‖W_i‖ > 1 (strongly represented), the rare ones < 1."""
    run = _strong_example(data, "Fig. 5b")
    norms, probs = _norms_and_probs(data, str(run[schema.RUN_ID]), "Fig. 5b")
    fig, axes = new_figure(width=5.2, height=3.8)
    ax = axes[0, 0]
    _rank_plot(ax, probs, np.where(norms > 1.0, "tab:red", "tab:blue"))
    ax.scatter([], [], color="tab:red", s=10, label=r"$\Vert W_i\Vert > 1$")
    ax.scatter([], [], color="tab:blue", s=10, label=r"$\Vert W_i\Vert \leq 1$")
    ax.legend(fontsize=7)
    ax.set_title(f"Fig. 5b: {run_title(run)}", fontsize=9)
    return fig


def fig5c(data: FigureData) -> Figure:
    """Fig. 5c: Var(c²) of the norm > 1 set over the random value, on (m, α) at γ ≈ −0.56; < 1 = ETF-like."""
    scan = power_scan(done_runs(data), "Fig. 5c")
    require_columns(scan, [schema.VAR_RATIO_STRONG], "Fig. 5c", METRICS_SOURCE)
    gamma = pick_gamma(scan, "strong", -0.56, "Fig. 5c")
    table = grid_table(at(scan, schema.GAMMA, gamma), schema.ALPHA, schema.M_HIDDEN, schema.VAR_RATIO_STRONG)
    fig, axes = new_figure(width=6.0, height=4.6)
    draw_heatmap(fig, axes[0, 0], table, schema.VAR_RATIO_STRONG, cmap="RdBu_r", center=1.0)
    axes[0, 0].set_title(f"Fig. 5c: {value_label(schema.GAMMA, gamma)} ({context_line(scan)})", fontsize=9)
    return fig


def fig5d(data: FigureData) -> Figure:
    """Fig. 5d: mean c² of the norm > 1 set vs m for every γ < 0, against Welch κ² and 1/m."""
    scan = power_scan(done_runs(data), "Fig. 5d")
    require_columns(scan, [schema.MEAN_COS2_STRONG], "Fig. 5d", METRICS_SOURCE)
    strong = scan[(scan[schema.GAMMA] < 0) & (scan[schema.MEAN_COS2_STRONG] > 0)]
    if strong.empty:
        raise MissingData(
            "Fig. 5d needs strong-regime runs (γ < 0) with ≥ 2 rows of norm > 1; this store has none."
        )
    fig, axes = new_figure(width=5.8, height=4.4)
    ax = axes[0, 0]
    norm, cmap = value_colors(strong[schema.GAMMA], GAMMA_CMAP)
    ax.scatter(
        strong[schema.M_HIDDEN], strong[schema.MEAN_COS2_STRONG], c=cmap(norm(strong[schema.GAMMA])), s=14
    )
    add_colorbar(fig, ax, norm, cmap, schema.GAMMA)
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
    draw_inverse_m(ax, strong[schema.M_HIDDEN].to_numpy(dtype=float))
    set_loglog(ax)
    ax.set_xlabel(axis_label(schema.M_HIDDEN))
    ax.set_ylabel(axis_label(schema.MEAN_COS2_STRONG))
    ax.set_title(f"Fig. 5d: strongly represented rows are ETF-like ({context_line(strong)})", fontsize=9)
    ax.legend(fontsize=7)
    return fig


def fig7(data: FigureData) -> Figure:
    """Fig. 7: row-norm histograms, rows = family × {strong, weak}, columns = m."""
    rows: list[tuple[str, pd.DataFrame, tuple[str, float, float]]] = []
    for regime in ("strong", "weak"):
        try:
            runs, _ = regime_runs(data, regime, "Fig. 7", min_widths=1)
        except MissingData:
            continue
        rows.extend((regime, of_distribution(runs, d), d) for d in distributions(runs, limit=3))
    if not rows:
        raise MissingData("Fig. 7 needs runs at γ < 0 or γ > 0; this store has none.")
    widths = sorted({float(m) for _, sub, _ in rows for m in sub[schema.M_HIDDEN]})[-8:]
    fig, axes = new_figure(len(rows), len(widths), width=1.6 * len(widths) + 1, height=1.4 * len(rows) + 0.8)
    drawn = 0
    for i, (regime, sub, dist) in enumerate(rows):
        for j, width in enumerate(widths):
            ax = axes[i, j]
            match = at(sub, schema.M_HIDDEN, width)
            run_id = str(match.sort_values(schema.RUN_ID).iloc[0][schema.RUN_ID]) if not match.empty else ""
            if run_id in data.norms:
                draw_norm_histogram(ax, np.asarray(data.norms[run_id]), f"m = {fmt(width)}")
                drawn += 1
            else:
                ax.set_axis_off()
            ax.tick_params(labelsize=6)
            ax.set_yticks([])  # counts differ per panel; the shape is the message
            if j == 0:
                ax.set_ylabel(f"{regime}\n{distribution_label(*dist)}", fontsize=7)
    if drawn == 0:
        raise MissingData("Fig. 7 needs the weights (row norms) of the runs; the store has none.")
    fig.supxlabel(axis_label("row_norm"), fontsize=9)
    fig.suptitle(
        f"Fig. 7: row-norm histograms ({context_line(pd.concat([r[1] for r in rows]))})", fontsize=10
    )
    return fig


def fig8d(data: FigureData) -> Figure:
    """Fig. 8d: strong-regime mean c² of the norm > 1 set against Welch κ², per family."""
    runs, _ = regime_runs(data, "strong", "Fig. 8d", min_widths=1)
    require_columns(runs, [schema.MEAN_COS2_STRONG, schema.WELCH_KAPPA2_STRONG], "Fig. 8d", METRICS_SOURCE)
    runs = runs[(runs[schema.MEAN_COS2_STRONG] > 0) & (runs[schema.WELCH_KAPPA2_STRONG] > 0)]
    if runs.empty:
        raise MissingData(
            "Fig. 8d needs strong-regime runs with more rows of norm > 1 than m; this store has none."
        )
    fig, axes = new_figure(width=5.4, height=4.4)
    ax = axes[0, 0]
    for index, dist in enumerate(distributions(runs)):
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
    ax.set_title(f"Fig. 8d: overlaps near the Welch bound ({context_line(runs)})", fontsize=9)
    ax.legend(fontsize=7)
    return fig


def fig17(data: FigureData) -> Figure:
    """Fig. 17: mean c² over all rows vs m at the most negative γ, coloured by α; slope −1 like 1/m."""
    scan = power_scan(done_runs(data), "Fig. 17")
    require_columns(scan, [schema.MEAN_COS2_ALL], "Fig. 17", METRICS_SOURCE)
    gamma = pick_gamma(scan, "strong", -1.0, "Fig. 17")
    runs = at(scan, schema.GAMMA, gamma)
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
    ax.set_title(f"Fig. 17: {value_label(schema.GAMMA, gamma)} ({context_line(runs)})", fontsize=9)
    ax.legend(fontsize=7)
    return fig
