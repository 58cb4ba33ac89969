"""Loss-vs-width exponents of the MSE, cross-entropy and unit-norm toy models on the same data.

The paper measures α_m for the squared-error model only; §3.6 argues a softmax read-out also gives
L_m ∝ 1/m, and §3.7 predicts that fixed representation norms (nGPT) favour superposition. The models are
trained by an ordinary sweep whose `model.architecture` axis lists them (presets `variants-quick` and
`variants-full`); `superscale analyze` then calls `analyze_variants`, which adds two tables to the store:

    variants.parquet       one row per run: its variant label, loss kind, geometry and, for the
                           cross-entropy model, the §3.6 decomposition evaluated on its trained weights
    variants_fits.parquet  ln L = c − α_m ln m per (variant, γ) for the loss and the CE width terms

Losses are each model's own: the MSE models report the paper's summed squared error, the cross-entropy
model the per-sample cross-entropy in nats (`loss_kind` says which). Exponents compare across models;
absolute values do not.
"""

from __future__ import annotations

import json
import logging
import math
from typing import Any

import numpy as np
import pandas as pd
import torch

from superscale.analysis.fit import fit_loglog, fit_power_law_offset
from superscale.store import Store, schema
from superscale.store.atomic import write_parquet_atomic
from superscale.variants.decomposition import cross_entropy_decomposition

__all__ = [
    "analyze_variants",
    "exponent_table",
    "fit_variant_exponents",
    "needs_variants",
    "variant_label",
    "variant_rows",
]

log = logging.getLogger(__name__)

# columns beyond superscale.store.schema's runs columns
VARIANT = "variant"  # label of the compared model ("mse", "cross_entropy", "unit_norm", ...)
ARCH_OPTIONS = "arch_options"  # JSON of the architecture's options
LOSS_KIND = "loss_kind"  # "mse_summed" | "cross_entropy_nats"
QUANTITY = "quantity"  # which column a fit is of
OFFSET = "offset"  # L0 of the "offset" fit L = C m^-α + L0 (NaN for "loglog")
CE_EXACT = "ce_exact"  # §3.6 terms with the model's own read-out (h_i = W_i, its b), v = 1
CE_ZEROTH = "ce_zeroth_order"
CE_FIRST = "ce_first_order"
CE_WIDTH = "ce_width"  # width-dependent part ½ Σ a_ij o_ij², toy read-out
CE_APPROX = "ce_approx"  # zeroth + first + width order: the expansion's estimate of CE_EXACT
CE_SPEC_WIDTH = "ce_spec_width"  # the spec's L_m = ½ Σ (W_i·W_j/‖W_i‖)² e^{−‖W_i‖} (h_i = Ŵ_i, no bias)
CE_COLUMNS = (CE_EXACT, CE_ZEROTH, CE_FIRST, CE_WIDTH, CE_APPROX, CE_SPEC_WIDTH)
#: the architectures the paper trains; any other one (or more than one) makes a store a comparison
PAPER_ARCHITECTURES = frozenset({"tied"})
_LOSS_KIND = {"cross_entropy": "cross_entropy_nats"}  # every other architecture: summed squared error
_LABEL = {"tied": "mse"}


def needs_variants(runs: pd.DataFrame) -> bool:
    """True when the finished runs compare architectures (several, or one beyond the paper's model), except
    deep toy models, whose comparison is the aspect-ratio study's (superscale.aspect.study)."""
    if not len(runs) or schema.ARCHITECTURE not in runs:
        return False
    archs = set(runs.loc[runs[schema.STATUS] == "done", schema.ARCHITECTURE].astype(str)) - {"deep"}
    return len(archs) > 1 or bool(archs - PAPER_ARCHITECTURES)


def variant_label(architecture: str, options: dict[str, Any]) -> str:
    """ "mse" for the paper's model, else the architecture; options appended ("cross_entropy_scaled")."""
    parts = [_LABEL.get(architecture, architecture)]
    parts += [str(k) if v is True else f"{k}={v}" for k, v in sorted(options.items())]
    return "_".join(parts)


def _mean_cos2(W: torch.Tensor) -> float:
    """Mean of c_ij² over pairs i ≠ j of normalised rows (docs/recipe.md §2, "S = all rows")."""
    Wn = W / torch.linalg.vector_norm(W, dim=1, keepdim=True).clamp(min=1e-12)
    gram = (Wn @ Wn.T).square()
    n = W.shape[0]
    return float((gram.sum() - gram.diagonal().sum()) / (n * (n - 1)))


#: the data distribution of a run beyond n and α (present in the runs table of sweeps that have them)
_DATA_COLUMNS = (schema.FAMILY, schema.SCALE, schema.DENSITY)


