"""What a sweep reports while it trains: `Progress` events (start, each shard, each step, done) and the
`Commit` callback that writes a finished shard; `LogProgress` turns them into log lines."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence

from torch import Tensor

from superscale.config.grid import Shard
from superscale.sweep.shard import ShardOutcome

__all__ = ["Commit", "LogProgress", "Progress"]

log = logging.getLogger(__name__)


Commit = Callable[[Shard, ShardOutcome], None]


class Progress:
    """Progress events of a sweep; the base class ignores them (`--quiet`)."""

    def start(self, shards: Sequence[Shard], n_done: int, n_total: int) -> None:
        """`shards` are the pending ones; `n_done` of `n_total` shards were finished before."""

    def shard_started(self, shard: Shard) -> None: ...

    def step(self, shard: Shard, step: int) -> None:
        """Called after each optimiser step of `shard` (local executor only)."""

    def losses(self, shard: Shard, step: int, losses: Tensor) -> None:
        """The pre-update losses [inst] of that step on the reported scale, still on the training device
        (local executor only, just before `step`); read them only when shown: a CUDA read waits."""

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
