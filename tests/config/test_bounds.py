"""Upper and lower bounds at config time and before work: seeds, learning-rate rules, windows, the loss
buffer, held-out batches and the machine's cores."""

from __future__ import annotations

import dataclasses
import math

import pytest

from superscale.config import LRRule, WindowRule, parse_config
from superscale.config.limits import MAX_RUN_STEPS, check_plan, check_threads, plan_size
from superscale.config.sections import check_learning_rate
from superscale.config.window import FitWindow
from tests.tiny import tiny_sweep

TINY = {**tiny_sweep("bounds"), "seeds": 0, "gamma": -1.0}


def test_seeds_fit_64_bits() -> None:
    assert parse_config({**TINY, "seeds": 2**64 - 1}).seeds == 2**64 - 1
    one_line = (
        r"^invalid sweep config: seeds: must be an integer in \[0, 2\*\*64\), got 18446744073709551616$"
    )
    with pytest.raises(ValueError, match=one_line):
        parse_config({**TINY, "seeds": 2**64})
    with pytest.raises(ValueError, match=r"seeds: must be an integer in \[0, 2\*\*64\), got -1"):
        parse_config({**TINY, "seeds": [0, -1]})


@pytest.mark.parametrize(
    ("rule", "m", "precision", "fragment"),
    [
        (LRRule(ref_m=1e-300, power=-1000), 3, "float32", "overflows at m = 3"),
        (LRRule(ref_m=1e-300, power=2), 3, "float32", "underflows to 0 at m = 3"),
        (LRRule(base=1e-39), 3, "float32", "below the smallest float32, 1.18e-38"),  # a subnormal rate
        (LRRule(ref_m=1e200, power=2), 1, "float64", "above the largest float64"),
    ],
)
def test_a_rate_that_is_no_usable_number_is_refused_naming_the_rule(
    rule: LRRule, m: int, precision: str, fragment: str
) -> None:
    base = float(rule.base)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"^lr\.W: base") as info:
        check_learning_rate("lr.W", rule, base, m, precision)
    assert fragment in str(info.value)


def test_usable_rates_pass_and_equal_the_rule() -> None:
    rule = LRRule(base=0.01, ref_m=100.0, power=1.0)
    for m in (1, 64, 10**6):
        check_learning_rate("lr.W", rule, 0.01, m, "float32")
        assert math.isclose(rule.at(0.01, m), 0.01 * 100 / m)
    check_learning_rate("lr.W", LRRule(base=1e-39), 1e-39, 3, "float64")  # normal in float64


def test_the_sweep_checks_every_width_and_the_b_rule() -> None:
    with pytest.raises(ValueError, match=r"lr\.W: .* underflows to 0 at m = 4000"):
        parse_config({**TINY, "m": [3, 4000], "lr": {"W": {"ref_m": 1.0, "power": 20}}})
    with pytest.raises(ValueError, match=r"lr\.b: .* overflows"):
        parse_config({**TINY, "lr": {"b": {"ref_m": 1e300, "power": 2}}})


def test_a_window_that_holds_no_width_is_refused() -> None:
    with pytest.raises(ValueError, match=r"m_min \(10\) is larger than m_max \(1\)"):
        WindowRule(m_min=10, m_max=1)
    with pytest.raises(ValueError, match=r"m_min \(10\) is larger than m_max \(1\)"):
        FitWindow(m_min=10, m_max=1)
    assert WindowRule(m_min=5, m_max=5).window().describe() == "m>=5,m<=5"


def test_the_step_losses_count_in_the_memory_of_a_shard() -> None:
    small = plan_size(parse_config({**TINY, "m": 3, "train": {"batch": 2, "steps": 10}}))
    huge = plan_size(parse_config({**TINY, "m": 3, "train": {"batch": 2, "steps": 10**13}}))
    # [models, steps] float32: 4 bytes a step a model, on top of everything else (1 model here)
    assert huge.shard_bytes - small.shard_bytes == 4 * (10**13 - 10)
    with pytest.raises(ValueError, match=r"one run trains 10,000,000,000,000 steps"):
        check_plan(huge, memory=10**15, allow_large=False)
    # with the steps allowed (a bound of its own), the memory check alone refuses it
    with pytest.raises(ValueError, match=r"^one shard needs ≈ 40 TB and this machine has 1 TB"):
        check_plan(dataclasses.replace(huge, run_steps=0), memory=10**12, allow_large=False)


def test_held_out_batches_count_like_steps_and_are_bounded() -> None:
    plan = plan_size(parse_config({**TINY, "m": 3, "train": {"steps": 30, "heldout_batches": 20}}))
    assert (plan.model_steps, plan.run_steps) == (50, 50)
    long = plan_size(parse_config({**TINY, "m": 3, "train": {"steps": 30, "heldout_batches": 10**9}}))
    with pytest.raises(
        ValueError, match=r"one run trains 1,000,000,030 steps and held-out batches \(more than "
    ):
        check_plan(long, memory=10**12, allow_large=False)
    check_plan(long, memory=10**12, allow_large=True)  # --yes
    assert MAX_RUN_STEPS == 10**8


def test_threads_are_bounded_by_the_cores_this_process_may_use(monkeypatch: pytest.MonkeyPatch) -> None:
    from superscale.config import limits

    monkeypatch.setattr(limits, "available_cpus", lambda: 4)
    check_threads(None, "--threads")
    check_threads(4, "--threads")
    with pytest.raises(
        ValueError, match=r"^--threads: 5 threads, but this process may use 4 CPU core\(s\); use at most 4$"
    ):
        check_threads(5, "--threads")
    monkeypatch.undo()
    assert 1 <= limits.available_cpus() <= (__import__("os").cpu_count() or 1)
