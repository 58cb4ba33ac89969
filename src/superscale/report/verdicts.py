"""One-line verdicts generated from the fits: what we measured, beside what the paper reports.

Each function returns sentences (possibly none); a sentence never contains a number that is not
computed from the store or quoted from `plots.paper_values`.
"""

from __future__ import annotations

import contextlib
import math

import numpy as np
import pandas as pd

from superscale import schema, theory
from superscale.plots import paper_values as pv
from superscale.plots.data import (
    FigureData,
    MissingData,
    distributions,
    done_runs,
    fit_for,
    loglog_fits,
    of_distribution,
)
from superscale.plots.exponents import low_ambiguity_fits, power_fits
from superscale.plots.loss import regime_runs
from superscale.plots.style import distribution_label, fmt, fmt_pm

STRONG_ALPHA_MAX = 1.5  # "α_m ≈ 1 for α < 1.5" (PAPER_SPEC §3.3)


def agreement(value: float, err: float, paper: float, paper_err: float | None) -> str:
    """'agrees (0.4σ)' or 'differs (3.1σ)' using both errors in quadrature."""
    scale = math.hypot(err if np.isfinite(err) else 0.0, paper_err or 0.0)
    if scale <= 0:
        return ""
    z = abs(value - paper) / scale
    return f"{'agrees' if z < 2 else 'differs'} ({z:.1f}σ)"


def _mean_sd(values: pd.Series) -> str:
    values = values.dropna()
    if len(values) < 2:
        return fmt_pm(float(values.iloc[0]), None) if len(values) else "n/a"
    return fmt_pm(float(values.mean()), float(values.std(ddof=1)))


def large_model_verdicts(data: FigureData) -> list[str]:
    """Strong-regime α_m per family against Fig. 1d; weak-regime R² against Fig. 9a."""
    fits = loglog_fits(data)
    out: list[str] = []
    if fits.empty:
        return out
    for regime in ("strong", "weak"):
        try:
            runs, gamma = regime_runs(data, regime, "verdict")
        except MissingData:
            continue
        for dist in distributions(runs):
            fit = fit_for(fits, of_distribution(runs, dist).iloc[0].to_dict())
            if fit is None:
                continue
            exponent, se, r2 = (
                float(fit[schema.EXPONENT]),
                float(fit.get(schema.EXPONENT_SE, np.nan)),
                float(fit[schema.R2]),
            )
            text = (
                f"{regime} regime (γ = {fmt(gamma)}), {distribution_label(*dist)}: "
                f"α_m = {fmt_pm(exponent, se)}, R² = {r2:.3f}"
            )
            paper = pv.STRONG_LARGE_EXPONENT.get(dist[0]) if regime == "strong" else None
            if paper is not None and _is_large_family(dist):
                text += f"; paper: {paper.text()}, {agreement(exponent, se, paper.value, paper.error)}"
            paper_r2 = pv.R2_LARGE.get((regime, dist[0]))
            if paper_r2 is not None and _is_large_family(dist):
                text += f"; paper R² {paper_r2.text()}"
            out.append(text)
    return out


def _is_large_family(dist: tuple[str, float, float]) -> bool:
    family, alpha, scale = dist
    if family == "power":
        return bool(np.isclose(alpha, pv.LARGE_POWER_ALPHA))
    if family == "exponential":
        return bool(np.isclose(scale, pv.LARGE_EXPONENTIAL_SCALE))
    return family == "linear"


def alpha_scan_verdicts(data: FigureData) -> list[str]:
    """Strong α_m ≈ 1 for α ≤ 1.5, the skewed rise, weak α_m ≈ α − 1 (Figs. 4b, 5e, 9b)."""
    try:
        fits = power_fits(data, "verdict")
    except MissingData:
        return []
    out: list[str] = []
    strong = fits[fits[schema.GAMMA] < 0]
    flat = strong[strong[schema.ALPHA] <= STRONG_ALPHA_MAX]
    if not flat.empty:
        out.append(
            f"strong regime: α_m = {_mean_sd(flat[schema.EXPONENT])} "
            f"(mean ± sd over {len(flat)} fits, γ < 0) "
            f"over data exponents {fmt(flat[schema.ALPHA].min())}–{fmt(flat[schema.ALPHA].max())}; "
            f"paper: ≈ {fmt(theory.strong_exponent())}"
        )
    top = strong[strong[schema.ALPHA] > STRONG_ALPHA_MAX]
    if not top.empty:
        alpha = float(top[schema.ALPHA].max())
        at_top = top[np.isclose(top[schema.ALPHA], alpha)]
        lo, hi = pv.STRONG_ALPHA2_BAND
        out.append(
            f"skewed strong regime: at α = {fmt(alpha)}, α_m = {_mean_sd(at_top[schema.EXPONENT])}; "
            f"theory max{{1, 2(α − 1)}} = {fmt(theory.strong_exponent_envelope(alpha))}; "
            f"paper at α = 2: ≈ {fmt(lo)}–{fmt(hi)}"
        )
    try:
        weak = low_ambiguity_fits(data, "verdict")
    except MissingData:
        weak = pd.DataFrame()
    weak = weak[weak[schema.ALPHA] > 1] if not weak.empty else weak
    if len(weak) >= 2:
        predicted = weak[schema.ALPHA] - 1
        gap = (weak[schema.EXPONENT] - predicted).abs().mean()
        corr = (
            np.corrcoef(weak[schema.ALPHA], weak[schema.EXPONENT])[0, 1]
            if weak[schema.ALPHA].nunique() > 1
            else math.nan
        )
        out.append(
            f"weak regime (lowest-ambiguity γ > 0 cases, α > 1): "
            f"mean |α_m − (α − 1)| = {gap:.2f} over {len(weak)} fits, "
            f"correlation of α_m with α = {fmt(corr, 2)}; paper: α_m ≈ α − 1"
        )
    return out


