"""Activation density E changes the prefactor, not the exponent: Figs. 14a, 14b and 15."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from superscale.plots import paper_settings as ps
from superscale.plots import paper_values as pv
from superscale.plots.captions import (
    Choice,
    choose_gamma,
    choose_value,
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
    fit_for,
    loglog_fits,
    main_population,
    mean_over_seeds,
    nearest,
)
from superscale.plots.exponents import FITS_SOURCE
from superscale.plots.lines import draw_fit_line, draw_width_series
from superscale.plots.style import (
    DENSITY_CMAP,
    axis_label,
    fmt,
    fmt_pm,
    gamma_palette,
    new_figure,
    note,
    set_loglog,
    value_colors,
    value_label,
)
from superscale.store import schema

N_DENSITIES_SHOWN = ps.N_DENSITIES_SHOWN  # Fig. 14b shows 5 of the 9 densities


def density_scan(frame: pd.DataFrame, figure: str) -> pd.DataFrame:
    """Power-law rows at α ≈ 1 over ≥ 2 activation densities (the E3 population; see `density_alpha`)."""
    if frame.empty or schema.DENSITY not in frame:
        raise MissingData(f"{figure} needs runs at ≥ 2 activation densities E; this store has none.")
    power = frame[frame[schema.FAMILY] == "power"]
    if power.empty:
        raise MissingData(
            f"{figure} needs power-law runs at ≥ 2 activation densities E; this store has none."
        )
    scan = at(power, schema.ALPHA, nearest(power[schema.ALPHA], ps.FIG14_ALPHA))
    # only the experiment that scans E: the α scan's and the wide models' α = 1 runs sit at E = 1 too
    scan = main_population(scan, [schema.DENSITY])
    if scan[schema.DENSITY].nunique() < 2:
        raise MissingData(
            f"{figure} needs runs at ≥ 2 activation densities E; this store has "
            f"{scan[schema.DENSITY].nunique()}."
        )
    return scan


def density_alpha(scan: pd.DataFrame) -> Choice:
    """The α the density scan was drawn at, beside the paper's α = 1."""
    return Choice(schema.ALPHA, ps.FIG14_ALPHA, float(scan[schema.ALPHA].iloc[0]))


def _linear_r2(x: np.ndarray, y: np.ndarray) -> float:
    """R² of the least-squares line y = a + b x (NaN with fewer than 3 points)."""
    if x.size < 3 or np.ptp(y) == 0:
        return float("nan")
    residual = y - np.polyval(np.polyfit(x, y, 1), x)
    return float(1 - np.sum(residual**2) / np.sum((y - y.mean()) ** 2))


@accepts_ax
def fig14a(data: FigureData) -> Figure:
    """Fig. 14a: final loss against activation density E at one m, one line per γ.

    In the paper: m = 63, α = 1, n = 1000, every γ, the nine E = 1 … 7.49; the loss is roughly linear in E.
    """
    scan = density_scan(done_runs(data), "Fig. 14a")
    width = choose_value(scan, schema.M_HIDDEN, ps.FIG14A_M)
    runs = at(scan, schema.M_HIDDEN, width.value)
    fig, axes = new_figure(width=5.8, height=4.4)
    ax = axes[0, 0]
    colors = gamma_palette(runs[schema.GAMMA])
    r2s = []
    for gamma, sub in runs.groupby(schema.GAMMA):
        agg = mean_over_seeds(sub, [schema.DENSITY], schema.FINAL_LOSS)
        ax.errorbar(
            agg[schema.DENSITY],
            agg["value"],
            yerr=agg["spread"],
            fmt="o-",
            ms=3,
            lw=1,
            color=colors[float(gamma)],
            label=value_label(schema.GAMMA, float(gamma)),
        )
        r2s.append(_linear_r2(agg[schema.DENSITY].to_numpy(float), agg["value"].to_numpy(float)))
    ax.set_xlabel(axis_label(schema.DENSITY))
    ax.set_ylabel(axis_label(schema.FINAL_LOSS))
    ax.set_title(f"Fig. 14a: {value_label(schema.M_HIDDEN, width.value)} ({context_line(runs)})", fontsize=9)
    ax.legend(fontsize=6, ncol=2)
    finite = [r for r in r2s if np.isfinite(r)]
    if not finite:
        linear = "Too few densities per γ for a line."
    elif fmt(min(finite)) == fmt(max(finite)):
        linear = f"R² of a straight line in E: {fmt(min(finite))} for each of the {len(finite)} γ."
    else:
        linear = f"R² of a straight line in E per γ: {fmt(min(finite))} to {fmt(max(finite))}."
    text = (
        f"Final loss against E for {plural(len(runs), 'run')} at "
        f"{value_label(schema.M_HIDDEN, width.value)}, "
        f"{value_label(schema.ALPHA, float(runs[schema.ALPHA].iloc[0]))}: "
        f"{grid_text(runs, [schema.GAMMA, schema.DENSITY])}{where_text(runs)}; one line per γ. {linear}"
    )
    return set_caption(fig, f"{text} {stand_in_text([width, density_alpha(runs)])}")


