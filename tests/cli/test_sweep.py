"""The sweep commands end to end: run, presets, ls, show, query, and their errors."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from superscale._version import __version__
from superscale.cli import app
from superscale.config import dump_toml, parse_config, parse_config_text
from superscale.config.presets import list_presets, load_preset
from superscale.store import open_store

TINY: dict[str, Any] = {
    "name": "cli",
    "n": 20,
    "m": [3, 4],
    "gamma": -1.0,
    "train": {"batch": 32, "steps": 30},
    "output": {"curve_points": 10},
    "execution": {"threads": 1},
}

runner = CliRunner()


@pytest.fixture(scope="module")
def ran(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cli")
    config = root / "tiny.toml"
    config.write_text(dump_toml(parse_config(TINY)))
    result = runner.invoke(app, ["run", str(config), "--out", str(root / "store"), "--device", "cpu"])
    assert result.exit_code == 0, result.output
    assert "done: 2 runs (0 failed)" in result.output
    return root


def test_run_resumes_as_a_no_op(ran: Path) -> None:
    result = runner.invoke(app, ["run", str(ran / "tiny.toml"), "--out", str(ran / "store"), "--quiet"])
    assert result.exit_code == 0, result.output
    assert result.output == ""


def test_ls_show_query(ran: Path) -> None:
    result = runner.invoke(app, ["ls", str(ran), "--format", "table"])  # a directory of stores
    assert result.exit_code == 0, result.output
    assert "complete" in result.output and "2/2" in result.output
    result = runner.invoke(app, ["show", str(ran / "store"), "-f", "table"])
    assert result.exit_code == 0, result.output
    assert "2 done, 0 failed" in result.output and "m            3, 4" in result.output
    sql = "select m, count(*) as k from curves join runs using (run_id) group by m order by m"
    for flag in (["--csv"], ["--format", "csv"], []):  # the older flag, the format, piped (not a terminal)
        result = runner.invoke(app, ["query", str(ran / "store"), sql, *flag])
        assert result.exit_code == 0, result.output
        assert result.output.splitlines() == ["m,k", "3,11", "4,11"]


def _csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_ls_takes_several_stores_and_prints_whole_csv_when_piped(ran: Path, tmp_path: Path) -> None:
    config = tmp_path / "other.toml"
    config.write_text(dump_toml(parse_config({**TINY, "name": "other", "m": [5]})))
    other = tmp_path / "other"
    assert runner.invoke(app, ["run", str(config), "-o", str(other), "-q"]).exit_code == 0
    result = runner.invoke(app, ["ls", str(ran / "store"), str(other)])
    assert result.exit_code == 0, result.output
    rows = _csv(result.output)  # CliRunner's stdout is not a terminal: CSV, one line per store
    assert [(r["store"], r["name"], r["runs done"], r["status"]) for r in rows] == [
        (str(ran / "store"), "cli", "2/2", "complete"),
        (str(other), "other", "1/1", "complete"),
    ]
    twice = runner.invoke(app, ["ls", str(ran / "store"), str(ran), str(other)])  # ran holds ran/store
    assert _csv(twice.output) == rows
    result = runner.invoke(app, ["ls", str(ran / "store"), str(tmp_path / "missing")])
    assert result.exit_code == 2 and "no such directory" in result.output


def test_wide_query_prints_every_column_whole(ran: Path) -> None:
    """No `…`: piped, JSON and Markdown carry every column and every digit of the runs table."""
    store = ran / "store"
    runs = open_store(store).runs()
    sql = "select * from runs order by run_id"
    rows = _csv(runner.invoke(app, ["query", str(store), sql]).output)
    assert list(rows[0]) == list(runs.columns) and len(rows) == len(runs)
    expected = runs.sort_values("run_id", ignore_index=True)
    assert [float(r["final_loss"]) for r in rows] == expected["final_loss"].tolist()
    result = runner.invoke(app, ["query", str(store), sql, "--format", "json"])
    records = json.loads(result.output)
    assert [r["final_loss"] for r in records] == expected["final_loss"].tolist()
    sql = "select m, seed from runs order by m"
    markdown = runner.invoke(app, ["query", str(store), sql, "-f", "markdown"])
    assert markdown.output.splitlines() == ["| m | seed |", "| --- | --- |", "| 3 | 0 |", "| 4 | 0 |"]
    shown = _csv(runner.invoke(app, ["show", str(store), "--format", "csv"]).output)
    assert {r["field"]: r["value"] for r in shown}["m"] == "3, 4"


def test_version_and_short_help() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.output == f"superscale {__version__}\n"
    for args in (["-h"], ["ls", "-h"], ["aspect", "plan", "-h"], ["presets", "show", "-h"]):
        result = runner.invoke(app, args)
        assert result.exit_code == 0, (args, result.output)
        assert "Usage:" in result.output and "<bool>" not in result.output, args


def test_user_errors_are_one_line(ran: Path, tmp_path: Path) -> None:
    other = tmp_path / "other.toml"
    other.write_text(dump_toml(parse_config({**TINY, "m": 5})))
    result = runner.invoke(app, ["run", str(other), "--out", str(ran / "store")])
    assert result.exit_code == 2
    assert "different sweep" in result.output and "--force" in result.output
    bad = tmp_path / "bad.toml"
    bad.write_text("m = [3, -2]\n[train]\nstepz = 3\n")
    result = runner.invoke(app, ["run", str(bad), "--out", str(tmp_path / "never")])
    assert result.exit_code == 2
    assert "m: must be a positive integer, got -2" in result.output and "train.stepz" in result.output
    assert not (tmp_path / "never").exists()
    result = runner.invoke(app, ["run", "no-such-preset", "--out", str(tmp_path / "never")])
    assert result.exit_code == 2 and "neither a config file nor a preset" in result.output
    result = runner.invoke(app, ["query", str(ran / "store"), "select nope from runs"])
    assert result.exit_code == 2 and "query failed" in result.output
    result = runner.invoke(app, ["show", str(tmp_path)])
    assert result.exit_code == 2 and "not a superscale store" in result.output


def test_ctrl_c_exits_130(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(*args: Any, **kwargs: Any) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("superscale.sweep.run_sweep", interrupted)  # the command imports it when run
    result = runner.invoke(app, ["run", "paper-e2-alpha-quick", "--out", str(tmp_path / "s")])
    assert result.exit_code == 130
    assert "re-run the same command to resume" in result.output


def test_presets_list_and_show() -> None:
    result = runner.invoke(app, ["presets", "--format", "table"])
    assert result.exit_code == 0, result.output
    for name in list_presets():
        assert name in result.output
    assert "1020" in result.output  # E2's model count
    result = runner.invoke(app, ["presets", "show", "paper-e2-full"])
    assert result.exit_code == 0, result.output
    assert parse_config_text(result.output) == load_preset("paper-e2-full")
    result = runner.invoke(app, ["presets", "show", "nope"])
    assert result.exit_code == 2 and "unknown preset" in result.output


def test_log_progress_reports_steps_inside_a_shard(caplog: pytest.LogCaptureFixture) -> None:
    """A background log shows a long shard moving: one line per tenth of its steps."""
    import logging

    from superscale.config import parse_config as parse
    from superscale.config.grid import plan_sweep
    from superscale.sweep.events import LogProgress

    shard = plan_sweep(parse({"n": 10, "m": 2, "gamma": -1.0, "train": {"steps": 50}}))[0]
    progress = LogProgress(every=0.2)
    with caplog.at_level(logging.INFO, logger="superscale.sweep"):
        progress.shard_started(shard)
        for step in range(shard.steps):
            progress.step(shard, step)
    lines = [r.getMessage() for r in caplog.records if "step" in r.getMessage()]
    assert [line.split("step ")[1].split(" ")[0] for line in lines] == ["10/50", "20/50", "30/50", "40/50"]


def test_a_table_too_wide_for_the_terminal_prints_one_record_per_block(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import pandas as pd
    from rich.console import Console

    from superscale.cli import tables

    out = io.StringIO()
    monkeypatch.setattr(tables, "console", Console(file=out, force_terminal=True, width=60))
    wide = pd.DataFrame([{f"column_{i}": 1000.0 + i / 7 for i in range(37)}] * 2)
    tables.emit(wide, None)  # a terminal: the table format
    text = out.getvalue()
    assert "…" not in text and text.count("── row") == 2
    assert "column_36  1005.14" in text  # every column, its value to 6 significant digits
    out.truncate(0)
    out.seek(0)
    tables.emit(wide.iloc[:, :2], None)  # fits: an ordinary table
    assert "── row" not in out.getvalue() and "column_1" in out.getvalue()
