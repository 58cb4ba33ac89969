"""A tiny synthetic store built by hand from the paper's regimes (docs/recipe.md §3): strong runs have
L ∝ m^-max(1, 2(α−1)), weak runs lose exactly (4/3) Σ_{i>m} p_i, so fits and theory lines agree with
known answers and every figure can be checked against them. The figure tests and the report tests build
their stores from it."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from superscale.analysis.fit.loglog import fit_loglog
from superscale.analysis.metrics.reference import welch_kappa2
from superscale.llm.catalog import (
    load_catalog,
    load_chinchilla_shapes,
    load_digitized_losses,
    load_digitized_overlaps,
)
from superscale.plots import (
    FigureData,
    LLMData,
    WidthFit,
)
from superscale.store import schema

E2_ALPHAS = (0.5, 1.0, 1.5, 2.0)
E2_GAMMAS = (-1.0, -0.7778, -0.5556, -0.3333, 0.1111, 0.5556)
E2_WIDTHS = (10, 15, 25, 40)
E2_N = 200


def _power_probs(n: int, alpha: float, density: float = 1.0) -> np.ndarray:
    p = np.arange(1, n + 1, dtype=float) ** -alpha
    return density * p / p.sum()


def _run_row(
    experiment: str, family: str, n: int, m: int, gamma: float, probs: np.ndarray, **extra: float
) -> dict:
    """One run and its metrics, following the regime its γ puts it in."""
    alpha, scale, density = (
        extra.get("alpha", math.nan),
        extra.get("scale", math.nan),
        extra.get("density", 1.0),
    )
    strong = gamma < 0
    tail = 4.0 / 3.0 * probs[m:].sum()
    if strong:
        exponent = max(1.0, 2.0 * (alpha - 1.0)) if np.isfinite(alpha) else 1.0
        loss = 0.6 * density * m ** (-exponent) * 10 ** (exponent - 1)
        phi_half, n_strong = 1.0, min(n, m * m // 2)
    else:
        loss, phi_half, n_strong = tail * (1 + 0.02 * gamma), m / n, 0
    run_id = f"{experiment}-{family}-{alpha}-{scale}-{density}-{gamma}-{m}"
    return {
        schema.RUN_ID: run_id,
        schema.SHARD_ID: f"{experiment}-{m}",
        schema.EXPERIMENT: experiment,
        schema.ARCHITECTURE: "tied",
        schema.FAMILY: family,
        schema.ALPHA: alpha,
        schema.SCALE: scale,
        schema.DENSITY: density,
        schema.N_FEATURES: n,
        schema.M_HIDDEN: m,
        schema.GAMMA: gamma,
        schema.SEED: 0,
        schema.N_LAYERS: 1,
        schema.FINAL_LOSS: loss,
        schema.FINAL_LOSS_STD: 0.02 * loss,
        schema.STATUS: "done",
        "_metrics": {
            schema.RUN_ID: run_id,
            schema.PHI_HALF: phi_half,
            schema.PHI_ONE: n_strong / n,
            schema.N_STRONG: n_strong,
            schema.MEAN_COS2_STRONG: 1.1 / m if n_strong > 1 else math.nan,
            schema.WELCH_KAPPA2_STRONG: welch_kappa2(max(n_strong, 1), m) if n_strong > 1 else math.nan,
            schema.VAR_RATIO_STRONG: 0.2 * alpha if strong and np.isfinite(alpha) else math.nan,
            schema.MEAN_COS2_ALL: 1.3 / m,
            schema.PREDICTED_WEAK_LOSS: 4.0 / 3.0 * probs[round(phi_half * n) :].sum(),
            schema.AMBIGUITY: (0.1 if not strong else 3.0) + 0.1 / (alpha if np.isfinite(alpha) else 1.0),
        },
        "_probs": probs,
        "_norms": (
            np.r_[np.full(m, 1.0), np.zeros(n - m)]
            if not strong
            else np.r_[np.full(n_strong, 1.05), np.full(n - n_strong, 0.8)]
        )
        + 0.01 * np.sin(np.arange(n)),
    }


def _fits(runs: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for key, sub in runs.groupby(schema.FIT_GROUP_COLUMNS, dropna=False):
        if sub[schema.M_HIDDEN].nunique() < 3:
            continue
        fit = fit_loglog(sub[schema.M_HIDDEN], sub[schema.FINAL_LOSS], n_bootstrap=20)
        rows.append(
            {
                **dict(zip(schema.FIT_GROUP_COLUMNS, key, strict=True)),
                schema.FIT_KIND: "loglog",
                schema.EXPONENT: fit.exponent,
                schema.EXPONENT_SE: fit.exponent_se,
                schema.R2: fit.r2,
                schema.N_POINTS: fit.n_points,
                "intercept": fit.intercept,
            }
        )
    return pd.DataFrame(rows)


def _curves(runs: pd.DataFrame, steps: int = 1000, every: int = 50) -> pd.DataFrame:
    """Loss every `every` steps, decaying to each run's final loss: L(s) = L_final (1 + 5 e^{-s/200})."""
    step = np.arange(0, steps + 1, every)
    return pd.DataFrame(
        {
            schema.RUN_ID: np.repeat(runs[schema.RUN_ID].to_numpy(), step.size),
            schema.STEP: np.tile(step, len(runs)),
            schema.LOSS: np.concatenate(
                [loss * (1 + 5 * np.exp(-step / 200)) for loss in runs[schema.FINAL_LOSS]]
            ),
        }
    )


