"""The aspect study end to end at toy size: a sweep over m × n_layers, `superscale analyze` adding the
aspect tables to the store, the report section and the `superscale aspect` CLI."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from superscale.aspect.study import families
from superscale.aspect.summary import depth_effect, loss_flatness, verdict
from superscale.cli import app
from superscale.config.tomlwrite import dump_toml_table
from superscale.pipeline.analyze import analyze_store
from superscale.report.aspect import load_tables, report_section
from superscale.store import Store, open_store, schema
from superscale.sweep import run_sweep
from superscale.train.architectures.deep import deep_param_count

#: n = 16: the equal-N family N = 144 is (L, m) = (1, 8) and (2, 6) (148, +2.8 %); (1, 6) is the width
#: baseline of (2, 6); (2, 8) is trained (the grid is a product) but in no family; γ = −1 (strong), +1 (weak)
TINY: dict[str, Any] = {
    "name": "aspect-tiny",
    "n": 16,
    "m": [8, 6],
    "gamma": [-1.0, 1.0],
    "seeds": [0, 1],
    "data": [{"family": "power", "alpha": 1.0}, {"family": "power", "alpha": 0.0, "density": 4.0}],
    "model": {"architecture": "deep", "n_layers": [1, 2], "options": {"tied": True, "residual": True}},
    "lr": {"W": {"base": 0.01}},
    "train": {"batch": 32, "steps": 40, "warmup_fraction": 0.1, "final_window": 10},
}


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    out = tmp_path_factory.mktemp("aspect")
    run_sweep(TINY, out, quiet=True)
    analyze_store(out, n_bootstrap=10)
    return open_store(out)


def _cka(a: np.ndarray, b: np.ndarray) -> float:
    """Linear CKA written out: centred Gram matrices, Frobenius inner product over the norms."""
    h = np.eye(len(a)) - 1.0 / len(a)
    ga, gb = h @ a @ a.T @ h, h @ b @ b.T @ h
    return float((ga * gb).sum() / np.sqrt((ga * ga).sum() * (gb * gb).sum()))


def test_families_pair_each_depth_with_its_width() -> None:
    shapes = {(1, 8), (2, 8), (1, 6), (2, 6)}
    assert families(16, shapes) == {144: [(1, 8), (2, 6)]}
    assert families(16, shapes, tolerance=0.01) == {}  # 148 vs 144 is 2.8 % off
    assert families(100, {(1, 40), (2, 31), (4, 23), (8, 18)}) == {4100: [(1, 40), (2, 31), (4, 23), (8, 18)]}


def test_family_tables_have_one_row_per_model_layer_and_pair(store: Store) -> None:
    runs = store.table(schema.ASPECT_RUNS_FILE)
    layers = store.table(schema.ASPECT_LAYERS_FILE)
    pairs = store.table(schema.ASPECT_PAIRS_FILE)
    assert runs is not None and layers is not None and pairs is not None
    family = runs[runs["kind"] == "family"]
    assert sorted(set(zip(family["n_layers"], family["m"], strict=True))) == [(1, 8), (2, 6)]
    assert len(family) == 2 * 2 * 2 * 2 and set(family["params_budget"]) == {144}  # shapes × data × γ × seeds
    assert dict(zip(runs["gamma"], runs["regime"], strict=True)) == {-1.0: "strong", 1.0: "weak"}
    baseline = runs[runs["kind"] == "width_baseline"]
    assert set(zip(baseline["n_layers"], baseline["m"], strict=True)) == {(1, 6)} and len(baseline) == 8
    assert set(runs["data"]) == {"alpha=1", "S=0.75"}
    for _, row in runs.iterrows():
        assert row["params"] == deep_param_count(16, row["m"], row["n_layers"])
        stored = store.runs.set_index(schema.RUN_ID).loc[row["run"]]
        assert (stored[schema.N_LAYERS], stored[schema.M_HIDDEN]) == (row["n_layers"], row["m"])
        assert row["final_loss"] == stored[schema.FINAL_LOSS] > 0
    assert len(layers) == runs["n_layers"].sum()  # one row per layer of each (model, role)
    # pairs: within each (data, γ) group of 4 family models, 6 pairs, each at the first and last layer
    assert len(pairs) == 2 * 2 * 6 * 2 and set(pairs["kind"]) == {"seed", "shape"}
    assert set(pairs["regime"]) == {"strong", "weak"}
    for measure in ("directions", "overlaps", "represented"):  # every calibrated score with its calibration
        assert {f"{measure}_{part}" for part in ("value", "null", "ceiling", "score")} <= set(pairs.columns)
    seed_pairs = pairs[pairs["kind"] == "seed"]
    assert (~seed_pairs["same_seed"]).all() and seed_pairs["same_shape"].all()
    assert set(pairs["run_a"]) | set(pairs["run_b"]) <= set(family["run"])  # baselines are not paired


def test_universality_pair_across_shapes_matches_numpy(store: Store) -> None:
    """At the first layer the responses are W's rows (scale 1): recompute the pair from the weights."""
    pairs = store.table(schema.ASPECT_PAIRS_FILE)
    assert pairs is not None
    across = pairs[(pairs["kind"] == "shape") & (pairs["layer"] == "first") & pairs["same_seed"]]
    assert len(across) == 2 * 2 * 2  # per (data, γ): one per seed, (L=1, m=8) against (L=2, m=6)
    for row in across.itertuples(index=False):
        assert {row.shape_a, row.shape_b} == {"L=1,m=8", "L=2,m=6"}
        Wa, Wb = (store.params(run)["W"].double().numpy() for run in (row.run_a, row.run_b))
        assert Wa.shape[1] != Wb.shape[1]  # two widths
        ra, rb = np.linalg.norm(Wa, axis=1) > 0.5, np.linalg.norm(Wb, axis=1) > 0.5
        common = ra & rb
        assert row.n_common == common.sum()
        assert row.jaccard == pytest.approx(common.sum() / (ra | rb).sum(), abs=1e-12)
        if common.sum() >= 3:
            assert row.cka == pytest.approx(_cka(Wa[common], Wb[common]), rel=1e-9)
        union = (ra | rb).sum()
        assert row.represented_value == pytest.approx(common.sum() / union, abs=1e-12)


