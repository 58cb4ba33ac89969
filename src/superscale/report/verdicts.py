"""One-line verdicts generated from the fits: what we measured, beside what the paper reports.

Each function returns sentences (possibly none); a sentence never contains a number that is not
computed from the store or quoted from `plots.paper_values`, and every comparison with the paper ends in
a computed verdict ("agrees within the combined error (0.4σ)", "differs by 3.1σ"; see
`report.comparison`).
"""

from __future__ import annotations

import contextlib
import math

import numpy as np

from superscale.analysis.selection import done_runs
from superscale.plots import paper_values as pv
from superscale.plots.data import FigureData, LLMData
from superscale.plots.load import DIGITIZED_SOURCE
from superscale.plots.style import fmt, fmt_pm
from superscale.report.comparison import (
    STRONG_PHI_HALF_MIN,
    WEAK_PHI_HALF_RATIO,
    FitComparison,
    agreement,
    compare_fits,
)
from superscale.store import schema

MAX_LISTED = 8  # groups named in one verdict line before "… and k more"


def _listed(items: list[str]) -> str:
    shown = items[:MAX_LISTED]
    more = (
        f"; … and {len(items) - MAX_LISTED} more (see the exponents table)" if len(items) > MAX_LISTED else ""
    )
    return "; ".join(shown) + more


def _recipe_note(comparisons: list[FitComparison]) -> str:
    """'; <store experiment> differs from the paper's E2 recipe: batch 2048 → 256, …' for each experiment
    behind `comparisons` whose recipe is not the paper's."""
    notes = {
        c.recipe.experiment: f"{c.recipe.experiment} differs from the paper's {c.recipe.recipe.experiment} "
        f"recipe: {c.recipe.summary()}"
        for c in comparisons
        if c.recipe is not None and c.recipe.differences
    }
    return "".join(f"; {note}" for note in notes.values())


def _short(c: FitComparison) -> str:
    return f"{c.label()}: α_m = {fmt_pm(c.exponent, c.exponent_se)} {c.verdict().removeprefix('differs ')}"


def paper_value_verdicts(comparisons: list[FitComparison], numbers: bool = True) -> list[str]:
    """One line per paper number (unless `numbers` is false): the fits compared with it, how many agree,
    which differ and by how much; then a line naming the groups whose runs are not in their γ's regime,
    on which that regime's claims are not checked."""
    out: list[str] = []
    by_paper: dict[tuple[str, str], list[FitComparison]] = {}
    for c in comparisons:
        if numbers and c.paper is not None and c.regime is not None:
            by_paper.setdefault((c.regime, c.paper.text()), []).append(c)
    for (regime, paper_text), group in by_paper.items():
        compared = [c for c in group if c.compared]
        if not compared:
            continue
        if len(compared) == 1:
            line = f"{regime} regime, {compared[0].sentence()}"
        else:
            agree = [c for c in compared if not c.differs()]
            differ = [c for c in compared if c.differs()]
            line = f"{regime} regime vs {paper_text}: {len(agree)} of {len(compared)} fits agree"
            if differ:
                line += f"; differ: {_listed([_short(c) for c in differ])}"
            line += _recipe_note(differ)
        out.append(line)
    for regime in ("weak", "strong"):
        outside = [c for c in comparisons if c.regime == regime and c.check.ok is False]
        if outside:
            if regime == "weak":
                sign, rule, claim = ">", f"φ½ ≤ {WEAK_PHI_HALF_RATIO:g} m/n", "α_m ≈ α − 1 (Fig. 4b)"
            else:
                sign, rule, claim = "<", f"φ½ ≥ {STRONG_PHI_HALF_MIN:g}", "the strong-regime numbers"
            named = [f"{c.label()} ({c.check.reason})" for c in outside]
            out.append(
                f"γ {sign} 0 but not in {regime} superposition (that needs {rule} at every fitted width), so "
                f"{claim} is not checked on: {_listed(named)}"
            )
    return out


def large_model_verdicts(data: FigureData) -> list[str]:
    """E1: strong-regime α_m per family against Fig. 1d; R² against Fig. 9a's bars."""
    comparisons = [c for c in compare_fits(data) if c.experiment == "E1"]
    out = paper_value_verdicts(comparisons)
    for c in comparisons:
        family = str(c.fit.get(schema.FAMILY, ""))
        paper_r2 = pv.R2_LARGE.get((c.regime or "", family))
        large = pv.is_large_family(
            family, c.value(schema.ALPHA), c.value(schema.SCALE), c.value(schema.N_FEATURES)
        )
        if paper_r2 is not None and large:
            r2 = c.value(schema.R2)
            line = f"{c.regime} regime, {c.label()}: R² = {r2:.3f} vs {paper_r2.text()}: "
            if c.check.ok is False:
                line += f"not compared: not in {c.regime} superposition: {c.check.reason}; {c.check.need}"
            else:
                difference = f"{r2 - paper_r2.value:+.2f}".replace("-", "−")
                line += f"ours {difference} (no error bars to test against)"
            out.append(line)
    return out


