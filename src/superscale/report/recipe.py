"""Which paper experiment a store follows, and how its training recipe differs from the paper's.

A shrunk preset (fewer steps, a smaller batch, another learning rate) can move α_m; the report lists every
such difference beside the numbers it compares with the paper. The differences are computed from the
runs table (what was actually run), never from a preset's comments.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from superscale.plots import paper_values as pv
from superscale.plots.style import fmt
from superscale.store import schema

LARGE_FAMILIES = {"exponential", "linear"}  # only E1 trains these


@dataclass(frozen=True)
class RecipeDifference:
    """One quantity where the store's runs differ from the paper: paper value → this store's value."""

    quantity: str
    paper: str
    store: str

    def text(self) -> str:
        return f"{self.quantity} {self.paper} → {self.store}"


@dataclass(frozen=True)
class RecipeComparison:
    """A store experiment against the paper's recipe for the experiment it follows."""

    experiment: str  # the store's name for it
    recipe: pv.PaperRecipe
    differences: tuple[RecipeDifference, ...]
    same: tuple[str, ...]  # quantities that match the paper
    unknown: tuple[str, ...]  # quantities the runs table does not record

    def summary(self) -> str:
        """'batch 2048 → 256, steps 20000 → 3000' or '' when nothing differs."""
        return ", ".join(d.text() for d in self.differences)


def paper_experiment(runs: pd.DataFrame) -> str | None:
    """The paper experiment ("E1" … "E4") whose setup the runs of one store experiment follow, from their
    shape; None for models the paper does not train (other architectures, deep models, custom data)."""
    if runs.empty or schema.FAMILY not in runs:
        return None
    if schema.ARCHITECTURE in runs and (runs[schema.ARCHITECTURE].astype(str) != "tied").any():
        return None
    if schema.N_LAYERS in runs and (runs[schema.N_LAYERS].fillna(1).astype(float) != 1).any():
        return None
    families = set(runs[schema.FAMILY].astype(str))
    alphas = runs[schema.ALPHA].astype(float) if schema.ALPHA in runs else pd.Series(dtype=float)
    if families & LARGE_FAMILIES or np.isclose(alphas, pv.LARGE_POWER_ALPHA).any():
        return "E1"
    if families != {"power"}:
        return None
    if schema.DENSITY in runs and runs[schema.DENSITY].dropna().round(6).nunique() > 1:
        return "E3"
    m, n = runs[schema.M_HIDDEN].astype(float), runs[schema.N_FEATURES].astype(float)
    if bool((m**2 / 2 > n).all()):  # Fig. 18's wide models: m²/2 > n at every width
        return "E4"
    return "E2"


def experiment_tags(runs: pd.DataFrame) -> dict[str, str | None]:
    """Store experiment name → the paper experiment it follows (see `paper_experiment`)."""
    if runs.empty or schema.EXPERIMENT not in runs:
        return {}
    return {str(name): paper_experiment(sub) for name, sub in runs.groupby(schema.EXPERIMENT)}


def _values(series: pd.Series, show: Callable[[float], str] = fmt) -> str:
    """Distinct values, sorted, shortened when many: '10, 15, 25, …, 63, 100'."""
    values = sorted(float(v) for v in series.dropna().astype(float).unique())
    text = [show(v) for v in values]
    return ", ".join(text if len(text) <= 8 else [*text[:3], "…", *text[-2:]])


def _percent(value: float) -> str:
    return f"{100 * value:g} %"


def _lr_text(runs: pd.DataFrame, column: str, rule: pv.LRRule) -> str | None:
    """The store's peak-lr rule when it differs from `rule` (None when every run matches it)."""
    lr = runs[column].astype(float)
    ratio = lr / np.array([rule.at(m) for m in runs[schema.M_HIDDEN].astype(float)])
    if np.allclose(ratio, 1.0, rtol=1e-3):
        return None
    if np.allclose(ratio, ratio.iloc[0], rtol=1e-3):  # the same rule at another base
        return pv.LRRule(rule.base * float(ratio.iloc[0]), rule.ref_m, rule.power).text()
    return f"{_values(lr, lambda v: f'{v:.3g}')} over m"


