"""Train a sweep into a store: the runner plans the shards a store lacks and commits each one as it
finishes; executors (local, Ray) train them; `train_toy_models` trains a small grid in memory, no store."""

from __future__ import annotations

from superscale.sweep.runner import SweepTerminated, run_sweep

__all__ = ["SweepTerminated", "run_sweep"]
