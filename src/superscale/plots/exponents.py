"""The model exponent α_m across regimes: Figs. 4b, 5e, 9a, 9b, 10 and 18."""

from __future__ import annotations

import contextlib
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from superscale.plots import paper_settings as ps
from superscale.plots import paper_values as pv
from superscale.plots.captions import (
    choose_gamma,
    flags_text,
    grid_text,
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
    done_runs,
    group_key,
    loglog_fits,
    main_population,
    require_columns,
    unit_density,
)
from superscale.plots.lines import draw_exponent_lines
from superscale.plots.style import (
    PAPER_COLOR,
    axis_label,
    fmt,
    new_figure,
    value_label,
)
from superscale.store import schema

FITS_SOURCE = "fits.parquet (run `superscale analyze`)"
N_LOW_AMBIGUITY = ps.N_LOW_AMBIGUITY  # Fig. 4b keeps the 9 (γ, α) cases with the smallest max ambiguity


def power_fits(data: FigureData, figure: str, min_points: int = 3, main: bool = True) -> pd.DataFrame:
    """α_m fits of power-law groups at unit density with ≥ `min_points` widths (the α-scan fits; with
    `main`, only the experiment that scans (α, γ) most, see `main_population`)."""
    fits = loglog_fits(data)
    if fits.empty:
        raise MissingData(f"{figure} needs α_m fits from {FITS_SOURCE}; this store has none.")
    fits = unit_density(fits[fits[schema.FAMILY] == "power"])
    if main:
        fits = main_population(fits, [schema.ALPHA, schema.GAMMA])
    if schema.N_POINTS in fits:
        fits = fits[fits[schema.N_POINTS] >= min_points]
    if fits.empty:
        raise MissingData(
            f"{figure} needs α_m fits of power-law groups over ≥ {min_points} values of m; "
            "this store has none."
        )
    return fits


def weak_fits_with_ambiguity(data: FigureData, figure: str = "Fig. 4b") -> pd.DataFrame:
    """Every weak-regime (γ > 0) α-scan fit with the max over its widths of the ambiguity ‖WWᵀ − B‖₂."""
    fits = power_fits(data, figure)
    fits = fits[fits[schema.GAMMA] > 0]
    if fits.empty:
        raise MissingData(f"{figure} needs γ > 0 runs at ≥ 3 values of m; this store has none.")
    runs = done_runs(data)
    require_columns(runs, [schema.AMBIGUITY], figure, "metrics.parquet (run `superscale analyze`)")
    cols = [c for c in schema.FIT_GROUP_COLUMNS if c in fits and c in runs]
    worst = {
        group_key(dict(zip(cols, key if isinstance(key, tuple) else (key,), strict=True)), cols): value
        for key, value in runs.groupby(cols, dropna=False)[schema.AMBIGUITY].max().items()
    }
    fits = fits.assign(max_ambiguity=[worst.get(group_key(r, cols), np.nan) for r in fits.to_dict("records")])
    return fits.dropna(subset=["max_ambiguity"])


def low_ambiguity_fits(data: FigureData, figure: str = "Fig. 4b") -> pd.DataFrame:
    """Fig. 4b's selection: weak-regime (γ > 0) groups with the smallest max-over-m ambiguity."""
    return weak_fits_with_ambiguity(data, figure).nsmallest(N_LOW_AMBIGUITY, "max_ambiguity")


def _draw_exponents(ax: Axes, fits: pd.DataFrame, label: str, **style: Any) -> None:
    se = fits.get(schema.EXPONENT_SE)
    ax.errorbar(
        fits[schema.ALPHA], fits[schema.EXPONENT], yerr=se, fmt="o", ms=5, capsize=2, label=label, **style
    )  # type: ignore[arg-type]


def _finish_exponent_axes(ax: Axes, title: str) -> None:
    ax.set_xlabel(axis_label(schema.ALPHA))
    ax.set_ylabel(axis_label(schema.EXPONENT))
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7)