def test_uniform_data_gives_the_phase_transition(store: Store) -> None:
    phase = store.table(schema.PHASE_TRANSITION_FILE)
    assert phase is not None
    assert set(phase["method"]) == {"toy", "deep L=2", "l1"}
    uniform = store.runs[store.runs[schema.ALPHA] == 0]
    models = phase[phase["method"] != "l1"]
    assert len(models) == len(uniform) == 2 * 2 * 2 * 2  # widths × depths × γ × seeds
    expected = sorted(uniform[schema.FINAL_LOSS] / (4.0 / 3.0 * 4.0))  # E‖x‖² = (4/3) E, E = 4
    assert sorted(models["rel_error"]) == pytest.approx(expected, rel=1e-12)
    assert set(models["sparsity"]) == {0.75}
    l1 = phase[phase["method"] == "l1"]
    assert sorted(l1["m"]) == [6, 8] and set(l1["sparsity"]) == {0.75}


def test_analysis_is_idempotent(store: Store) -> None:
    files = [store.path / name for name in schema.EXTRA_TABLES if (store.path / name).is_file()]
    assert len(files) == 4
    before = [f.stat().st_mtime_ns for f in files]
    assert analyze_store(store.path, n_bootstrap=10).extra_steps == ("aspect",)
    assert [f.stat().st_mtime_ns for f in files] == before


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


def test_report_section_and_verdict(store: Store) -> None:
    title, fragment, figures = report_section(store.path)
    assert "Aspect ratio" in title and fragment is not None and "What the runs show" in fragment
    assert "Universality by regime" in fragment and "Katta's inequality per shape" in fragment
    assert [name for name, _, _ in figures] == [
        "aspect_loss",
        "aspect_implied_sparsity",
        "aspect_layers",
        "aspect_universality",
        "aspect_phase_transition",
    ]
    tables = load_tables(store.path)
    lines = verdict(tables["runs"], tables["pairs"], tables["phase"])
    assert any(line.startswith("Loss at N=144") for line in lines)
    assert any(line.startswith("Universality at N=144 (alpha=1, γ=1, weak superposition") for line in lines)
    checks = [line for line in lines if line.startswith("Katta's check at N=144")]
    assert len(checks) == 4 and all("Verdict: " in line for line in checks)  # per (data, γ)
    assert any(line.startswith("Compressed sensing, deep L=2") for line in lines)
    assert report_section(store.path / "missing")[1] is None


def test_cli_plan_bound_summary_and_figures(store: Store, tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["aspect", "plan", "--params", "4100", "--n", "100", "--depths", "1,2,8"])
    assert result.exit_code == 0, result.output
    assert "4100" in result.output and "4168" in result.output  # L = 1, m = 40 and L = 8, m = 18
    result = runner.invoke(app, ["aspect", "bound", "--n", "64", "--sparsity", "0.9"])
    assert result.exit_code == 0 and "14.74" in result.output
    result = runner.invoke(app, ["aspect", "bound", "--n", "64"])
    assert result.exit_code == 2 and "exactly one of" in result.output
    result = runner.invoke(app, ["aspect", "summary", str(store.path)])
    assert result.exit_code == 0 and "Loss at N=144" in result.output
    result = runner.invoke(app, ["aspect", "figures", str(store.path), "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "aspect_loss.png").stat().st_size > 1000
    result = runner.invoke(app, ["aspect", "run", "--preset", "nope", "--out", str(tmp_path)])
    assert result.exit_code == 2 and "unknown aspect preset" in result.output
    result = runner.invoke(app, ["aspect", "summary", str(tmp_path)])
    assert result.exit_code == 2 and "no aspect tables" in result.output


def test_cli_run_trains_analyses_and_resumes(tmp_path: Path) -> None:
    config = tmp_path / "tiny.toml"
    small = {**TINY, "seeds": 0, "gamma": -1.0, "data": TINY["data"][1:]}  # uniform data, γ = −1: 4 models
    config.write_text(dump_toml_table(small))
    out = tmp_path / "store"
    runner = CliRunner()
    for _ in range(2):  # the second call finds every shard done and only re-analyses
        result = runner.invoke(app, ["aspect", "run", "--preset", str(config), "--out", str(out)])
        assert result.exit_code == 0, result.output
        assert "Compressed sensing, toy" in result.output
    runs = open_store(out).table(schema.ASPECT_RUNS_FILE)
    assert runs is not None and len(runs[runs["kind"] == "family"]) == 2
    assert math.isfinite(float(runs["final_loss"].max()))


def test_cli_l1(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["aspect", "l1", "--n", "16", "--sparsities", "0.8", "--widths", "2,16"])
    assert result.exit_code == 0 and "critical_m" in result.output
    result = runner.invoke(app, ["aspect", "l1", "--widths", "a,b"])
    assert result.exit_code == 2 and "widths must be comma-separated integers" in result.output
