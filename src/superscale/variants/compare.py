"""Loss-vs-width exponents of the MSE, cross-entropy and unit-norm toy models on the same data.

The paper measures α_m for the squared-error model only; §3.6 argues a softmax read-out also gives
L_m ∝ 1/m, and §3.7 predicts that fixed representation norms (nGPT) favour superposition. This module
trains the three models on the same frequencies p_i ∝ i^-α, seeds and recipe, and fits ln L = c − α_m ln m
for each (spec §1.8). For the cross-entropy model it also evaluates the §3.6 decomposition on the trained
weights, so its width-dependent part can be fitted next to the measured loss.

Losses are each model's own: the MSE models report the paper's summed squared error, the cross-entropy
model the per-sample cross-entropy in nats (`loss_kind` says which). Exponents compare across models;
absolute values do not.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from superscale import schema
from superscale.atomic import write_parquet_atomic
from superscale.data import power_law_probs
from superscale.engine import ModelSpec, ShardSpec, train_shard
from superscale.fit import fit_loglog, fit_power_law_offset
from superscale.variants.decomposition import cross_entropy_decomposition

__all__ = [
    "FITS_FILE",
    "FULL",
    "PHASE_DIAGRAM_FILE",
    "QUICK",
    "RUNS_FILE",
    "VariantComparison",
    "VariantSpec",
    "compare_variants",
    "exponent_table",
    "fit_variant_exponents",
    "shrink",
]

log = logging.getLogger(__name__)

RUNS_FILE = "variants.parquet"  # one row per trained model
FITS_FILE = "variants_fits.parquet"  # one row per (variant, γ, quantity)
PHASE_DIAGRAM_FILE = "phase_diagram.parquet"  # `superscale variants phase`: one row per (density, importance)
# columns beyond superscale.schema
VARIANT = "variant"  # label of the compared model ("mse", "cross_entropy", "unit_norm", ...)
ARCH_OPTIONS = "arch_options"  # JSON of the architecture's options
LOSS_KIND = "loss_kind"  # "mse_summed" | "cross_entropy_nats"
QUANTITY = "quantity"  # which column a fit is of
OFFSET = "offset"  # L0 of the "offset" fit L = C m^-α + L0 (NaN for "loglog")
CE_EXACT = "ce_exact"  # §3.6 terms with the model's own read-out (h_i = W_i, its b), v = 1
CE_ZEROTH = "ce_zeroth_order"
CE_FIRST = "ce_first_order"
CE_WIDTH = "ce_width"  # width-dependent part ½ Σ a_ij o_ij², toy read-out
CE_SPEC_WIDTH = "ce_spec_width"  # the spec's L_m = ½ Σ (W_i·W_j/‖W_i‖)² e^{−‖W_i‖} (h_i = Ŵ_i, no bias)


@dataclass(frozen=True)
class VariantSpec:
    """One compared model: a label, a registered architecture, its options, and the γ values it trains."""

    label: str
    architecture: str
    options: dict[str, Any] = field(default_factory=dict)
    gammas: tuple[float, ...] = (-1.0,)
    loss_kind: str = "mse_summed"


@dataclass(frozen=True)
class VariantComparison:
    """The shared data and recipe; every variant trains every width m with every seed."""

    n: int
    ms: tuple[int, ...]
    alpha: float
    variants: tuple[VariantSpec, ...]
    batch: int
    steps: int
    lr: float = 0.01  # peak learning rate of W and b (the small-model recipe, spec §1.6)
    warmup_fraction: float = 0.1
    seeds: tuple[int, ...] = (0,)
    final_window: int = 100


_STANDARD = (
    VariantSpec("mse", "tied", gammas=(-1.0,)),
    VariantSpec("cross_entropy", "cross_entropy", gammas=(-1.0,), loss_kind="cross_entropy_nats"),
    VariantSpec("unit_norm", "unit_norm", gammas=(0.0,)),  # γ has no effect: rows are projected
)
#: a few minutes on two CPU cores
QUICK = VariantComparison(n=512, ms=(8, 11, 16, 23, 32), alpha=1.2, variants=_STANDARD, batch=512, steps=3000)
#: the paper's small-model scale (n = 1000, m = 10..100, batch 2048, 20000 steps), two γ, learned τ too
FULL = VariantComparison(
    n=1000,
    ms=(10, 15, 25, 39, 63, 100),
    alpha=1.2,
    variants=(
        VariantSpec("mse", "tied", gammas=(-1.0, 0.1)),
        VariantSpec("cross_entropy", "cross_entropy", gammas=(-1.0, 0.1), loss_kind="cross_entropy_nats"),
        # v ~ U(0, 2) scales the embedding: small v makes tokens ambiguous, an intrinsic uncertainty
        VariantSpec(
            "cross_entropy_scaled", "cross_entropy", {"scaled": True}, (-1.0,), loss_kind="cross_entropy_nats"
        ),
        VariantSpec("unit_norm", "unit_norm", gammas=(0.0,)),
        VariantSpec("unit_norm_tau", "unit_norm", {"temperature": True}, gammas=(0.0,)),
    ),
    batch=2048,
    steps=20000,
    seeds=(0, 1),
)


def _mean_cos2(W: torch.Tensor) -> float:
    """Mean of c_ij² over pairs i ≠ j of normalised rows (spec §2, "S = all rows")."""
    Wn = W / torch.linalg.vector_norm(W, dim=1, keepdim=True).clamp(min=1e-12)
    gram = (Wn @ Wn.T).square()
    n = W.shape[0]
    return float((gram.sum() - gram.diagonal().sum()) / (n * (n - 1)))


def _rows_of_shard(
    comparison: VariantComparison, variant: VariantSpec, m: int, device: str
) -> list[dict[str, Any]]:
    probs = power_law_probs(comparison.n, comparison.alpha)
    models = [
        ModelSpec(probs, gamma, comparison.lr, comparison.lr, seed, data_key=f"alpha={comparison.alpha}")
        for gamma in variant.gammas
        for seed in comparison.seeds
    ]
    spec = ShardSpec(
        comparison.n, m, models, batch=comparison.batch, steps=comparison.steps,
        warmup_steps=int(comparison.warmup_fraction * comparison.steps),
        final_window=min(comparison.final_window, comparison.steps), device=device,
        architecture=variant.architecture, arch_options=dict(variant.options),
    )  # fmt: skip
    result = train_shard(spec)
    rows = []
    for index, model in enumerate(models):
        W = result.params["W"][index].double()
        row: dict[str, Any] = {
            VARIANT: variant.label,
            schema.ARCHITECTURE: variant.architecture,
            ARCH_OPTIONS: json.dumps(variant.options, sort_keys=True),
            LOSS_KIND: variant.loss_kind,
            schema.N_FEATURES: comparison.n,
            schema.M_HIDDEN: m,
            schema.ALPHA: comparison.alpha,
            schema.GAMMA: model.gamma if variant.architecture != "unit_norm" else math.nan,
            schema.SEED: model.seed,
            schema.BATCH: comparison.batch,
            schema.STEPS: comparison.steps,
            schema.FINAL_LOSS: float(result.final_loss[index]),
            schema.FINAL_LOSS_STD: float(result.final_loss_std[index]),
            schema.MEAN_NORM: float(torch.linalg.vector_norm(W, dim=1).mean()),
            schema.MEAN_COS2_ALL: _mean_cos2(W),
            schema.TRAIN_SECONDS: result.seconds / len(models),
        }
        for column in (CE_EXACT, CE_ZEROTH, CE_FIRST, CE_WIDTH, CE_SPEC_WIDTH):
            row[column] = math.nan
        if variant.architecture == "cross_entropy":
            own = cross_entropy_decomposition(W, result.params["b"][index], probs, normalise_hidden=False)
            spec_terms = cross_entropy_decomposition(W, None, probs, normalise_hidden=True)
            row.update(
                {
                    CE_EXACT: own["exact"],
                    CE_ZEROTH: own["zeroth_order"],
                    CE_FIRST: own["first_order"],
                    CE_WIDTH: own["width"],
                    CE_SPEC_WIDTH: spec_terms["width"],
                }
            )
        rows.append(row)
    return rows


def fit_variant_exponents(runs: pd.DataFrame) -> pd.DataFrame:
    """α_m per (variant, γ): "loglog" (OLS of ln L on ln m over all widths, the paper's fit) for the loss
    and the CE width terms, and "offset" (L = C m^-α + L0, 4+ widths) for the loss, since a model with
    an irreducible loss (e.g. the scaled cross-entropy model) bends away from a pure power law."""
    out = []
    for (label, gamma), group in runs.groupby([VARIANT, schema.GAMMA], dropna=False, sort=False):
        for quantity in (schema.FINAL_LOSS, CE_WIDTH, CE_SPEC_WIDTH):
            values = group[[schema.M_HIDDEN, quantity]].dropna()
            values = values[values[quantity] > 0]
            if values[schema.M_HIDDEN].nunique() < 3:
                continue
            fit = fit_loglog(values[schema.M_HIDDEN].to_numpy(), values[quantity].to_numpy())
            out.append(
                {
                    VARIANT: label,
                    schema.GAMMA: gamma,
                    QUANTITY: quantity,
                    schema.FIT_KIND: "loglog",
                    schema.EXPONENT: fit.exponent,
                    schema.EXPONENT_SE: fit.exponent_se,
                    schema.EXPONENT_CI_LOW: fit.ci_low,
                    schema.EXPONENT_CI_HIGH: fit.ci_high,
                    schema.R2: fit.r2,
                    schema.N_POINTS: fit.n_points,
                    OFFSET: math.nan,
                }
            )
        loss = group[[schema.M_HIDDEN, schema.FINAL_LOSS]].dropna()
        if loss[schema.M_HIDDEN].nunique() >= 4 and bool((loss[schema.FINAL_LOSS] > 0).all()):
            ms, losses = loss[schema.M_HIDDEN].to_numpy(), loss[schema.FINAL_LOSS].to_numpy()
            offset = fit_power_law_offset(ms, losses)
            out.append(
                {
                    VARIANT: label,
                    schema.GAMMA: gamma,
                    QUANTITY: schema.FINAL_LOSS,
                    schema.FIT_KIND: "offset",
                    schema.EXPONENT: offset.exponent,
                    schema.EXPONENT_SE: offset.exponent_se,
                    schema.EXPONENT_CI_LOW: offset.ci_low,
                    schema.EXPONENT_CI_HIGH: offset.ci_high,
                    schema.R2: offset.r2,
                    schema.N_POINTS: offset.n_points,
                    OFFSET: offset.offset,
                }
            )
    return pd.DataFrame(out)


def compare_variants(
    out_dir: str | Path,
    quick: bool = True,
    device: str = "cpu",
    comparison: VariantComparison | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Train the comparison (QUICK, FULL, or `comparison`), write RUNS_FILE and FITS_FILE to `out_dir`.

    Returns (runs, fits). One shard per (variant, m) trains all of that variant's γ values and seeds.
    """
    chosen = comparison or (QUICK if quick else FULL)
    if len(chosen.ms) < 3:
        raise ValueError(f"ms needs at least 3 widths to fit an exponent, got {list(chosen.ms)}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, Any]] = []
    for variant in chosen.variants:
        for m in chosen.ms:
            log.info("variants: training %s at m=%d", variant.label, m)
            rows.extend(_rows_of_shard(chosen, variant, m, device))
    runs = pd.DataFrame(rows)
    fits = fit_variant_exponents(runs)
    write_parquet_atomic(runs, out / RUNS_FILE)
    write_parquet_atomic(fits, out / FITS_FILE)
    return runs, fits


def shrink(comparison: VariantComparison, **changes: Any) -> VariantComparison:
    """A copy with some fields changed (tests and users make small comparisons this way)."""
    return replace(comparison, **changes)


def exponent_table(fits: pd.DataFrame) -> pd.DataFrame:
    """α_m ± se of the measured loss (the paper's log-log fit), one row per (variant, γ)."""
    loss = fits[(fits[QUANTITY] == schema.FINAL_LOSS) & (fits[schema.FIT_KIND] == "loglog")]
    cols = [VARIANT, schema.GAMMA, schema.EXPONENT, schema.EXPONENT_SE, schema.R2, schema.N_POINTS]
    return loss[cols].reset_index(drop=True) if len(loss) else pd.DataFrame(columns=cols)