@accepts_ax
def fig4b(data: FigureData) -> Figure:
    """Fig. 4b: α_m against α for the weak-regime (γ > 0) cases with the smallest max-over-m ambiguity,
    with the line α_m = α − 1.

    In the paper: the 9 (γ, α) cases with the smallest max ambiguity, at γ ≈ 0.1–0.56 and
    α ∈ {1.25, 1.5, 1.625, 1.75, 1.875, 2} (read from the plot), close to α_m = α − 1; error bars are the
    slope's standard error.
    """
    candidates = weak_fits_with_ambiguity(data)
    chosen = candidates.nsmallest(N_LOW_AMBIGUITY, "max_ambiguity")
    fig, axes = new_figure(width=5.6, height=4.4)
    ax = axes[0, 0]
    _draw_exponents(ax, chosen, f"{len(chosen)} lowest-ambiguity (γ, α) cases, γ > 0", color="tab:red")
    for row in chosen.to_dict("records"):
        ax.annotate(
            value_label(schema.GAMMA, row[schema.GAMMA]),
            (row[schema.ALPHA], row[schema.EXPONENT]),
            fontsize=6,
            xytext=(3, 3),
            textcoords="offset points",
        )
    alphas = np.append(chosen[schema.ALPHA].to_numpy(dtype=float), [1.0, 2.0])
    draw_exponent_lines(ax, alphas, ["weak"])
    _finish_exponent_axes(ax, f"Fig. 4b: weak superposition, α_m = α − 1 ({context_line(chosen)})")
    above = chosen[chosen[schema.ALPHA] > 1]
    gap = (
        f" Mean |α_m − (α − 1)| over the {plural(len(above), 'case')} with α > 1: "
        f"{fmt(float(np.mean(np.abs(above[schema.EXPONENT] - (above[schema.ALPHA] - 1)))))}."
        if not above.empty
        else " No drawn case has α > 1, where α_m = α − 1 applies."
    )
    text = (
        f"α_m against α for the {plural(len(chosen), '(γ, α) case')} with the smallest max-over-m ambiguity "
        f"of the {plural(len(candidates), 'weak-regime (γ > 0) fit')}: "
        f"{grid_text(chosen, [schema.GAMMA, schema.ALPHA])}{where_text(chosen)}; error bars: slope SE; "
        f"dashed α_m = α − 1.{gap}"
    )
    return set_caption(fig, text + flags_text(chosen))


@accepts_ax
def fig5e(data: FigureData) -> Figure:
    """Fig. 5e: strong-regime (γ < 0) α_m against α at three γ, with the weak cases of Fig. 4b and the
    lines α_m = 1, 2(α − 1) and α − 1.

    In the paper: γ = −0.78, −0.56, −0.33 (the 2nd–4th smallest of its grid) at n = 1000; α_m ≈ 0.8–1.1
    for α ≲ 1.25, rising to ≈ 2.2–2.3 at α = 2 (≈ 2.05 at γ = −1), roughly following max{1, 2(α − 1)};
    the weak points at α = 2 sit at ≈ 0.95–1.1.
    """
    fits = power_fits(data, "Fig. 5e")
    strong = fits[fits[schema.GAMMA] < 0]
    if strong.empty:
        raise MissingData("Fig. 5e needs α_m fits at γ < 0; this store has none.")
    choices = [choose_gamma(strong, "strong", target, "Fig. 5e") for target in ps.FIG5E_GAMMAS]
    chosen = sorted({c.value for c in choices})
    fig, axes = new_figure(width=6.0, height=4.6)
    ax = axes[0, 0]
    drawn = pd.concat([at(strong, schema.GAMMA, gamma) for gamma in chosen])
    for index, gamma in enumerate(chosen):
        _draw_exponents(
            ax, at(strong, schema.GAMMA, gamma), value_label(schema.GAMMA, gamma), color=f"C{index}"
        )
    weak = pd.DataFrame()
    with contextlib.suppress(MissingData):  # Fig. 4b's points are an overlay; Fig. 5e stands without them
        weak = low_ambiguity_fits(data, "Fig. 5e")
        _draw_exponents(ax, weak, "Fig. 4b cases (γ > 0)", color="tab:red", mfc="none")
    alphas = np.append(fits[schema.ALPHA].to_numpy(dtype=float), [1.0, 2.0])
    draw_exponent_lines(ax, alphas, ["strong", "skewed", "weak"])
    _mark_strong_bands(ax)
    _finish_exponent_axes(ax, f"Fig. 5e: strong superposition ({context_line(drawn)})")
    text = (
        f"α_m against α for {plural(len(drawn), 'strong-regime fit')} at "
        f"{values_text(schema.GAMMA, chosen)}; {values_text(schema.ALPHA, drawn[schema.ALPHA])}"
        f"{where_text(drawn)}; error bars: slope SE. "
    )
    text += (
        f"Open red: the {plural(len(weak), 'weak-regime case')} of Fig. 4b "
        f"({values_text(schema.GAMMA, weak[schema.GAMMA])}). "
        if not weak.empty
        else "No weak-regime case of Fig. 4b to overlay. "
    )
    (lo, hi), (lo2, hi2) = pv.STRONG_SMALL_ALPHA_BAND, pv.STRONG_ALPHA2_BAND
    text += (
        f"Black: the paper's read-off ranges, α_m ≈ {fmt(lo)}–{fmt(hi)} for "
        f"α ≲ {fmt(pv.STRONG_SMALL_ALPHA_MAX)} (dashed box) and ≈ {fmt(lo2)}–{fmt(hi2)} at α = 2 (bar)."
    )
    text += flags_text(pd.concat([drawn, weak]))
    return set_caption(fig, f"{text} {stand_in_text(choices)}")