def variant_rows(store: Store) -> pd.DataFrame:
    """One row per finished run of `store`: label, loss, geometry and (cross-entropy) the §3.6 terms."""
    runs = store.runs()[store.runs()[schema.STATUS] == "done"]
    options = json.dumps(store.config.get("model", {}).get("options", {}), sort_keys=True)
    rows = []
    for run in runs.to_dict("records"):
        architecture = str(run[schema.ARCHITECTURE])
        params = store.params(run[schema.RUN_ID])
        W = params["W"].double()
        row: dict[str, Any] = {
            schema.RUN_ID: run[schema.RUN_ID],
            VARIANT: variant_label(architecture, json.loads(options)),
            schema.ARCHITECTURE: architecture,
            ARCH_OPTIONS: options,
            LOSS_KIND: _LOSS_KIND.get(architecture, "mse_summed"),
            schema.N_FEATURES: int(run[schema.N_FEATURES]),
            schema.M_HIDDEN: int(run[schema.M_HIDDEN]),
            schema.ALPHA: float(run[schema.ALPHA]),
            **{col: run[col] for col in _DATA_COLUMNS if col in run},
            # the unit-norm model projects its rows after every step: γ has no effect on it
            schema.GAMMA: math.nan if architecture == "unit_norm" else float(run[schema.GAMMA]),
            schema.SEED: int(run[schema.SEED]),
            schema.BATCH: int(run[schema.BATCH]),
            schema.STEPS: int(run[schema.STEPS]),
            schema.FINAL_LOSS: float(run[schema.FINAL_LOSS]),
            schema.FINAL_LOSS_STD: float(run[schema.FINAL_LOSS_STD]),
            schema.MEAN_NORM: float(torch.linalg.vector_norm(W, dim=1).mean()),
            schema.MEAN_COS2_ALL: _mean_cos2(W),
            schema.TRAIN_SECONDS: float(run[schema.TRAIN_SECONDS]),
        }
        row.update(dict.fromkeys(CE_COLUMNS, math.nan))
        if architecture == "cross_entropy":
            probs = store.feature_probs(run[schema.RUN_ID])
            own = cross_entropy_decomposition(W, params["b"].double(), probs, normalise_hidden=False)
            spec_terms = cross_entropy_decomposition(W, None, probs, normalise_hidden=True)
            row.update(
                {
                    CE_EXACT: own["exact"],
                    CE_ZEROTH: own["zeroth_order"],
                    CE_FIRST: own["first_order"],
                    CE_WIDTH: own["width"],
                    CE_APPROX: own["approx"],
                    CE_SPEC_WIDTH: spec_terms["width"],
                }
            )
        rows.append(row)
    return pd.DataFrame(rows)


def fit_variant_exponents(runs: pd.DataFrame) -> pd.DataFrame:
    """α_m per (variant, γ): "loglog" (OLS of ln L on ln m over all widths, the paper's fit) for the loss
    and the CE width terms, and "offset" (L = C m^-α + L0, 4+ widths) for the loss, since a model with
    an irreducible loss (e.g. the scaled cross-entropy model) bends away from a pure power law."""
    out = []
    # one fit per variant, γ and data distribution: a sweep with an α (or n, family, E) axis must not mix
    keys = [VARIANT, schema.GAMMA]
    keys += [col for col in (schema.N_FEATURES, schema.ALPHA, *_DATA_COLUMNS) if col in runs]
    for key, group in runs.groupby(keys, dropna=False, sort=False):
        ident = dict(zip(keys, key, strict=True))
        for quantity in (schema.FINAL_LOSS, CE_WIDTH, CE_SPEC_WIDTH):
            values = group[[schema.M_HIDDEN, quantity]].dropna()
            values = values[values[quantity] > 0]
            if values[schema.M_HIDDEN].nunique() < 3:
                continue
            fit = fit_loglog(values[schema.M_HIDDEN].to_numpy(), values[quantity].to_numpy())
            out.append(
                {
                    **ident,
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
            try:
                offset = fit_power_law_offset(ms, losses)
            except (ValueError, np.linalg.LinAlgError) as exc:  # as analyze does: a bad offset fit is no fit
                log.warning("variants: offset fit of %s failed: %s", ident, exc)
                continue
            out.append(
                {
                    **ident,
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


def analyze_variants(store: Store, force: bool = False) -> bool:
    """Write VARIANTS_FILE and VARIANTS_FITS_FILE into `store` when its runs compare architectures.

    Idempotent: the tables are rebuilt from the runs (cheap next to training) and a file is replaced only
    when its content changed. Returns whether the store needed the step.
    """
    if not needs_variants(store.runs()):
        return False
    runs = variant_rows(store)
    fits = fit_variant_exponents(runs)
    for table, name in ((runs, schema.VARIANTS_FILE), (fits, schema.VARIANTS_FITS_FILE)):
        old = store.table(name)
        if force or old is None or not old.equals(table):
            write_parquet_atomic(table, store.path / name)
    log.info("variants: %d runs, %d fits", len(runs), len(fits))
    return True


def exponent_table(fits: pd.DataFrame) -> pd.DataFrame:
    """α_m ± se of the measured loss (the paper's log-log fit), one row per (variant, γ)."""
    loss = fits[(fits[QUANTITY] == schema.FINAL_LOSS) & (fits[schema.FIT_KIND] == "loglog")]
    cols = [VARIANT, schema.GAMMA, schema.EXPONENT, schema.EXPONENT_SE, schema.R2, schema.N_POINTS]
    return loss[cols].reset_index(drop=True) if len(loss) else pd.DataFrame(columns=cols)
