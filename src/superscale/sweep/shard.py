"""Train one shard with the engine and turn the result into store rows.

`run_shard` is what every executor runs (in this process or in a Ray worker); `outcome_tables` runs in
the driver and makes the rows, curves and weights the store commits.
"""

from __future__ import annotations

import functools
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import torch

from superscale.config.grid import RunParams, Shard, shard_spec
from superscale.store import schema

__all__ = ["ShardOutcome", "TrainFn", "curve_steps", "outcome_tables", "run_shard"]

log = logging.getLogger(__name__)

TrainFn = Callable[..., Any]  # engine.train_shard(spec, on_step) -> ShardResult (injectable for tests)


@dataclass
class ShardOutcome:
    """A trained shard, CPU tensors only (so it pickles cheaply from a Ray worker)."""

    shard_id: str
    run_ids: list[str]  # the runs that trained, in shard order; rows of every tensor below
    params: dict[str, torch.Tensor]  # "W" [inst, n, m], "b" [inst, n], ...
    final_loss: torch.Tensor  # [inst] summed scale
    final_loss_std: torch.Tensor
    heldout_loss: torch.Tensor | None
    steps: torch.Tensor  # [k] logged step indices
    curve_loss: torch.Tensor  # [inst, k] summed scale
    seconds: float
    device: str
    threads: int
    failed: dict[str, str] = field(default_factory=dict)  # run_id -> error (diverged)


def curve_steps(steps: int, points: int) -> torch.Tensor:
    """Every k-th step (k = steps // points), always including the last one."""
    every = max(1, steps // points)
    idx = list(range(0, steps, every))
    if idx[-1] != steps - 1:
        idx.append(steps - 1)
    return torch.tensor(idx, dtype=torch.long)


def run_shard(
    shard: Shard,
    device: str,
    threads: int | None,
    curve_points: int,
    on_step: Callable[[int], None] | None = None,
    train_fn: TrainFn | None = None,
    on_loss: Callable[[int, torch.Tensor], None] | None = None,
) -> ShardOutcome:
    """Train `shard` with `threads` torch threads; a diverged model is dropped and the rest retrained.

    `on_loss` sees each step's losses (the engine's `on_loss`); an injected `train_fn` (tests) is called
    as `train_fn(spec, on_step)` and reports no losses."""
    from superscale.train.engine import DivergenceError, train_shard

    train = train_fn or functools.partial(train_shard, on_loss=on_loss)
    previous = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)  # CPU GEMM results can depend on the thread count
    try:
        active: list[RunParams] = list(shard.runs)
        failed: dict[str, str] = {}
        head = shard.runs[0]
        while active:
            spec = shard_spec(active, device)
            try:
                result = train(spec, on_step)
            except DivergenceError as exc:
                index = exc.instance
                bad = [active[index]] if index is not None and 0 <= index < len(active) else list(active)
                for run in bad:
                    failed[run.run_id] = str(exc)
                    active.remove(run)
                log.warning("shard %s: %d run(s) diverged, retraining the rest", shard.shard_id, len(bad))
                continue
            idx = curve_steps(head.steps, curve_points)
            return ShardOutcome(
                shard_id=shard.shard_id,
                run_ids=[r.run_id for r in active],
                params=result.params,
                final_loss=result.final_loss,
                final_loss_std=result.final_loss_std,
                heldout_loss=result.heldout_loss,
                steps=idx,
                curve_loss=result.step_loss[:, idx].double() * result.report_factor,
                seconds=result.seconds,
                device=result.device,
                threads=torch.get_num_threads(),
                failed=failed,
            )
        nothing = torch.empty(0)
        n_threads = torch.get_num_threads()
        return ShardOutcome(
            shard.shard_id, [], {}, nothing, nothing, None, nothing, nothing, 0.0, device, n_threads, failed
        )
    finally:
        torch.set_num_threads(previous)


def _run_row(run: RunParams, shard_id: str) -> dict[str, Any]:
    return {
        schema.RUN_ID: run.run_id,
        schema.SHARD_ID: shard_id,
        schema.EXPERIMENT: run.experiment,
        schema.ARCHITECTURE: run.architecture,
        schema.FAMILY: run.family,
        schema.ALPHA: run.alpha,
        schema.SCALE: run.scale,
        schema.DENSITY: float(run.probs().sum()) if math.isnan(run.density) else run.density,
        schema.DENSITY_KNOB: run.density_knob,
        schema.DATA_INDEX: run.data_index,
        schema.N_FEATURES: run.n,
        schema.M_HIDDEN: run.m,
        schema.GAMMA: run.gamma,
        schema.SEED: run.seed,
        schema.N_LAYERS: run.n_layers,
        schema.BATCH: run.batch,
        schema.STEPS: run.steps,
        schema.WARMUP_STEPS: run.warmup_steps,
        schema.LR_FLOOR: run.lr_floor,
        schema.LR_W: run.lr_W,
        schema.LR_B: run.lr_b,
        schema.LOSS_SCALE: run.loss_scale,
        schema.FINAL_WINDOW: run.final_window,
        schema.PRECISION: run.precision,
    }


def outcome_tables(
    shard: Shard, outcome: ShardOutcome, provenance: dict[str, str]
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, torch.Tensor]]:
    """Rows for runs.parquet (every run of the shard, failed ones with NaN losses), curves and weights."""
    position = {run_id: i for i, run_id in enumerate(outcome.run_ids)}
    per_model = outcome.seconds / max(1, len(shard.runs))
    rows = []
    for run in shard.runs:
        row = _run_row(run, shard.shard_id)
        i = position.get(run.run_id)
        final = math.nan if i is None else float(outcome.final_loss[i])
        row.update(
            {
                schema.FINAL_LOSS: final,
                schema.FINAL_LOSS_STD: math.nan if i is None else float(outcome.final_loss_std[i]),
                schema.FINAL_LOSS_PER_FEATURE: final / run.n,
                schema.HELDOUT_LOSS: (
                    math.nan if i is None or outcome.heldout_loss is None else float(outcome.heldout_loss[i])
                ),
                schema.TRAIN_SECONDS: per_model,
                schema.DEVICE: outcome.device,
                schema.THREADS: outcome.threads,
                schema.STATUS: "done" if i is not None else "failed",
                schema.ERROR: outcome.failed.get(run.run_id, ""),
                **provenance,
            }
        )
        rows.append(row)
    k = len(outcome.steps)
    curves = pd.DataFrame(
        {
            schema.RUN_ID: [rid for rid in outcome.run_ids for _ in range(k)],
            schema.STEP: outcome.steps.repeat(len(outcome.run_ids)).numpy().astype("int64"),
            schema.LOSS: outcome.curve_loss.reshape(-1).numpy().astype("float64"),
        }
    )
    weights = {
        schema.weight_key(run_id, name): tensor[i]
        for name, tensor in outcome.params.items()
        for i, run_id in enumerate(outcome.run_ids)
    }
    return pd.DataFrame(rows), curves, weights
