"""Damage a reader can work round gives a correct result and a status that names it: a manifest field of
the wrong kind, a merged table with other columns, a deleted shards/, a writer killed with -9, a sweep
whose runs all failed."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

from superscale.cli import app
from superscale.store import open_store, schema
from superscale.sweep import run_sweep
from tests.tiny import tiny_sweep

runner = CliRunner()
TINY = tiny_sweep("repair")  # 8 runs in 4 shards, m ∈ {3, 4}


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("repair") / "store"
    run_sweep(TINY, out, quiet=True)
    return out


def _copy(store: Path, to: Path) -> Path:
    shutil.copytree(store, to)
    return to


def _edit_manifest(store: Path, edit: Any) -> None:
    file = store / schema.MANIFEST_FILE
    manifest = json.loads(file.read_text())
    edit(manifest)
    file.write_text(json.dumps(manifest))


def _first_shard(manifest: dict[str, Any]) -> str:
    return sorted(manifest["shards"])[0]


@pytest.mark.parametrize(
    ("edit", "reason"),
    [
        (lambda m: m.update(n_runs=None), "manifest.json: n_runs is null"),
        (lambda m: m["shards"][_first_shard(m)].update(seconds="abc"), ': seconds is "abc"'),
        (lambda m: m["shards"].update({_first_shard(m): [1]}), "is [1], not an object"),
        (lambda m: m.update(shards=[1, 2]), "shards is [1, 2], not an object"),
    ],
)
def test_a_manifest_field_of_the_wrong_kind_is_named_and_the_other_stores_still_listed(
    trained: Path, tmp_path: Path, edit: Any, reason: str
) -> None:
    _copy(trained, tmp_path / "a-good")
    bad = _copy(trained, tmp_path / "b-bad")
    _edit_manifest(bad, edit)
    result = runner.invoke(app, ["ls", str(tmp_path / "a-good"), str(bad), "--format", "csv"])
    assert result.exit_code == 0, result.output
    rows = list(pd.read_csv(pd.io.common.StringIO(result.output)).itertuples(index=False))
    assert rows[0].status == "complete" and rows[0][3] == "8/8"
    assert rows[1].status.startswith("damaged (") and reason in rows[1].status and rows[1][3] == "8/8"
    shown = runner.invoke(app, ["show", str(bad), "--format", "json"])
    assert (
        shown.exit_code == 0
        and reason in dict((r["field"], r["value"]) for r in json.loads(shown.output))["status"]
    )
    before = {p.name: p.read_bytes() for p in (bad / schema.WEIGHTS_DIR).iterdir()}
    rerun = run_sweep(TINY, bad, quiet=True)  # the writer rebuilds what the manifest lost, retrains nothing
    assert rerun.summary()["status"] == "complete"
    assert {p.name: p.read_bytes() for p in (bad / schema.WEIGHTS_DIR).iterdir()} == before


def test_a_merged_table_with_other_columns_is_read_round_from_shards(trained: Path, tmp_path: Path) -> None:
    store = _copy(trained, tmp_path / "s")
    pd.DataFrame({"x": [1, 2]}).to_parquet(store / schema.RUNS_FILE)
    summary = open_store(store).summary()
    assert summary["runs_done"] == 8
    assert summary["status"].startswith("damaged (runs.parquet: no columns 'run_id', 'shard_id', 'status'")
    assert "its rows are read from shards/" in summary["status"]
    result = runner.invoke(app, ["query", str(store), "select count(*) as k from runs", "--csv"])
    assert result.output.splitlines() == ["k", "8"]
    run_sweep(TINY, store, quiet=True)  # the merge rewrites it
    assert open_store(store).summary()["status"] == "complete"


def test_a_deleted_shards_folder_keeps_the_merged_rows_and_a_run_restores_it(
    trained: Path, tmp_path: Path
) -> None:
    store = _copy(trained, tmp_path / "s")
    weights = {p.name: p.read_bytes() for p in (store / schema.WEIGHTS_DIR).iterdir()}
    shutil.rmtree(store / schema.SHARDS_DIR)
    summary = open_store(store).summary()
    assert (summary["runs_done"], summary["runs_total"]) == (8, 8)
    assert "shards/ lacks 4 of the 4 merged shard(s)" in summary["status"]
    result = runner.invoke(app, ["query", str(store), "select count(*) as k from runs", "--csv"])
    assert result.output.splitlines() == ["k", "8"]
    assert len(open_store(store).params(open_store(store).runs[schema.RUN_ID].iloc[0])["W"]) == 20
    run_sweep(TINY, store, quiet=True)
    assert len(list((store / schema.SHARDS_DIR).glob("*.runs.parquet"))) == 4  # restored, not retrained:
    assert {p.name: p.read_bytes() for p in (store / schema.WEIGHTS_DIR).iterdir()} == weights
    assert open_store(store).summary()["status"] == "complete"


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


@pytest.mark.parametrize(
    ("holder", "status"),
    [
        (lambda: f"{_dead_pid()} {socket.gethostname()}", "interrupted (process gone)"),
        (lambda: f"{_dead_pid()}", "interrupted (process gone)"),  # a lock file from before the host
        (lambda: f"{_dead_pid()} another-machine", "running"),  # cannot be checked from here
        (lambda: f"{__import__('os').getpid()} {socket.gethostname()}", "running"),  # alive
    ],
)
def test_a_sweep_whose_writer_died_shows_as_interrupted(
    trained: Path, tmp_path: Path, holder: Any, status: str
) -> None:
    store = _copy(trained, tmp_path / "s")
    _edit_manifest(store, lambda m: m.update(status="running"))  # what kill -9 leaves
    (store / schema.LOCK_FILE).write_text(holder() + "\n")
    assert open_store(store).summary()["status"] == status


def test_a_sweep_whose_runs_all_failed_can_be_queried_for_the_reasons(tmp_path: Path) -> None:
    from superscale.train.engine import DivergenceError

    def diverge(spec: Any, on_step: Any) -> Any:
        raise DivergenceError("loss is nan", None)

    store = run_sweep(TINY, tmp_path / "s", quiet=True, train_fn=diverge)
    assert store.summary()["runs_failed"] == 8
    result = runner.invoke(
        app, ["query", str(store.path), "select count(*) as k from runs where error != ''"]
    )
    assert result.exit_code == 0 and result.output.splitlines()[-1] == "8", result.output
    result = runner.invoke(app, ["query", str(store.path), "select * from curves", "--csv"])
    assert result.exit_code == 0 and result.output.splitlines() == ["run_id,step,loss"]
    pd.DataFrame().to_parquet(store.path / schema.CURVES_FILE)  # how older versions wrote it
    result = runner.invoke(app, ["query", str(store.path), "select count(*) as k from curves", "--csv"])
    assert result.exit_code == 0 and result.output.splitlines() == ["k", "0"]


def test_analyze_says_which_groups_have_too_few_widths(trained: Path, tmp_path: Path) -> None:
    store = _copy(trained, tmp_path / "s")  # two widths: no α_m anywhere
    result = runner.invoke(app, ["analyze", str(store), "--quiet"])
    assert result.exit_code == 0, result.output
    assert "fits: 0 groups fitted, 0 kept, 2 with fewer than 3 widths (no α_m)" in result.output