def alpha_scan_verdicts(data: FigureData) -> list[str]:
    """E2 and E4: strong α_m against Figs. 5e and 18, weak α_m against α − 1 (Fig. 4b), each checked only
    on groups in the regime the paper's number belongs to."""
    comparisons = [c for c in compare_fits(data) if c.experiment in ("E2", "E4")]
    return paper_value_verdicts(comparisons)


def _weighted_mean(values: np.ndarray, errors: np.ndarray) -> tuple[float, float]:
    """Inverse-variance mean and its error; the plain mean ± sd/√k when some error is missing or zero."""
    if np.all(np.isfinite(errors)) and np.all(errors > 0):
        weights = errors**-2.0
        return float(np.sum(weights * values) / weights.sum()), float(weights.sum() ** -0.5)
    spread = float(np.std(values, ddof=1) / np.sqrt(values.size)) if values.size > 1 else math.nan
    return float(values.mean()), spread


def _weighted_slope(x: np.ndarray, y: np.ndarray, errors: np.ndarray) -> tuple[float, float]:
    """Slope of y on x with its standard error: weighted by 1/error² (known errors), else OLS."""
    if np.all(np.isfinite(errors)) and np.all(errors > 0):
        w = errors**-2.0
        xc = x - np.sum(w * x) / w.sum()
        sxx = float(np.sum(w * xc**2))
        return float(np.sum(w * xc * y) / sxx), sxx**-0.5
    xc = x - x.mean()
    sxx = float(np.sum(xc**2))
    slope = float(np.sum(xc * y) / sxx)
    if x.size < 3:
        return slope, math.nan
    residual = y - y.mean() - slope * xc
    return slope, float(np.sqrt(np.sum(residual**2) / (x.size - 2) / sxx))


def density_verdicts(data: FigureData) -> list[str]:
    """E3: the level of α_m against Fig. 14b and its flatness in E against Fig. 15."""
    comparisons = [c for c in compare_fits(data) if c.experiment == "E3"]
    strong = [c for c in comparisons if c.compared and c.regime == "strong"]
    out: list[str] = []
    if strong:
        values = np.array([c.exponent for c in strong])
        errors = np.array([c.exponent_se for c in strong])
        level, level_se = _weighted_mean(values, errors)
        paper = pv.DENSITY_LEVEL
        papers = ", ".join(fmt_pm(v.value, v.error, 1) for v in pv.DENSITY_EXPONENTS)
        line = (
            f"strong regime, level of α_m over {len(strong)} densities: {fmt_pm(level, level_se)} "
            f"(inverse-variance mean) vs {paper.text()}: {agreement(level, level_se, paper)}; "
            f"the paper's five: {papers}"
        )
        if agreement(level, level_se, paper).startswith("differs"):
            line += _recipe_note(strong)
        out.append(line)
        densities = np.array([c.value(schema.DENSITY) for c in strong])
        if np.unique(densities.round(6)).size >= 2:
            slope, slope_se = _weighted_slope(densities, values, errors)
            out.append(
                f"strong regime, change of α_m per unit E over E = {fmt(densities.min())}–"
                f"{fmt(densities.max())}: {fmt_pm(slope, slope_se)} vs {pv.FLAT_IN_E.text()}: "
                f"{agreement(slope, slope_se, pv.FLAT_IN_E)}"
            )
    out += paper_value_verdicts(comparisons, numbers=False)  # the level above is E3's number
    return out


LLM_NOT_MEASURED = "from the paper's figures, not measured here"


