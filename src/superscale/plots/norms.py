"""Geometry of W: norms, frequency–rank colouring, overlaps (Figs. 3a, 5a–d, 7, 8d, 17)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from superscale.plots import paper_settings as ps
from superscale.plots.captions import (
    Choice,
    choose_gamma,
    choose_paper_run,
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
)
from superscale.plots.lines import draw_norm_histogram, norm_bins
from superscale.plots.loss import regime_choice, regime_runs
from superscale.plots.style import (
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
