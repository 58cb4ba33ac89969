"""Nothing lost: a damaged store is rebuilt from shards/ or named, and an empty one never needs --force."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from superscale.cli import app
from superscale.report.verdicts import run_summary
from superscale.store import open_store, schema
from superscale.sweep import run_sweep
from tests.tiny import tiny_sweep

runner = CliRunner()
TINY = tiny_sweep("damage")  # 8 runs in 4 shards


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("damage") / "store"
    run_sweep(TINY, out, quiet=True)
    return out


def _copy(store: Path, to: Path) -> Path:
    import shutil

    shutil.copytree(store, to)
    return to


def _bytes_of_shards(store: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((store / schema.SHARDS_DIR).iterdir())}


def test_a_damaged_manifest_is_rebuilt_from_shards_and_keeps_every_shard(
    trained: Path, tmp_path: Path
) -> None:
    store = _copy(trained, tmp_path / "s")
    before = _bytes_of_shards(store)
    (store / schema.MANIFEST_FILE).write_text('{"shards": {')  # "Expecting property name…" before
    assert open_store(store).summary()["status"].startswith("damaged (manifest.json unreadable")
    assert len(open_store(store).runs) == 8  # readers fall back to shards/
    result = runner.invoke(app, ["run", str(_toml(tmp_path)), "--out", str(store), "--quiet"])
    assert result.exit_code == 0, result.output
    assert _bytes_of_shards(store) == before  # nothing retrained
    manifest = json.loads((store / schema.MANIFEST_FILE).read_text())
    assert manifest["status"] == "complete" and len(manifest["shards"]) == 4
    assert {info["threads"] for info in manifest["shards"].values()} == {1}  # recovered from the rows


def test_a_damaged_sweep_toml_is_rewritten_when_the_shards_are_this_configs(
    trained: Path, tmp_path: Path
) -> None:
    store = _copy(trained, tmp_path / "s")
    before = _bytes_of_shards(store)
    (store / schema.SWEEP_FILE).write_text("name = [unclosed")
    result = runner.invoke(app, ["run", str(_toml(tmp_path)), "--out", str(store), "--quiet"])
    assert result.exit_code == 0, result.output
    assert _bytes_of_shards(store) == before
    assert open_store(store).config["name"] == "damage"


def test_a_damaged_sweep_toml_with_other_shards_is_named_and_force_is_not_suggested(
    trained: Path, tmp_path: Path
) -> None:
    store = _copy(trained, tmp_path / "s")
    (store / schema.SWEEP_FILE).write_text("name = [unclosed")
    result = runner.invoke(app, ["run", str(_toml(tmp_path, m=[5])), "--out", str(store), "--quiet"])
    assert result.exit_code == 2
    assert f"{str(store / schema.SWEEP_FILE)!r} is damaged" in result.output
    assert "4 finished shard(s) this config does not plan" in result.output
    assert "--force" not in result.output
    with pytest.raises(ValueError, match="with the config that made the store rewrites it"):
        _ = open_store(store).config  # readers that need it (analyze) name the file and the way back


def test_ls_reports_a_damaged_store_and_lists_the_others(trained: Path, tmp_path: Path) -> None:
    _copy(trained, tmp_path / "a-good")
    bad = _copy(trained, tmp_path / "b-bad")
    (bad / schema.SWEEP_FILE).write_bytes(b"\xff\xfe")
    result = runner.invoke(app, ["ls", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "complete" in result.output and "8/8" in result.output
    assert "damaged" in result.output


def test_a_failed_first_shard_leaves_nothing_that_blocks_the_corrected_run(tmp_path: Path) -> None:
    def broken(spec: Any, on_step: Any) -> Any:
        raise RuntimeError("first shard failed")

    out = tmp_path / "s"
    with pytest.raises(RuntimeError, match="first shard failed"):
        run_sweep(TINY, out, quiet=True, train_fn=broken)
    assert json.loads((out / schema.MANIFEST_FILE).read_text())["status"] == "interrupted"
    store = run_sweep({**TINY, "train": {"batch": 16, "steps": 30}}, out, quiet=True)  # no --force
    assert store.summary()["runs_done"] == 8


def test_a_truncated_weights_file_is_retrained_not_reported_complete(trained: Path, tmp_path: Path) -> None:
    store = _copy(trained, tmp_path / "s")
    victim = sorted((store / schema.WEIGHTS_DIR).iterdir())[0]
    victim.write_bytes(victim.read_bytes()[:-10])
    run_id = open_store(store).runs.query(f"{schema.SHARD_ID} == '{victim.stem}'")[schema.RUN_ID].iloc[0]
    with pytest.raises(ValueError, match=f"{str(victim)!r} is not a readable safetensors file: truncated"):
        open_store(store).params(run_id)  # analyze/report name the file instead of a SafetensorError
    run_sweep(TINY, store, quiet=True)
    assert open_store(store).params(run_id)["W"].shape == (20, 3)  # the shard trained again


def test_the_report_of_a_partial_store_says_how_far_it_got(trained: Path, tmp_path: Path) -> None:
    store = _copy(trained, tmp_path / "s")
    for shard in sorted((store / schema.SHARDS_DIR).glob("*.runs.parquet"))[1:]:
        shard.unlink()  # 1 of 4 shards left: 2 of 8 runs
    for merged in (schema.RUNS_FILE, schema.CURVES_FILE):
        (store / merged).unlink()  # stopped before its tables were merged (they would hold every row)
    manifest = json.loads((store / schema.MANIFEST_FILE).read_text())
    from superscale.plots.load import load_figure_data

    rows = dict(run_summary(load_figure_data(store), manifest["n_runs"]))
    assert rows["runs"] == "2 of 8 runs done, 6 not trained yet (partial store: `superscale run` resumes it)"


def test_a_resume_with_another_thread_count_warns(
    trained: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = _copy(trained, tmp_path / "s")
    next(iter((store / schema.WEIGHTS_DIR).glob("*.safetensors"))).unlink()  # that shard retrains
    with caplog.at_level(logging.WARNING, logger="superscale.sweep"):
        run_sweep(TINY, store, quiet=True, threads=2)
    assert "trained with 1 torch thread(s) per shard and this run uses 2" in caplog.text
    assert "pass --threads 1 to match them" in caplog.text


def _toml(tmp_path: Path, **changes: Any) -> Path:
    from superscale.config import dump_toml, parse_config

    file = tmp_path / "sweep-config.toml"
    file.write_text(dump_toml(parse_config({**TINY, **changes})))
    return file
