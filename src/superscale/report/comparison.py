"""Each α_m fit beside the number the paper gives for the same case, with a computed verdict.

A fit is compared with the paper only when the comparison is like with like:

1. the fit uses the paper's window for that case (fits.parquet's "recipe" scope; the all-width fit is
   shown beside it where the two differ);
2. the paper gives a number for that experiment, regime, α and γ (`paper_values.paper_exponent`);
3. the group's runs are in the regime the number belongs to, judged from their φ½ (below).

The verdict uses both errors in quadrature (`agreement`). A fit whose store recipe differs from the
paper's carries that list of differences, since a shrunk recipe may explain a disagreement.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from superscale.analysis.selection import done_runs, group_key
from superscale.plots import paper_values as pv
from superscale.plots.data import FigureData
from superscale.plots.style import distribution_label, fmt, fmt_pm
from superscale.report.recipe import RecipeComparison, experiment_tags, recipe_comparisons
from superscale.store import schema

# columns the analysis adds (fits.parquet, metrics.parquet); the report works without them
FIT_SCOPE, FLAGS = schema.FIT_SCOPE, schema.FIT_FLAGS  # "all" | "recipe"; "" or "negative exponent; …"
CONVERGED, LOSS_REL_CHANGE = schema.CONVERGED, schema.LOSS_REL_CHANGE  # per run (metrics.parquet)

AGREE_SIGMA = 2.0  # |ours − paper| under 2 combined standard errors counts as agreement
# Weak superposition represents about one feature per hidden unit: φ½ ≈ m/n (the paper's Figs. 3b, 8a). We
# accept up to 1.5 m/n at every width of the fit; the quick E2 run's γ = 0.111, α = 0.5, m = 100 has
# φ½ = 0.36 = 3.6 m/n, which is not weak superposition.
WEAK_PHI_HALF_RATIO = 1.5
# Strong superposition represents (nearly) every feature: φ½ ≈ 1 (Fig. 3b: φ½ = 1 for γ ≤ −0.56 at every
# m). We accept φ½ ≥ 0.9 at every width of the fit.
STRONG_PHI_HALF_MIN = 0.9
MAX_WARNED = 20  # runs or fits named in one warning line

VERDICT_RULES = (
    "α_m is the OLS slope of ln L on ln m over the fit window shown (the paper's window for that case "
    "where the analysis records one; the all-width fit is shown beside it where the two differ). A fit is "
    "compared with the paper's number only at that window and only when its runs are in the number's "
    f"regime: weak superposition needs φ½ ≤ {WEAK_PHI_HALF_RATIO:g} m/n and strong φ½ ≥ "
    f"{STRONG_PHI_HALF_MIN:g} at every fitted width. The verdict puts both standard errors in quadrature: "
    f"it agrees under {AGREE_SIGMA:g}σ; a paper range agrees when our value lies inside it, otherwise the "
    "distance to its nearest end counts. Numbers read off the paper's plots are marked ≈."
)


def sigma_distance(value: float, err: float, paper: pv.PaperValue) -> float:
    """|ours − paper| in combined standard errors (0 inside a paper range; to its nearest end outside);
    inf when the values differ and neither side has an error, NaN when ours is NaN."""
    if not math.isfinite(value):
        return math.nan
    if paper.low is not None and paper.high is not None:
        gap = max(paper.low - value, value - paper.high, 0.0)
    else:
        gap = abs(value - paper.value)
    if gap == 0:
        return 0.0
    scale = math.hypot(err if math.isfinite(err) else 0.0, paper.error or 0.0)
    return gap / scale if scale > 0 else math.inf


def agreement(value: float, err: float, paper: pv.PaperValue) -> str:
    """'agrees within the combined error (0.4σ)', 'agrees (inside the paper's range)' or 'differs by 3.1σ'
    (both errors in quadrature; for a range, the distance to its nearest end)."""
    z = sigma_distance(value, err, paper)
    if math.isnan(z):
        return ""
    if z == 0 and paper.is_range:
        return "agrees (inside the paper's range)"
    if z < AGREE_SIGMA:
        return f"agrees within the combined error ({z:.1f}σ)"
    if math.isinf(z):
        return f"differs by {fmt(abs(value - paper.value))} (no error bars on either side)"
    return f"differs by {z:.1f}σ"


@dataclass(frozen=True)
class RegimeCheck:
    """Whether a group's runs are in the regime a paper number belongs to."""

    ok: bool | None  # None: φ½ not measured
    reason: str = ""  # the worst width, for a human: "φ½ = 0.36 = 3.6 × m/n at m = 100"
    need: str = ""  # the tolerance: "weak needs φ½ ≤ 1.5 m/n"

    def text(self) -> str:
        if self.ok is None:
            return "not checked (no φ½; run `superscale analyze`)"
        return ("✓ " if self.ok else "✗ ") + f"{self.reason} ({self.need})"


