"""The Ray executor: one task per shard on an existing cluster (or a local one it starts).

Workers only train; the driver commits each shard as its task finishes, so the store has one writer and
the same resume guarantees as the local executor. A shard asks for `threads` CPUs and, on CUDA, one GPU;
it sets torch's thread count to `threads` so results equal a local run with the same count bit for bit.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import signal
import socket
import threading
from collections.abc import Sequence
from typing import Any

from superscale.config.grid import Shard
from superscale.sweep.events import Commit, Progress
from superscale.sweep.shard import ShardOutcome, run_shard

__all__ = ["DEFAULT_TIMEOUT_S", "RayExecutor", "import_ray"]

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT_S = 30.0  # connecting to or starting a cluster; `execution.ray_timeout_s` overrides it


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


class _RayTimeout(Exception):
    """Raised by the SIGALRM handler inside a ray.init that took too long."""


def _host_port(address: str) -> tuple[str, int] | None:
    """(host, port) of "host:port" or "ray://host:port"; None for "auto" and other forms Ray resolves."""
    rest = address.split("://", 1)[-1]
    host, _, port = rest.rpartition(":")
    return (host.strip("[]"), int(port)) if host and port.isdigit() else None


def _shm_note() -> str:
    """Free space of /dev/shm, where Ray puts its object store: too little makes it hang at start."""
    try:
        free = shutil.disk_usage("/dev/shm").free
    except OSError:
        return "no /dev/shm"
    return f"/dev/shm has {free / 1e6:.0f} MB free; Ray's object store needs shared memory"


class RayExecutor:
    """Send shards as Ray tasks; `address=None` starts (or joins, via RAY_ADDRESS) a local cluster.

    Connecting and starting are bounded by `timeout_s`: Ray itself retries an unreachable address for
    minutes and ignores SIGTERM meanwhile, and a local cluster without shared memory hangs silently.
    """

    def __init__(
        self,
        device: str,
        threads: int,
        curve_points: int,
        address: str | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
    ) -> None:
        if threads < 1:
            raise ValueError(f"threads must be ≥ 1, got {threads!r}")
        self.device, self.threads, self.curve_points, self.address = device, threads, curve_points, address
        self.timeout_s = timeout_s

    def _connect(self, ray: Any) -> bool:
        """Connect unless already connected; True when this call started Ray (so it shuts it down)."""
        if ray.is_initialized():
            return False
        if self.address:
            target = _host_port(self.address)
            if target is not None:  # fail in seconds, with the reason, where Ray would retry for minutes
                try:
                    socket.create_connection(target, timeout=self.timeout_s).close()
                except OSError as exc:
                    raise ValueError(
                        f"cannot reach the Ray cluster at {self.address!r} within {self.timeout_s:g} s "
                        f"({exc.strerror or exc}); check --ray-address, or raise --ray-timeout"
                    ) from None
            self._bounded(ray, "connect to the Ray cluster at " + repr(self.address), address=self.address)
        else:
            self._bounded(ray, "start a local Ray cluster", include_dashboard=False)
        return True

    def _bounded(self, ray: Any, what: str, **kwargs: Any) -> None:
        """ray.init(**kwargs), given up after `timeout_s` with the likely reason.

        The clock is SIGALRM in this (main) thread: ray.init cannot move to a helper thread, because the
        processes it starts are tied to the thread that started them and die when it ends.
        """
        if threading.current_thread() is not threading.main_thread():
            ray.init(log_to_driver=False, **kwargs)
            return

        def give_up(signum: int, frame: Any) -> None:
            raise _RayTimeout

        previous = signal.signal(signal.SIGALRM, give_up)
        signal.setitimer(signal.ITIMER_REAL, self.timeout_s)
        try:
            ray.init(log_to_driver=False, **kwargs)
        except _RayTimeout:
            with contextlib.suppress(Exception):
                ray.shutdown()  # whatever half-started
            raise ValueError(
                f"could not {what} within {self.timeout_s:g} s ({_shm_note()}); raise --ray-timeout, "
                "or use --executor local"
            ) from None
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)

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
