"""LLM geometry figures (Figs. 6a, 19, 20; the scaling ones are in `llm_scaling`) from plain tables.

Inputs are DataFrames and arrays (see `LLMData`), so these functions do not depend on how the llm
package measured them. Digitised paper data is labelled approximate wherever it is drawn. Every fit
drawn here is computed in `superscale.llm` (width fit, parameter-vs-width slopes, Zipf exponent),
imported inside the figure functions so that importing the figures does not load the llm package.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from superscale.analysis.fit.loglog import fit_log_slope
from superscale.plots import paper_values as pv
from superscale.plots.captions import plural, set_caption
from superscale.plots.compose import accepts_ax
from superscale.plots.data import FigureData, LLMData, MissingData
from superscale.plots.lines import draw_norm_histogram
from superscale.plots.style import (
    LLM_COLOR,
    axis_label,
    fmt,
    fmt_pm,
    geometric_anchor,
    guide_line,
    new_figure,
    set_loglog,
)

DATASET_MARKERS = {"wikitext": "o", "c4": "s", "pile": "^", "bookcorpus": "D"}


def llm_table(data: FigureData, figure: str, field: str, what: str) -> object:
    llm = data.llm or LLMData()
    value = getattr(llm, field)
    if value is None or (isinstance(value, pd.DataFrame) and value.empty):
        raise MissingData(f"{figure} needs {what}; none was given (run the `superscale llm` commands).")
    return value


def family_names(table: pd.DataFrame) -> list[str]:
    return sorted(str(f) for f in table["family"].unique())


def slope_and_se(x: pd.Series, y: pd.Series) -> tuple[float, float]:
    """OLS slope of ln y on ln x and its standard error."""
    line = fit_log_slope(x.to_numpy(float), y.to_numpy(float))
    return line.slope, line.slope_se


@accepts_ax
def fig6a(data: FigureData) -> Figure:
    """Fig. 6a: LM-head mean square overlap ⟨c_ij²⟩ against 1/m, log–log, with guides of slope 1 and 2
    (no fit).

    In the paper: the LM heads of four open model families; the overlaps fall roughly like 1/m.
    """
    llm = data.llm or LLMData()
    measured, paper = llm.geometry, llm.paper_overlaps
    if (measured is None or measured.empty) and (paper is None or paper.empty):
        raise MissingData(
            "Fig. 6a needs an LLM geometry table (mean_cos2 per model) or the digitised paper overlaps."
        )
    fig, axes = new_figure(width=5.8, height=4.4)
    ax = axes[0, 0]
    xs, ys = [], []
    parts = []
    if measured is not None and not measured.empty:
        heads = measured[(measured["inv_m"] > 0) & (measured["mean_cos2"] > 0)]
        slope = (
            f", log–log slope {fmt_pm(*slope_and_se(heads['inv_m'], heads['mean_cos2']))}"
            if heads["inv_m"].nunique() > 2
            else ""
        )
        parts.append(
            f"{plural(len(measured), 'LM head')} of "
            f"{plural(measured['family'].nunique(), 'family', 'families')} "
            f"({llm.geometry_source}{slope})"
        )
        for index, family in enumerate(family_names(measured)):
            sub = measured[measured["family"] == family]
            ax.scatter(
                sub["inv_m"],
                sub["mean_cos2"],
                s=24,
                color=f"C{index}",
                label=f"{family} ({llm.geometry_source})",
            )
        xs.append(measured["inv_m"].to_numpy(dtype=float))
        ys.append(measured["mean_cos2"].to_numpy(dtype=float))
    if paper is not None and not paper.empty:
        ax.scatter(
            paper["inv_m"],
            paper["mean_square_overlap_digitized"],
            s=24,
            facecolors="none",
            edgecolors=LLM_COLOR,
            label=f"{pv.PAPER} (digitised, approximate)",
        )
        xs.append(paper["inv_m"].to_numpy(dtype=float))
        ys.append(paper["mean_square_overlap_digitized"].to_numpy(dtype=float))
        parts.append(
            f"{plural(len(paper), 'point')} digitised from the paper's figure (open grey, approximate)"
        )
    x, y = np.concatenate(xs), np.concatenate(ys)
    anchor = geometric_anchor(x, y)
    guide_line(ax, x, 1.0, anchor, "slope 1 ($\\propto 1/m$)")
    guide_line(ax, x, 2.0, anchor, "slope 2", style="--")
    set_loglog(ax)
    ax.set_xlabel(axis_label("inv_m"))
    ax.set_ylabel(axis_label("mean_cos2"))
    ax.set_title("Fig. 6a: LM-head mean square overlap against 1/m", fontsize=9)
    ax.legend(fontsize=7)
    text = (
        f"Mean square overlap of the LM-head rows against 1/m: {' and '.join(parts)}; "
        "guides of slope 1 and 2 through the points' geometric centre, no fit."
    )
    return set_caption(fig, text)


@accepts_ax
def fig19(data: FigureData) -> Figure:
    """Fig. 19: histogram of the row norms ‖W_i‖ of one LM head.

    In the paper: OPT-125M; the smallest norm is clearly above 0, a sign of strong superposition.
    """
    llm = data.llm or LLMData()
    fig, axes = new_figure(width=5.2, height=3.8)
    ax = axes[0, 0]
    if llm.norms is not None and np.size(llm.norms):
        norms = np.asarray(llm.norms, dtype=float)
        norms = norms[np.isfinite(norms)]
        draw_norm_histogram(ax, norms, f"Fig. 19: {llm.norms_label}", thresholds=False)
        text = (
            f"Row norms of {llm.norms_label or 'one LM head'}: {plural(norms.size, 'row')}; "
            f"smallest {fmt(float(norms.min()))}, median {fmt(float(np.median(norms)))}, "
            f"largest {fmt(float(norms.max()))}."
        )
    elif llm.norm_histogram is not None and not llm.norm_histogram.empty:
        hist = llm.norm_histogram
        model = str(hist["model"].iloc[0])
        one = hist[hist["model"] == model]
        ax.bar(
            one["bin_low"],
            one["count"],
            width=one["bin_high"] - one["bin_low"],
            align="edge",
            color="tab:blue",
        )
        ax.set_title(f"Fig. 19: {model}", fontsize=8)
        filled = one[one["count"] > 0]
        text = (
            f"Stored row-norm histogram of {model}: {plural(int(one['count'].sum()), 'row')} in "
            f"{plural(len(one), 'bin')}; "
            f"the lowest filled bin starts at {fmt(float(filled['bin_low'].min()))}."
        )
    else:
        raise MissingData("Fig. 19 needs LM-head row norms or their histogram; none were given.")
    ax.set_xlabel(axis_label("row_norm"))
    ax.set_ylabel("number of rows (tokens)")
    return set_caption(fig, text)


@accepts_ax
def fig20(data: FigureData) -> Figure:
    """Fig. 20: mean ± std, largest and smallest LM-head row norm against m, one panel per family.

    In the paper: four open families; the mean norm is roughly independent of m.
    """
    geometry = llm_table(data, "Fig. 20", "geometry", "an LLM geometry table with row-norm statistics")
    assert isinstance(geometry, pd.DataFrame)
    families = family_names(geometry)
    fig, axes = new_figure(1, len(families), width=3.2 * len(families) + 0.5, height=3.4, sharey=True)
    for ax, family in zip(axes[0], families, strict=True):
        sub = geometry[geometry["family"] == family].sort_values("m")
        ax.errorbar(sub["m"], sub["mean_norm"], yerr=sub["std_norm"], fmt="o-", capsize=2, label="mean ± std")
        ax.plot(sub["m"], sub["max_norm"], "^--", ms=4, label="max")
        ax.plot(sub["m"], sub["min_norm"], "v--", ms=4, label="min")
        ax.set_xscale("log")
        ax.set_title(family, fontsize=9)
        ax.set_xlabel(axis_label("m"))
    axes[0, 0].set_ylabel(axis_label("row_norm"))
    axes[0, 0].legend(fontsize=7)
    fig.suptitle("Fig. 20: LM-head row norms vs width", fontsize=10)
    spans = []
    for family in families:
        means = geometry.loc[geometry["family"] == family, "mean_norm"].to_numpy(float)
        if means.size > 1:
            spans.append(f"{family} {fmt(float(means.min()))}–{fmt(float(means.max()))}")
    text = (
        f"Row-norm statistics of {plural(len(geometry), 'LM head')} in "
        f"{plural(len(families), 'family', 'families')} ({', '.join(families)}), "
        f"m = {fmt(float(geometry['m'].min()))}–{fmt(float(geometry['m'].max()))} "
        f"({(data.llm or LLMData()).geometry_source})."
    )
    if spans:
        text += f" Range of the mean norm across m: {'; '.join(spans)}."
    return set_caption(fig, text)
