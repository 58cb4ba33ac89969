"""The paper's fit windows in `analyze`: a store with the E1 preset's [analysis] rules and planted losses.

No model is trained: the engine is replaced by one that returns planted final losses and loss curves, so
every fitted number can be recomputed here with numpy on the points the paper's window keeps.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch
from typer.testing import CliRunner

from superscale.analysis.analyze import LOGLOG
from superscale.cli import app
from superscale.config import AnalysisConfig
from superscale.config.presets import preset_text
from superscale.pipeline.analyze import analyze_store
from superscale.plots.data import FigureData, fit_for, loglog_fits
from superscale.store import open_store, schema
from superscale.sweep import run_sweep
from superscale.train.engine import ShardResult, ShardSpec
from tests.tiny import planted_result

WIDTHS = [2, 3, 4, 6, 8, 12, 16, 24]  # eight widths, as the paper's m = 8 … 1024
N, STEPS = 32, 200
UNCONVERGED_M = 24  # weak-regime (γ > 0) runs at this width are planted still falling
# the paper's windows over these widths (spec of the preset, written out independently of FitWindow)
EXPECTED = {
    ("exponential", -1.0): (WIDTHS, "all"),
    ("power", -1.0): (WIDTHS[2:], "skip_first=2"),
    ("linear", -1.0): (WIDTHS[2:], "skip_first=2"),
    ("power", 0.1): (WIDTHS[-5:], "last=5"),
    ("exponential", 0.1): (WIDTHS, "all"),
    ("linear", 0.1): (WIDTHS, "all"),
}


def planted_loss(m: float, gamma: float, p1: float) -> float:
    """Summed-scale final loss: a power law in m, bent at the two smallest widths so windows matter."""
    exponent = 1.0 if gamma < 0 else 0.4 + p1
    bend = 1.6 if m <= WIDTHS[1] else 1.0
    return 3.0 * m**-exponent * bend


class PlantedEngine:
    """Stands in for `train_shard`: planted losses and curves, small random weights; counts its calls."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, spec: ShardSpec, on_step: Any = None) -> ShardResult:
        self.calls += 1
        final = torch.tensor(
            [planted_loss(spec.m, model.gamma, float(model.probs[0])) for model in spec.models],
            dtype=torch.float64,
        )
        drift = torch.tensor(
            [0.5 if model.gamma > 0 and spec.m == UNCONVERGED_M else 0.0 for model in spec.models]
        )
        remaining = 1 - torch.arange(spec.steps, dtype=torch.float64) / (spec.steps - 1)
        curve = final[:, None] * (1 + drift[:, None] * remaining[None, :])  # [inst, steps] summed scale
        generator = torch.Generator().manual_seed(spec.m)
        W = 0.3 * torch.randn(len(spec.models), spec.n, spec.m, generator=generator)
        return planted_result(spec, final, curve, W)


def e1_quick_config() -> dict[str, Any]:
    """The paper-e1-large-quick preset, rules included, at n = 32 over eight widths."""
    raw = tomllib.loads(preset_text("paper-e1-large-quick"))
    raw.update(n=N, m=WIDTHS, execution={"threads": 1})
    raw["data"][1]["scale"] = 4.0
    raw["train"].update(batch=4, steps=STEPS)
    raw["output"] = {"curve_points": STEPS, "max_models_per_shard": 64}
    return raw


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("windows") / "store"
    engine = PlantedEngine()
    run_sweep(e1_quick_config(), path, quiet=True, train_fn=engine)
    assert engine.calls == len(WIDTHS)
    analyze_store(path, n_bootstrap=20)
    return path


def _group(frame: pd.DataFrame, family: str, gamma: float) -> pd.DataFrame:
    return frame[(frame[schema.FAMILY] == family) & np.isclose(frame[schema.GAMMA], gamma)]


def test_recipe_fits_use_the_papers_windows_and_all_fits_every_width(planted: Path) -> None:
    store = open_store(planted)
    fits, runs = store.fits(), store.runs
    assert fits is not None
    loglog = fits[fits[schema.FIT_KIND] == LOGLOG]
    assert len(loglog) == 2 * len(EXPECTED)
    for (family, gamma), (widths, window) in EXPECTED.items():
        group = _group(runs, family, gamma)
        for scope, kept, text in ((schema.SCOPE_RECIPE, widths, window), (schema.SCOPE_ALL, WIDTHS, "all")):
            row = _group(loglog, family, gamma)
            row = row[row[schema.FIT_SCOPE] == scope]
            assert len(row) == 1, (family, gamma, scope)
            points = group[group[schema.M_HIDDEN].isin(kept)]
            slope, _ = np.polyfit(np.log(points[schema.M_HIDDEN]), np.log(points[schema.FINAL_LOSS]), 1)
            assert row[schema.EXPONENT].item() == pytest.approx(-slope, rel=1e-9), (family, gamma, scope)
            assert row[schema.FIT_WINDOW].item() == text
            assert row[schema.N_POINTS].item() == len(kept)
            assert (row[schema.M_MIN].item(), row[schema.M_MAX].item()) == (kept[0], kept[-1])
    # the window matters: from the 3rd width the strong power-law fit sees the planted exponent exactly
    strong_power = _group(loglog, "power", -1.0).set_index(schema.FIT_SCOPE)[schema.EXPONENT]
    assert strong_power[schema.SCOPE_RECIPE] == pytest.approx(1.0, rel=1e-9)
    assert strong_power[schema.SCOPE_ALL] > 1.05