def _mark_strong_bands(ax: Axes) -> None:
    """The paper's read-off ranges: α_m ≈ 0.8–1.1 for α ≲ 1.25 and ≈ 2–2.3 at α = 2."""
    lo, hi = pv.STRONG_SMALL_ALPHA_BAND
    xmin = ax.get_xlim()[0]
    ax.add_patch(
        Rectangle(
            (xmin, lo),
            pv.STRONG_SMALL_ALPHA_MAX - xmin,
            hi - lo,
            fc="none",
            ec=PAPER_COLOR,
            ls="--",
            lw=0.8,
            label=f"{pv.PAPER} (read from plot)",
        )
    )
    lo2, hi2 = pv.STRONG_ALPHA2_BAND
    ax.plot([2.0, 2.0], [lo2, hi2], color=PAPER_COLOR, lw=3, alpha=0.6)


@accepts_ax
def fig18(data: FigureData) -> Figure:
    """Fig. 18: strong-regime α_m against α for fits whose widths all have m²/2 > n, over the other
    strong fits in grey, with the lines α_m = 1 and 2(α − 1).

    In the paper: m = 50–150 at n = 1000 (so m²/2 > n), overlaid on Fig. 5e; α_m stays ≈ 1 for α < 1.5
    and rises only somewhat, below 2(α − 1), for α > 1.5.
    """
    fits = power_fits(data, "Fig. 18", main=False)  # the wide runs are their own experiment (E4)
    fits = fits[fits[schema.GAMMA] < 0]
    wide_mask = fits["m_min"].astype(float) ** 2 / 2 > fits[schema.N_FEATURES].astype(float)
    wide, narrow = fits[wide_mask], fits[~wide_mask]
    # the grey reference: the α scan's own strong fits at the wide models' n (Fig. 5e), no other experiment
    narrow = main_population(narrow[narrow[schema.N_FEATURES].isin(wide[schema.N_FEATURES])], [schema.ALPHA])
    if wide.empty:
        raise MissingData(
            "Fig. 18 needs strong-regime (γ < 0) α_m fits whose widths all have m²/2 > n "
            "(the paper's m = 50–150 at n = 1000); this store has none."
        )
    fig, axes = new_figure(width=6.0, height=4.6)
    ax = axes[0, 0]
    if not narrow.empty:
        _draw_exponents(ax, narrow, "m²/2 < n for some m (Fig. 5e)", color="0.6", mfc="none")
    _draw_exponents(
        ax, wide, f"m = {fmt(wide['m_min'].min())}–{fmt(wide['m_max'].max())} (m²/2 > n)", color="C3"
    )
    draw_exponent_lines(
        ax, np.append(fits[schema.ALPHA].to_numpy(dtype=float), [1.0, 2.0]), ["strong", "skewed"]
    )
    _finish_exponent_axes(ax, f"Fig. 18: wide models ({context_line(wide)})")
    text = (
        f"α_m against α for {plural(len(wide), 'strong-regime fit')} whose widths all have m²/2 > n: "
        f"m = {fmt(wide['m_min'].min())}–{fmt(wide['m_max'].max())}; "
        f"{grid_text(wide, [schema.GAMMA, schema.ALPHA])}{where_text(wide)}; error bars: slope SE."
    )
    if not narrow.empty:
        text += (
            f" Grey: {plural(len(narrow), 'strong-regime fit')} with some m²/2 < n at the same n: "
            f"{grid_text(narrow, [schema.GAMMA])}{where_text(narrow)}."
        )
    return set_caption(fig, text + flags_text(pd.concat([wide, narrow])))
