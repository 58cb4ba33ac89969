"""Katta's inequality per shape and the verdict, computed from planted tables whose answer is known."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from superscale.aspect.calibrated import MEASURES
from superscale.aspect.katta import (
    bound_width,
    katta_lines,
    katta_table,
    reading,
    score_summary,
    shape_bounds,
)

KEY = {"params_budget": 4100, "data": "S=0.85", "gamma": -1.0}


def _runs(n_wide: float, n_narrow: float, sparsity: float = 0.85, **key: object) -> pd.DataFrame:
    """Two seeds of a wide (L=1, m=40) and a narrow (L=8, m=18) family member holding the given counts."""
    rows = [
        {**KEY, **key, "kind": "family", "n_layers": depth, "m": m, "seed": seed, "data_sparsity": sparsity}
        | {"n_repr_last": count + (0.5 if seed else -0.5)}
        for depth, m, count in ((1, 40, n_wide), (8, 18, n_narrow))
        for seed in (0, 1)
    ]
    return pd.DataFrame(rows)


def _pairs(shape_score: float, seed_score: float, **key: object) -> pd.DataFrame:
    """Cross-seed pairs at the last layer: three 'shape' pairs at shape_score ± 0.01, three 'seed' pairs."""
    rows = []
    for kind, score in (("shape", shape_score), ("seed", seed_score)):
        for (a, b), jitter in zip(((0, 1), (0, 2), (1, 2)), (-0.01, 0.0, 0.01), strict=True):
            row = {**KEY, **key, "regime": "strong", "layer": "last", "kind": kind, "same_seed": False}
            row |= {"seed_a": a, "seed_b": b, **{f"{m}_score": score + jitter for m in MEASURES}}
            rows.append(row)
    return pd.DataFrame(rows)


def _flat(spread: float, **key: object) -> pd.DataFrame:
    return pd.DataFrame([{**KEY, **key, "spread_over_noise": spread}])


def test_bound_width_is_minus_n_one_minus_s_log_one_minus_s() -> None:
    assert bound_width(100, 0.85) == pytest.approx(-100 * 0.15 * math.log(0.15))
    assert bound_width(100, 0.85) == pytest.approx(28.4568, abs=1e-4)
    assert math.isnan(bound_width(100, 1.0))


def test_shape_bounds_per_member() -> None:
    bounds = shape_bounds(_runs(100, 60)).set_index("m")
    assert bounds.loc[40, "n_repr_last"] == 100 and bounds.loc[18, "n_repr_last"] == 60
    assert (bounds["n_universal"] == 100).all()
    assert bounds.loc[18, "bound_own"] == pytest.approx(60 * 0.15 * -math.log(0.15))  # 17.07 ≤ 18
    assert bounds.loc[18, "within_bound"] and bounds.loc[40, "within_bound"]
    assert bounds.loc[18, "bound_universal"] == pytest.approx(28.4568, abs=1e-4)
    # 60/18 = 3.33 features per dimension: the bound is tight at S ≈ 0.82 < 0.85, fine for this data
    assert 0.8 < bounds.loc[18, "implied_sparsity_own"] < 0.85
    assert bounds.loc[18, "implied_sparsity_universal"] > 0.85
    assert bounds.loc[18, "superposition_last"] == pytest.approx(60 / 18)


def test_score_summary_mean_std_and_standard_error_over_seeds() -> None:
    summary = score_summary(_pairs(0.4, 0.8)).set_index("kind")
    shape = summary.loc["shape"]
    assert shape["n_pairs"] == 3 and shape["n_seeds"] == 3
    assert shape["directions_mean"] == pytest.approx(0.4)
    assert shape["directions_std"] == pytest.approx(0.01)
    assert shape["directions_se"] == pytest.approx(0.01 / math.sqrt(3))


def test_reading_names_the_failing_horn() -> None:
    assert reading(True, True, True, False).startswith("horn 1 fails")
    assert reading(True, True, False, True).startswith("horn 2 fails")
    assert reading(True, True, False, False).startswith("both fail")
    assert reading(True, False, False, True).startswith("no contradiction")
    assert reading(True, True, None, True).startswith("undetermined")
    assert reading(False, True, False, True).startswith("the premise fails")


@pytest.mark.parametrize(
    ("runs", "pairs", "spread", "verdict"),
    [
        # universal features (100 in every shape, scores as high as the seeds'), narrow shape over its bound
        (_runs(100, 100), _pairs(0.9, 0.9), 1.0, "Verdict: horn 1 fails"),
        # each shape within its bound (60 features in m = 18), features not shared across shapes
        (_runs(100, 60), _pairs(0.1, 0.9), 1.0, "Verdict: horn 2 fails"),
        # sparse data: 100 features need only m ≥ 4.6, so every shape can hold them all
        (_runs(100, 100, sparsity=0.99), _pairs(0.9, 0.9), 1.0, "Verdict: no contradiction"),
        # loss set by width: the argument's premise is missing
        (_runs(100, 60), _pairs(0.1, 0.9), 5.0, "Verdict: the premise fails"),
    ],
)
def test_katta_verdict_from_planted_tables(
    runs: pd.DataFrame, pairs: pd.DataFrame, spread: float, verdict: str
) -> None:
    table = katta_table(_flat(spread), shape_bounds(runs), score_summary(pairs))
    assert len(table) == 1
    (line,) = katta_lines(table)
    assert verdict in line
    assert line.startswith("Katta's check at N=4100 (S=0.85, γ=-1, strong superposition)")
    assert "narrowest shape has m = 18" in line
    assert f"spans {spread:g}× its seed std" in line


def test_katta_line_states_the_numbers_it_decided_on() -> None:
    table = katta_table(_flat(1.0), shape_bounds(_runs(100, 100)), score_summary(_pairs(0.9, 0.9)))
    row = table.iloc[0]
    assert row["binds"] and row["universal"] and row["equal_loss"]
    assert row["n_within"] == 1 and row["outside"] == "L=8,m=18"
    (line,) = katta_lines(table)
    assert "the bound needs m ≥ 28.5 for the 100 features" in line and "(binds)" in line
    assert "1 of 2 shapes hold their own features within the bound (outside: L=8,m=18)" in line
    assert "directions 0.9 ± 0.006 (seeds 0.9 ± 0.006)" in line
    assert "→ universal" in line
    # below the seeds by more than two standard errors: not universal, even above the level
    low = katta_table(_flat(1.0), shape_bounds(_runs(100, 100)), score_summary(_pairs(0.6, 0.9)))
    assert not low.iloc[0]["universal"]
    assert "→ not universal" in katta_lines(low)[0]


def test_no_pairs_leave_universality_undetermined() -> None:
    table = katta_table(_flat(1.0), shape_bounds(_runs(100, 100)), pd.DataFrame())
    assert table.iloc[0]["universal"] is None
    assert "Verdict: undetermined" in katta_lines(table)[0]