def compare_recipe(experiment: str, runs: pd.DataFrame, recipe: pv.PaperRecipe) -> RecipeComparison:
    """Quantity by quantity: n, widths, batch, steps, warm-up, lr floor, peak lrs, backward loss scale."""
    diffs: list[RecipeDifference] = []
    same: list[str] = []
    unknown: list[str] = []

    def check(quantity: str, columns: list[str], paper: str, store: str | None) -> None:
        if any(c not in runs or runs[c].isna().all() for c in columns):
            unknown.append(quantity)
        elif store is None:
            same.append(quantity)
        else:
            diffs.append(RecipeDifference(quantity, paper, store))

    def plain(quantity: str, column: str, paper: float, show: Callable[[float], str] = fmt) -> None:
        values = runs[column].dropna().astype(float).unique() if column in runs else np.array([])
        differs = bool(values.size) and not np.allclose(values, paper, rtol=1e-6)
        check(quantity, [column], show(paper), _values(runs[column], show) if differs else None)

    plain("n", schema.N_FEATURES, recipe.n)
    if recipe.widths is not None:
        ms = sorted(runs[schema.M_HIDDEN].dropna().astype(int).unique())
        paper_ms = list(recipe.widths)
        check(
            "widths m",
            [schema.M_HIDDEN],
            _values(pd.Series(paper_ms)),
            None if ms == paper_ms else _values(pd.Series(ms)),
        )
    plain("batch", schema.BATCH, recipe.batch)
    plain("steps", schema.STEPS, recipe.steps)
    if schema.WARMUP_STEPS in runs and schema.STEPS in runs:
        warm, steps = runs[schema.WARMUP_STEPS].astype(float), runs[schema.STEPS].astype(float)
        if recipe.warmup_steps is not None:
            paper_text = f"{recipe.warmup_steps} steps"
            differs = not np.allclose(warm, recipe.warmup_steps)
            store = f"{_values(warm)} steps" if differs else None
        else:
            fraction = recipe.warmup_fraction or 0.0
            paper_text = f"{_percent(fraction)} of steps"
            # the scripts take int(fraction · steps); allow that rounding
            differs = bool((np.abs(warm - fraction * steps) > 1).any())
            store = f"{_values(warm / steps, _percent)} of steps ({_values(warm)})" if differs else None
        check("warm-up", [schema.WARMUP_STEPS], paper_text, store)
    else:
        unknown.append("warm-up")
    plain("lr floor", schema.LR_FLOOR, recipe.lr_floor, _percent)
    for quantity, column, rule in (
        ("peak lr of W", schema.LR_W, recipe.lr_W),
        ("peak lr of b", schema.LR_B, recipe.lr_b),
    ):
        known = column in runs and not runs[column].isna().all()
        check(quantity, [column], rule.text(), _lr_text(runs, column, rule) if known else None)
    plain("backward loss scale", schema.LOSS_SCALE, recipe.loss_scale, lambda v: f"×{v:g}")
    return RecipeComparison(experiment, recipe, tuple(diffs), tuple(same), tuple(unknown))


def recipe_comparisons(runs: pd.DataFrame) -> dict[str, RecipeComparison]:
    """Each store experiment that follows a paper experiment, compared with that experiment's recipe."""
    out: dict[str, RecipeComparison] = {}
    for name, tag in experiment_tags(runs).items():
        if tag is not None and tag in pv.RECIPES:
            sub = runs[runs[schema.EXPERIMENT].astype(str) == name]
            out[name] = compare_recipe(name, sub, pv.RECIPES[tag])
    return out


def recipe_verdicts(runs: pd.DataFrame, config: Mapping[str, Any]) -> tuple[list[str], pd.DataFrame]:
    """The report's recipe section: a sentence per store experiment and a table of every difference
    (experiment, paper experiment, quantity, paper's value, this store's value); the preset's own
    `meta.shrunk` note is quoted when the store's config has one."""
    verdicts = []
    rows = []
    for name, tag in experiment_tags(runs).items():
        if tag is None:
            verdicts.append(
                f"{name}: not one of the paper's toy experiments (another architecture, depth or data), "
                "so nothing of it is compared with the paper's numbers"
            )
    for name, comparison in recipe_comparisons(runs).items():
        recipe = comparison.recipe
        if comparison.differences:
            line = (
                f"{name} follows the paper's {recipe.experiment} ({recipe.source}) with "
                f"{len(comparison.differences)} difference(s): {comparison.summary()}; its comparisons "
                "with the paper's numbers may differ for that reason"
            )
        else:
            line = f"{name} follows the paper's {recipe.experiment} recipe ({recipe.source})"
        if comparison.same:
            line += f"; as in the paper: {', '.join(comparison.same)}"
        if comparison.unknown:
            line += f"; not recorded in the runs table: {', '.join(comparison.unknown)}"
        verdicts.append(line)
        rows += [
            {
                "experiment": name,
                "paper's experiment": recipe.experiment,
                "quantity": d.quantity,
                "paper": d.paper,
                "this store": d.store,
            }
            for d in comparison.differences
        ]
    meta = config.get("meta", {}) if config else {}
    shrunk = str(meta.get("shrunk", "")) if isinstance(meta, Mapping) else ""
    if shrunk:
        verdicts.append(f"the preset's own note on what it shrank: {shrunk}")
    return verdicts, pd.DataFrame(rows)
