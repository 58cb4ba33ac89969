"""The report's "aspect ratio" section: the study's figures and a verdict computed from its tables."""

from __future__ import annotations

import html
from collections.abc import Callable
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from superscale.aspect.figures import (
    fig_features_per_layer,
    fig_implied_sparsity,
    fig_loss_vs_aspect,
    fig_phase_transition,
    fig_universality,
)
from superscale.aspect.summary import verdict
from superscale.schema import (
    ASPECT_LAYERS_FILE,
    ASPECT_PAIRS_FILE,
    ASPECT_RUNS_FILE,
    PHASE_TRANSITION_FILE,
)
from superscale.store import open_store

__all__ = ["SECTION_TITLE", "load_tables", "report_section"]

SECTION_TITLE = "Aspect ratio: Katta's argument tested"

INTRO = (
    "Katta argues that equal-parameter models of different width reach equal loss while holding different "
    "numbers of neurons per layer, so 'superposition is the complete theory' and 'features are universal' "
    "cannot both hold. These runs train deep toy models with equal parameter count N across depth L and "
    "width m (same data, optimiser and signed weight decay as the paper's model), count the features each "
    "layer represents, compare features across seeds and shapes, and check the compressed-sensing bound "
    "m ≳ −n(1−S)ln(1−S) against classical L1 recovery and the toy models."
)


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
    if "pairs" in tables:
        pairs = tables["pairs"]
        plan.append(
            (
                "aspect_universality",
                "Feature similarity across seeds (noise floor) vs across shapes.",
                lambda: fig_universality(pairs),
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
    lines = verdict(tables["runs"], tables["pairs"], tables.get("phase")) if "pairs" in tables else []
    items = "".join(f"<li>{html.escape(line)}</li>" for line in lines)
    fragment = f"<p>{html.escape(INTRO)}</p>" + (
        f"<h3>What the runs show</h3><ul>{items}</ul>" if items else ""
    )
    return SECTION_TITLE, fragment, figures
