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
