"""Numbers that answer the study's questions, computed from its tables, and a verdict written from them.

The verdict is text generated from measured values (never typed by hand), so it says what *these* runs
show: whether loss is flat in the aspect ratio at fixed N relative to the seed noise, how alike features
are across shapes and across seeds (calibrated scores, superscale.aspect.calibrated), how the sparsity the
models imply compares with the data's, and which of Katta's two statements the numbers reject
(superscale.aspect.katta).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from superscale.aspect.calibrated import MEASURES
from superscale.aspect.compressed_sensing import critical_width
from superscale.aspect.katta import FLAT_LIMIT, katta_lines, katta_table, score_summary, shape_bounds

__all__ = [
    "depth_effect",
    "loss_flatness",
    "phase_summary",
    "sparsity_summary",
    "universality_summary",
    "verdict",
]

GROUP = ["params_budget", "data", "gamma"]


def _family(runs: pd.DataFrame) -> pd.DataFrame:
    return runs[runs["kind"] == "family"] if "kind" in runs else runs


def loss_flatness(runs: pd.DataFrame) -> pd.DataFrame:
    """Per (N, data, γ): loss range across shapes vs the seed noise, and the slope d ln L / d ln m.

    Compared on ln L, because the seed spread of a loss scales with the loss itself:
    spread_over_noise = (max − min of the shapes' mean ln L) / (pooled seed std of ln L). Values up to
    about 3 are what seed noise alone gives for a handful of shapes ("flat").
    """
    rows = []
    for key, group in _family(runs).groupby(GROUP, sort=True):
        log_loss = np.log(group["final_loss"])
        by_shape = log_loss.groupby([group["n_layers"], group["m"]])
        log_means, log_stds = by_shape.mean(), by_shape.std()
        means = group.groupby(["n_layers", "m"])["final_loss"].mean()
        has_seeds = len(group) > len(means)
        pooled = float(np.sqrt(np.nanmean(np.square(log_stds.to_numpy())))) if has_seeds else math.nan
        widths = np.array([m for _, m in log_means.index], dtype=float)
        slope = float(np.polyfit(np.log(widths), log_means.to_numpy(), 1)[0]) if len(means) > 1 else math.nan
        log_range = float(log_means.max() - log_means.min())
        late = float(group["late_improvement"].max()) if "late_improvement" in group else math.nan
        rows.append(
            {
                **dict(zip(GROUP, key, strict=True)),
                "n_shapes": len(means),
                "m_min": int(widths.min()),
                "m_max": int(widths.max()),
                "loss_min": float(means.min()),
                "loss_max": float(means.max()),
                "best_shape": "L={},m={}".format(*means.idxmin()),
                "rel_spread": float((means.max() - means.min()) / means.mean()),
                "seed_std_log": pooled,
                "spread_over_noise": log_range / pooled if pooled > 0 else math.nan,
                "slope_lnL_lnm": slope,
                "max_late_improvement": late,
            }
        )
    return pd.DataFrame(rows)


def universality_summary(pairs: pd.DataFrame) -> pd.DataFrame:
    """Calibrated scores over pairs of different seeds: mean, std and standard error per (N, data, γ, regime,
    layer, kind) (`superscale.aspect.katta.score_summary`)."""
    return score_summary(pairs)


def sparsity_summary(runs: pd.DataFrame) -> pd.DataFrame:
    """Per (N, data, γ, shape): features represented at the last layer, n_repr/m, implied vs actual S."""
    keys = [*GROUP, "n_layers", "m"]
    columns = ["n_repr_last", "superposition_last", "implied_sparsity_last", "data_sparsity"]
    return _family(runs).groupby(keys, sort=True)[columns].mean().reset_index()


def depth_effect(runs: pd.DataFrame) -> pd.DataFrame:
    """Per deep shape: its loss vs the one-layer model of the same width (the "width_baseline" runs).

    loss_ratio < 1: the hidden layers help beyond what the width alone gives; ≈ 1: loss is set by width.
    """
    if "kind" not in runs or not (runs["kind"] == "width_baseline").any():
        return pd.DataFrame()
    means = runs.groupby([*GROUP, "kind", "n_layers", "m"])["final_loss"].mean().reset_index()
    deep = means[(means["kind"] == "family") & (means["n_layers"] > 1)]
    base = means[means["kind"] == "width_baseline"][[*GROUP, "m", "final_loss"]]
    merged = deep.merge(base, on=[*GROUP, "m"], suffixes=("", "_one_layer"))
    merged["loss_ratio"] = merged["final_loss"] / merged["final_loss_one_layer"]
    return merged.drop(columns="kind")


def phase_summary(phase: pd.DataFrame, tol: float = 0.1) -> pd.DataFrame:
    """Critical width per (method, S) next to the bound −n(1−S)ln(1−S)."""
    crit = critical_width(phase, tol=tol)
    bounds = phase.groupby("sparsity")["bound_m"].first()
    crit["bound_m"] = crit["sparsity"].map(bounds)
    crit["critical_over_bound"] = crit["critical_m"] / crit["bound_m"]
    return crit


def _fmt(x: float, digits: int = 3) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{digits}g}"


def _loss_line(row: pd.Series) -> str:
    if row["spread_over_noise"] <= FLAT_LIMIT:
        reading = "flat within seed noise, as Kaplan found for transformers"
    elif row["slope_lnL_lnm"] < 0:
        reading = "set by width: the wider (shallower) shapes are better"
    else:
        reading = "better when deeper (narrower)"
    return (
        f"Loss at N={row['params_budget']} ({row['data']}, γ={row['gamma']:g}), widths "
        f"m={row['m_min']}–{row['m_max']}: {_fmt(row['loss_min'])}–{_fmt(row['loss_max'])} "
        f"(ln L spans {_fmt(row['spread_over_noise'], 2)}× its seed std; "
        f"d ln L/d ln m = {_fmt(row['slope_lnL_lnm'], 2)}; best {row['best_shape']}): {reading} "
        f"(largest loss drop over the last 20% of steps: {_fmt(100 * row['max_late_improvement'], 2)}%)."
    )


def _universality_line(key: tuple, layer: str, seed: pd.Series | None, shape: pd.Series) -> str:
    def pair(measure: str) -> str:
        text = f"{_fmt(shape[measure + '_mean'], 2)} ± {_fmt(shape[measure + '_se'], 1)} across shapes"
        if seed is not None:
            text += f" vs {_fmt(seed[measure + '_mean'], 2)} ± {_fmt(seed[measure + '_se'], 1)} across seeds"
        return f"{measure} {text}"

    return (
        f"Universality at N={key[0]} ({key[1]}, γ={key[2]:g}, {shape['regime']} superposition, {layer} "
        f"layer; 0 = chance, 1 = identical up to rotation; ± standard error over {int(shape['n_seeds'])} "
        f"seeds): {'; '.join(pair(m) for m in MEASURES)}."
    )


def _sparsity_line(key: tuple[int, str, float], wide: pd.Series, narrow: pd.Series) -> str:
    def held(row: pd.Series) -> str:
        return (
            f"{_fmt(row['n_repr_last'])} features in m={int(row['m'])} "
            f"(n/m={_fmt(row['superposition_last'])}, implied S={_fmt(row['implied_sparsity_last'])})"
        )

    return (
        f"Superposition at N={key[0]} ({key[1]}, γ={key[2]:g}), last layer: {held(wide)} vs {held(narrow)}; "
        f"the data's S = {_fmt(wide['data_sparsity'], 4)}."
    )


def verdict(
    runs: pd.DataFrame, pairs: pd.DataFrame, phase: pd.DataFrame | None, tol: float = 0.1
) -> list[str]:
    """Plain sentences, one per finding, with the measured numbers."""
    lines = [_loss_line(row) for _, row in loss_flatness(runs).iterrows()]
    effect = depth_effect(runs)
    for key, group in effect.groupby(GROUP, sort=True) if len(effect) else []:
        ratios = ", ".join(
            f"L={r['n_layers']},m={r['m']}: ×{_fmt(r['loss_ratio'], 2)}" for _, r in group.iterrows()
        )
        lines.append(
            f"Depth at equal width (N={key[0]}, {key[1]}, γ={key[2]:g}), loss of the deep shape over the "
            f"one-layer model of the same m: {ratios} (< 1: the hidden layers help)."
        )
    uni = universality_summary(pairs) if len(pairs) else pd.DataFrame()
    for (*key, layer), group in uni.groupby([*GROUP, "layer"], sort=True) if len(uni) else []:
        by_kind = group.set_index("kind")
        if "shape" in by_kind.index:
            seed = by_kind.loc["seed"] if "seed" in by_kind.index else None
            lines.append(_universality_line(tuple(key), layer, seed, by_kind.loc["shape"]))
    for key, group in sparsity_summary(runs).groupby(GROUP, sort=True):
        wide, narrow = group.loc[group["m"].idxmax()], group.loc[group["m"].idxmin()]
        lines.append(_sparsity_line(key, wide, narrow))  # type: ignore[arg-type]
    if phase is not None and len(phase):
        for method, group in phase_summary(phase, tol).groupby("method", sort=True):
            ratios = ", ".join(
                f"S={r['sparsity']:g}: m*={_fmt(r['critical_m'])} "
                f"({_fmt(r['critical_over_bound'], 2)}× bound)"
                for _, r in group.iterrows()
            )
            lines.append(f"Compressed sensing, {method} (relative error ≤ {tol:g}): {ratios}.")
    return lines + katta_lines(katta_table(loss_flatness(runs), shape_bounds(runs), uni))
