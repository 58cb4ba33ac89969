"""The terminal progress bars of `superscale run` (rich), loaded only when a sweep runs on a terminal."""

from __future__ import annotations

import time
from collections.abc import Sequence

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.progress import Progress as RichBar

from superscale.cli._common import console
from superscale.executors import Progress, ShardOutcome
from superscale.grid import Shard


class RichProgress(Progress):
    """Two bars on a terminal: shards (with models/s and ETA) and the steps of the current shard."""

    def __init__(self) -> None:
        self.bar = RichBar(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console,
        )

    def start(self, shards: Sequence[Shard], n_done: int, n_total: int) -> None:
        self.models_total = sum(len(s.runs) for s in shards)
        self.models_done, self.started = 0, time.perf_counter()
        self.bar.start()
        if n_done:
            self.bar.console.print(f"resuming: {n_done} of {n_total} shards already done")
        self.shards = self.bar.add_task("shards", total=len(shards), rate="")
        self.steps = self.bar.add_task("steps", total=1, rate="", visible=False)

    def shard_started(self, shard: Shard) -> None:
        self.bar.reset(self.steps, total=shard.steps, visible=True)
        self.bar.update(self.steps, description=f"n={shard.n} m={shard.m} ({len(shard.runs)} models)")

    def step(self, shard: Shard, step: int) -> None:
        self.bar.update(self.steps, completed=step + 1)

    def shard_done(self, shard: Shard, outcome: ShardOutcome) -> None:
        self.models_done += len(shard.runs)
        rate = self.models_done / max(time.perf_counter() - self.started, 1e-9)
        self.bar.update(self.shards, advance=1, rate=f"{rate:.2f} models/s")
        if outcome.failed:
            self.bar.console.print(f"[yellow]{len(outcome.failed)} run(s) of {shard.shard_id} diverged[/]")

    def close(self) -> None:
        self.bar.stop()