def llm_provenance(llm: LLMData) -> tuple[bool, str]:
    """(whether anything was measured here, a sentence saying where each LLM input came from)."""
    measured: list[str] = []
    paper: list[str] = []
    other: list[str] = []
    losses = "eval losses (Figs. 6b, 21)"
    if llm.losses_source == "measured":
        measured.append(losses)
    elif llm.losses_source == DIGITIZED_SOURCE:
        paper.append(losses)
    else:
        other.append(f"{losses}: {llm.losses_source}")
    if llm.geometry is not None and llm.geometry_source == "measured":
        measured.append("overlaps and row norms (Figs. 6a, 20)")
    else:
        paper.append("overlaps (Fig. 6a)")
    for table, what in (
        (llm.norm_histogram, "norm histograms (Fig. 19)"),
        (llm.token_freq, "token counts (Fig. 22)"),
    ):
        if table is not None:
            measured.append(what)
    shipped = (
        "model sizes (Fig. 23a) and Chinchilla shapes (Fig. 23b) are published tables shipped with superscale"
    )
    extra = f"; other sources: {', '.join(other)}" if other else ""
    if not measured:
        text = (
            f"Drawn {LLM_NOT_MEASURED}: {', '.join(paper)} digitised from the paper{extra}; {shipped}. "
            "Measure them with `superscale llm geometry|eval|freq --out DIR`."
        )
    else:
        digitised = f"; {LLM_NOT_MEASURED}: {', '.join(paper)} (digitised)" if paper else ""
        text = f"Measured here: {', '.join(measured)}{digitised}{extra}; {shipped}."
    return bool(measured), text


def llm_verdicts(data: FigureData) -> list[str]:
    """Where the LLM inputs came from; the width exponent (Fig. 6b), the parameter–width exponents of the
    open families (Fig. 23a) and Chinchilla (Fig. 23b), each with a computed verdict."""
    llm = data.llm
    out: list[str] = []
    if llm is None:
        return out
    out.append(llm_provenance(llm)[1])
    if llm.width_fit is not None:
        fit = llm.width_fit
        paper = pv.LLM_EXPONENT
        line = (
            f"LLM width exponent ({llm.losses_source}): α_m = {fmt_pm(fit.exponent, fit.exponent_se)} "
            f"vs {paper.text()}: {agreement(fit.exponent, fit.exponent_se, paper)}"
        )
        if llm.losses_source == DIGITIZED_SOURCE:
            line += (
                " (a fit of points read off the paper's figure: checks the digitisation, measures nothing)"
            )
        out.append(line)
    from superscale.llm.widthfit import chinchilla_cross_check, open_families_slope

    if llm.models is not None and not llm.models.empty:
        models = llm.models
        try:
            shared = open_families_slope(models)
        except ValueError:
            pass
        else:
            slope, se = shared.slope, shared.slope_se
            paper23a = pv.OPEN_FAMILIES_N_EXPONENT
            out.append(
                f"open LLM families ({models['family'].nunique()} families, {len(models)} models): "
                f"N ∝ m^{fmt_pm(slope, se)} (one exponent, a coefficient per family) vs {paper23a.text()}: "
                f"{agreement(slope, se, paper23a)} (N here counts every parameter, embeddings included; "
                "the paper does not say which N it fits)"
            )
    if llm.chinchilla is not None and not llm.chinchilla.empty:
        alpha_n = pv.CHINCHILLA_ALPHA_N
        chin = chinchilla_cross_check(alpha_n.value, alpha_n.error or 0.0, shapes=llm.chinchilla)
        paper_n, paper_m = pv.CHINCHILLA_N_EXPONENT, pv.CHINCHILLA_ALPHA_M
        out.append(
            f"Chinchilla: N ∝ m^{fmt_pm(chin.slope, chin.slope_se)} vs {paper_n.text()}: "
            f"{agreement(chin.slope, chin.slope_se, paper_n)}; with α_N = {alpha_n.text()}: "
            f"α_m = {fmt_pm(chin.alpha_m, chin.alpha_m_se_linear, 1)} vs {paper_m.text()}: "
            f"{agreement(chin.alpha_m, chin.alpha_m_se_linear, paper_m)} "
            f"(quadrature error ± {chin.alpha_m_se_quadrature:.2f})"
        )
    return out


def run_summary(data: FigureData, planned: int | None = None) -> list[tuple[str, str]]:
    """(what, value) rows describing the store: runs, grid values, time. `planned` is the sweep's run
    count from its manifest, so a partial store says how far it got ("2 of 12 runs done")."""
    runs = data.runs
    if runs.empty:
        return [("runs", "none (no toy-model store in this directory)")]
    done = done_runs(data)
    total = max(planned or 0, len(runs))
    failed, untrained = len(runs) - len(done), total - len(runs)
    text = f"{len(done)} of {total} runs done"
    if failed:
        text += f", {failed} failed"
    if untrained:
        text += f", {untrained} not trained yet (partial store: `superscale run` resumes it)"
    rows = [("runs", text)]
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
