"""The study end to end at toy size: tables, files, report section and the `superscale aspect` CLI."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest
import torch
from typer.testing import CliRunner

from superscale.aspect.deep import deep_param_count
from superscale.aspect.experiments import (
    LAYERS_FILE,
    PAIRS_FILE,
    RUNS_FILE,
    AspectConfig,
    PhaseConfig,
    model_phase_transition,
    run_aspect_family,
)
from superscale.aspect.report import report_section
from superscale.aspect.summary import depth_effect, loss_flatness, verdict
from superscale.cli import app

TINY = AspectConfig(
    n=12,
    params=12 * 6 + 12,  # L = 1, m = 6
    depths=(1, 3),
    tolerance=0.15,
    alphas=(1.0,),
    sparsities=(0.8,),
    seeds=(0, 1),
    steps=40,
    batch=32,
)


@pytest.fixture(scope="module")
def family_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("aspect")
    run_aspect_family(TINY, out)
    return out


def test_family_tables_have_one_row_per_model_layer_and_pair(family_dir: Path) -> None:
    runs = pd.read_parquet(family_dir / RUNS_FILE)
    layers = pd.read_parquet(family_dir / LAYERS_FILE)
    pairs = pd.read_parquet(family_dir / PAIRS_FILE)
    family = runs[runs["kind"] == "family"]
    shapes = sorted(set(zip(family["n_layers"], family["m"], strict=True)))
    assert shapes == [(1, 6), (3, 4)]  # 2·16 + 12·4 + 12 = 92 vs budget 84: within 15 %
    assert len(family) == 2 * 2 * 2  # shapes × data × seeds
    # the width baseline: the one-layer model at the deep shape's width m = 4, every (data, seed)
    baseline = runs[runs["kind"] == "width_baseline"]
    assert set(zip(baseline["n_layers"], baseline["m"], strict=True)) == {(1, 4)} and len(baseline) == 4
    for _, row in runs.iterrows():
        assert row["params"] == deep_param_count(12, row["m"], row["n_layers"])
        assert math.isfinite(row["final_loss"]) and row["final_loss"] > 0
    assert len(layers) == runs["n_layers"].sum()  # one row per layer of each model
    # pairs: within each (data, γ) group of 4 models, 6 pairs, each at the first and last layer
    assert len(pairs) == 2 * 6 * 2
    assert set(pairs["kind"]) == {"seed", "shape"}
    seed_pairs = pairs[pairs["kind"] == "seed"]
    assert (~seed_pairs["same_seed"]).all() and seed_pairs["same_shape"].all()
    assert pairs["cka"].dropna().between(-1e-9, 1 + 1e-9).all()
    assert set(pairs["run_a"]) | set(pairs["run_b"]) <= set(family["run"])  # baselines are not paired


def test_same_seed_shares_the_data_across_shapes() -> None:
    """The L = 1 member of a family is exactly the paper's model trained alone on that seed's stream."""
    from superscale.data import power_law_probs
    from superscale.engine import ModelSpec, ShardSpec, train_shard

    config = AspectConfig(**{**TINY.__dict__, "depths": (1,), "sparsities": ()})
    result = run_aspect_family(config)
    alone = train_shard(
        ShardSpec(
            12,
            6,
            [ModelSpec(power_law_probs(12, 1.0), -1.0, 0.01, 0.01, 1, "alpha=1")],
            batch=32,
            steps=40,
            warmup_steps=4,
        )
    )
    assert len(result.runs) == 2  # L = 1 only: no width baseline to add
    row = result.runs[result.runs["seed"] == 1].iloc[0]
    assert math.isclose(row["final_loss"], float(alone.final_loss[0]), rel_tol=1e-6)


def test_loss_flatness_reads_planted_numbers() -> None:
    runs = pd.DataFrame(
        {
            "params_budget": 100,
            "data": "d",
            "gamma": -1.0,
            "n_layers": [1, 1, 2, 2],
            "m": [10, 10, 5, 5],
            "final_loss": [1.0, 1.2, 2.0, 2.2],
        }
    )
    row = loss_flatness(runs).iloc[0]
    assert math.isclose(row["loss_min"], 1.1) and math.isclose(row["loss_max"], 2.1)
    ln = pd.Series([1.0, 1.2, 2.0, 2.2]).map(math.log)
    std_1, std_2 = float(ln[:2].std()), float(ln[2:].std())
    pooled = math.sqrt((std_1**2 + std_2**2) / 2)
    assert math.isclose(row["seed_std_log"], pooled)
    span = (ln[2] + ln[3]) / 2 - (ln[0] + ln[1]) / 2
    assert math.isclose(row["spread_over_noise"], span / pooled)
    assert math.isclose(row["slope_lnL_lnm"], -span / math.log(2.0))
    assert row["best_shape"] == "L=1,m=10"


def test_depth_effect_divides_by_the_one_layer_model_of_the_same_width() -> None:
    runs = pd.DataFrame(
        {
            "params_budget": 100,
            "data": "d",
            "gamma": -1.0,
            "kind": ["family", "family", "width_baseline", "width_baseline"],
            "n_layers": [1, 3, 1, 1],
            "m": [10, 5, 5, 5],
            "final_loss": [1.0, 2.0, 3.0, 5.0],
        }
    )
    effect = depth_effect(runs)
    assert len(effect) == 1 and effect["m"].iloc[0] == 5
    assert math.isclose(effect["loss_ratio"].iloc[0], 2.0 / 4.0)
    assert depth_effect(runs[runs["kind"] == "family"]).empty


def test_model_phase_transition_rows_and_relative_error() -> None:
    config = PhaseConfig(n=16, sparsities=(0.8,), widths=(2, 12), deep_layers=2, steps=30, batch=32)
    table = model_phase_transition(config)
    assert set(table["method"]) == {"toy", "deep"} and len(table) == 4
    assert table["rel_error"].gt(0).all()
    wide, narrow = (
        table[(table["method"] == "toy") & (table["m"] == m)]["rel_error"].iloc[0] for m in (12, 2)
    )
    assert wide < narrow


def test_report_section_and_verdict(family_dir: Path) -> None:
    title, fragment, figures = report_section(family_dir)
    assert "Aspect ratio" in title and fragment is not None and "What the runs show" in fragment
    assert [name for name, _, _ in figures] == [
        "aspect_loss",
        "aspect_implied_sparsity",
        "aspect_layers",
        "aspect_universality",
    ]
    runs, pairs = pd.read_parquet(family_dir / RUNS_FILE), pd.read_parquet(family_dir / PAIRS_FILE)
    lines = verdict(runs, pairs, None)
    assert any(line.startswith("Loss at N=84") for line in lines)
    assert any("CKA" in line for line in lines)
    assert report_section(family_dir / "missing")[1] is None


def test_cli_plan_bound_summary_and_figures(family_dir: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(
        app, ["aspect", "plan", "--params", "4100", "--features", "100", "--depths", "1,2,8"]
    )
    assert result.exit_code == 0, result.output
    assert "4100" in result.output and "4168" in result.output  # L = 1, m = 40 and L = 8, m = 18
    result = runner.invoke(app, ["aspect", "bound", "--features", "64", "--sparsity", "0.9"])
    assert result.exit_code == 0 and "14.74" in result.output
    result = runner.invoke(app, ["aspect", "bound", "--features", "64"])
    assert result.exit_code == 2 and "exactly one of" in result.output
    result = runner.invoke(app, ["aspect", "summary", str(family_dir)])
    assert result.exit_code == 0 and "Loss at N=84" in result.output
    result = runner.invoke(app, ["aspect", "figures", str(family_dir), "--to", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "aspect_loss.png").stat().st_size > 1000
    result = runner.invoke(app, ["aspect", "run", "--preset", "nope", "--out", str(tmp_path)])
    assert result.exit_code == 2 and "unknown aspect preset" in result.output


def test_cli_family_trains_and_writes(tmp_path: Path) -> None:
    args = ["aspect", "family", "--out", str(tmp_path), "--features", "12", "--params", "84", "--depths", "1"]
    args += ["--seeds", "0,1", "--steps", "20", "--batch", "16"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    runs = pd.read_parquet(tmp_path / RUNS_FILE)
    assert len(runs) == 2 and torch.isfinite(torch.tensor(runs["final_loss"].to_numpy())).all()


def test_cli_phase_and_l1(tmp_path: Path) -> None:
    runner = CliRunner()
    args = ["aspect", "phase", "--out", str(tmp_path), "--features", "16", "--sparsities", "0.8"]
    args += ["--widths", "2,12", "--steps", "20", "--batch", "16", "--trials", "3"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    table = pd.read_parquet(tmp_path / "phase_transition.parquet")
    assert set(table["method"]) == {"toy", "deep", "l1"} and len(table) == 6
    result = runner.invoke(
        app, ["aspect", "l1", "--features", "16", "--sparsities", "0.8", "--widths", "2,16"]
    )
    assert result.exit_code == 0 and "critical_m" in result.output
    result = runner.invoke(app, ["aspect", "l1", "--widths", "a,b"])
    assert result.exit_code == 2 and "widths must be comma-separated integers" in result.output
