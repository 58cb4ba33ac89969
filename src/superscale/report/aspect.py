"""The report's "aspect ratio" section: the study's figures and a verdict computed from its tables."""

from __future__ import annotations

import html
import math
from collections.abc import Callable
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from superscale.aspect.calibrated import MEASURES
from superscale.aspect.figures import (
    fig_features_per_layer,
    fig_implied_sparsity,
    fig_loss_vs_aspect,
    fig_phase_transition,
    fig_universality,
)
from superscale.aspect.katta import katta_lines, katta_table, score_summary, shape_bounds
from superscale.aspect.summary import GROUP, loss_flatness, verdict
from superscale.report.html import table_html
from superscale.store import open_store
from superscale.store.schema import (
    ASPECT_LAYERS_FILE,
    ASPECT_PAIRS_FILE,
    ASPECT_RUNS_FILE,
    PHASE_TRANSITION_FILE,
)

__all__ = ["SECTION_TITLE", "load_tables", "report_section"]

SECTION_TITLE = "Aspect ratio: Katta's argument tested"

INTRO = (
    "Katta argues that equal-parameter models of different width reach equal loss while holding different "
    "numbers of neurons per layer, so 'superposition is the complete theory' and 'features are universal' "
    "cannot both hold. These runs train deep toy models with equal parameter count N across depth L and "
    "width m (same data, optimiser and signed weight decay as the paper's model), count the features each "
    "layer represents, compare features across seeds and shapes, and check the compressed-sensing bound "
    "m ≳ −n(1−S)ln(1−S) against classical L1 recovery and the toy models. Arms at γ < 0 (strong "
    "superposition) and γ > 0 (weak) and at several data sparsities S make each claim a contrast. "
    "Universality scores are calibrated: 0 is a random arrangement with the same norms (for represented "
    "sets, the same set sizes with features permuted), 1 is the same model rotated."
)


def _num(x: float, digits: int = 3) -> str:
    return "n/a" if x is None or math.isnan(x) else f"{x:.{digits}g}"


def scores_html(scores: pd.DataFrame) -> str:
    """The regime contrast: calibrated scores at the last layer, mean ± standard error over seeds."""
    last = scores[scores["layer"] == "last"].sort_values(["regime", *GROUP, "kind"])
    shown = pd.DataFrame(
        {
            "regime": last["regime"],
            "N": last["params_budget"],
            "data": last["data"],
            "γ": [f"{g:g}" for g in last["gamma"]],
            "across": last["kind"] + "s",
            **{
                m: [
                    f"{_num(a, 2)} ± {_num(b, 1)}"
                    for a, b in zip(last[f"{m}_mean"], last[f"{m}_se"], strict=True)
                ]
                for m in MEASURES
            },
            "pairs": last["n_pairs"],
            "seeds": last["n_seeds"],
        }
    )
    return table_html(shown)


def bounds_html(bounds: pd.DataFrame) -> str:
    """Katta's inequality per shape: features held, the data's S and the sparsities the width implies."""
    shown = pd.DataFrame(
        {
            "N": bounds["params_budget"],
            "data": bounds["data"],
            "γ": [f"{g:g}" for g in bounds["gamma"]],
            "L": bounds["n_layers"],
            "m": bounds["m"],
            "features held": [_num(x) for x in bounds["n_repr_last"]],
            "n/m": [_num(x) for x in bounds["superposition_last"]],
            "data S": [_num(x, 4) for x in bounds["data_sparsity"]],
            "S implied (own)": [_num(x, 4) for x in bounds["implied_sparsity_own"]],
            "S implied (universal)": [_num(x, 4) for x in bounds["implied_sparsity_universal"]],
            "bound m (universal)": [_num(x) for x in bounds["bound_universal"]],
            "within bound": ["yes" if x else "no" for x in bounds["within_bound"]],
        }
    )
    return table_html(shown)


def load_tables(store_dir: str | Path) -> dict[str, pd.DataFrame]:
    """The study's tables the store at `store_dir` holds ("runs", "layers", "pairs", "phase"; written by
    `superscale analyze`, superscale.aspect.study); empty when it is no store."""
    try:
        store = open_store(store_dir)
    except FileNotFoundError:
        return {}
    names = {
        "runs": ASPECT_RUNS_FILE,
        "layers": ASPECT_LAYERS_FILE,
        "pairs": ASPECT_PAIRS_FILE,
        "phase": PHASE_TRANSITION_FILE,
    }
    tables = {key: store.table(name) for key, name in names.items()}
    return {key: table for key, table in tables.items() if table is not None}


def report_section(out_dir: str | Path) -> tuple[str, str | None, list[tuple[str, str, Figure]]]:
    """(title, HTML fragment or None when there are no results, [(file stem, caption, Figure)])."""
    tables = load_tables(out_dir)
    if "runs" not in tables and "phase" not in tables:
        return SECTION_TITLE, None, []
    figures: list[tuple[str, str, Figure]] = []
    plan: list[tuple[str, str, Callable[[], Figure]]] = []
    if "runs" in tables:
        runs = tables["runs"]
        plan += [
            (
                "aspect_loss",
                "Loss vs aspect ratio m/L at fixed N (mean ± std over seeds).",
                lambda: fig_loss_vs_aspect(runs),
            ),
            (
                "aspect_implied_sparsity",
                "Sparsity implied by each model's last layer vs the data's.",
                lambda: fig_implied_sparsity(runs),
            ),
        ]
    if "layers" in tables:
        layers = tables["layers"]
        plan.append(
            (
                "aspect_layers",
                "Represented features and n_repr/m per layer.",
                lambda: fig_features_per_layer(layers),
            )
        )
    scores = score_summary(tables["pairs"]) if len(tables.get("pairs", ())) else pd.DataFrame()
    if len(scores):
        plan.append(
            (
                "aspect_universality",
                "Calibrated universality at the last layer, strong vs weak superposition: across seeds "
                "(same shape) and across shapes (equal N), ± standard error over seeds.",
                lambda: fig_universality(scores),
            )
        )
    if "phase" in tables:
        phase = tables["phase"]
        plan.append(
            (
                "aspect_phase_transition",
                "Compressed-sensing transition: toy, deep toy, L1, bound.",
                lambda: fig_phase_transition(phase),
            )
        )
    for name, caption, draw in plan:
        figures.append((name, caption, draw()))
    fragment = f"<p>{html.escape(INTRO)}</p>"
    if "runs" in tables and "pairs" in tables:
        runs = tables["runs"]
        bounds = shape_bounds(runs)
        checks = katta_lines(katta_table(loss_flatness(runs), bounds, scores))
        items = "".join(f"<li>{html.escape(line)}</li>" for line in checks)
        fragment += f"<h3>Verdict: Katta's two statements against the runs</h3><ul>{items}</ul>"
        if len(scores):
            fragment += "<h3>Universality by regime (last layer)</h3>" + scores_html(scores)
        fragment += "<h3>Katta's inequality per shape</h3>" + bounds_html(bounds)
        lines = verdict(runs, tables["pairs"], tables.get("phase"))
        findings = "".join(f"<li>{html.escape(line)}</li>" for line in lines if line not in checks)
        fragment += f"<h3>What the runs show</h3><ul>{findings}</ul>" if findings else ""
    return SECTION_TITLE, fragment, figures
