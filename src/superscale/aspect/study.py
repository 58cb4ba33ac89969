"""The aspect-ratio study as an analysis step of an ordinary store (`superscale analyze` runs it).

The deep toy models are trained by a sweep whose grid crosses `m` with `model.n_layers` (architecture
"deep"; presets `aspect-quick`, `aspect-full`, `aspect-phase-quick`). A seed's data stream depends only on
(seed, data), so every shape of the store sees the very same batches. From the store's runs this module
reads the equal-parameter families and writes four tables into the store (names in superscale.store.schema):

    aspect_runs.parquet    one row per (model, role): kind "family" (a member of the equal-N family whose
                           budget N is the one-layer model at width m₁, params within FAMILY_TOLERANCE),
                           or "width_baseline" (the one-layer model at a deeper member's width)
    aspect_layers.parquet  one row per (model, layer): represented features, superposition, implied S
    aspect_pairs.parquet   one row per (pair of family members, layer "first"/"last"): Jaccard, CKA,
                           Procrustes, and the calibrated scores of superscale.aspect.calibrated
                           (<measure>_{value,null,ceiling,score}); kind "seed" (same shape) or "shape"

Every row carries its regime: "strong" (γ < 0), "weak" (γ > 0) or "none" (γ = 0) superposition.
    phase_transition.parquet  uniform data (power law with α = 0): relative error per (method, S, m,
                           seed), method "toy" (L = 1) or "deep L=…", and L1 recovery at the same (S, m)

Shapes of the grid that belong to no family are trained but not reported (the grid is a product, a
family pairs each depth with its own width).
"""

from __future__ import annotations

import itertools
import json
import logging
import math
from dataclasses import asdict
from typing import Any

import pandas as pd

from superscale.aspect.calibrated import calibrated_scores
from superscale.aspect.compressed_sensing import cs_min_width, implied_sparsity, l1_phase_transition
from superscale.aspect.universality import compare_features, feature_responses, layer_features
from superscale.store import Store, schema
from superscale.store.atomic import write_parquet_atomic
from superscale.train.architectures.deep import deep_param_count

__all__ = [
    "FAMILY_TOLERANCE",
    "analyze_aspect",
    "families",
    "needs_aspect",
    "phase_rows",
    "regime",
]

log = logging.getLogger(__name__)

FAMILY_TOLERANCE = 0.05  # |N − budget| / budget allowed for a family member
THRESHOLD = 0.5  # response norm counted as "represented" (superscale.aspect.universality)
PHASE_TOL = 0.1  # relative squared error counted as reconstructed
L1_TRIALS = 20  # basis-pursuit samples per (S, m)


def needs_aspect(runs: pd.DataFrame) -> bool:
    """True when the store holds finished deep toy models."""
    if not len(runs) or schema.ARCHITECTURE not in runs:
        return False
    return bool(((runs[schema.ARCHITECTURE] == "deep") & (runs[schema.STATUS] == "done")).any())


def families(
    n: int, shapes: set[tuple[int, int]], tied: bool = True, tolerance: float = FAMILY_TOLERANCE
) -> dict[int, list[tuple[int, int]]]:
    """Equal-N families among the trained shapes (L, m): budget N of each one-layer shape → the member of
    every depth whose count is nearest to N, within `tolerance`; families of one shape are dropped."""
    out: dict[int, list[tuple[int, int]]] = {}
    for m1 in sorted({width for layers, width in shapes if layers == 1}):
        budget = deep_param_count(n, m1, 1, tied)
        members = [(1, m1)]
        for depth in sorted({layers for layers, _ in shapes if layers > 1}):
            counts = {w: deep_param_count(n, w, depth, tied) for layers, w in shapes if layers == depth}
            m = min(counts, key=lambda w: abs(counts[w] - budget))
            if abs(counts[m] - budget) <= tolerance * budget:
                members.append((depth, m))
        if len(members) > 1:
            out[budget] = members
    return out


def regime(gamma: float) -> str:
    """The superposition regime the signed decay selects (docs/recipe.md §1.5): strong below 0, weak above."""
    return "strong" if gamma < 0 else "weak" if gamma > 0 else "none"


def _data_label(alpha: float, density: float, n: int) -> tuple[str, float, float]:
    """(label, α or NaN, sparsity S) of a power-law run; α = 0 is uniform data p_i = E/n = 1 − S."""
    if alpha == 0:
        sparsity = 1.0 - (1.0 if math.isnan(density) else density) / n
        return f"S={sparsity:g}", math.nan, sparsity
    return f"alpha={alpha:g}", alpha, math.nan


