"""Geometry of W: norms, frequency–rank colouring, overlaps (Figs. 3a, 5a–d, 7, 8d, 17)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from superscale import schema
from superscale.plots import paper_settings as ps
from superscale.plots.captions import (
    Choice,
    choose_gamma,
    choose_paper_run,
    grid_text,
    histogram_peaks,
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
    at,
    context_line,
    distributions,
    done_runs,
    of_distribution,
    power_scan,
    require_columns,
)
from superscale.plots.lines import draw_heatmap, draw_inverse_m, draw_norm_histogram, grid_table, norm_bins
from superscale.plots.loss import regime_choice, regime_runs
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


def _run_where(run: pd.Series) -> str:
    """' (n = 200 · e2)' of one run."""
    return where_text(pd.DataFrame([run]))


@accepts_ax
def fig3a(data: FigureData) -> Figure:
    """Fig. 3a: feature probability p_i against rank, each feature coloured by its row norm ‖W_i‖, one
    weak-regime run (γ > 0) beside one strong-regime run (γ < 0).

    In the paper: γ = +1 beside γ = −1 at α = 1, m = 100, n = 1000: at γ = +1 only the most frequent
    features have ‖W_i‖ ≈ 1, at γ = −1 every feature is represented.
    """
    scan = power_scan(done_runs(data), "Fig. 3a")
    fig, axes = new_figure(1, 2, width=10.0, height=4.0)
    norm, cmap = value_colors([0.0, 1.5], "viridis")
    choices: list[Choice] = []
    parts = []
    panels = ((axes[0, 0], "weak", ps.FIG3A_WEAK_GAMMA), (axes[0, 1], "strong", ps.FIG3A_STRONG_GAMMA))
    for ax, regime, target in panels:
        gamma = choose_gamma(scan, regime, target, "Fig. 3a")
        targets = {schema.ALPHA: ps.FIG3A_ALPHA, schema.M_HIDDEN: ps.FIG3A_M}
        run, picked = choose_paper_run(at(scan, schema.GAMMA, gamma.value), targets, "Fig. 3a")
        choices += [gamma, *picked]
        norms, probs = _norms_and_probs(data, str(run[schema.RUN_ID]), "Fig. 3a")
        _rank_plot(ax, probs, cmap(norm(np.clip(norms, 0, 1.5))))
        ax.set_title(f"{regime} superposition: {run_title(run)}", fontsize=9)
        parts.append(
            f"{regime} {run_title(run)}: {plural(norms.size, 'feature')}, "
            f"{int(np.sum(norms > 0.5))} with ‖W_i‖ > 1/2"
        )
    add_colorbar(fig, axes[0, :].tolist(), norm, cmap, "row_norm")
    fig.suptitle(f"Fig. 3a: which features are represented ({context_line(scan)})", fontsize=10)
    text = f"p_i against rank coloured by ‖W_i‖ for two runs{_run_where(run)}: {'; '.join(parts)}."
    return set_caption(fig, f"{text} {stand_in_text(choices)}")


def _strong_example(data: FigureData, figure: str) -> tuple[pd.Series, list[Choice]]:
    """The run nearest Fig. 5a's γ = −0.78, α = 1, m = 15, with the choices made."""
    scan = power_scan(done_runs(data), figure)
    gamma = choose_gamma(scan, "strong", ps.FIG5A_GAMMA, figure)
    targets = {schema.ALPHA: ps.FIG5A_ALPHA, schema.M_HIDDEN: ps.FIG5A_M}
    run, picked = choose_paper_run(at(scan, schema.GAMMA, gamma.value), targets, figure)
    return run, [gamma, *picked]


def _peaks_text(peaks: list[float]) -> str:
    """'2 peaks, at ‖W_i‖ ≈ 0.79 and 1.05' (computed from the drawn histogram)."""
    if not peaks:
        return "no peak"
    where = " and ".join(f"{p:.2f}" for p in peaks)
    return f"{plural(len(peaks), 'peak')}, at ‖W_i‖ ≈ {where}"


@accepts_ax
def fig5a(data: FigureData) -> Figure:
    """Fig. 5a: histogram of the row norms ‖W_i‖ of one strong-regime run, with the thresholds 1/2 and 1.

    In the paper: γ = −0.78, α = 1, m = 15, n = 1000; the norms are bimodal around 1 (not at 0 and 1 as in
    weak superposition).
    """
    run, choices = _strong_example(data, "Fig. 5a")
    norms, _ = _norms_and_probs(data, str(run[schema.RUN_ID]), "Fig. 5a")
    fig, axes = new_figure(width=5.2, height=3.8)
    draw_norm_histogram(axes[0, 0], norms, f"Fig. 5a: {run_title(run)}, n = {int(run[schema.N_FEATURES])}")
    axes[0, 0].set_xlabel(axis_label("row_norm"))
    axes[0, 0].set_ylabel("number of features")
    values = norms[np.isfinite(norms)]
    bins = norm_bins(values)
    text = (
        f"Row norms of one run, {run_title(run)}{_run_where(run)}: {plural(values.size, 'row')}, "
        f"{int(np.sum(values > 1))} with ‖W_i‖ > 1 and {int(np.sum(values > 0.5))} with ‖W_i‖ > 1/2; "
        f"the histogram ({bins.size - 1} bins) has {_peaks_text(histogram_peaks(values, bins))}."
    )
    return set_caption(fig, f"{text} {stand_in_text(choices)}")