def density_verdicts(data: FigureData) -> list[str]:
    """α_m flat in the activation density E (Figs. 14b, 15)."""
    fits = loglog_fits(data)
    if fits.empty or schema.DENSITY not in fits:
        return []
    power = fits[(fits[schema.FAMILY] == "power") & (fits[schema.GAMMA] < 0)]
    if power[schema.DENSITY].nunique() < 2:
        return []
    slope = np.polyfit(power[schema.DENSITY].astype(float), power[schema.EXPONENT].astype(float), 1)[0]
    papers = ", ".join(fmt_pm(v.value, v.error, 1) for v in pv.DENSITY_EXPONENTS)
    return [
        f"strong regime over E = {fmt(power[schema.DENSITY].min())}–{fmt(power[schema.DENSITY].max())}: "
        f"α_m = {_mean_sd(power[schema.EXPONENT])}, change per unit E = {slope:+.3f}; "
        f"paper (Fig. 14b): {papers}"
    ]


def llm_verdicts(data: FigureData) -> list[str]:
    """The LLM width exponent and the Chinchilla inference (Figs. 6b, 23b)."""
    llm = data.llm
    out: list[str] = []
    if llm is None:
        return out
    if llm.width_fit is not None:
        fit = llm.width_fit
        paper = pv.LLM_EXPONENT
        out.append(
            f"LLM width exponent ({llm.losses_source}): α_m = {fmt_pm(fit.exponent, fit.exponent_se)}; "
            f"paper: {paper.text()}, {agreement(fit.exponent, fit.exponent_se, paper.value, paper.error)}"
        )
    if llm.chinchilla is not None and not llm.chinchilla.empty:
        from superscale.fit.loglog import fit_log_slope

        line = fit_log_slope(llm.chinchilla["d_model"], llm.chinchilla["params_million"] * 1e6)
        alpha_n = pv.CHINCHILLA_ALPHA_N
        inferred = theory.width_exponent_from_params(
            line.slope, line.slope_se, alpha_n.value, alpha_n.error or 0.0
        )
        out.append(
            f"Chinchilla: N ∝ m^{fmt_pm(line.slope, line.slope_se)}; "
            f"paper {pv.CHINCHILLA_N_EXPONENT.text()}; "
            f"with α_N = {alpha_n.text()}: α_m = {fmt_pm(inferred.exponent, inferred.error_linear, 1)} "
            f"(paper {pv.CHINCHILLA_ALPHA_M.text()}; quadrature error ± {inferred.error_quadrature:.2f})"
        )
    return out


def run_summary(data: FigureData) -> list[tuple[str, str]]:
    """(what, value) rows describing the store: runs, grid values, time."""
    runs = data.runs
    if runs.empty:
        return [("runs", "none (no toy-model store in this directory)")]
    done = done_runs(data)
    rows = [("runs", f"{len(runs)} ({len(done)} done, {len(runs) - len(done)} not done)")]
    for col, name in (
        (schema.EXPERIMENT, "experiments"),
        (schema.FAMILY, "families"),
        (schema.N_FEATURES, "n"),
        (schema.M_HIDDEN, "m"),
        (schema.GAMMA, "γ"),
        (schema.ALPHA, "α"),
        (schema.DENSITY, "E"),
        (schema.ARCHITECTURE, "architectures"),
        (schema.DEVICE, "devices"),
    ):
        if col in runs:
            values = runs[col].dropna().unique()
            with contextlib.suppress(TypeError):  # mixed types stay in table order
                values = np.sort(values)
            shown = [fmt(float(v)) if isinstance(v, int | float | np.number) else str(v) for v in values]
            rows.append(
                (name, ", ".join(shown[:20]) + (f" … ({len(shown)} values)" if len(shown) > 20 else ""))
            )
    if schema.TRAIN_SECONDS in runs:
        rows.append(("training time", f"{runs[schema.TRAIN_SECONDS].sum():.1f} s (sum over runs)"))
    for label, table in (("metrics", data.metrics), ("fits", data.fits)):
        rows.append(
            (label, f"{len(table)} rows" if table is not None else "not computed (run `superscale analyze`)")
        )
    return rows
