"""The Ray executor on a real local Ray instance: same store, same numbers as the local executor."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import torch

from superscale.store import schema
from superscale.sweep import run_sweep
from tests.tiny import tiny_sweep

ray = pytest.importorskip("ray")

TINY = tiny_sweep("ray")


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        yield
    finally:
        ray.shutdown()


def test_ray_equals_local_bit_for_bit(local_ray: None, tmp_path: Path) -> None:
    local = run_sweep(TINY, tmp_path / "local", executor="local", quiet=True)
    remote = run_sweep(TINY, tmp_path / "ray", executor="ray", quiet=True)
    assert remote.manifest["status"] == "complete" and len(remote.manifest["shards"]) == 4
    drop = [schema.TRAIN_SECONDS]
    key = [schema.RUN_ID]
    got = remote.runs.drop(columns=drop).sort_values(key, ignore_index=True)
    want = local.runs.drop(columns=drop).sort_values(key, ignore_index=True)
    pd.testing.assert_frame_equal(got, want, check_exact=True)
    pd.testing.assert_frame_equal(
        remote.curves.sort_values([schema.RUN_ID, schema.STEP], ignore_index=True),
        local.curves.sort_values([schema.RUN_ID, schema.STEP], ignore_index=True),
        check_exact=True,
    )
    for run_id in want[schema.RUN_ID]:
        for name, tensor in local.params(run_id).items():
            assert torch.equal(remote.params(run_id)[name], tensor)
    # resume through Ray: nothing left to do, and the store is unchanged
    again = run_sweep(TINY, tmp_path / "ray", executor="ray", quiet=True)
    assert again.manifest["shards"] == remote.manifest["shards"]


def test_ray_refuses_a_missing_gpu(local_ray: None, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no GPUs"):
        run_sweep(TINY, tmp_path / "s", executor="ray", device="cuda", quiet=True)
