"""Executors: who trains the shards. One small interface, two implementations.

`execute(shards, commit, progress)` trains every shard and calls `commit(shard, outcome)` in this
(driver) process as each finishes, so the store is written by one process whatever runs the training.
`local` trains in this process, one shard after another; `ray` sends each shard to a Ray task.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Protocol

from superscale.executors.shard import ShardOutcome, TrainFn, outcome_tables, run_shard
from superscale.grid import Shard

__all__ = [
    "Commit",
    "Executor",
    "LocalExecutor",
    "LogProgress",
    "Progress",
    "ShardOutcome",
    "get_executor",
    "outcome_tables",
    "run_shard",
]

log = logging.getLogger(__name__)

Commit = Callable[[Shard, ShardOutcome], None]


class Progress:
    """Progress events of a sweep; the base class ignores them (`--quiet`)."""

    def start(self, shards: Sequence[Shard], n_done: int, n_total: int) -> None:
        """`shards` are the pending ones; `n_done` of `n_total` shards were finished before."""

    def shard_started(self, shard: Shard) -> None: ...

    def step(self, shard: Shard, step: int) -> None:
        """Called after each optimiser step of `shard` (local executor only)."""

    def shard_done(self, shard: Shard, outcome: ShardOutcome) -> None: ...

    def close(self) -> None: ...


class LogProgress(Progress):
    """One log line per finished shard, with models/s and an ETA (for logs and non-TTY output), and a
    line every `every` of a shard's steps, so a long shard in a background log shows it is moving."""

    def __init__(self, every: float = 0.1) -> None:
        self.every = every
        self.shard_clock, self.next_report = time.perf_counter(), every

    def shard_started(self, shard: Shard) -> None:
        self.shard_clock, self.next_report = time.perf_counter(), self.every

    def step(self, shard: Shard, step: int) -> None:
        done = (step + 1) / shard.steps
        if done + 1e-12 < self.next_report or step + 1 == shard.steps:
            return
        self.next_report = done + self.every
        elapsed = time.perf_counter() - self.shard_clock
        rate = len(shard.runs) * (step + 1) / elapsed if elapsed > 0 else float("inf")
        log.info("  %s: step %d/%d (%.0f model-steps/s)", shard.shard_id, step + 1, shard.steps, rate)

    def start(self, shards: Sequence[Shard], n_done: int, n_total: int) -> None:
        self.total_models = sum(len(s.runs) for s in shards)
        self.total_shards, self.count, self.models = len(shards), 0, 0
        self.started = time.perf_counter()
        log.info(
            "%d of %d shards to train (%d models); %d already done",
            len(shards),
            n_total,
            self.total_models,
            n_done,
        )

    def shard_done(self, shard: Shard, outcome: ShardOutcome) -> None:
        self.count += 1
        self.models += len(shard.runs)
        elapsed = time.perf_counter() - self.started
        rate = self.models / elapsed if elapsed > 0 else float("inf")
        eta = (self.total_models - self.models) / rate if rate > 0 else float("nan")
        failed = f", {len(outcome.failed)} diverged" if outcome.failed else ""
        log.info(
            "shard %d/%d %s: %d models in %.1fs on %s%s | %.2f models/s, ETA %.0fs",
            self.count,
            self.total_shards,
            shard.shard_id,
            len(shard.runs),
            outcome.seconds,
            outcome.device,
            failed,
            rate,
            eta,
        )


class Executor(Protocol):
    def execute(self, shards: Sequence[Shard], commit: Commit, progress: Progress) -> None: ...


class LocalExecutor:
    """Train shards one after another in this process (CPU or CUDA)."""

    def __init__(
        self, device: str, threads: int | None, curve_points: int, train_fn: TrainFn | None = None
    ) -> None:
        self.device, self.threads, self.curve_points, self.train_fn = device, threads, curve_points, train_fn

    def execute(self, shards: Sequence[Shard], commit: Commit, progress: Progress) -> None:
        for shard in shards:
            progress.shard_started(shard)

            def on_step(step: int, shard: Shard = shard) -> None:
                progress.step(shard, step)

            outcome = run_shard(shard, self.device, self.threads, self.curve_points, on_step, self.train_fn)
            commit(shard, outcome)
            progress.shard_done(shard, outcome)


def get_executor(
    name: str,
    device: str,
    threads: int | None,
    curve_points: int,
    ray_address: str | None = None,
    train_fn: TrainFn | None = None,
    ray_timeout_s: float = 30.0,
) -> Executor:
    """Build an executor by name ("local" or "ray")."""
    if name == "local":
        from superscale.engine import resolve_device

        return LocalExecutor(resolve_device(device), threads, curve_points, train_fn)
    if name == "ray":
        if train_fn is not None:
            raise ValueError("train_fn can only be injected into the local executor")
        from superscale.executors.ray import RayExecutor

        threads = threads if threads is not None else 1
        return RayExecutor(device, threads, curve_points, ray_address, ray_timeout_s)
    raise ValueError(f"executor must be 'local' or 'ray', got {name!r}")