@accepts_ax
def fig14b(data: FigureData) -> Figure:
    """Fig. 14b: strong-regime final loss against m at up to five activation densities E, with the fitted
    α_m; the paper's five exponents are boxed.

    In the paper: 5 of the 9 E in the strong regime (its γ is not stated), α = 1, n = 1000;
    α_m = 1.12 ± 0.06, 1.12 ± 0.08, 1.1 ± 0.1, 1.1 ± 0.1, 1.1 ± 0.2 in order of increasing E.
    """
    scan = density_scan(done_runs(data), "Fig. 14b")
    gamma = choose_gamma(scan, "strong", ps.STRONG_SMALL_GAMMA, "Fig. 14b").value
    runs = at(scan, schema.GAMMA, gamma)
    all_densities = np.sort(runs[schema.DENSITY].unique())
    densities = all_densities
    if densities.size > N_DENSITIES_SHOWN:
        densities = densities[np.linspace(0, densities.size - 1, N_DENSITIES_SHOWN).round().astype(int)]
    fits = loglog_fits(data)
    fig, axes = new_figure(width=6.0, height=4.6)
    ax = axes[0, 0]
    norm, cmap = value_colors(densities, DENSITY_CMAP)
    fitted = []
    fit_rows = []
    for density in densities:
        sub = at(runs, schema.DENSITY, density)
        agg = mean_over_seeds(sub, [schema.M_HIDDEN], schema.FINAL_LOSS)
        label = value_label(schema.DENSITY, density)
        fit = fit_for(fits, sub.iloc[0].to_dict())
        color = cmap(0.85 * norm(density))
        if fit is not None:
            label += f": α_m = {fmt_pm(fit[schema.EXPONENT], fit.get(schema.EXPONENT_SE))}"
            draw_fit_line(ax, agg[schema.M_HIDDEN], agg["value"], fit.to_dict(), color)
            fitted.append(label)
            fit_rows.append(fit)
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
    drawn = runs[np.isin(runs[schema.DENSITY].to_numpy(float), densities)]
    text = (
        f"Final loss against m for {plural(len(drawn), 'run')} at {value_label(schema.GAMMA, gamma)}, "
        f"{value_label(schema.ALPHA, float(drawn[schema.ALPHA].iloc[0]))}: {len(densities)} of the "
        f"{len(all_densities)} densities ({values_text(schema.DENSITY, densities)}); "
        f"{grid_text(drawn, [schema.M_HIDDEN])}{where_text(drawn)}. "
    )
    text += f"Fits: {'; '.join(fitted)}." if fitted else "No α_m fit of these groups in fits.parquet."
    text += flags_text(pd.DataFrame(fit_rows))
    text += f" Boxed: the paper's {len(pv.DENSITY_EXPONENTS)} α_m, at E it does not name."
    return set_caption(fig, f"{text} {stand_in_text([density_alpha(drawn)])}")


@accepts_ax
def fig15(data: FigureData) -> Figure:
    """Fig. 15: α_m against activation density E, one line per γ, with SE error bars.

    In the paper: every γ of its grid at α = 1, n = 1000, nine E; α_m is flat in E at every γ.
    """
    fits = loglog_fits(data)
    if fits.empty:
        raise MissingData(f"Fig. 15 needs α_m fits from {FITS_SOURCE}; this store has none.")
    scan = density_scan(fits, "Fig. 15")
    fig, axes = new_figure(width=5.8, height=4.4)
    ax = axes[0, 0]
    colors = gamma_palette(scan[schema.GAMMA])
    spreads = []
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
            color=colors[float(gamma)],
            label=value_label(schema.GAMMA, float(gamma)),
        )
        if len(sub) > 1:
            spreads.append(float(np.ptp(sub[schema.EXPONENT].to_numpy(float))))
    ax.set_xlabel(axis_label(schema.DENSITY))
    ax.set_ylabel(axis_label(schema.EXPONENT))
    ax.set_title(f"Fig. 15: exponent vs activation density ({context_line(scan)})", fontsize=9)
    ax.legend(fontsize=6, ncol=2)
    text = (
        f"α_m against E for {plural(len(scan), 'log–log fit')}: "
        f"{grid_text(scan, [schema.GAMMA, schema.DENSITY])}{where_text(scan)}; one line per γ."
    )
    if spreads:
        text += f" Largest change of α_m across E within one γ: {fmt(round(max(spreads), 4))}."
    text += flags_text(scan)
    return set_caption(fig, f"{text} {stand_in_text([density_alpha(scan)])}")
