"""Run a sweep: plan its grid (superscale.grid), train the shards a store lacks, commit each one.

The store (superscale.store) makes this crash-safe and resumable; the executors (local or Ray) train the
shards; this module only wires the three together.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from superscale.config import ExecutionConfig, SweepConfig
from superscale.grid import Shard, plan_sweep
from superscale.presets import resolve_config
from superscale.provenance import versions
from superscale.store import Store, StoreWriter, open_store

if TYPE_CHECKING:
    from superscale.executors import Progress
    from superscale.executors.shard import ShardOutcome, TrainFn

__all__ = ["run_sweep"]

log = logging.getLogger(__name__)


def run_sweep(
    config_or_preset: SweepConfig | dict[str, Any] | str | Path,
    out: str | Path,
    *,
    device: str | None = None,
    executor: str | None = None,
    threads: int | None = None,
    ray_address: str | None = None,
    force: bool = False,
    quiet: bool = False,
    progress: Progress | None = None,
    train_fn: TrainFn | None = None,
) -> Store:
    """Train every shard of a sweep that `out` does not hold yet, and return the store.

    Arguments left as None take the config's `[execution]` values. Re-running the same call resumes:
    finished shards are skipped. A different config on an existing store raises ValueError unless
    `force` (which deletes that store's files, nothing else). Ctrl-C (KeyboardInterrupt) keeps every
    finished shard, merges the tables, releases the lock and re-raises. Progress: bars in a terminal or
    notebook, log lines elsewhere, nothing with `quiet`; or pass your own `progress`.
    """
    from superscale.executors import get_executor, outcome_tables
    from superscale.executors.bar import sweep_progress

    config = resolve_config(config_or_preset)
    overrides = {"device": device, "executor": executor, "threads": threads, "ray_address": ray_address}
    execution = config.execution.model_copy(update={k: v for k, v in overrides.items() if v is not None})
    config = config.model_copy(update={"execution": ExecutionConfig.model_validate(execution.model_dump())})
    shards = plan_sweep(config)  # every config error surfaces here, before anything is written
    engine_exec = get_executor(
        execution.executor,
        execution.device,
        execution.threads,
        config.output.curve_points,
        execution.ray_address,
        train_fn,
    )
    progress = progress or sweep_progress(quiet)
    provenance = versions()
    n_runs = sum(len(s.runs) for s in shards)
    with StoreWriter(out, config, [s.shard_id for s in shards], n_runs, force=force) as writer:
        done = set(writer.manifest["shards"])
        pending = [s for s in shards if s.shard_id not in done]

        def commit(shard: Shard, outcome: ShardOutcome) -> None:
            runs, curves, weights = outcome_tables(shard, outcome, provenance)
            info = {
                "status": "failed" if not outcome.run_ids else "done",
                "n_models": len(shard.runs),
                "n_failed": len(outcome.failed),
                "seconds": round(outcome.seconds, 3),
                "device": outcome.device,
                "threads": outcome.threads,
            }
            writer.commit_shard(shard.shard_id, runs, curves, weights, info)

        progress.start(pending, len(shards) - len(pending), len(shards))
        try:
            engine_exec.execute(pending, commit, progress)
        except (KeyboardInterrupt, Exception):
            try:  # the finished shards stay usable; a failure here must not hide the first one
                writer.merge_tables("interrupted")
            except Exception:
                log.exception("could not merge the tables of %s", out)
            raise
        finally:
            progress.close()
        writer.merge_tables("complete")
    log.info("sweep %r complete: %d shards in %s", config.name, len(shards), out)
    return open_store(out)