def _late_improvement(curve: pd.Series) -> float:
    """Relative drop of the logged loss over the last 20 % of training (mean of the 5 % before 0.8 T vs
    the last 5 %): near 0 when converged at this schedule, large when the shape was still learning."""
    loss = curve.to_numpy(dtype=float)
    if loss.size < 2:
        return math.nan
    window = max(1, loss.size // 20)
    cut = int(0.8 * loss.size)
    before = float(loss[max(0, cut - window) : cut].mean())
    after = float(loss[-window:].mean())
    return (before - after) / before if before > 0 else math.nan


def _model_rows(
    store: Store, deep: pd.DataFrame, residual: bool
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Per run: its shape, data and measured features (no role yet); and its responses for the pairs."""
    curves = store.curves()
    by_run = dict(tuple(curves.groupby(schema.RUN_ID))) if len(curves) else {}
    rows, responses = [], {}
    for run in deep.to_dict("records"):
        run_id, n, m, depth = (
            run[schema.RUN_ID],
            int(run[schema.N_FEATURES]),
            int(run[schema.M_HIDDEN]),
            int(run[schema.N_LAYERS]),
        )
        label, alpha, sparsity = _data_label(float(run[schema.ALPHA]), float(run[schema.DENSITY]), n)
        if math.isnan(sparsity):
            sparsity = 1.0 - float(store.feature_probs(run_id).sum()) / n
        params = store.params(run_id)
        per_run = feature_responses(params, residual)
        per_layer = layer_features(per_run, THRESHOLD)
        responses[run_id] = (per_run, per_layer, store.feature_probs(run_id))
        curve = by_run.get(run_id)
        rows.append(
            {
                "run": run_id,
                "n": n,
                "n_layers": depth,
                "m": m,
                "aspect_ratio": m / depth,
                "data": label,
                "alpha": alpha,
                "data_sparsity": sparsity,
                "gamma": float(run[schema.GAMMA]),
                "regime": regime(float(run[schema.GAMMA])),
                "seed": int(run[schema.SEED]),
                "final_loss": float(run[schema.FINAL_LOSS]),
                "final_loss_std": float(run[schema.FINAL_LOSS_STD]),
                "late_improvement": math.nan
                if curve is None
                else _late_improvement(curve.sort_values(schema.STEP)[schema.LOSS]),
                "n_repr_first": per_layer[0].n_represented,
                "n_repr_last": per_layer[-1].n_represented,
                "superposition_last": per_layer[-1].superposition,
                "implied_sparsity_last": implied_sparsity(per_layer[-1].n_represented, m),
                "train_seconds": float(run[schema.TRAIN_SECONDS]),
                "_layers": per_layer,
            }
        )
    return rows, responses


def _pairs(family_runs: pd.DataFrame, responses: dict[str, Any]) -> pd.DataFrame:
    """Every pair of family members on the same data and γ, compared at their first and last layer."""
    rows = []
    for (budget, _, _), group in family_runs.groupby(["params_budget", "data", "gamma"], sort=False):
        for a, b in itertools.combinations(group.to_dict("records"), 2):
            same_shape = a["n_layers"] == b["n_layers"] and a["m"] == b["m"]
            for which, pick in (("first", 0), ("last", -1)):
                responses_a, layers_a, probs = responses[a["run"]]
                responses_b, layers_b, _ = responses[b["run"]]
                args = (
                    responses_a[pick],
                    layers_a[pick].represented,
                    responses_b[pick],
                    layers_b[pick].represented,
                )
                sim = compare_features(*args)
                calibrated = calibrated_scores(*args, probs=probs).row()
                calibrated.pop("n_common")  # the same count as compare_features'

                rows.append(
                    {
                        "params_budget": budget,
                        "run_a": a["run"],
                        "run_b": b["run"],
                        "data": a["data"],
                        "gamma": a["gamma"],
                        "regime": a["regime"],
                        "layer": which,
                        "shape_a": f"L={a['n_layers']},m={a['m']}",
                        "shape_b": f"L={b['n_layers']},m={b['m']}",
                        "same_shape": same_shape,
                        "same_seed": a["seed"] == b["seed"],
                        "seed_a": a["seed"],
                        "seed_b": b["seed"],
                        "kind": "seed" if same_shape else "shape",
                        **asdict(sim),
                        **calibrated,
                    }
                )
    return pd.DataFrame(rows)


def _roles(models: list[dict[str, Any]], tied: bool) -> list[dict[str, Any]]:
    """One row per (model, role) over every family of each n (see the module docstring)."""
    out = []
    for n in sorted({row["n"] for row in models}):
        of_n = [row for row in models if row["n"] == n]
        shapes = {(row["n_layers"], row["m"]) for row in of_n}
        for budget, members in families(n, shapes, tied).items():
            deeper_widths = {m for L, m in members if L > 1}
            for row in of_n:
                shape = (row["n_layers"], row["m"])
                kind = "family" if shape in members else None
                if kind is None and row["n_layers"] == 1 and row["m"] in deeper_widths:
                    kind = "width_baseline"
                if kind is not None:
                    params = deep_param_count(n, row["m"], row["n_layers"], tied)
                    out.append({**row, "kind": kind, "params": params, "params_budget": budget})
    return out


def phase_rows(runs: pd.DataFrame, tied: bool = True) -> pd.DataFrame:
    """Uniform-data runs (power law, α = 0) as compressed-sensing points, with L1 recovery at their (S, m)."""
    uniform = runs[(runs[schema.FAMILY] == "power") & (runs[schema.ALPHA] == 0)]
    rows = []
    for run in uniform.to_dict("records"):
        n, depth = int(run[schema.N_FEATURES]), int(run[schema.N_LAYERS])
        density = float(run[schema.DENSITY])
        sparsity = 1.0 - density / n
        rel_error = float(run[schema.FINAL_LOSS]) / (4.0 / 3.0 * density)  # E‖x‖² = (4/3) n (1 − S)
        rows.append(
            {
                "method": "toy" if depth == 1 else f"deep L={depth}",
                "n": n,
                "n_layers": depth,
                "params": deep_param_count(n, int(run[schema.M_HIDDEN]), depth, tied),
                "sparsity": sparsity,
                "m": int(run[schema.M_HIDDEN]),
                "seed": int(run[schema.SEED]),
                "rel_error": rel_error,
                "success_rate": float(rel_error < PHASE_TOL),
                "bound_m": cs_min_width(n, sparsity),
            }
        )
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    l1 = [
        l1_phase_transition(n, sorted(set(g["sparsity"])), sorted(set(g["m"])), L1_TRIALS, tol=PHASE_TOL)
        for n, g in table.groupby("n")
    ]
    return pd.concat([table, *l1], ignore_index=True)


def analyze_aspect(store: Store, force: bool = False) -> bool:
    """Write the aspect tables (module docstring) into `store` when it holds deep toy models.

    Idempotent: rebuilt from the runs and weights, each file replaced only when its content changed.
    Returns whether the store needed the step.
    """
    if not needs_aspect(store.runs()):
        return False
    runs = store.runs()[store.runs()[schema.STATUS] == "done"]
    deep = runs[runs[schema.ARCHITECTURE] == "deep"]
    options = store.config.get("model", {}).get("options", {})
    tied, residual = bool(options.get("tied", True)), bool(options.get("residual", True))
    models, responses = _model_rows(store, deep, residual)
    roles = _roles(models, tied)
    layer_rows = [
        {
            "run": row["run"],
            "kind": row["kind"],
            "params_budget": row["params_budget"],
            "layer": lf.layer,
            "n_layers": row["n_layers"],
            "m": row["m"],
            "data": row["data"],
            "gamma": row["gamma"],
            "regime": row["regime"],
            "seed": row["seed"],
            "n_represented": lf.n_represented,
            "fraction_represented": lf.n_represented / row["n"],
            "superposition": lf.superposition,
            "mean_cos2": lf.mean_cos2,
            "response_scale": lf.scale,
            "implied_sparsity": implied_sparsity(lf.n_represented, row["m"]),
            "data_sparsity": row["data_sparsity"],
        }
        for row in roles
        for lf in row["_layers"]
    ]
    table = pd.DataFrame([{k: v for k, v in row.items() if k != "_layers"} for row in roles])
    tables: dict[str, pd.DataFrame] = {}
    if len(table):
        tables[schema.ASPECT_RUNS_FILE] = table
        tables[schema.ASPECT_LAYERS_FILE] = pd.DataFrame(layer_rows)
        tables[schema.ASPECT_PAIRS_FILE] = _pairs(table[table["kind"] == "family"], responses)
    phase = phase_rows(deep, tied)
    if len(phase):
        tables[schema.PHASE_TRANSITION_FILE] = phase
    for name, frame in tables.items():
        old = store.table(name)
        if force or old is None or not old.equals(frame):
            write_parquet_atomic(frame, store.path / name)
    log.info("aspect: %d family rows, %d phase rows (%s)", len(table), len(phase), json.dumps(sorted(tables)))
    return True
