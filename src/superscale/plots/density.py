"""Activation density E changes the prefactor, not the exponent: Figs. 14a, 14b and 15."""

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
    done_runs,
    fit_for,
    loglog_fits,
    mean_over_seeds,
    nearest,
    pick_gamma,
)
from superscale.plots.exponents import FITS_SOURCE
from superscale.plots.lines import draw_fit_line, draw_width_series
from superscale.plots.style import (
    DENSITY_CMAP,
    GAMMA_CMAP,
    add_colorbar,
    axis_label,
    fmt_pm,
    new_figure,
    note,
    set_loglog,
    value_colors,
    value_label,
)

N_DENSITIES_SHOWN = 5  # Fig. 14b shows 5 of the 9 densities


def density_scan(frame: pd.DataFrame, figure: str) -> pd.DataFrame:
    """Power-law rows at α ≈ 1 over ≥ 2 activation densities (the E3 population)."""
    if frame.empty or schema.DENSITY not in frame:
        raise MissingData(f"{figure} needs runs at ≥ 2 activation densities E; this store has none.")
    power = frame[frame[schema.FAMILY] == "power"]
    if power.empty:
        raise MissingData(
            f"{figure} needs power-law runs at ≥ 2 activation densities E; this store has none."
        )
    scan = at(power, schema.ALPHA, nearest(power[schema.ALPHA], 1.0))
    if scan[schema.DENSITY].nunique() < 2:
        raise MissingData(
            f"{figure} needs runs at ≥ 2 activation densities E; this store has "
            f"{scan[schema.DENSITY].nunique()}."
        )
    return scan


def fig14a(data: FigureData) -> Figure:
    """Fig. 14a: loss vs E at m ≈ 63 for every γ, roughly linear in E."""
    scan = density_scan(done_runs(data), "Fig. 14a")
    width = nearest(scan[schema.M_HIDDEN], 63.0)
    runs = at(scan, schema.M_HIDDEN, width)
    fig, axes = new_figure(width=5.8, height=4.4)
    ax = axes[0, 0]
    norm, cmap = value_colors(runs[schema.GAMMA], GAMMA_CMAP)
    for gamma, sub in runs.groupby(schema.GAMMA):
        agg = mean_over_seeds(sub, [schema.DENSITY], schema.FINAL_LOSS)
        ax.errorbar(
            agg[schema.DENSITY],
            agg["value"],
            yerr=agg["spread"],
            fmt="o-",
            ms=3,
            lw=1,
            color=cmap(norm(gamma)),
        )
    add_colorbar(fig, ax, norm, cmap, schema.GAMMA)
    ax.set_xlabel(axis_label(schema.DENSITY))
    ax.set_ylabel(axis_label(schema.FINAL_LOSS))
    ax.set_title(f"Fig. 14a: {value_label(schema.M_HIDDEN, width)} ({context_line(runs)})", fontsize=9)
    return fig


def fig14b(data: FigureData) -> Figure:
    """Fig. 14b: strong-regime loss vs m at 5 densities with fitted α_m; the paper's five exponents noted."""
    scan = density_scan(done_runs(data), "Fig. 14b")
    gamma = pick_gamma(scan, "strong", -1.0, "Fig. 14b")
    runs = at(scan, schema.GAMMA, gamma)
    densities = np.sort(runs[schema.DENSITY].unique())
    if densities.size > N_DENSITIES_SHOWN:
        densities = densities[np.linspace(0, densities.size - 1, N_DENSITIES_SHOWN).round().astype(int)]
    fits = loglog_fits(data)
    fig, axes = new_figure(width=6.0, height=4.6)
    ax = axes[0, 0]
    norm, cmap = value_colors(densities, DENSITY_CMAP)
    for density in densities:
        sub = at(runs, schema.DENSITY, density)
        agg = mean_over_seeds(sub, [schema.M_HIDDEN], schema.FINAL_LOSS)
        label = value_label(schema.DENSITY, density)
        fit = fit_for(fits, sub.iloc[0].to_dict())
        color = cmap(0.85 * norm(density))
        if fit is not None:
            label += f": α_m = {fmt_pm(fit[schema.EXPONENT], fit.get(schema.EXPONENT_SE))}"
            draw_fit_line(ax, agg[schema.M_HIDDEN], agg["value"], fit.to_dict(), color)
        draw_width_series(ax, agg[schema.M_HIDDEN], agg["value"], agg["spread"], label, color)
    note(
        ax,
        f"{pv.PAPER}, α_m at increasing E:\n"
        + ", ".join(fmt_pm(v.value, v.error) for v in pv.DENSITY_EXPONENTS),
    )
    set_loglog(ax)
    ax.set_xlabel(axis_label(schema.M_HIDDEN))
    ax.set_ylabel(axis_label(schema.FINAL_LOSS))
    ax.set_title(f"Fig. 14b: {value_label(schema.GAMMA, gamma)} ({context_line(runs)})", fontsize=9)
    ax.legend(fontsize=7, loc="upper right")
    return fig


def fig15(data: FigureData) -> Figure:
    """Fig. 15: α_m vs E for every γ, flat in E."""
    fits = loglog_fits(data)
    if fits.empty:
        raise MissingData(f"Fig. 15 needs α_m fits from {FITS_SOURCE}; this store has none.")
    scan = density_scan(fits, "Fig. 15")
    fig, axes = new_figure(width=5.8, height=4.4)
    ax = axes[0, 0]
    norm, cmap = value_colors(scan[schema.GAMMA], GAMMA_CMAP)
    for gamma, sub in scan.groupby(schema.GAMMA):
        sub = sub.sort_values(schema.DENSITY)
        se = sub.get(schema.EXPONENT_SE)
        ax.errorbar(
            sub[schema.DENSITY],
            sub[schema.EXPONENT],
            yerr=se,
            fmt="o-",
            ms=3,
            lw=1,
            capsize=2,
            color=cmap(norm(gamma)),
        )
    add_colorbar(fig, ax, norm, cmap, schema.GAMMA)
    ax.set_xlabel(axis_label(schema.DENSITY))
    ax.set_ylabel(axis_label(schema.EXPONENT))
    ax.set_title(f"Fig. 15: exponent vs activation density ({context_line(scan)})", fontsize=9)
    return fig