def check_regime(runs: pd.DataFrame, regime: str) -> RegimeCheck:
    """Weak: φ½ ≤ WEAK_PHI_HALF_RATIO · m/n at every width of `runs`; strong: φ½ ≥ STRONG_PHI_HALF_MIN."""
    if runs.empty or schema.PHI_HALF not in runs or runs[schema.PHI_HALF].isna().all():
        return RegimeCheck(None)
    runs = runs.dropna(subset=[schema.PHI_HALF])
    phi = runs[schema.PHI_HALF].astype(float).to_numpy()
    m = runs[schema.M_HIDDEN].astype(float).to_numpy()
    if regime == "weak":
        ratio = phi / (m / runs[schema.N_FEATURES].astype(float).to_numpy())
        i = int(np.argmax(ratio))
        ok = bool(ratio[i] <= WEAK_PHI_HALF_RATIO)
        need = f"weak needs φ½ ≤ {WEAK_PHI_HALF_RATIO:g} m/n"
        return RegimeCheck(ok, f"φ½ = {fmt(phi[i], 2)} = {ratio[i]:.1f} × m/n at m = {fmt(m[i])}", need)
    i = int(np.argmin(phi))
    ok = bool(phi[i] >= STRONG_PHI_HALF_MIN)
    need = f"strong needs φ½ ≥ {STRONG_PHI_HALF_MIN:g}"
    return RegimeCheck(ok, f"φ½ = {fmt(phi[i], 2)} at m = {fmt(m[i])}", need)


