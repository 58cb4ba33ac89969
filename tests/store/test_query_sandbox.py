"""`superscale query` is read-only over the store's tables: no other file, no network, no extension."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from superscale.cli import app
from superscale.store import schema
from superscale.sweep import run_sweep
from tests.tiny import tiny_sweep

runner = CliRunner()


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("query") / "store"
    run_sweep({**tiny_sweep("query"), "seeds": 0, "gamma": -1.0}, out, quiet=True)
    return out


def test_the_views_read_the_stores_tables(store: Path) -> None:
    sql = "select m, count(*) as k from curves join runs using (run_id) group by m order by m"
    result = runner.invoke(app, ["query", str(store), sql, "--csv"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == ["m,k", "3,11", "4,11"]


@pytest.mark.parametrize(
    "sql",
    [
        "COPY (select 1 as x) TO '{store}/runs.parquet' (FORMAT parquet)",
        "COPY runs TO '{store}/leak.csv'",
        "select * from read_text('/etc/passwd')",
        "select * from read_csv('/etc/passwd')",
        "select * from read_parquet('{store}/runs.parquet')",
        "ATTACH '{store}/other.duckdb' AS other",
        "INSTALL httpfs",
        "LOAD httpfs",
        "SET enable_external_access = true",
    ],
)
def test_everything_outside_the_views_is_refused_with_one_line(store: Path, sql: str) -> None:
    before = {p: p.read_bytes() for p in store.rglob("*") if p.is_file() and p.name != schema.LOCK_FILE}
    result = runner.invoke(app, ["query", str(store), sql.format(store=store)])
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: query failed (queries are read-only")
    after = {p: p.read_bytes() for p in store.rglob("*") if p.is_file() and p.name != schema.LOCK_FILE}
    assert after == before  # nothing written, nothing overwritten
