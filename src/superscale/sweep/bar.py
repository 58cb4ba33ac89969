"""The progress of a sweep: rich bars where someone watches, log lines in logs, nothing when quiet."""

from __future__ import annotations

import time
from collections.abc import Sequence

from superscale.config.grid import Shard
from superscale.progress import new_bar, shows_bars
from superscale.sweep.events import LogProgress, Progress
from superscale.sweep.shard import ShardOutcome


class SweepBar(Progress):
    """Two bars: shards (with models/s and ETA) and the steps of the current shard."""

    def __init__(self) -> None:
        self.bar = new_bar("rate")

    def start(self, shards: Sequence[Shard], n_done: int, n_total: int) -> None:
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


def sweep_progress(quiet: bool = False) -> Progress:
    """Nothing when `quiet`; bars in a terminal or notebook; else one log line per shard (LogProgress)."""
    if quiet:
        return Progress()
    return SweepBar() if shows_bars() else LogProgress()