@dataclass
class FitComparison:
    """One fit group: the fit compared with the paper, the all-width fit beside it, and the verdict."""

    fit: dict[str, Any]
    experiment: str | None  # "E1" … "E4", or None when the store experiment follows none
    regime: str | None  # "strong" (γ < 0), "weak" (γ > 0)
    paper: pv.PaperValue | None
    check: RegimeCheck
    all_widths: dict[str, Any] | None = None  # the all-width fit, when it differs from `fit`
    recipe: RecipeComparison | None = None
    runs: pd.DataFrame = field(default_factory=pd.DataFrame)

    def value(self, key: str) -> float:
        value = self.fit.get(key, math.nan)
        return math.nan if value is None else float(value)

    @property
    def exponent(self) -> float:
        return self.value(schema.EXPONENT)

    @property
    def exponent_se(self) -> float:
        return self.value(schema.EXPONENT_SE)

    @property
    def compared(self) -> bool:
        """A verdict against the paper is given (a number exists and the regime check did not fail)."""
        return self.paper is not None and self.check.ok is not False

    def verdict(self) -> str:
        """The computed verdict, or why there is none."""
        if self.paper is None:
            return ""
        if self.check.ok is False:
            return f"not compared: not in {self.regime} superposition: {self.check.reason}; {self.check.need}"
        text = agreement(self.exponent, self.exponent_se, self.paper)
        if self.check.ok is None:
            text += " (regime not checked: no φ½)"
        return text

    def differs(self) -> bool:
        return self.compared and self.verdict().startswith("differs")

    def label(self) -> str:
        """'power α = 2, γ = −1' (+ ', E = 4.24' off unit density)."""
        f = self.fit
        text = distribution_label(
            str(f.get(schema.FAMILY, "")),
            float(f.get(schema.ALPHA, math.nan)),
            float(f.get(schema.SCALE, math.nan)),
        )
        text += f", γ = {fmt(float(f.get(schema.GAMMA, math.nan)))}"
        density = float(f.get(schema.DENSITY, math.nan))
        if math.isfinite(density) and not math.isclose(density, 1.0):
            text += f", E = {fmt(density)}"
        return text

    def window(self) -> str:
        """The fit's widths: 'm = 32–1024 (m>=32)' from m_min/m_max and fit_window."""
        text = f"m = {fmt(self.value(schema.M_MIN))}–{fmt(self.value(schema.M_MAX))}"
        window = str(self.fit.get(schema.FIT_WINDOW) or "")
        return f"{text} ({window})" if window and window != "nan" else text

    def flags(self) -> str:
        flags = self.fit.get(FLAGS)
        return "" if flags is None or (isinstance(flags, float) and math.isnan(flags)) else str(flags)

    def sentence(self) -> str:
        """'power α = 2, γ = −1: α_m = 1.18 ± 0.11 (m = 10–100 (all)) vs ≈ 2.05 (Fig. 5e, read from
        plot): differs by 7.9σ; recipe differs from the paper's E2: batch 2048 → 256, …'."""
        text = f"{self.label()}: α_m = {fmt_pm(self.exponent, self.exponent_se)} ({self.window()})"
        if self.flags():
            text += f" [{self.flags()}]"
        if self.paper is not None:
            text += f" vs {self.paper.text()}: {self.verdict()}"
        if self.differs() and self.recipe is not None and self.recipe.differences:
            text += (
                f"; recipe differs from the paper's {self.recipe.recipe.experiment}: {self.recipe.summary()}"
            )
        return text


def _loglog_rows(data: FigureData, runs: pd.DataFrame) -> pd.DataFrame:
    """Every loglog fit row of fits.parquet (both scopes), with m_min / m_max from the runs if absent."""
    fits = data.fits
    if fits is None or fits.empty or schema.EXPONENT not in fits:
        return pd.DataFrame()
    if schema.FIT_KIND in fits:
        fits = fits[fits[schema.FIT_KIND] == schema.LOGLOG]
    fits = fits.reset_index(drop=True)
    if schema.M_MIN not in fits and not runs.empty:
        cols = [c for c in schema.FIT_GROUP_COLUMNS if c in fits and c in runs]
        span = {
            group_key(sub.iloc[0].to_dict(), cols): (sub[schema.M_HIDDEN].min(), sub[schema.M_HIDDEN].max())
            for _, sub in runs.groupby(cols, dropna=False)
        }
        bounds = [span.get(group_key(r, cols), (math.nan, math.nan)) for r in fits.to_dict("records")]
        fits = fits.assign(**{schema.M_MIN: [b[0] for b in bounds], schema.M_MAX: [b[1] for b in bounds]})
    return fits


def _same_fit(a: dict[str, Any], b: dict[str, Any]) -> bool:
    keys = (schema.EXPONENT, schema.M_MIN, schema.M_MAX)
    return all(np.isclose(float(a.get(k, math.nan)), float(b.get(k, math.nan)), equal_nan=True) for k in keys)


def _in_window(runs: pd.DataFrame, fit: dict[str, Any]) -> pd.DataFrame:
    """The runs at the widths the fit used (m_min ≤ m ≤ m_max where those are known)."""
    if runs.empty:
        return runs
    m = runs[schema.M_HIDDEN].astype(float)
    keep = pd.Series(True, index=runs.index)
    low, high = float(fit.get(schema.M_MIN, math.nan)), float(fit.get(schema.M_MAX, math.nan))
    if math.isfinite(low):
        keep &= m >= low
    if math.isfinite(high):
        keep &= m <= high
    return runs[keep]


