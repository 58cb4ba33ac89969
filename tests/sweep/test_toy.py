"""The README's headline API: train_toy_models is a sweep without a store, row for row."""

from __future__ import annotations

import numpy as np
import pytest

from superscale.store import schema
from superscale.sweep import run_sweep
from superscale.sweep.in_memory import train_toy_models

GRID = {"m": [3, 5], "gamma": [-1.0, 0.5], "alpha": [0.5, 1.5]}


@pytest.fixture(scope="module")
def trained():
    return train_toy_models(**GRID, n=30, batch=32, steps=40, warmup_fraction=0.1, lr=0.02, device="cpu")


def test_rows_follow_the_arguments_in_m_alpha_gamma_order(trained) -> None:
    table = trained.table
    assert list(table[schema.M_HIDDEN]) == [3, 3, 3, 3, 5, 5, 5, 5]
    assert list(table[schema.ALPHA]) == [0.5, 0.5, 1.5, 1.5] * 2
    assert list(table[schema.GAMMA]) == [-1.0, 0.5] * 4
    assert trained.W(5).shape == (30, 5)
    assert trained.b(0).shape == (30,)
    assert len(trained.step_loss[0]) == 40
    assert bool(np.isfinite(table[schema.FINAL_LOSS]).all())


def test_equals_the_same_grid_trained_as_a_sweep(trained, tmp_path) -> None:
    config = {
        "name": "toy-equivalence",
        "n": 30,
        "m": GRID["m"],
        "gamma": GRID["gamma"],
        "data": {"family": "power", "alpha": GRID["alpha"]},
        "lr": {"W": {"base": 0.02}},
        "train": {"batch": 32, "steps": 40, "warmup_fraction": 0.1},
        "execution": {"device": "cpu"},
    }
    runs = run_sweep(config, tmp_path / "store", quiet=True).runs
    key = [schema.M_HIDDEN, schema.ALPHA, schema.GAMMA]
    merged = trained.table.merge(runs[[*key, schema.FINAL_LOSS]], on=key, suffixes=("", "_sweep"))
    assert len(merged) == 8
    np.testing.assert_array_equal(merged[schema.FINAL_LOSS], merged[schema.FINAL_LOSS + "_sweep"])


def test_final_loss_is_n_times_the_mean_of_the_last_100_step_losses(trained) -> None:
    curve = trained.step_loss[3].double().numpy()  # summed scale
    expected = float(np.mean(curve[-40:]))  # 40 steps < final_window 100: the window is clipped
    assert trained.table[schema.FINAL_LOSS][3] == pytest.approx(expected, rel=1e-6)
