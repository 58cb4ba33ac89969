"""The report's table of fitted exponents, each beside its theory line, the paper's number and a verdict."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from superscale.analysis import theory
from superscale.plots import paper_values as pv
from superscale.plots.data import FigureData
from superscale.plots.style import distribution_label, fmt, fmt_pm
from superscale.report.comparison import FitComparison, compare_fits
from superscale.store import schema


def theory_exponent(family: str, alpha: float, gamma: float) -> str:
    """The regime's prediction for α_m (the paper's theory: 1 strong, max{1, 2(α−1)} skewed, α − 1 weak)."""
    power = family == "power" and np.isfinite(alpha)
    if gamma < 0:
        if power and alpha >= 1:
            return f"max{{1, 2(α−1)}} = {fmt(theory.strong_exponent_envelope(alpha))}"
        return f"{fmt(theory.strong_exponent())} (strong)"
    if power and alpha > 1:
        return f"α − 1 = {fmt(theory.weak_exponent(alpha))}"
    return "not a power law (weak)"


def r2_text(comparison: FitComparison) -> str:
    """R², with the paper's Fig. 9a bar beside it for the large-model families (no error: a difference)."""
    r2 = comparison.value(schema.R2)
    text = f"{r2:.3f}"
    fit = comparison.fit
    family = str(fit.get(schema.FAMILY, ""))
    paper = pv.R2_LARGE.get((comparison.regime or "", family))
    large = pv.is_large_family(
        family,
        comparison.value(schema.ALPHA),
        comparison.value(schema.SCALE),
        comparison.value(schema.N_FEATURES),
    )
    if comparison.experiment == "E1" and paper is not None and large:
        difference = f"{r2 - paper.value:+.2f}".replace("-", "−")
        text += f" (paper {paper.text()}; ours {difference})"
    return text


def exponent_table(data: FigureData) -> pd.DataFrame:
    """One row per α_m fit: the group, α_m ± SE over its fit window, flags, the all-width fit where it
    differs, theory, the paper's number, the regime check and the computed verdict; sorted by group."""
    comparisons = compare_fits(data)
    if not comparisons:
        return pd.DataFrame()
    rows = []
    for c in comparisons:
        fit = c.fit
        family = str(fit.get(schema.FAMILY, ""))
        alpha, scale, gamma, density = (
            c.value(schema.ALPHA),
            c.value(schema.SCALE),
            c.value(schema.GAMMA),
            c.value(schema.DENSITY),
        )
        low, high = c.value(schema.EXPONENT_CI_LOW), c.value(schema.EXPONENT_CI_HIGH)
        name = str(fit.get(schema.EXPERIMENT, ""))
        beside = ""
        if c.all_widths is not None:
            other = FitComparison(c.all_widths, c.experiment, c.regime, None, c.check)
            beside = f"{fmt_pm(other.exponent, other.exponent_se)} ({other.window()})"
        rows.append(
            {
                "experiment": f"{name} ({c.experiment})" if c.experiment else name,
                "data": distribution_label(family, alpha, scale),
                "n": fmt(c.value(schema.N_FEATURES)),
                "γ": fmt(gamma),
                "E": fmt(density),
                "α_m": fmt_pm(c.exponent, c.exponent_se),
                "95% CI": f"{fmt(low)} – {fmt(high)}" if np.isfinite(low) and np.isfinite(high) else "",
                "R²": r2_text(c),
                "fit window": c.window(),
                "flags": c.flags(),
                "all widths": beside,
                "theory": theory_exponent(family, alpha, gamma),
                "paper": c.paper.text() if c.paper is not None else "",
                "regime (φ½)": c.check.text() if c.paper is not None else "",
                "verdict": c.verdict(),
                "_sort": (name, family, alpha, scale, density, gamma),
            }
        )
    table = pd.DataFrame(rows)
    if not (table["all widths"] != "").any():
        table = table.drop(columns="all widths")
    order = sorted(range(len(rows)), key=lambda i: tuple(_sortable(v) for v in rows[i]["_sort"]))
    return table.iloc[order].drop(columns="_sort").reset_index(drop=True)


def _sortable(value: object) -> tuple[int, object]:
    if isinstance(value, float) and math.isnan(value):
        return (1, 0.0)
    return (0, value)