def compare_fits(data: FigureData) -> list[FitComparison]:
    """One `FitComparison` per fitted group (loglog fits), in fits.parquet order."""
    runs = done_runs(data)
    fits = _loglog_rows(data, runs)
    if fits.empty:
        return []
    cols = [c for c in schema.FIT_GROUP_COLUMNS if c in fits]
    run_cols = [c for c in cols if c in runs]
    groups: dict[tuple, dict[str, dict[str, Any]]] = {}
    for row in fits.to_dict("records"):
        scope = str(row.get(FIT_SCOPE, "all")) if FIT_SCOPE in fits else "all"
        groups.setdefault(group_key(row, cols), {})[scope] = row
    by_group = (
        {group_key(sub.iloc[0].to_dict(), run_cols): sub for _, sub in runs.groupby(run_cols, dropna=False)}
        if run_cols and not runs.empty
        else {}
    )
    tags = experiment_tags(data.runs)
    recipes = recipe_comparisons(data.runs)
    out = []
    for scopes in groups.values():
        fit = scopes.get("recipe", scopes.get("all", next(iter(scopes.values()))))
        beside = scopes.get("all")
        if beside is not None and (beside is fit or _same_fit(beside, fit)):
            beside = None
        name = str(fit.get(schema.EXPERIMENT, ""))
        tag = tags.get(name)
        gamma = float(fit.get(schema.GAMMA, math.nan))
        regime = "strong" if gamma < 0 else "weak" if gamma > 0 else None
        group = _in_window(by_group.get(group_key(fit, run_cols), pd.DataFrame()), fit)
        paper = None
        if tag is not None and regime is not None:
            paper = pv.paper_exponent(
                tag,
                regime,
                float(fit.get(schema.ALPHA, math.nan)),
                gamma,
                family=str(fit.get(schema.FAMILY, "")),
                scale=float(fit.get(schema.SCALE, math.nan)),
                n=float(fit.get(schema.N_FEATURES, math.nan)),
            )
        check = check_regime(group, regime) if regime is not None else RegimeCheck(None)
        out.append(FitComparison(fit, tag, regime, paper, check, beside, recipes.get(name), group))
    return out


def unconverged_runs(data: FigureData) -> pd.DataFrame:
    """Finished runs whose metrics say `converged` is false (empty without that column)."""
    runs = done_runs(data)
    if runs.empty or CONVERGED not in runs:
        return pd.DataFrame()
    flag = runs[CONVERGED]
    return runs[flag.notna() & ~flag.fillna(True).astype(bool)].reset_index(drop=True)


def _run_label(run: dict[str, Any]) -> str:
    dist = distribution_label(
        str(run.get(schema.FAMILY, "")),
        float(run.get(schema.ALPHA, math.nan)),
        float(run.get(schema.SCALE, math.nan)),
    )
    text = (
        f"{run.get(schema.EXPERIMENT, '')}: {dist}, γ = {fmt(float(run.get(schema.GAMMA, math.nan)))}, "
        f"m = {fmt(float(run.get(schema.M_HIDDEN, math.nan)))}"
    )
    change = run.get(LOSS_REL_CHANGE)
    if change is not None and np.isfinite(change):
        text += f" (relative loss change {float(change):.2g})"
    return text


def fit_warnings(data: FigureData) -> list[str]:
    """Unconverged runs (metrics `converged` false) and flagged fits, each named."""
    out = []
    unconverged = unconverged_runs(data)
    if not unconverged.empty:
        labels = [_run_label(r) for r in unconverged.to_dict("records")]
        more = " …" if len(labels) > MAX_WARNED else ""
        out.append(f"{len(labels)} run(s) not converged: {'; '.join(labels[:MAX_WARNED])}{more}")
    flagged = [c for c in compare_fits(data) if c.flags()]
    if flagged:
        shown = "; ".join(f"{c.label()} [{c.flags()}]" for c in flagged[:MAX_WARNED])
        more = " …" if len(flagged) > MAX_WARNED else ""
        out.append(f"{len(flagged)} fit(s) flagged: {shown}{more}")
    return out
