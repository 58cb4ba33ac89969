"""Loss against width and against prediction: Figs. 1b, 1d, 4a and 8b."""

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
    fit_for,
    loglog_fits,
    main_population,
    mean_over_seeds,
    of_distribution,
    pick_gamma,
    power_scan,
    require_columns,
    unit_density,
)
from superscale.plots.lines import draw_fit_line, draw_width_series
from superscale.plots.style import (
    GAMMA_CMAP,
    LLM_COLOR,
    add_colorbar,
    axis_label,
    distribution_label,
    fmt,
    fmt_pm,
    geometric_anchor,
    guide_line,
    identity_line,
    new_figure,
    note,
    set_loglog,
    value_colors,
    value_label,
)

WEAK_GAMMA = 0.1  # the paper's weak-regime γ for the large models (Fig. 1b)
STRONG_GAMMA = -1.0  # the paper's strong-regime γ (Fig. 1d)


def regime_runs(
    data: FigureData, regime: str, figure: str, min_widths: int = 2
) -> tuple[pd.DataFrame, float]:
    """Unit-density runs of one regime at the γ closest to the paper's, with ≥ `min_widths` values of m."""
    runs = unit_density(done_runs(data))
    if runs.empty:
        raise MissingData(f"{figure} needs trained runs; this store has none.")
    runs = main_population(runs, [schema.FAMILY])
    gamma = pick_gamma(runs, regime, WEAK_GAMMA if regime == "weak" else STRONG_GAMMA, figure)
    chosen = at(runs, schema.GAMMA, gamma)
    if chosen[schema.M_HIDDEN].nunique() < min_widths:
        raise MissingData(
            f"{figure} needs {regime}-regime runs at ≥ {min_widths} values of m; "
            f"this store has {chosen[schema.M_HIDDEN].nunique()} at γ = {fmt(gamma)}."
        )
    return chosen, gamma


def _paper_exponent(dist: tuple[str, float, float]) -> pv.PaperValue | None:
    """Fig. 1d's published α_m for the large-model family matching `dist` (same family and parameter)."""
    family, alpha, scale = dist
    if family == "power" and not np.isclose(alpha, pv.LARGE_POWER_ALPHA):
        return None
    if family == "exponential" and not np.isclose(scale, pv.LARGE_EXPONENTIAL_SCALE):
        return None
    return pv.STRONG_LARGE_EXPONENT.get(family)


def loss_vs_width(data: FigureData, regime: str, figure: str) -> Figure:
    """Final loss vs m per frequency family at one γ, with fitted α_m, theory guides and paper values."""
    runs, gamma = regime_runs(data, regime, figure)
    fits = loglog_fits(data)
    fig, axes = new_figure(width=6.4, height=4.6)
    ax = axes[0, 0]
    paper_lines = []
    for index, dist in enumerate(distributions(runs)):
        sub = of_distribution(runs, dist)
        agg = mean_over_seeds(sub, [schema.M_HIDDEN], schema.FINAL_LOSS)
        fit = fit_for(fits, sub.iloc[0].to_dict())
        color = f"C{index}"
        label = distribution_label(*dist)
        if fit is not None:
            label += f": α_m = {fmt_pm(fit[schema.EXPONENT], fit.get(schema.EXPONENT_SE))}"
            draw_fit_line(ax, agg[schema.M_HIDDEN], agg["value"], fit.to_dict(), color)
        draw_width_series(ax, agg[schema.M_HIDDEN], agg["value"], agg["spread"], label, color)
        paper = _paper_exponent(dist)
        if regime == "strong" and paper is not None:
            paper_lines.append(f"{distribution_label(*dist)}: {paper.text()}")
        if regime == "weak" and dist[0] == "power" and dist[1] > 1:
            anchor = geometric_anchor(agg[schema.M_HIDDEN].to_numpy(), agg["value"].to_numpy())
            guide_line(
                ax, agg[schema.M_HIDDEN], -(dist[1] - 1), anchor, f"slope −(α − 1) = {fmt(1 - dist[1])}", "--"
            )
    ms = runs[schema.M_HIDDEN].to_numpy(dtype=float)
    if regime == "strong":
        losses = runs[schema.FINAL_LOSS].to_numpy(dtype=float)
        guide_line(ax, ms, -1.0, geometric_anchor(ms, losses), "slope −1 (theory)")
        _draw_llm_points(ax, data)
        if paper_lines:
            note(ax, "paper α_m, n = 10240:\n" + "\n".join(paper_lines))
    set_loglog(ax)
    ax.set_xlabel(axis_label(schema.M_HIDDEN))
    ax.set_ylabel(axis_label(schema.FINAL_LOSS))
    word = "weak" if regime == "weak" else "strong"
    ax.set_title(
        f"{figure}: {word} superposition, {value_label(schema.GAMMA, gamma)} ({context_line(runs)})",
        fontsize=9,
    )
    ax.legend(fontsize=7, loc="upper right")
    return fig


