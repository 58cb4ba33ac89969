"""Is a result trustworthy? Convergence of each run from its loss curve, and warnings on each α_m fit.

A fit of ln L on ln m returns a number with a tiny standard error even when the runs behind it are still
training or the losses do not fall with m; `fit_flags` says so beside the number instead.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from superscale.store import schema

#: the convergence window: the last 10 % of the steps
CONVERGENCE_TAIL = 0.1
#: |relative change| allowed over that window. A run still drifting by 1 % moves ln L by 0.01, against
#: α_m·ln 2 ≈ 0.7 between two widths a factor 2 apart (α_m ≈ 1): too little to move α_m visibly, while a
#: larger drift (the learning rate sits at its 5 % floor by then) means the run had not settled.
CONVERGENCE_TOLERANCE = 0.01
#: a drift counts only beyond this many standard errors of the step-to-step noise: the logged losses are
#: single fresh batches, whose noise alone (a few % at batch 128) would otherwise "unconverge" every run
CONVERGENCE_NOISE_Z = 2.0
#: fewest logged points each half of the window needs for a mean and a noise estimate
MIN_POINTS_PER_HALF = 2
#: α_m above this is flagged: the paper's exponents stay near or below 1 (strong ≈ 1, weak ≈ α − 1 with
#: α ≤ 2); 3 leaves room for offset fits and small noisy sweeps, not for a fit gone wrong
MAX_PLAUSIBLE_EXPONENT = 3.0


def loss_convergence(steps: np.ndarray, loss: np.ndarray) -> tuple[float, float, bool | None]:
    """(relative change, its standard error, converged) of one run's logged loss curve.

    Window: the logged points with step ≥ (1 − CONVERGENCE_TAIL)·T, T = last logged step + 1 (a curve
    always logs the last step). Split at the window's middle step into an early and a late half:

        change = (mean(early) − mean(late)) / mean(late)      > 0 while the loss still falls
        se     = sqrt(var(early)/n_early + var(late)/n_late) / mean(late)     (sample variances)
        converged = |change| ≤ CONVERGENCE_TOLERANCE + CONVERGENCE_NOISE_Z · se

    so a run is unconverged only when its curve shows a drift beyond tolerance that the noise cannot
    explain. Fewer than MIN_POINTS_PER_HALF points in a half: (NaN, NaN, None), meaning "cannot tell".
    """
    order = np.argsort(steps)
    steps, loss = np.asarray(steps, dtype=float)[order], np.asarray(loss, dtype=float)[order]
    total = steps[-1] + 1
    start = (1 - CONVERGENCE_TAIL) * total
    middle = start + (total - start) / 2
    early = loss[(steps >= start) & (steps < middle)]
    late = loss[steps >= middle]
    if min(early.size, late.size) < MIN_POINTS_PER_HALF or not np.all(np.isfinite(loss)):
        return math.nan, math.nan, None
    level = late.mean()
    change = float((early.mean() - level) / level)
    se = float(math.sqrt(early.var(ddof=1) / early.size + late.var(ddof=1) / late.size) / level)
    return change, se, bool(abs(change) <= CONVERGENCE_TOLERANCE + CONVERGENCE_NOISE_Z * se)


def convergence_table(curves: pd.DataFrame, run_ids: Sequence[str]) -> pd.DataFrame:
    """One row per run of `run_ids`: run_id, loss_rel_change, loss_rel_change_se, converged (nullable).

    A run without a logged curve gets NaN and NA.
    """
    rows = []
    by_run = dict(tuple(curves.groupby(schema.RUN_ID))) if len(curves) else {}
    for run_id in run_ids:
        curve = by_run.get(run_id)
        if curve is None or len(curve) == 0:
            change, se, converged = math.nan, math.nan, None
        else:
            change, se, converged = loss_convergence(
                curve[schema.STEP].to_numpy(), curve[schema.LOSS].to_numpy()
            )
        rows.append(
            {
                schema.RUN_ID: run_id,
                schema.LOSS_REL_CHANGE: change,
                schema.LOSS_REL_CHANGE_SE: se,
                schema.CONVERGED: converged,
            }
        )
    table = pd.DataFrame(
        rows, columns=[schema.RUN_ID, schema.LOSS_REL_CHANGE, schema.LOSS_REL_CHANGE_SE, schema.CONVERGED]
    )
    return table.astype({schema.RUN_ID: str, schema.CONVERGED: "boolean"})


def fit_flags(exponent: float, m: np.ndarray, loss: np.ndarray, converged: Sequence[bool | None]) -> str:
    """Warnings on one fit of the points (m, loss) with per-run convergence; "" when there is none.

    Items, "; "-joined: "negative exponent" (loss grows with m), "implausible exponent (> 3)", "loss not
    monotone in m" (the mean loss per width rises somewhere), "k of N runs unconverged".
    """
    flags = []
    if exponent < 0:
        flags.append("negative exponent")
    elif exponent > MAX_PLAUSIBLE_EXPONENT:
        flags.append(f"implausible exponent (> {MAX_PLAUSIBLE_EXPONENT:g})")
    per_width = pd.Series(np.asarray(loss, dtype=float)).groupby(np.asarray(m, dtype=float)).mean()
    if bool((np.diff(per_width.to_numpy()) > 0).any()):
        flags.append("loss not monotone in m")
    unconverged = sum(1 for c in converged if not pd.isna(c) and not bool(c))  # NA: cannot tell
    if unconverged:
        flags.append(f"{unconverged} of {len(converged)} runs unconverged")
    return "; ".join(flags)