@accepts_ax
def fig5b(data: FigureData) -> Figure:
    """Fig. 5b: feature probability p_i against rank for one strong-regime run, red where ‖W_i‖ > 1
    (strongly represented) and blue where ‖W_i‖ ≤ 1.

    In the paper: the run of Fig. 5a (γ = −0.78, α = 1, m = 15); the frequent features have ‖W_i‖ > 1,
    the rare ones < 1.
    """
    run, choices = _strong_example(data, "Fig. 5b")
    norms, probs = _norms_and_probs(data, str(run[schema.RUN_ID]), "Fig. 5b")
    fig, axes = new_figure(width=5.2, height=3.8)
    ax = axes[0, 0]
    _rank_plot(ax, probs, np.where(norms > 1.0, "tab:red", "tab:blue"))
    ax.scatter([], [], color="tab:red", s=10, label=r"$\Vert W_i\Vert > 1$")
    ax.scatter([], [], color="tab:blue", s=10, label=r"$\Vert W_i\Vert \leq 1$")
    ax.legend(fontsize=7)
    ax.set_title(f"Fig. 5b: {run_title(run)}", fontsize=9)
    strong = int(np.sum(norms > 1.0))
    # how many of the `strong` most frequent features are among those with ‖W_i‖ > 1
    head = int(np.sum(norms[np.argsort(-probs, kind="stable")[:strong]] > 1.0))
    text = (
        f"p_i against rank for one run, {run_title(run)}{_run_where(run)}: {plural(norms.size, 'feature')}, "
        f"{strong} with ‖W_i‖ > 1 (red)"
    )
    text += f", {head} of them among the {strong} most frequent." if strong else "."
    return set_caption(fig, f"{text} {stand_in_text(choices)}")


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
def fig7(data: FigureData) -> Figure:
    """Fig. 7: row-norm histograms, one row per regime and frequency family, one column per m.

    In the paper: the large models (n = 10240, m = 8–1024), 6 rows (3 families × strong γ = −1 and weak
    γ = 0.1) × 8 columns; weak norms sit near 0 or 1, strong ones near 1 with a dip at 1.
    """
    rows: list[tuple[str, pd.DataFrame, tuple[str, float, float]]] = []
    choices: list[Choice] = []
    for regime in ("strong", "weak"):
        try:
            runs, gamma = regime_runs(data, regime, "Fig. 7", min_widths=1)
        except MissingData:
            continue
        choices.append(regime_choice(regime, gamma))
        rows.extend((regime, of_distribution(runs, d), d) for d in distributions(runs, limit=3))
    if not rows:
        raise MissingData("Fig. 7 needs runs at γ < 0 or γ > 0; this store has none.")
    widths = sorted({float(m) for _, sub, _ in rows for m in sub[schema.M_HIDDEN]})[-8:]
    fig, axes = new_figure(len(rows), len(widths), width=1.6 * len(widths) + 1, height=1.4 * len(rows) + 0.8)
    drawn: list[str] = []
    for i, (regime, sub, dist) in enumerate(rows):
        for j, width in enumerate(widths):
            ax = axes[i, j]
            match = at(sub, schema.M_HIDDEN, width)
            run_id = str(match.sort_values(schema.RUN_ID).iloc[0][schema.RUN_ID]) if not match.empty else ""
            if run_id in data.norms:
                draw_norm_histogram(ax, np.asarray(data.norms[run_id]), f"m = {fmt(width)}")
                drawn.append(run_id)
            else:
                ax.set_axis_off()
            ax.tick_params(labelsize=6)
            ax.set_yticks([])  # counts differ per panel; the shape is the message
            if j == 0:
                ax.set_ylabel(f"{regime}\n{distribution_label(*dist)}", fontsize=7)
    if not drawn:
        raise MissingData("Fig. 7 needs the weights (row norms) of the runs; the store has none.")
    fig.supxlabel(axis_label("row_norm"), fontsize=9)
    shown = pd.concat([r[1] for r in rows])
    shown = shown[shown[schema.RUN_ID].isin(drawn)]
    fig.suptitle(f"Fig. 7: row-norm histograms ({context_line(shown)})", fontsize=10)
    row_names = "; ".join(
        f"{regime} {value_label(schema.GAMMA, float(sub[schema.GAMMA].iloc[0]))} {distribution_label(*dist)}"
        for regime, sub, dist in rows
    )
    text = (
        f"Row-norm histograms of {plural(len(drawn), 'run')} in {len(rows)} rows × {len(widths)} columns "
        f"({values_text(schema.M_HIDDEN, widths, limit=8)}){where_text(shown)}. Rows: {row_names}."
    )
    empty = len(rows) * len(widths) - len(drawn)
    if empty:
        text += f" {plural(empty, 'empty panel')}: no run or no stored weights there."
    return set_caption(fig, f"{text} {stand_in_text(choices)}")


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