def test_unconverged_runs_are_counted_in_the_flags_of_the_fits_that_use_them(planted: Path) -> None:
    store = open_store(planted)
    metrics = store.metrics()
    assert metrics is not None
    runs = store.runs.merge(metrics, on=schema.RUN_ID)
    planted_unconverged = (runs[schema.GAMMA] > 0) & (runs[schema.M_HIDDEN] == UNCONVERGED_M)
    assert (runs[schema.CONVERGED] == ~planted_unconverged).all()
    # the planted drift is 50 % over the run: ≈ 2.5 % between the half means of the last 10 %
    assert runs.loc[planted_unconverged, schema.LOSS_REL_CHANGE].between(0.02, 0.03).all()
    assert (runs.loc[~planted_unconverged, schema.LOSS_REL_CHANGE] == 0).all()
    fits = store.fits()
    assert fits is not None
    loglog = fits[fits[schema.FIT_KIND] == LOGLOG].set_index([schema.FAMILY, schema.GAMMA, schema.FIT_SCOPE])
    flags = loglog[schema.FIT_FLAGS]
    assert flags[("power", 0.1, schema.SCOPE_RECIPE)] == "1 of 5 runs unconverged"
    assert flags[("power", 0.1, schema.SCOPE_ALL)] == "1 of 8 runs unconverged"
    assert flags[("linear", 0.1, schema.SCOPE_RECIPE)] == "1 of 8 runs unconverged"
    assert (flags.xs(-1.0, level=schema.GAMMA) == "").all()


def test_figure_helpers_return_the_recipe_scope_unless_asked(planted: Path) -> None:
    fits = open_store(planted).fits()
    data = FigureData(runs=open_store(planted).runs, fits=fits)
    recipe, every = loglog_fits(data), loglog_fits(data, scope=schema.SCOPE_ALL)
    assert len(recipe) == len(every) == len(EXPECTED)  # one row per group, as before the scopes
    assert set(recipe[schema.FIT_SCOPE]) == {schema.SCOPE_RECIPE}
    assert set(every[schema.N_POINTS]) == {len(WIDTHS)}
    row = {schema.FAMILY: "power", schema.GAMMA: -1.0, schema.ALPHA: 1.2}
    chosen = fit_for(recipe, row)
    assert chosen is not None and chosen[schema.FIT_WINDOW] == "skip_first=2"
    assert fit_for(fits, row, scope=schema.SCOPE_ALL)[schema.N_POINTS] == len(WIDTHS)
    with pytest.raises(ValueError, match="scope must be"):
        loglog_fits(data, scope="paper")


def test_new_windows_refit_only_the_groups_they_change_and_never_retrain(
    planted: Path, tmp_path: Path
) -> None:
    import shutil

    store_dir = tmp_path / "store"
    shutil.copytree(planted, store_dir)
    again = analyze_store(store_dir, n_bootstrap=20)
    assert (again.n_groups_fitted, again.n_groups_reused) == (0, len(EXPECTED))
    # no rules: the three windowed groups refit, the three all-width groups keep their fits
    bare = analyze_store(store_dir, n_bootstrap=20, analysis=AnalysisConfig())
    assert (bare.n_groups_fitted, bare.n_groups_reused) == (3, 3)
    assert set(bare.fits[schema.FIT_WINDOW]) == {"all"}
    # the same through the config: `run` with other windows retrains nothing and stores the new rules
    config = e1_quick_config()
    config["analysis"] = {"windows": [{"family": "linear", "last": 4}]}
    engine = PlantedEngine()
    run_sweep(config, store_dir, quiet=True, train_fn=engine)
    assert engine.calls == 0
    result = analyze_store(store_dir, n_bootstrap=20)
    windows = result.fits.set_index([schema.FAMILY, schema.GAMMA, schema.FIT_SCOPE, schema.FIT_KIND])
    assert windows.loc[("linear", 0.1, schema.SCOPE_RECIPE, LOGLOG), schema.FIT_WINDOW] == "last=4"
    assert windows.loc[("power", -1.0, schema.SCOPE_RECIPE, LOGLOG), schema.FIT_WINDOW] == "all"


def test_cli_table_shows_the_window_and_the_flags(planted: Path, tmp_path: Path) -> None:
    import shutil

    store_dir = tmp_path / "store"
    shutil.copytree(planted, store_dir)
    result = CliRunner().invoke(app, ["analyze", str(store_dir), "--bootstrap", "20"])
    assert result.exit_code == 0, result.output
    assert "window" in result.output and "skip_first=2" in result.output and "last=5" in result.output
    assert "1 of 5 runs unconverged" in result.output
