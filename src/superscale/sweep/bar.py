"""The progress of a sweep on the one reporter (superscale.progress): model-steps over every pending
shard, the current shard's mean loss, a line per finished shard where lines are shown."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from superscale.config.grid import Shard
from superscale.progress import Reporter
from superscale.sweep.events import Progress
from superscale.sweep.shard import ShardOutcome

__all__ = ["SweepProgress", "sweep_progress"]


def _models(count: int) -> str:
    return f"{count} model" + ("s" if count != 1 else "")


class SweepProgress(Progress):
    """One reporter over the sweep's model-steps; its description names the shard in training."""

    def __init__(self, quiet: bool = False) -> None:
        self.quiet = quiet
        self.reporter: Reporter | None = None

    def start(self, shards: Sequence[Shard], n_done: int, n_total: int) -> None:
        self.n_shards, self.count, self.done_steps = len(shards), 0, 0
        total = sum(shard.model_steps for shard in shards)
        self.reporter = Reporter("training", total, unit="model-steps", quiet=self.quiet)
        if n_done:
            self.reporter.note(f"resuming: {n_done} of {n_total} shards already done", always=True)

    def shard_started(self, shard: Shard) -> None:
        assert self.reporter is not None
        where = f"shard {self.count + 1}/{self.n_shards} n={shard.n} m={shard.m}"
        self.reporter.update(self.done_steps, description=where)

    def step(self, shard: Shard, step: int) -> None:
        assert self.reporter is not None
        self.reporter.update(self.done_steps + len(shard.runs) * (step + 1))

    def losses(self, shard: Shard, step: int, losses: torch.Tensor) -> None:
        assert self.reporter is not None
        self.reporter.set_loss(lambda: float(losses.double().mean()))  # read (a host sync) when shown

    def shard_done(self, shard: Shard, outcome: ShardOutcome) -> None:
        assert self.reporter is not None
        self.count += 1
        self.done_steps += shard.model_steps
        if len(outcome.final_loss):
            self.reporter.set_loss(float(outcome.final_loss.double().mean()))
        self.reporter.note(
            f"shard {self.count}/{self.n_shards} {shard.shard_id}: {_models(len(shard.runs))} in "
            f"{outcome.seconds:.1f} s on {outcome.device}"
        )
        if outcome.failed:
            self.reporter.note(f"{len(outcome.failed)} run(s) of {shard.shard_id} diverged", always=True)
        self.reporter.update(self.done_steps)

    def close(self) -> None:
        if self.reporter is not None:
            self.reporter.update(description="training")  # the last line sums up the sweep, not a shard
            self.reporter.close()


def sweep_progress(quiet: bool = False) -> Progress:
    """The sweep's reporter: a bar in a terminal, timestamped lines elsewhere, nothing when `quiet`."""
    return SweepProgress(quiet)
