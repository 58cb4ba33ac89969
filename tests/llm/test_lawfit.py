"""`superscale fit law`: planted Chinchilla and width laws are recovered; --exclude drops a broken point."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from superscale.cli import app
from superscale.llm.lawfit import excluded_rows, fit_law_table, parameter_frame

PLANTED = {"E": 1.69, "A": 406.4, "B": 410.7, "alpha": 0.34, "beta": 0.28}  # Hoffmann et al.'s values


def _chinchilla_table() -> pd.DataFrame:
    rows = []
    for N, D in itertools.product(np.logspace(7, 10, 6), np.logspace(9, 12, 6)):
        loss = PLANTED["E"] + PLANTED["A"] / N ** PLANTED["alpha"] + PLANTED["B"] / D ** PLANTED["beta"]
        rows.append({"params": N, "tokens": D, "loss": loss, "tag": "ok"})
    rows.append({"params": 1e8, "tokens": 1e10, "loss": 9.0, "tag": "diverged"})  # a broken run
    return pd.DataFrame(rows)


def test_planted_chinchilla_law_is_recovered_once_the_broken_run_is_excluded() -> None:
    table = _chinchilla_table()
    fit, dropped = fit_law_table(
        table, "chinchilla", {"N": "params", "D": "tokens"}, ["tag=diverged"], n_bootstrap=5
    )
    assert (dropped, fit.n_points) == (1, 36)
    assert fit.params["alpha"] == pytest.approx(PLANTED["alpha"], rel=1e-3)
    assert fit.params["beta"] == pytest.approx(PLANTED["beta"], rel=1e-3)
    params = parameter_frame(fit).set_index("parameter")
    for name in ("E", "A", "B"):
        assert params.loc[name, "value"] == pytest.approx(PLANTED[name], rel=1e-2)
    assert (params["ci_low"] <= params["value"] + 1e-9).all() and (
        params["value"] <= params["ci_high"] + 1e-9
    ).all()


def test_exclusion_rules() -> None:
    table = pd.DataFrame({"N": [1e7, 1e8, 1e9], "model": ["a", "b", "c"]})
    assert excluded_rows(table, ["N<1e8"]).tolist() == [True, False, False]
    assert excluded_rows(table, ["N>=1e8", "model=a"]).tolist() == [True, True, True]
    assert excluded_rows(table, ["model!=b"]).tolist() == [True, False, True]
    with pytest.raises(ValueError, match="no column 'D'"):
        excluded_rows(table, ["D<3"])
    with pytest.raises(ValueError, match="is not COLUMN<VALUE"):
        excluded_rows(table, ["N"])


def test_fit_law_command(tmp_path: Path) -> None:
    m = np.array([64, 128, 256, 512, 1024, 2048, 4096])
    path = tmp_path / "width.csv"
    pd.DataFrame({"m": m, "loss": 2.0 + 30.0 / m**0.9}).to_csv(path, index=False)
    result = CliRunner().invoke(app, ["fit", "law", str(path), "--law", "width", "--bootstrap", "5"])
    assert result.exit_code == 0, result.output
    assert "width law: 7 points (0 excluded)" in result.output and "alpha" in result.output
    bad = CliRunner().invoke(app, ["fit", "law", str(path), "--law", "chinchilla"])
    assert bad.exit_code != 0 and "missing ['N', 'D']" in bad.output and "Traceback" not in bad.output


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ("N>>5", "'>5' is not a value to compare with"),
        ("N<abc", "< compares numbers, but the value is not a number"),
        ("model<a", "< compares numbers, but the column holds text"),
        ("N=abc", "column 'N' holds numbers"),
        ("N<nan", "compare with a finite number"),
        ("N<inf", "compare with a finite number"),
        ("N = 1e8 2", "is not a value to compare with"),
    ],
)
def test_an_exclusion_that_is_no_comparison_is_refused_naming_it(rule: str, message: str) -> None:
    table = pd.DataFrame({"N": [1e7, 1e8, 1e9], "model": ["a", "b", "c"]})
    with pytest.raises(ValueError, match="--exclude") as info:
        excluded_rows(table, [rule])
    assert repr(rule) in str(info.value) and message in str(info.value)
    assert excluded_rows(pd.DataFrame({"N": [1.0, np.inf]}), ["N=inf"]).tolist() == [False, True]


def test_law_columns_are_finite_numbers_each_from_its_own_column() -> None:
    m = np.array([64.0, 128, 256, 512, 1024])
    table = pd.DataFrame({"m": m, "loss": 2 + 30 / m**0.9, "width": m})
    with pytest.raises(ValueError, match=r"--column: m and loss would both be read from column 'loss'"):
        fit_law_table(table, "width", {"m": "loss"}, n_bootstrap=0)
    with pytest.raises(ValueError, match=r"the width law has no variable 'N'"):
        fit_law_table(table, "width", {"N": "width"}, n_bootstrap=0)
    for bad in (np.inf, "big"):
        broken = table.astype({"m": object})
        broken.loc[2, "m"] = bad
        with pytest.raises(ValueError, match=rf"data row 3 of the table: m = {bad} is not a finite number"):
            fit_law_table(broken, "width", n_bootstrap=0)
        fit, excluded = fit_law_table(broken, "width", exclude=["width=256"], n_bootstrap=0)  # row 3 dropped
        assert (fit.n_points, excluded) == (4, 1)
    missing = table.astype({"m": float})
    missing.loc[2, "m"] = np.nan  # an empty cell: not a measurement, dropped as before
    assert fit_law_table(missing, "width", n_bootstrap=0)[0].n_points == 4