def _draw_llm_points(ax, data: FigureData) -> None:
    """Fig. 1d's grey LLM points: L − L_\\m against m from the shared-exponent width fit."""
    llm = data.llm
    if llm is None or llm.losses is None or llm.width_fit is None:
        return
    from superscale.plots.llm import loss_minus_offset

    table = loss_minus_offset(llm.losses, llm.width_fit)
    keep = table["loss_minus_offset"] > 0
    ax.scatter(
        table.loc[keep, "m"],
        table.loc[keep, "loss_minus_offset"],
        s=10,
        color=LLM_COLOR,
        label=f"LLMs, L − L\\m ({llm.losses_source})",
    )


def fig1b(data: FigureData) -> Figure:
    """Fig. 1b: weak regime (γ > 0) loss vs m per frequency family; not a clean power law in general."""
    return loss_vs_width(data, "weak", "Fig. 1b")


def fig1d(data: FigureData) -> Figure:
    """Fig. 1d: strong regime (γ < 0) loss vs m, α_m ≈ 1 for every family; LLM points in grey."""
    return loss_vs_width(data, "strong", "Fig. 1d")


def _actual_vs_predicted(frame: pd.DataFrame, figure: str, color_by: str) -> Figure:
    """Final loss against the weak-regime prediction (4/3) Σ_{i>φn} p_i with the y = x line."""
    require_columns(frame, [schema.PREDICTED_WEAK_LOSS], figure, "metrics.parquet (run `superscale analyze`)")
    frame = frame[(frame[schema.PREDICTED_WEAK_LOSS] > 0) & (frame[schema.FINAL_LOSS] > 0)]
    if frame.empty:
        raise MissingData(f"{figure} needs runs with a positive predicted loss; this store has none.")
    fig, axes = new_figure(width=5.6, height=4.6)
    ax = axes[0, 0]
    if color_by == schema.GAMMA:
        norm, cmap = value_colors(frame[schema.GAMMA], GAMMA_CMAP)
        ax.scatter(
            frame[schema.PREDICTED_WEAK_LOSS],
            frame[schema.FINAL_LOSS],
            c=cmap(norm(frame[schema.GAMMA])),
            s=12,
        )
        add_colorbar(fig, ax, norm, cmap, schema.GAMMA)
    else:
        for index, dist in enumerate(distributions(frame)):
            sub = of_distribution(frame, dist)
            ax.scatter(
                sub[schema.PREDICTED_WEAK_LOSS],
                sub[schema.FINAL_LOSS],
                s=16,
                color=f"C{index}",
                label=distribution_label(*dist),
            )
    identity_line(ax, np.concatenate([frame[schema.PREDICTED_WEAK_LOSS], frame[schema.FINAL_LOSS]]))
    set_loglog(ax)
    ax.set_xlabel(axis_label(schema.PREDICTED_WEAK_LOSS))
    ax.set_ylabel(axis_label(schema.FINAL_LOSS))
    ax.set_title(f"{figure}: actual vs weak-superposition prediction ({context_line(frame)})", fontsize=9)
    ax.legend(fontsize=7)
    return fig


def fig4a(data: FigureData) -> Figure:
    """Fig. 4a: every α-scan run's loss against (4/3)·T(φ_{1/2}), coloured by γ; agreement for γ > 0."""
    return _actual_vs_predicted(power_scan(done_runs(data), "Fig. 4a"), "Fig. 4a", schema.GAMMA)


def fig8b(data: FigureData) -> Figure:
    """Fig. 8b: weak-regime large models, loss against (4/3) Σ_{i ≥ φn} p_i per family."""
    runs, _ = regime_runs(data, "weak", "Fig. 8b", min_widths=1)
    return _actual_vs_predicted(runs, "Fig. 8b", schema.FAMILY)
