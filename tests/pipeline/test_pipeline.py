"""`superscale reproduce`: train → analyse → report in one command, resumable."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from superscale.cli import app
from superscale.config import dump_toml, parse_config
from superscale.store import open_store, schema

TINY = {
    "name": "tiny-reproduce",
    "n": 24,
    "m": [3, 5, 8],
    "gamma": [-1.0, 0.1],
    "data": {"family": "power", "alpha": 1.0},
    "train": {"batch": 32, "steps": 40},
    "execution": {"threads": 1},
}


def test_reproduce_trains_analyses_and_reports(tmp_path: Path) -> None:
    config = tmp_path / "tiny.toml"
    config.write_text(dump_toml(parse_config(TINY)))
    out = tmp_path / "store"
    result = CliRunner().invoke(app, ["reproduce", "--preset", str(config), "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    report = out / schema.REPORT_DIR / "index.html"
    assert f"report: {report}" in result.output.replace("\n", "")
    store = open_store(out)
    assert len(store.runs) == 6 and (store.runs[schema.STATUS] == "done").all()
    fits = store.fits()
    assert fits is not None and set(fits[schema.GAMMA]) == {-1.0, 0.1}
    assert "<img" in report.read_text()

    # a second call retrains nothing (weights untouched) and gives the same tables
    weights = {p: p.stat().st_mtime_ns for p in (out / schema.WEIGHTS_DIR).iterdir()}
    again = CliRunner().invoke(app, ["reproduce", "--preset", str(config), "--out", str(out), "--quiet"])
    assert again.exit_code == 0, again.output
    assert {p: p.stat().st_mtime_ns for p in (out / schema.WEIGHTS_DIR).iterdir()} == weights
    assert open_store(out).runs.equals(store.runs)


def test_reproduce_unknown_preset_is_one_red_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["reproduce", "--preset", "no-such-preset", "--out", str(tmp_path / "s")]
    )
    assert result.exit_code == 2
    assert "neither a config file nor a preset" in result.output
    assert not (tmp_path / "s").exists()
