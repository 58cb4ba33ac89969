"""Grid expansion, stable run ids and sharding."""

from __future__ import annotations

import math

import pytest

from superscale.config import parse_config
from superscale.config.grid import RunParams, expand_runs, make_shards, plan_sweep


def test_grid_count_is_the_product_of_axes() -> None:
    config = parse_config(
        {
            "n": [20, 30],
            "m": [2, 3, 4],
            "gamma": [-1.0, 0.5],
            "seeds": [0, 1, 2],
            "data": [{"family": "power", "alpha": [0.5, 1.0]}, {"family": "linear"}],
            "train": {"batch": [16, 32]},
        }
    )
    runs = expand_runs(config)
    per_data = 2 * 3 * 2 * 3 * 2
    assert len(runs) == per_data * 2 + per_data
    assert len({r.run_id for r in runs}) == len(runs)


def test_run_ids_are_stable_and_ignore_execution() -> None:
    raw = {"n": 20, "m": [2, 3], "gamma": [-1.0, 0.1]}
    ids = [r.run_id for r in expand_runs(parse_config(raw))]
    assert ids == [r.run_id for r in expand_runs(parse_config(raw))]
    moved = {**raw, "execution": {"device": "cpu", "threads": 4, "executor": "ray"}, "name": "renamed"}
    assert ids == [r.run_id for r in expand_runs(parse_config(moved))]
    # a frozen value: an id that changes silently would orphan every stored run of this config
    assert ids[0] == "536e9e18e82de196"


def test_run_id_changes_with_anything_that_changes_the_numbers() -> None:
    base = expand_runs(parse_config({"n": 20, "m": 2, "gamma": 0.1}))[0]
    for change in (
        {"gamma": 0.2},
        {"seeds": 1},
        {"m": 3},
        {"data": {"alpha": 1.5}},
        {"train": {"steps": 501}},
        {"train": {"precision": "float64"}},
        {"lr": {"b": {"base": 0.02}}},
    ):
        raw = {"n": 20, "m": 2, "gamma": 0.1, **change}
        assert expand_runs(parse_config(raw))[0].run_id != base.run_id, change


def test_learning_rate_rule_and_warmup_fraction() -> None:
    config = parse_config(
        {
            "m": [8, 16],
            "gamma": -1.0,
            "lr": {"W": {"base": 0.02, "ref_m": 8, "power": 0.25}, "b": {"base": 2.0, "power": 1.0}},
            "train": {"steps": [100, 1000], "warmup_fraction": 0.05},
        }
    )
    runs = expand_runs(config)
    assert {(r.m, r.lr_W, r.lr_b) for r in runs} == {(8, 0.02, 0.25), (16, 0.02 * 0.5**0.25, 0.125)}
    assert {(r.steps, r.warmup_steps) for r in runs} == {(100, 5), (1000, 50)}


def test_unused_family_fields_are_nan_and_sparse_is_resolved_per_run() -> None:
    data = [{"family": "linear"}, {"family": "linear", "density": 9.0}]
    runs = expand_runs(parse_config({"n": 100, "m": 2, "gamma": 0.1, "data": data}))
    linear, dense = runs
    assert math.isnan(linear.alpha) and math.isnan(linear.scale) and math.isnan(linear.density_knob)
    assert linear.sparse is True  # E = 1 ≤ 5 % of n
    assert dense.sparse is False  # E = 9 > 5 % of n
    assert float(dense.probs().sum()) == pytest.approx(9.0)


def test_duplicate_grid_values_are_an_error() -> None:
    with pytest.raises(ValueError, match="same run twice"):
        expand_runs(parse_config({"m": [3, 3]}))


def test_shards_group_by_shape_and_respect_the_size_cap() -> None:
    config = parse_config(
        {
            "n": [20, 30],
            "m": [2, 3],
            "gamma": [-1.0, 0.1, 0.5],
            "seeds": [0, 1],
            "data": {"alpha": [0.5, 1.0]},
        }
    )
    runs = expand_runs(config)
    shards = make_shards(runs, max_models=5)
    assert sorted(r.run_id for s in shards for r in s.runs) == sorted(r.run_id for r in runs)
    for shard in shards:
        assert 1 <= len(shard.runs) <= 5
        assert len({r.shard_key() for r in shard.runs}) == 1
        assert shard.shard_id.startswith(f"n{shard.n}-m{shard.m}-")
    # 4 shapes × 12 runs, cut into chunks of 5, 5, 2
    assert sorted(len(s.runs) for s in shards) == [2] * 4 + [5] * 8
    assert [s.shard_id for s in shards] == [s.shard_id for s in make_shards(runs, max_models=5)]
    assert len({s.shard_id for s in shards}) == len(shards)
    # frozen values: a shard id that changes silently would make a resumed store retrain finished shards
    assert [s.shard_id for s in shards[:2]] == ["n20-m2-e7f53c51e8", "n20-m3-e803161b45"]


def test_shards_train_stream_first_so_a_part_finished_sweep_has_whole_curves() -> None:
    """With one data stream per shard, every width of the first stream comes before the second stream."""
    config = parse_config({"n": 20, "m": [2, 3, 4], "gamma": [-1.0, 0.1], "data": {"alpha": [2.0, 1.0]}})
    shards = make_shards(expand_runs(config), max_models=2)
    assert [(s.runs[0].alpha, s.m) for s in shards] == [
        (2.0, 2),
        (2.0, 3),
        (2.0, 4),
        (1.0, 2),
        (1.0, 3),
        (1.0, 4),
    ]


def test_runs_sharing_a_data_stream_stay_together() -> None:
    config = parse_config({"m": 2, "gamma": [-1.0, 0.1, 0.5], "seeds": [0, 1], "data": {"alpha": [0.5, 1.0]}})
    shards = make_shards(expand_runs(config), max_models=3)
    for shard in shards:
        assert len({(r.data_key, r.seed) for r in shard.runs}) == 1


def test_plan_checks_probabilities_before_training() -> None:
    with pytest.raises(ValueError, match="p_1"):
        plan_sweep(parse_config({"n": 5, "data": {"density": 4.0}}))
    assert isinstance(plan_sweep(parse_config({}))[0].runs[0], RunParams)


def test_architecture_is_a_grid_axis() -> None:
    """One sweep compares architectures on the same data: each gets its own runs and shards."""
    config = parse_config(
        {
            "name": "variants",
            "n": 16,
            "m": [2, 4],
            "gamma": -1.0,
            "model": {"architecture": ["tied", "cross_entropy", "unit_norm"]},
        }
    )
    runs = expand_runs(config)
    assert len(runs) == 6 and {r.architecture for r in runs} == {"tied", "cross_entropy", "unit_norm"}
    shards = plan_sweep(config)
    assert all(len({r.architecture for r in s.runs}) == 1 for s in shards) and len(shards) == 6


def test_unknown_architecture_and_bad_options_are_refused_before_training() -> None:
    with pytest.raises(ValueError, match="unknown architecture 'mlp'"):
        plan_sweep(parse_config({"name": "x", "n": 8, "m": 2, "model": {"architecture": ["tied", "mlp"]}}))
    importance = {"architecture": "importance", "options": {"importance": [1.0, 0.5]}}
    with pytest.raises(ValueError, match="model:"):
        plan_sweep(parse_config({"name": "x", "n": 8, "m": 2, "model": importance}))
