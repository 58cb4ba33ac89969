"""Slimmed weights: what is kept is what was trained, nothing retrains on resume, dropped runs come back
exactly, figures still draw their row norms, and a store that is not ready is refused untouched."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from superscale.cli import app
from superscale.pipeline.analyze import analyze_store
from superscale.plots.load import load_figure_data
from superscale.store import open_store, schema
from superscale.store.archive import archive_record, slim_weights
from superscale.sweep import run_sweep
from superscale.sweep.restore import restore_weights
from tests.tiny import tiny_sweep


def _snapshot(path: Path) -> dict[str, bytes]:
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


@pytest.fixture
def trained(tmp_path: Path) -> tuple[Path, dict[str, dict[str, torch.Tensor]]]:
    out = tmp_path / "store"
    run_sweep(tiny_sweep("archive"), out, quiet=True)
    analyze_store(out, n_bootstrap=5, quiet=True)
    store = open_store(out)
    original = {run: store.params(run) for run in store.runs()[schema.RUN_ID]}
    return out, original


def test_slim_keeps_float32_rounds_float16_and_drops_the_rest(trained) -> None:
    out, original = trained
    runs = sorted(original)
    keep, half = runs[0], runs[1]
    before = sum(p.stat().st_size for p in (out / schema.WEIGHTS_DIR).glob("*.safetensors"))
    result = slim_weights(out, {keep: "float32", half: "float16"})
    assert result.counts == {"float32": 1, "float16": 1, "dropped": len(runs) - 2}
    assert result.bytes_before == before > result.bytes_after
    store = open_store(out)
    assert torch.equal(store.params(keep)["W"], original[keep]["W"])  # untouched
    copy = store.params(half)["W"]
    assert copy.dtype == torch.float32 and torch.equal(copy, original[half]["W"].half().float())
    with pytest.raises(FileNotFoundError, match="superscale weights restore"):
        store.params(runs[2])
    # the figures' row norms are the float32 ones, for every run, weights or not
    data = load_figure_data(out)
    for run in runs:
        expected = torch.linalg.vector_norm(original[run]["W"], dim=-1)
        assert torch.allclose(torch.from_numpy(data.norms[run]).float(), expected, rtol=1e-6)
    recorded = archive_record(out)
    assert sum(len(entry["dropped"]) for entry in recorded.values()) == len(runs) - 2


def test_a_resumed_sweep_does_not_retrain_a_slimmed_store(trained) -> None:
    out, _ = trained
    slim_weights(out, {})  # drop everything
    before = _snapshot(out / schema.SHARDS_DIR)
    run_sweep(tiny_sweep("archive"), out, quiet=True)
    assert _snapshot(out / schema.SHARDS_DIR) == before
    assert not list((out / schema.WEIGHTS_DIR).glob("*.safetensors"))


def test_restore_retrains_the_dropped_runs_to_the_same_numbers(trained) -> None:
    out, original = trained
    runs = sorted(original)
    slim_weights(out, {runs[0]: "float32", runs[1]: "float16"})
    restored = restore_weights(out)
    assert {r.max_rel_diff for r in restored} == {0.0}  # same code, machine and threads: the same run
    assert sum(r.runs for r in restored) == len(runs) - 1
    store = open_store(out)
    for run in runs:
        for name in ("W", "b"):
            assert torch.equal(store.params(run)[name], original[run][name]), (run, name)
    assert all(not e["dropped"] and not e["float16"] for e in archive_record(out).values())


def test_unready_stores_and_bad_choices_are_refused_untouched(trained) -> None:
    out, original = trained
    (out / schema.METRICS_FILE).unlink()
    before = _snapshot(out)
    with pytest.raises(ValueError, match="superscale analyze"):
        slim_weights(out, {})
    with pytest.raises(ValueError, match="one of float32, float16, dropped"):
        slim_weights(out, {}, default="bfloat16")
    assert _snapshot(out) == before
    analyze_store(out, n_bootstrap=5, quiet=True)
    slim_weights(out, {})
    with pytest.raises(ValueError, match="dropped already: `superscale weights restore` it first"):
        slim_weights(out, dict.fromkeys(original, "float32"))


def test_cli_slims_by_a_condition_and_restores(tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "store"
    run_sweep(tiny_sweep("archive-cli"), out, quiet=True)
    analyze_store(out, n_bootstrap=5, quiet=True)
    result = runner.invoke(app, ["weights", "slim", str(out), "--keep", "gamma < 0 and seed = 0"])
    assert result.exit_code == 0, result.output
    assert "2 float32, 0 float16, 6 dropped" in result.output
    kept = {r for e in archive_record(out).values() for r in e["float32"]}
    runs = open_store(out).runs()
    assert kept == set(runs[(runs[schema.GAMMA] < 0) & (runs[schema.SEED] == 0)][schema.RUN_ID])
    bad = runner.invoke(app, ["weights", "slim", str(out), "--keep", "no_such_column > 1"])
    assert bad.exit_code != 0 and "Traceback" not in bad.output
    shard = next(s for s, e in archive_record(out).items() if e["dropped"])
    result = runner.invoke(app, ["weights", "restore", str(out), "--shard", shard])
    assert result.exit_code == 0, result.output
    assert "within 0.0e+00 of the stored ones" in result.output
    assert json.loads((out / schema.WEIGHTS_ARCHIVE_FILE).read_text())[shard]["dropped"] == []
