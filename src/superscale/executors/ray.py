"""The Ray executor: one task per shard on an existing cluster (or a local one it starts).

Workers only train; the driver commits each shard as its task finishes, so the store has one writer and
the same resume guarantees as the local executor. A shard asks for `threads` CPUs and, on CUDA, one GPU;
it sets torch's thread count to `threads` so results equal a local run with the same count bit for bit.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from superscale.executors import Commit, Progress
from superscale.executors.shard import ShardOutcome, run_shard
from superscale.grid import Shard

__all__ = ["RayExecutor", "import_ray"]

log = logging.getLogger(__name__)


def import_ray() -> Any:
    """Import ray lazily: it is an optional extra."""
    try:
        import ray
    except ImportError:
        raise ValueError(
            "the ray executor needs Ray: pip install 'superscale[ray]' (or use --executor local)"
        ) from None
    return ray


def _train_remote(shard: Shard, device: str, threads: int, curve_points: int) -> ShardOutcome:
    return run_shard(shard, device, threads, curve_points)


class RayExecutor:
    """Send shards as Ray tasks; `address=None` starts (or joins, via RAY_ADDRESS) a local cluster."""

    def __init__(self, device: str, threads: int, curve_points: int, address: str | None = None) -> None:
        if threads < 1:
            raise ValueError(f"threads must be ≥ 1, got {threads!r}")
        self.device, self.threads, self.curve_points, self.address = device, threads, curve_points, address

    def _connect(self, ray: Any) -> bool:
        """Connect unless already connected; True when this call started Ray (so it shuts it down)."""
        if ray.is_initialized():
            return False
        if self.address:
            ray.init(address=self.address, log_to_driver=False)
        else:
            ray.init(include_dashboard=False, log_to_driver=False)
        return True

    def _resolve_device(self, ray: Any) -> str:
        gpus = float(ray.cluster_resources().get("GPU", 0))
        if self.device == "auto":
            return "cuda" if gpus > 0 else "cpu"
        if self.device.startswith("cuda") and gpus == 0:
            raise ValueError(f"device {self.device!r} requested but the Ray cluster has no GPUs")
        return "cuda" if self.device.startswith("cuda") else self.device  # a task sees its GPU as cuda:0

    def execute(self, shards: Sequence[Shard], commit: Commit, progress: Progress) -> None:
        ray = import_ray()
        started_here = self._connect(ray)
        try:
            device = self._resolve_device(ray)
            task = ray.remote(_train_remote).options(
                num_cpus=self.threads, num_gpus=1 if device == "cuda" else 0, max_retries=0
            )
            pending = {}
            for shard in shards:
                pending[task.remote(shard, device, self.threads, self.curve_points)] = shard
                progress.shard_started(shard)
            try:
                while pending:
                    ready, _ = ray.wait(list(pending), num_returns=1)
                    for ref in ready:
                        shard = pending.pop(ref)
                        outcome = ray.get(ref)
                        commit(shard, outcome)
                        progress.shard_done(shard, outcome)
            except BaseException:
                for ref in pending:
                    ray.cancel(ref, force=True)
                raise
        finally:
            if started_here:
                ray.shutdown()