def synthetic_data(
    with_llm: bool = True,
    n: int = E2_N,
    gammas: tuple[float, ...] = E2_GAMMAS,
    alphas: tuple[float, ...] = E2_ALPHAS,
    widths: tuple[int, ...] = E2_WIDTHS,
    wide_widths: tuple[int, ...] = (25, 30, 40),
    large_n: int = 512,
    large_scale: float = 40.0,
) -> FigureData:
    """A store of the four toy experiments in miniature, plus the shipped LLM tables.

    E2 (α scan) is `alphas` × `gammas` × `widths` at n features; E4 (every m²/2 > n) `wide_widths` at γ = −1;
    E3 three densities at α = 1 with the smallest and largest γ; E1 three families at n = `large_n` with
    exponential scale `large_scale`. Every run has a loss curve.
    """
    rows = []
    for alpha in alphas:
        probs = _power_probs(n, alpha)
        rows += [_run_row("e2", "power", n, m, g, probs, alpha=alpha) for g in gammas for m in widths]
    for alpha in (1.0, 1.5, 2.0):  # E4: every width has m²/2 > n
        probs = _power_probs(n, alpha)
        rows += [_run_row("e4", "power", n, m, -1.0, probs, alpha=alpha) for m in wide_widths]
    for density in (1.0, 2.5, 4.0):  # E3
        probs = _power_probs(n, 1.0, density)
        rows += [
            _run_row("e3", "power", n, m, g, probs, alpha=1.0, density=density)
            for g in (min(gammas), max(gammas))
            for m in (10, 25, 63)
        ]
    n1 = large_n  # E1
    decay = np.exp(-np.arange(n1) / large_scale)
    families = {
        ("power", 1.2, math.nan): _power_probs(n1, 1.2),
        ("exponential", math.nan, large_scale): decay / decay.sum(),
        ("linear", math.nan, math.nan): np.arange(n1, 0, -1) / np.arange(n1, 0, -1).sum(),
    }
    for (family, alpha, scale), probs in families.items():
        rows += [
            _run_row("e1", family, n1, m, g, probs, alpha=alpha, scale=scale)
            for g in (-1.0, 0.1)
            for m in (8, 16, 32, 64)
        ]
    runs = pd.DataFrame([{k: v for k, v in r.items() if not k.startswith("_")} for r in rows])
    metrics = pd.DataFrame([r["_metrics"] for r in rows])
    return FigureData(
        runs=runs,
        metrics=metrics,
        fits=_fits(runs),
        curves=_curves(runs),
        norms={r[schema.RUN_ID]: r["_norms"] for r in rows},
        probs={r[schema.RUN_ID]: r["_probs"] for r in rows},
        config={"name": "synthetic"},
        llm=synthetic_llm() if with_llm else None,
    )


def synthetic_llm() -> LLMData:
    """LLM tables: the digitised paper losses with a planted-exponent fit, geometry ∝ 1/m, token counts."""
    losses = load_digitized_losses()
    catalog = load_catalog()
    offsets = {f"{f}/{d}": 2.0 for f in losses["family"].unique() for d in losses["dataset"].unique()}
    losses = losses.assign(loss=[2.0 + 400.0 * m**-0.9 for m in losses["m"]])
    geometry = catalog.rename(columns={"d_model": "m"}).assign(
        mean_cos2=lambda t: 1.2 / t["m"],
        inv_m=lambda t: 1.0 / t["m"],
        mean_norm=1.0,
        std_norm=0.1,
        min_norm=0.4,
        max_norm=1.8,
    )
    ranks = np.arange(1, 2001)
    token_freq = pd.DataFrame(
        [
            {"tokenizer": t, "dataset": d, "rank": r, "count": int(1e6 / r)}
            for t in ("gpt2", "opt")
            for d in ("c4", "pile")
            for r in ranks
        ]
    )
    return LLMData(
        geometry=geometry,
        losses=losses,
        losses_source="synthetic",
        width_fit=WidthFit(exponent=0.9, exponent_se=0.01, C=400.0, offsets=offsets),
        norms=np.abs(np.sin(np.arange(5000))) + 0.3,
        norms_label="synthetic head",
        paper_overlaps=load_digitized_overlaps(),
        token_freq=token_freq,
        models=catalog,
        chinchilla=load_chinchilla_shapes(),
    )
