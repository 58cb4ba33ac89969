"""LLM scaling figures: loss against width (Figs. 6b, 21), token frequencies (Fig. 22), parameters
against width (Fig. 23)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from superscale.plots import paper_values as pv
from superscale.plots.captions import plural, set_caption
from superscale.plots.compose import accepts_ax
from superscale.plots.data import FigureData, LLMData, MissingData, WidthFit
from superscale.plots.llm import DATASET_MARKERS, family_names, llm_table
from superscale.plots.style import (
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

TOKEN_FIT_POINTS = 1000  # ranks uniform in log10(rank) for the Zipf fit (recipe §2; llm's PAPER_N_POINTS)


@accepts_ax
def fig6b(data: FigureData) -> Figure:
    """Fig. 6b: the width-limited LLM loss L − L_\\m against m for every family × dataset, with the
    shared fit C m^-α_m.

    In the paper: 4 families × 4 datasets (wikitext, C4, the Pile, BookCorpus); α_m = 0.91 ± 0.04.
    """
    losses = llm_table(data, "Fig. 6b", "losses", "LLM eval losses (family, model, m, dataset, loss)")
    fit = llm_table(data, "Fig. 6b", "width_fit", "a shared-exponent width fit of the LLM losses")
    assert isinstance(losses, pd.DataFrame) and isinstance(fit, WidthFit)
    from superscale.llm.widthfit import loss_minus_offset

    table = loss_minus_offset(losses, fit.offsets)
    dropped = int((table["loss_minus_offset"] <= 0).sum())
    table = table[table["loss_minus_offset"] > 0]
    if table.empty:
        raise MissingData("Fig. 6b needs LLM losses above their fitted offsets; none are.")
    fig, axes = new_figure(width=7.6, height=4.6)
    ax = axes[0, 0]
    for index, family in enumerate(family_names(table)):
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
    text = (
        f"L − L\\m against m for {plural(len(table), '(model, dataset) point')}: "
        f"{_groups_text(table)} ({source}); "
        f"line: the shared fit, α_m = {fmt_pm(fit.exponent, fit.exponent_se)}; "
        f"boxed: the paper's {pv.LLM_EXPONENT.text()}."
    )
    if dropped:
        text += f" {plural(dropped, 'point')} at or below its fitted offset not drawn (log axis)."
    return set_caption(fig, text)


def _groups_text(table: pd.DataFrame) -> str:
    """'4 families × 4 datasets (16 groups)', counted from the table."""
    families = table["family"].nunique()
    datasets = table["dataset"].nunique()
    groups = len(table[["family", "dataset"]].drop_duplicates())
    return (
        f"{plural(families, 'family', 'families')} × {plural(datasets, 'dataset')} "
        f"({plural(groups, 'group')}), m = {fmt(float(table['m'].min()))}–{fmt(float(table['m'].max()))}"
    )


@accepts_ax
def fig21(data: FigureData) -> Figure:
    """Fig. 21: raw LLM eval loss against 1/m, one line per family and dataset.

    In the paper: 4 families × 4 datasets; roughly linear in 1/m with a similar slope for each.
    """
    losses = llm_table(data, "Fig. 21", "losses", "LLM eval losses (family, model, m, dataset, loss)")
    assert isinstance(losses, pd.DataFrame)
    fig, axes = new_figure(width=7.6, height=4.6)
    ax = axes[0, 0]
    for index, family in enumerate(family_names(losses)):
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
    source = (data.llm or LLMData()).losses_source
    ax.set_title(f"Fig. 21: eval loss vs 1/m ({source})", fontsize=9)
    ax.legend(fontsize=6, loc="upper left", bbox_to_anchor=(1.02, 1.0))  # 16 groups: beside the axes
    points = plural(len(losses), "(model, dataset) point")
    text = f"Eval loss against 1/m for {points}: {_groups_text(losses)} ({source})."
    return set_caption(fig, text)


@accepts_ax
def fig22(data: FigureData) -> Figure:
    """Fig. 22: token count against rank, one panel per tokenizer and dataset, with the fitted α.

    In the paper: 4 tokenizers (Pythia, OPT, Qwen2.5, GPT-2) × 4 datasets (wikitext, C4, the Pile,
    BookCorpus); fitted α ≈ 1 everywhere.
    """
    from superscale.llm.frequencies import fit_zipf

    freq = llm_table(data, "Fig. 22", "token_freq", "token counts (tokenizer, dataset, rank, count)")
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
    exponents = []
    for i, tokenizer in enumerate(tokenizers):
        for j, dataset in enumerate(datasets):
            ax = axes[i, j]
            sub = freq[(freq["tokenizer"] == tokenizer) & (freq["dataset"] == dataset)].sort_values("rank")
            sub = sub[sub["count"] > 0]
            if len(sub) >= 3:
                ax.plot(sub["rank"], sub["count"], lw=1)
                exponents.append(fit_zipf(sub["count"].to_numpy(), n_points=TOKEN_FIT_POINTS).alpha)
                note(ax, f"α = {exponents[-1]:.2f}", "upper right")
            set_loglog(ax)
            ax.set_title(f"{tokenizer} · {dataset}", fontsize=7)
    fig.supxlabel(axis_label("rank"), fontsize=9)
    fig.supylabel(axis_label("token_count"), fontsize=9)
    fig.suptitle("Fig. 22: token frequency vs rank", fontsize=10)
    text = (
        f"Token count against rank for {plural(len(tokenizers), 'tokenizer')} "
        f"({', '.join(map(str, tokenizers))}) × {plural(len(datasets), 'dataset')} "
        f"({', '.join(map(str, datasets))}): {plural(len(exponents), 'panel')} with data"
    )
    text += (
        f"; fitted α from {min(exponents):.2f} to {max(exponents):.2f} "
        f"({TOKEN_FIT_POINTS} ranks sampled evenly in log rank)."
        if exponents
        else "."
    )
    return set_caption(fig, text)


@accepts_ax
def fig23a(data: FigureData) -> Figure:
    """Fig. 23a: parameter count N against width m for the open LLM families, with one shared exponent
    and per-family coefficients, and a slope-3 guide.

    In the paper: the four families share N ∝ m^2.51, with N ∼ m³ at large m.
    """
    models = llm_table(data, "Fig. 23a", "models", "a model table (family, d_model, n_params)")
    assert isinstance(models, pd.DataFrame)
    from superscale.llm.widthfit import open_families_slope

    shared = open_families_slope(models)
    slope, se, coefs = shared.slope, shared.slope_se, shared.coefficients
    fig, axes = new_figure(width=5.8, height=4.4)
    ax = axes[0, 0]
    ms = np.geomspace(float(models["d_model"].min()), float(models["d_model"].max()), 50)
    for index, family in enumerate(family_names(models)):
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
    families = family_names(models)
    text = (
        f"N against m for {plural(len(models), 'model')} in {plural(len(families), 'family', 'families')} "
        f"({', '.join(families)}); shared log–log slope {fmt_pm(slope, se)} with one coefficient per family; "
        f"boxed: the paper's {pv.OPEN_FAMILIES_N_EXPONENT.text()}."
    )
    return set_caption(fig, text)


@accepts_ax
def fig23b(data: FigureData) -> Figure:
    """Fig. 23b: parameter count N against d_model for the Chinchilla models (Hoffmann et al. Table A9),
    with the OLS line; the inset sets its slope beside the paper's.

    In the paper: slope 2.52 ± 0.03, so α_m = 2.52 α_N = 0.88 ± 0.06 with α_N = 0.35 ± 0.02.
    """
    table = llm_table(data, "Fig. 23b", "chinchilla", "the Chinchilla Table A9 shapes")
    assert isinstance(table, pd.DataFrame)
    from superscale.llm.widthfit import chinchilla_slope

    width = table["d_model"].to_numpy(float)
    params = table["params_million"].to_numpy(float) * 1e6
    line = chinchilla_slope(table)
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
    text = (
        f"N against d_model for {plural(len(table), 'Chinchilla model')}, "
        f"d_model = {fmt(float(width.min()))}–{fmt(float(width.max()))}; "
        f"OLS slope {fmt_pm(line.slope, line.slope_se)}; "
        f"inset: that slope beside the paper's {paper.text()}."
    )
    return set_caption(fig, text)
