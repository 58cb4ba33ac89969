"""Training loss curves from curves.parquet: how the final losses behind every other figure were reached.

Not a figure of the paper, which reports only final losses; the report draws it beside the α scan so a
reader can see whether the losses had stopped falling.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import NullFormatter

from superscale.plots import paper_settings as ps
from superscale.plots.captions import (
    Choice,
    choose_gamma,
    plural,
    set_caption,
    values_text,
    where_text,
)
from superscale.plots.compose import accepts_ax
from superscale.plots.data import (
    FigureData,
    MissingData,
    at,
    distributions,
    done_runs,
    main_population,
    of_distribution,
    unit_density,
)
from superscale.plots.style import (
    ALPHA_CMAP,
    axis_label,
    discrete_colors,
    distribution_label,
    new_figure,
    value_label,
)
from superscale.store import schema

FIGURE = "Loss curves"
MAX_DISTRIBUTIONS = 4  # panels per regime: at most this many (family, α, τ), evenly spread


def _regimes(runs: pd.DataFrame) -> list[tuple[str, Choice]]:
    """(regime, γ) for the strong and weak regimes present, at the γ nearest the paper's −1 and 0.1."""
    chosen = []
    for regime, target in (("strong", ps.LARGE_STRONG_GAMMA), ("weak", ps.LARGE_WEAK_GAMMA)):
        try:
            chosen.append((regime, choose_gamma(runs, regime, target, FIGURE)))
        except MissingData:
            continue
    if not chosen:
        raise MissingData(f"{FIGURE} needs runs at γ < 0 or γ > 0 with curves; this store has none.")
    return chosen


@accepts_ax
def loss_curves(data: FigureData) -> Figure:
    """Loss curves: training loss against step (log y), one panel per regime and data distribution,
    one line per run coloured by m.

    In the paper: no such figure; the paper reports final losses only, the mean of the last 100 step
    losses after 20000 steps (E2), when the learning rate sits at its 5 % floor.
    """
    curves = data.curves
    needed = {schema.RUN_ID, schema.STEP, schema.LOSS}
    if curves is None or curves.empty or not needed <= set(curves.columns):
        raise MissingData(f"{FIGURE} needs training curves from curves.parquet; this store has none.")
    runs = unit_density(done_runs(data))
    if runs.empty:
        raise MissingData(f"{FIGURE} needs finished runs; this store has none.")
    runs = runs[runs[schema.RUN_ID].isin(curves[schema.RUN_ID])]
    if runs.empty:
        raise MissingData(f"{FIGURE} needs curves of finished runs in curves.parquet; this store has none.")
    runs = main_population(runs, [schema.FAMILY, schema.ALPHA, schema.SCALE, schema.GAMMA])
    regimes = _regimes(runs)
    all_dists = distributions(runs, limit=10_000)
    dists = distributions(runs, limit=MAX_DISTRIBUTIONS)
    fig, axes = new_figure(
        len(regimes), len(dists), width=3.3 * len(dists) + 1.4, height=2.7 * len(regimes) + 0.7, sharex=True
    )
    colors = discrete_colors(runs[schema.M_HIDDEN], ALPHA_CMAP)
    selected = pd.concat(
        [of_distribution(at(runs, schema.GAMMA, choice.value), d) for _, choice in regimes for d in dists]
    )
    wanted = curves[curves[schema.RUN_ID].isin(selected[schema.RUN_ID])]
    by_run = {str(run_id): group.sort_values(schema.STEP) for run_id, group in wanted.groupby(schema.RUN_ID)}
    drawn: list[pd.Series] = []
    for i, (regime, choice) in enumerate(regimes):
        for j, dist in enumerate(dists):
            ax = axes[i, j]
            sub = of_distribution(at(runs, schema.GAMMA, choice.value), dist)
            for _, run in sub.sort_values([schema.M_HIDDEN, schema.RUN_ID]).iterrows():
                curve = by_run.get(str(run[schema.RUN_ID]))
                if curve is None:
                    continue
                curve = curve[curve[schema.LOSS] > 0]  # a log axis has no place for 0
                color = colors[float(run[schema.M_HIDDEN])]
                ax.plot(curve[schema.STEP], curve[schema.LOSS], lw=0.9, color=color)
                drawn.append(run)
            ax.set_yscale("log")
            ax.yaxis.set_minor_formatter(NullFormatter())  # small panels: minor labels collide
            gamma = value_label(schema.GAMMA, choice.value)
            ax.set_title(f"{regime}, {gamma}\n{distribution_label(*dist)}", fontsize=8)
            ax.tick_params(labelsize=7)
        axes[i, 0].set_ylabel(axis_label(schema.LOSS), fontsize=8)
    if not drawn:
        raise MissingData(f"{FIGURE} needs curves of the chosen runs; curves.parquet has none of them.")
    shown = pd.DataFrame(drawn)
    handles = [
        Line2D([], [], color=colors[m], lw=1.5, label=value_label(schema.M_HIDDEN, m))
        for m in sorted(shown[schema.M_HIDDEN].astype(float).unique())
    ]
    axes[0, -1].legend(handles=handles, fontsize=6, loc="upper right")
    fig.supxlabel(axis_label(schema.STEP), fontsize=9)
    fig.suptitle(f"{FIGURE}{where_text(shown)}", fontsize=10)
    set_caption(fig, _caption(shown, regimes, dists, all_dists, by_run))
    return fig


def _caption(
    shown: pd.DataFrame,
    regimes: list[tuple[str, Choice]],
    dists: list[tuple[str, float, float]],
    all_dists: list[tuple[str, float, float]],
    by_run: dict[str, pd.DataFrame],
) -> str:
    """What `loss_curves` drew, counted from the runs it drew."""
    regime_text = " and ".join(f"{regime} {value_label(schema.GAMMA, c.value)}" for regime, c in regimes)
    dist_text = ", ".join(distribution_label(*d) for d in dists)
    if len(dists) < len(all_dists):
        dist_text += f" ({len(dists)} of the {len(all_dists)} data distributions, evenly spread)"
    steps = [by_run[str(r)][schema.STEP] for r in shown[schema.RUN_ID]]
    points = int(np.median([s.size for s in steps]))
    last = int(max(s.max() for s in steps))
    text = (
        f"Training loss (summed over features) of {plural(len(shown), 'run')} against step: {regime_text}; "
        f"{dist_text}; {values_text(schema.M_HIDDEN, shown[schema.M_HIDDEN])}{where_text(shown)}. "
        f"About {points} logged points per run, up to step {last}."
    )
    if schema.CONVERGED in shown and shown[schema.CONVERGED].notna().any():
        flagged = int((shown[schema.CONVERGED].astype("boolean") == False).sum())  # noqa: E712 (NA stays NA)
        text += f" {flagged} of the {plural(len(shown), 'run')} are marked not converged in metrics.parquet."
    return text
