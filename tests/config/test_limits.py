"""Limits before work: the grid is counted and one shard's memory estimated before anything is expanded."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from superscale.config import parse_config
from superscale.config.grid import plan_sweep
from superscale.config.limits import MAX_RUNS, check_plan, check_runs, plan_size
from superscale.sweep import run_sweep
from tests.tiny import tiny_sweep

TINY = tiny_sweep("limits")


def test_the_count_equals_the_expanded_grid() -> None:
    config = parse_config({**TINY, "train": {"batch": [32, 64], "steps": [30, 50]}})
    plan = plan_size(config)
    shards = plan_sweep(config)
    assert plan.n_runs == sum(len(s.runs) for s in shards) == 32
    assert plan.model_steps == sum(s.model_steps for s in shards) == 8 * 2 * (30 + 50)
    assert plan.shape == (20, 4, 64)
    assert plan.shard_models == 2  # output.max_models_per_shard
    # 4 (n m + n) + batch (4 n + 2 m) floats per model, float32, plus the float32 step losses of the
    # longest run (50 steps), 2 models: written out by hand
    assert plan.shard_bytes == 2 * (4 * (4 * (20 * 4 + 20) + 64 * (4 * 20 + 2 * 4)) + 4 * 50)


def test_a_million_run_grid_is_refused_with_its_numbers_before_expanding() -> None:
    axis = list(range(1, 1001))
    config = parse_config({**TINY, "m": axis, "seeds": [s - 1 for s in axis], "gamma": [-1.0] * 1})
    with pytest.raises(ValueError, match=r"the grid has 1,000,000 runs \(more than 100,000\)"):
        check_plan(plan_size(config), memory=10**12, allow_large=False)
    check_plan(plan_size(config), memory=10**12, allow_large=True)  # --yes
    assert MAX_RUNS == 100_000


@pytest.mark.parametrize(
    ("changes", "needs"),
    [({"train": {"batch": 10**9, "steps": 30}}, "≈ 352 GB"), ({"n": 10**9, "m": 3}, "≈ 576 GB")],
)
def test_a_shard_larger_than_memory_is_refused_before_a_byte_is_written(
    tmp_path: Path, changes: dict, needs: str
) -> None:
    out = tmp_path / "s"
    with pytest.raises(ValueError, match=f"one shard needs {needs} and this machine has"):
        run_sweep({**TINY, "seeds": 0, "gamma": -1.0, **changes}, out, quiet=True)
    assert not out.exists()


def test_a_decay_step_that_overshoots_is_refused_with_the_reason() -> None:
    runs = [r for s in plan_sweep(parse_config({**TINY, "gamma": [-1.0, 1e6]})) for r in s.runs]
    with pytest.raises(
        ValueError, match=r"gamma = 1e\+06 with peak learning rate 0.01 for W .* η·\|γ\| = 1e\+04"
    ):
        check_runs(runs)


def test_widths_past_n_are_warned(caplog: pytest.LogCaptureFixture) -> None:
    runs = [r for s in plan_sweep(parse_config({**TINY, "m": [3, 20, 40]})) for r in s.runs]
    with caplog.at_level(logging.WARNING, logger="superscale.config.limits"):
        check_runs(runs)
    assert "2 width(s) have m ≥ n (e.g. m = 20, n = 20)" in caplog.text
