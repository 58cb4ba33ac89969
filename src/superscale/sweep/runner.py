"""Run a sweep: plan its grid (superscale.config.grid), train the shards a store lacks, commit each one.

The store (superscale.store) makes this crash-safe and resumable; the executors (local or Ray) train the
shards; this module only wires the three together.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from superscale.config import ExecutionConfig, SweepConfig, execution_with
from superscale.config.grid import Shard, plan_sweep
from superscale.config.limits import (
    SweepPlan,
    check_plan,
    check_runs,
    check_threads,
    machine_memory,
    plan_size,
)
from superscale.config.presets import resolve_config
from superscale.store import Store, StoreWriter, open_store, schema
from superscale.store.provenance import machine, versions

if TYPE_CHECKING:
    from superscale.sweep.events import Progress
    from superscale.sweep.shard import ShardOutcome, TrainFn

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
    ray_timeout_s: float | None = None,
    force: bool = False,
    quiet: bool = False,
    progress: Progress | None = None,
    train_fn: TrainFn | None = None,
    allow_large: bool = False,
    on_plan: Callable[[SweepPlan], None] | None = None,
) -> Store:
    """Train every shard of a sweep that `out` does not hold yet, and return the store.

    Arguments left as None take the config's `[execution]` values. Re-running the same call resumes:
    finished shards are skipped. A different config on an existing store raises ValueError unless
    `force` (which deletes that store's files, nothing else). A grid past `limits.MAX_RUNS` or a shard
    larger than the machine's memory raises ValueError with its numbers unless `allow_large`; `on_plan`
    sees the plan before anything is written. Ctrl-C (KeyboardInterrupt) keeps every
    finished shard, merges the tables, records status "interrupted", releases the lock and re-raises;
    SIGTERM does the same. Progress: bars in a terminal or notebook, log lines elsewhere, nothing with
    `quiet`; or pass your own `progress`.
    """
    from superscale.sweep.bar import sweep_progress
    from superscale.sweep.executors import get_executor, outcome_tables

    config = resolve_config(config_or_preset)
    overrides = {
        "device": device,
        "executor": executor,
        "threads": threads,
        "ray_address": ray_address,
        "ray_timeout_s": ray_timeout_s,
    }
    execution = execution_with(config.execution, overrides)
    config = config.model_copy(update={"execution": execution})
    if execution.executor == "local":  # a Ray worker's cores are its own machine's
        check_threads(execution.threads, "--threads" if threads is not None else "execution.threads")
    plan = plan_size(config)  # counted, not expanded: a 1e9-run grid is refused before it fills memory
    check_plan(plan, machine_memory(execution.device), allow_large)
    shards = plan_sweep(config)  # every config error surfaces here, before anything is written
    check_runs([run for shard in shards for run in shard.runs])
    if on_plan is not None:
        on_plan(plan)
    engine_exec = get_executor(
        execution.executor,
        execution.device,
        execution.threads,
        config.output.curve_points,
        execution.ray_address,
        train_fn,
        execution.ray_timeout_s,
    )
    progress = progress or sweep_progress(quiet)
    provenance = versions()
    n_runs = sum(len(s.runs) for s in shards)
    with (
        _sigterm_as_interrupt(),
        StoreWriter(out, config, [s.shard_id for s in shards], n_runs, force) as writer,
    ):
        done = set(writer.manifest["shards"])
        pending = [s for s in shards if s.shard_id not in done]
        if pending:
            _warn_mixed_threads(writer.manifest["shards"], execution)

        def commit(shard: Shard, outcome: ShardOutcome) -> None:
            runs, curves, weights = outcome_tables(shard, outcome, provenance)
            info = {
                "status": "failed" if not outcome.run_ids else "done",
                "n_models": len(shard.runs),
                "n_failed": len(outcome.failed),
                "seconds": round(outcome.seconds, 3),
                "device": outcome.device,
                "threads": outcome.threads,
                "machine": machine(),
            }
            writer.commit_shard(shard.shard_id, runs, curves, weights, info)

        progress.start(pending, len(shards) - len(pending), len(shards))
        try:
            try:
                engine_exec.execute(pending, commit, progress)
            finally:
                progress.close()
            writer.merge_tables("complete")
        except BaseException:  # Ctrl-C, SIGTERM, a full disk: the finished shards stay usable
            _close_interrupted(writer, out)
            raise
    log.info("sweep %r complete: %d shards in %s", config.name, len(shards), out)
    return open_store(out)


class SweepTerminated(KeyboardInterrupt):
    """SIGTERM, handled as Ctrl-C is: finished shards kept, status "interrupted"."""


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """Turn SIGTERM into SweepTerminated while a sweep runs (main thread only: signals go there)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def terminate(signum: int, frame: Any) -> None:
        raise SweepTerminated(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _close_interrupted(writer: StoreWriter, out: str | Path) -> None:
    """Merge what finished and record "interrupted"; a failure here is logged, never hides the first."""
    try:
        writer.merge_tables("interrupted")
    except Exception as exc:
        log.warning("could not merge the tables of %s (%s); `superscale run` again merges them", out, exc)
        with contextlib.suppress(Exception):
            writer.set_status("interrupted")


def _warn_mixed_threads(finished: dict[str, Any], execution: ExecutionConfig) -> None:
    """CPU results depend on torch's thread count in float32 round-off: say so before a resume mixes."""
    import torch

    before = sorted({int(info["threads"]) for info in finished.values() if "threads" in info})
    default = 1 if execution.executor == "ray" else torch.get_num_threads()
    now = execution.threads if execution.threads is not None else default
    if before and before != [now]:
        log.warning(
            "the finished shards trained with %s torch thread(s) per shard and this run uses %d: on CPU "
            "the results differ in float32 round-off between thread counts (column %s of runs.parquet); "
            "pass --threads %d to match them",
            "/".join(map(str, before)),
            now,
            schema.THREADS,
            before[0],
        )
