"""Ray never hangs the sweep: connecting and starting are bounded, with the reason (no cluster started)."""

from __future__ import annotations

import time
from typing import Any

import pytest

from superscale.sweep.ray_executor import RayExecutor


class HangingRay:
    """Stands in for the ray module: nothing is connected and init never returns by itself."""

    def __init__(self) -> None:
        self.shut_down = False

    def is_initialized(self) -> bool:
        return False

    def init(self, **kwargs: Any) -> None:
        while True:
            time.sleep(0.01)

    def shutdown(self) -> None:
        self.shut_down = True


def test_an_unreachable_address_fails_at_once_naming_it() -> None:
    executor = RayExecutor("cpu", 1, 10, address="127.0.0.1:1", timeout_s=5)
    with pytest.raises(
        ValueError, match=r"cannot reach the Ray cluster at '127.0.0.1:1' within 5 s \(Connection"
    ):
        executor._connect(HangingRay())  # before: over 150 s of retries


def test_a_cluster_that_does_not_start_is_given_up_with_the_reason() -> None:
    ray = HangingRay()
    executor = RayExecutor("cpu", 1, 10, timeout_s=0.2)
    with pytest.raises(ValueError, match=r"could not start a local Ray cluster within 0.2 s \(.*shm"):
        executor._connect(ray)
    assert ray.shut_down  # whatever half-started is stopped
