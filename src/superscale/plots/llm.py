"""LLM figures (Figs. 6a, 6b, 19–23) from plain tables, drawn with the toy figures' own pieces.

Inputs are DataFrames and arrays (see `LLMData`), so these functions do not depend on how the llm
package measured them. Digitised paper data is labelled approximate wherever it is drawn.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from superscale.fit.loglog import fit_log_slope
from superscale.plots import paper_values as pv
from superscale.plots.data import FigureData, LLMData, MissingData, WidthFit
from superscale.plots.lines import draw_norm_histogram
from superscale.plots.style import (
    LLM_COLOR,
    axis_label,
    fmt,
    fmt_pm,
    geometric_anchor,
    guide_line,
    mark_paper,
    new_figure,
    note,
    set_loglog,
)

DATASET_MARKERS = {"wikitext": "o", "c4": "s", "pile": "^", "bookcorpus": "D"}
TOKEN_FIT_POINTS = 1000  # ranks sampled uniformly in log10(rank) for the token-frequency fit (spec §2)


def _llm(data: FigureData, figure: str, field: str, what: str) -> object:
    llm = data.llm or LLMData()
    value = getattr(llm, field)
    if value is None or (isinstance(value, pd.DataFrame) and value.empty):
        raise MissingData(f"{figure} needs {what}; none was given (run the `superscale llm` commands).")
    return value


def _families(table: pd.DataFrame) -> list[str]:
    return sorted(str(f) for f in table["family"].unique())


def group_label(family: str, dataset: str) -> str:
    """Group name of the shared-exponent fit: one offset per family × dataset."""
    return f"{family}/{dataset}"


def loss_minus_offset(losses: pd.DataFrame, fit: WidthFit) -> pd.DataFrame:
    """L − L_\\m = L − B_g for every (model, dataset) whose group has a fitted offset (Fig. 6b's y)."""
    labels = [group_label(f, d) for f, d in zip(losses["family"], losses["dataset"], strict=True)]
    offsets = np.array([fit.offsets.get(label, np.nan) for label in labels])
    table = losses.assign(group=labels, loss_minus_offset=losses["loss"].to_numpy(dtype=float) - offsets)
    return table[np.isfinite(table["loss_minus_offset"])]


def fig6a(data: FigureData) -> Figure:
    """Fig. 6a: LM-head mean square overlap vs 1/m, log–log, with slope 1 and 2 guides (no fit)."""
    llm = data.llm or LLMData()
    measured, paper = llm.geometry, llm.paper_overlaps
    if (measured is None or measured.empty) and (paper is None or paper.empty):
        raise MissingData(
            "Fig. 6a needs an LLM geometry table (mean_cos2 per model) or the digitised paper overlaps."
        )
    fig, axes = new_figure(width=5.8, height=4.4)
    ax = axes[0, 0]
    xs, ys = [], []
    if measured is not None and not measured.empty:
        for index, family in enumerate(_families(measured)):
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
    x, y = np.concatenate(xs), np.concatenate(ys)
    anchor = geometric_anchor(x, y)
    guide_line(ax, x, 1.0, anchor, "slope 1 ($\\propto 1/m$)")
    guide_line(ax, x, 2.0, anchor, "slope 2", style="--")
    set_loglog(ax)
    ax.set_xlabel(axis_label("inv_m"))
    ax.set_ylabel(axis_label("mean_cos2"))
    ax.set_title("Fig. 6a: LM-head overlaps shrink like 1/m", fontsize=9)
    ax.legend(fontsize=7)
    return fig


def fig6b(data: FigureData) -> Figure:
    """Fig. 6b: L − L_\\m vs m for every family × dataset with the shared fit C m^-α_m."""
    losses = _llm(data, "Fig. 6b", "losses", "LLM eval losses (family, model, m, dataset, loss)")
    fit = _llm(data, "Fig. 6b", "width_fit", "a shared-exponent width fit of the LLM losses")
    assert isinstance(losses, pd.DataFrame) and isinstance(fit, WidthFit)
    table = loss_minus_offset(losses, fit)
    table = table[table["loss_minus_offset"] > 0]
    if table.empty:
        raise MissingData("Fig. 6b needs LLM losses above their fitted offsets; none are.")
    fig, axes = new_figure(width=7.6, height=4.6)
    ax = axes[0, 0]
    for index, family in enumerate(_families(table)):
        for dataset, sub in table[table["family"] == family].groupby("dataset"):
            ax.scatter(
                sub["m"],
                sub["loss_minus_offset"],
                s=18,
                color=f"C{index}",
                marker=DATASET_MARKERS.get(str(dataset), "o"),
                label=f"{family}, {dataset}",
            )
    ms = np.geomspace(float(table["m"].min()), float(table["m"].max()), 50)
    source = (data.llm or LLMData()).losses_source
    ax.plot(
        ms,
        fit.C * ms ** (-fit.exponent),
        "k-",
        lw=1.2,
        label=f"fit: α_m = {fmt_pm(fit.exponent, fit.exponent_se)} ({source})",
    )
    note(ax, f"{pv.PAPER}: α_m = {pv.LLM_EXPONENT.text()}")
    set_loglog(ax)
    ax.set_xlabel(axis_label("m"))
    ax.set_ylabel(axis_label("loss_minus_offset"))
    ax.set_title("Fig. 6b: width-limited part of the LLM loss", fontsize=9)
    ax.legend(fontsize=6, loc="upper left", bbox_to_anchor=(1.02, 1.0))  # 16 groups: beside the axes
    return fig


def fig19(data: FigureData) -> Figure:
    """Fig. 19: row-norm histogram of one LM head (OPT-125M in the paper); min norm > 0 = strong regime."""
    llm = data.llm or LLMData()
    fig, axes = new_figure(width=5.2, height=3.8)
    ax = axes[0, 0]
    if llm.norms is not None and np.size(llm.norms):
        draw_norm_histogram(ax, np.asarray(llm.norms), f"Fig. 19: {llm.norms_label}", thresholds=False)
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
    else:
        raise MissingData("Fig. 19 needs LM-head row norms or their histogram; none were given.")
    ax.set_xlabel(axis_label("row_norm"))
    ax.set_ylabel("number of rows (tokens)")
    return fig


def fig20(data: FigureData) -> Figure:
    """Fig. 20: mean ± std, max and min row norm vs m per family: the mean is ~independent of m."""
    geometry = _llm(data, "Fig. 20", "geometry", "an LLM geometry table with row-norm statistics")
    assert isinstance(geometry, pd.DataFrame)
    families = _families(geometry)
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
    return fig


def fig21(data: FigureData) -> Figure:
    """Fig. 21: raw eval loss vs 1/m, roughly linear with a similar slope for each family and dataset."""
    losses = _llm(data, "Fig. 21", "losses", "LLM eval losses (family, model, m, dataset, loss)")
    assert isinstance(losses, pd.DataFrame)
    fig, axes = new_figure(width=7.6, height=4.6)
    ax = axes[0, 0]
    for index, family in enumerate(_families(losses)):
        for dataset, sub in losses[losses["family"] == family].groupby("dataset"):
            sub = sub.sort_values("m")
            ax.plot(
                1.0 / sub["m"],
                sub["loss"],
                marker=DATASET_MARKERS.get(str(dataset), "o"),
                ms=4,
                lw=0.8,
                color=f"C{index}",
                label=f"{family}, {dataset}",
            )
    ax.set_xlabel(axis_label("inv_m"))
    ax.set_ylabel(axis_label("llm_loss"))
    ax.set_title(f"Fig. 21: eval loss vs 1/m ({(data.llm or LLMData()).losses_source})", fontsize=9)
    ax.legend(fontsize=6, loc="upper left", bbox_to_anchor=(1.02, 1.0))  # 16 groups: beside the axes
    return fig


def token_frequency_exponent(counts: np.ndarray) -> float:
    """α of a token frequency–rank curve: ranks sampled uniformly in log10(rank), line fit (spec §2)."""
    ordered = np.sort(np.asarray(counts, dtype=float))[::-1]
    ordered = ordered[ordered > 0]
    if ordered.size < 3:
        raise ValueError(f"counts must have >= 3 positive entries, got {ordered.size}")
    ranks = np.unique(np.geomspace(1, ordered.size, TOKEN_FIT_POINTS).round().astype(int))
    return -fit_log_slope(ranks, ordered[ranks - 1]).slope


def fig22(data: FigureData) -> Figure:
    """Fig. 22: token frequency vs rank, tokenizers × datasets, with the fitted α (≈ 1 everywhere)."""
    freq = _llm(data, "Fig. 22", "token_freq", "token counts (tokenizer, dataset, rank, count)")
    assert isinstance(freq, pd.DataFrame)
    tokenizers, datasets = sorted(freq["tokenizer"].unique()), sorted(freq["dataset"].unique())
    fig, axes = new_figure(
        len(tokenizers),
        len(datasets),
        width=2.6 * len(datasets) + 0.5,
        height=2.2 * len(tokenizers) + 0.5,
        sharex=True,
        sharey=True,
    )
    for i, tokenizer in enumerate(tokenizers):
        for j, dataset in enumerate(datasets):
            ax = axes[i, j]
            sub = freq[(freq["tokenizer"] == tokenizer) & (freq["dataset"] == dataset)].sort_values("rank")
            sub = sub[sub["count"] > 0]
            if len(sub) >= 3:
                ax.plot(sub["rank"], sub["count"], lw=1)
                note(ax, f"α = {token_frequency_exponent(sub['count'].to_numpy()):.2f}", "upper right")
            set_loglog(ax)
            ax.set_title(f"{tokenizer} · {dataset}", fontsize=7)
    fig.supxlabel(axis_label("rank"), fontsize=9)
    fig.supylabel(axis_label("token_count"), fontsize=9)
    fig.suptitle("Fig. 22: token frequency vs rank", fontsize=10)
    return fig


def shared_log_slope(
    x: np.ndarray, y: np.ndarray, groups: np.ndarray
) -> tuple[float, float, dict[str, float]]:
    """ln y = c_g + s ln x by OLS with one intercept per group: (s, its standard error, {g: e^{c_g}})."""
    names, codes = np.unique(np.asarray(groups).astype(str), return_inverse=True)
    design = np.column_stack([np.log(x), np.eye(names.size)[codes]])
    target = np.log(y)
    coef, *_ = np.linalg.lstsq(design, target, rcond=None)
    dof = target.size - design.shape[1]
    if dof < 1:
        raise ValueError(
            f"shared slope over {names.size} groups needs > {design.shape[1]} points, got {target.size}"
        )
    sigma2 = float(np.sum((target - design @ coef) ** 2)) / dof
    cov = sigma2 * np.linalg.inv(design.T @ design)
    return float(coef[0]), float(np.sqrt(cov[0, 0])), dict(zip(names, np.exp(coef[1:]), strict=True))


def fig23a(data: FigureData) -> Figure:
    """Fig. 23a: parameters vs width for the open families, one shared exponent (paper 2.51; N ~ m³ late)."""
    models = _llm(data, "Fig. 23a", "models", "a model table (family, d_model, n_params)")
    assert isinstance(models, pd.DataFrame)
    slope, se, coefs = shared_log_slope(
        models["d_model"].to_numpy(float), models["n_params"].to_numpy(float), models["family"].to_numpy()
    )
    fig, axes = new_figure(width=5.8, height=4.4)
    ax = axes[0, 0]
    ms = np.geomspace(float(models["d_model"].min()), float(models["d_model"].max()), 50)
    for index, family in enumerate(_families(models)):
        sub = models[models["family"] == family]
        ax.scatter(sub["d_model"], sub["n_params"], s=20, color=f"C{index}", label=family)
        ax.plot(ms, coefs[family] * ms**slope, "-", lw=0.8, color=f"C{index}")
    anchor = geometric_anchor(models["d_model"].to_numpy(float), models["n_params"].to_numpy(float))
    guide_line(ax, ms, 3.0, anchor, "slope 3 guide")
    note(
        ax,
        f"shared exponent {fmt_pm(slope, se)}\n{pv.PAPER}: {pv.OPEN_FAMILIES_N_EXPONENT.text()}",
        "lower right",
    )
    set_loglog(ax)
    ax.set_xlabel(axis_label("d_model"))
    ax.set_ylabel(axis_label("n_params"))
    ax.set_title("Fig. 23a: parameters vs width, open LLM families", fontsize=9)
    ax.legend(fontsize=7, loc="upper left")
    return fig


def fig23b(data: FigureData) -> Figure:
    """Fig. 23b: Chinchilla N vs d_model (Hoffmann et al. Table A9): slope 2.52 ± 0.03."""
    table = _llm(data, "Fig. 23b", "chinchilla", "the Chinchilla Table A9 shapes")
    assert isinstance(table, pd.DataFrame)
    width = table["d_model"].to_numpy(float)
    params = table["params_million"].to_numpy(float) * 1e6
    line = fit_log_slope(width, params)
    fig, axes = new_figure(width=5.6, height=4.4)
    ax = axes[0, 0]
    ax.scatter(width, params, s=16, color="C0", label=f"Chinchilla models ({len(table)})")
    ws = np.geomspace(width.min(), width.max(), 50)
    ax.plot(
        ws,
        np.exp(line.intercept) * ws**line.slope,
        "k-",
        lw=1,
        label=f"OLS: N ∝ m^{fmt_pm(line.slope, line.slope_se)}",
    )
    paper = pv.CHINCHILLA_N_EXPONENT
    ax2 = ax.inset_axes((0.62, 0.1, 0.33, 0.3))
    mark_paper(ax2, [0], [paper.value], [paper.error or 0.0], pv.PAPER)
    ax2.errorbar([1], [line.slope], yerr=[line.slope_se], fmt="o", color="C0", capsize=3)
    ax2.set_xticks([0, 1], ["paper", "ours"], fontsize=6)
    ax2.set_xlim(-0.6, 1.6)
    ax2.tick_params(labelsize=6)
    ax2.set_title("exponent", fontsize=6)
    set_loglog(ax)
    ax.set_xlabel(axis_label("d_model"))
    ax.set_ylabel(axis_label("n_params"))
    ax.set_title(
        f"Fig. 23b: Chinchilla; α_m = {fmt(paper.value)} α_N = {pv.CHINCHILLA_ALPHA_M.text()}", fontsize=8
    )
    ax.legend(fontsize=7, loc="upper left")
    return fig
