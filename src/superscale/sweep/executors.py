"""Executors: who trains the shards. One small interface, two implementations.

`execute(shards, commit, progress)` trains every shard and calls `commit(shard, outcome)` in this
(driver) process as each finishes, so the store is written by one process whatever runs the training.
`local` trains in this process, one shard after another; `ray` sends each shard to a Ray task.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Protocol

from torch import Tensor

from superscale.config.grid import Shard
from superscale.sweep.events import Commit, Progress
from superscale.sweep.shard import TrainFn, outcome_tables, run_shard

__all__ = ["Executor", "LocalExecutor", "get_executor", "outcome_tables", "run_shard"]

log = logging.getLogger(__name__)


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

            def on_loss(step: int, losses: Tensor, shard: Shard = shard) -> None:
                progress.losses(shard, step, losses)

            outcome = run_shard(
                shard, self.device, self.threads, self.curve_points, on_step, self.train_fn, on_loss
            )
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
        from superscale.train.engine import resolve_device

        return LocalExecutor(resolve_device(device), threads, curve_points, train_fn)
    if name == "ray":
        if train_fn is not None:
            raise ValueError("train_fn can only be injected into the local executor")
        from superscale.sweep.ray_executor import RayExecutor

        threads = threads if threads is not None else 1
        return RayExecutor(device, threads, curve_points, ray_address, ray_timeout_s)
    raise ValueError(f"executor must be 'local' or 'ray', got {name!r}")
