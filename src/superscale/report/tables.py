"""The report's table of fitted exponents, each beside its theory line and the paper's number."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from superscale import schema, theory
from superscale.plots import paper_values as pv
from superscale.plots.data import FigureData, loglog_fits
from superscale.plots.style import distribution_label, fmt, fmt_pm
from superscale.report.verdicts import _is_large_family


def theory_exponent(family: str, alpha: float, gamma: float) -> str:
    """The regime's prediction for α_m (PAPER_SPEC §3), as text."""
    power = family == "power" and np.isfinite(alpha)
    if gamma < 0:
        if power and alpha >= 1:
            return f"max{{1, 2(α−1)}} = {fmt(theory.strong_exponent_envelope(alpha))}"
        return f"{fmt(theory.strong_exponent())} (strong)"
    if power and alpha > 1:
        return f"α − 1 = {fmt(theory.weak_exponent(alpha))}"
    return "not a power law (weak)"


def paper_exponent(family: str, alpha: float, scale: float, gamma: float, density: float) -> str:
    """The published α_m (or R²) this group should be compared with, or '' when the paper gives none."""
    dist = (family, alpha, scale)
    if gamma < 0 and _is_large_family(dist) and family in pv.STRONG_LARGE_EXPONENT:
        return pv.STRONG_LARGE_EXPONENT[family].text()
    if gamma > 0 and _is_large_family(dist) and ("weak", family) in pv.R2_LARGE:
        return "R² " + pv.R2_LARGE[("weak", family)].text()
    if gamma < 0 and family == "power" and np.isfinite(density) and not math.isclose(density, 1.0):
        values = [v.value for v in pv.DENSITY_EXPONENTS]
        return f"{fmt(min(values))}–{fmt(max(values))} (Fig. 14b, E > 1)"
    return ""


def exponent_table(data: FigureData) -> pd.DataFrame:
    """One row per α_m fit: the group, α_m ± SE, CI, R², widths, theory and paper; sorted by group."""
    fits = loglog_fits(data)
    if fits.empty:
        return pd.DataFrame()
    rows = []
    for fit in fits.to_dict("records"):
        family = str(fit.get(schema.FAMILY, ""))
        alpha = float(fit.get(schema.ALPHA, math.nan))
        scale = float(fit.get(schema.SCALE, math.nan))
        gamma = float(fit.get(schema.GAMMA, math.nan))
        density = float(fit.get(schema.DENSITY, math.nan))
        low, high = fit.get(schema.EXPONENT_CI_LOW, math.nan), fit.get(schema.EXPONENT_CI_HIGH, math.nan)
        rows.append(
            {
                "experiment": str(fit.get(schema.EXPERIMENT, "")),
                "data": distribution_label(family, alpha, scale),
                "n": fmt(float(fit.get(schema.N_FEATURES, math.nan))),
                "γ": fmt(gamma),
                "E": fmt(density),
                "α_m": fmt_pm(float(fit[schema.EXPONENT]), float(fit.get(schema.EXPONENT_SE, math.nan))),
                "95% CI": f"{fmt(low)} – {fmt(high)}" if np.isfinite(low) and np.isfinite(high) else "",
                "R²": f"{float(fit[schema.R2]):.3f}",
                "m": f"{fmt(fit.get('m_min', math.nan))}–{fmt(fit.get('m_max', math.nan))}",
                "theory": theory_exponent(family, alpha, gamma),
                "paper": paper_exponent(family, alpha, scale, gamma, density),
                "_sort": (str(fit.get(schema.EXPERIMENT, "")), family, alpha, scale, density, gamma),
            }
        )
    table = pd.DataFrame(rows)
    order = sorted(range(len(rows)), key=lambda i: tuple(_sortable(v) for v in rows[i]["_sort"]))
    return table.iloc[order].drop(columns="_sort").reset_index(drop=True)


def _sortable(value: object) -> tuple[int, object]:
    if isinstance(value, float) and math.isnan(value):
        return (1, 0.0)
    return (0, value)
