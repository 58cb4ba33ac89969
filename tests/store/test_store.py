"""The result store: atomic writes, the lock, config mismatch, and reading results back."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import torch

from superscale.config import parse_config
from superscale.config.grid import expand_runs
from superscale.store import Store, StoreBusyError, StoreWriter, open_store, schema
from superscale.store.atomic import TMP_MARK, write_bytes_atomic
from superscale.sweep import run_sweep
from superscale.train.data import derive_seed, sample_sparse
from superscale.train.engine import DivergenceError, train_shard
from superscale.train.model import init_toy_params
from tests.oracle import train_plain
from tests.tiny import tiny_sweep

TINY = tiny_sweep("tiny")


@pytest.fixture(scope="module")
def tiny_store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    return run_sweep(TINY, tmp_path_factory.mktemp("tiny") / "store", quiet=True)


def test_layout_and_tables(tiny_store: Store) -> None:
    path = tiny_store.path
    for name in (schema.SWEEP_FILE, schema.MANIFEST_FILE, schema.RUNS_FILE, schema.CURVES_FILE):
        assert (path / name).is_file()
    assert len(list((path / schema.WEIGHTS_DIR).glob("*.safetensors"))) == 4
    assert not list(path.rglob(f"*{TMP_MARK}*"))
    runs = tiny_store.runs
    assert len(runs) == 8 and set(runs[schema.STATUS]) == {"done"}
    assert sorted(runs[schema.RUN_ID]) == sorted(r.run_id for r in expand_runs(parse_config(TINY)))
    provenance = (schema.SUPERSCALE_VERSION, schema.TORCH_VERSION, schema.GIT_REVISION)
    for column in (schema.SEED, *provenance):
        assert column in runs
    assert set(runs[schema.DEVICE]) == {"cpu"} and set(runs[schema.THREADS]) == {1}
    # the stored final loss is n × the mean of the last step losses of the paper's loop (tests/oracle.py),
    # trained here independently for one run from its seed
    run = expand_runs(parse_config(TINY))[3]
    W0, b0 = init_toy_params(run.n, run.m, [run.seed])
    generator = torch.Generator().manual_seed(derive_seed(run.seed, "data:" + run.data_key))
    probs = run.probs()
    _, _, losses = train_plain(
        W0[0],
        b0[0],
        lambda: sample_sparse(probs, run.batch, generator).to_dense(),
        run.gamma,
        run.lr_W,
        run.lr_b,
        run.steps,
        run.warmup_steps,
    )
    stored = runs.set_index(schema.RUN_ID).loc[run.run_id]
    assert stored[schema.FINAL_LOSS] == pytest.approx(
        20 * sum(losses[-run.final_window :]) / run.final_window, rel=1e-4
    )
    curves = tiny_store.curves
    assert len(curves) == 8 * 11  # steps 0, 3, ..., 27 and the last step 29
    assert set(curves[schema.STEP]) == {0, 3, 6, 9, 12, 15, 18, 21, 24, 27, 29}
    assert tiny_store.manifest["status"] == "complete"
    assert tiny_store.manifest["n_runs"] == 8


def test_params_and_feature_probs_round_trip(tiny_store: Store) -> None:
    runs = tiny_store.runs
    run_id = runs[runs[schema.M_HIDDEN] == 4][schema.RUN_ID].iloc[0]
    params = tiny_store.params(run_id)
    assert params["W"].shape == (20, 4) and params["b"].shape == (20,)
    run = next(r for r in expand_runs(parse_config(TINY)) if r.run_id == run_id)
    assert torch.equal(tiny_store.feature_probs(run_id), run.probs())
    with pytest.raises(ValueError, match="not in the store"):
        tiny_store.params("nope")


def test_query_and_summary(tiny_store: Store) -> None:
    result = tiny_store.query("select m, count(*) as k from runs group by m order by m")
    assert result["m"].tolist() == [3, 4] and result["k"].tolist() == [4, 4]
    joined = tiny_store.query("select count(*) as k from curves join runs using (run_id)")
    assert int(joined["k"].iloc[0]) == 88
    with pytest.raises(ValueError, match="query failed"):
        tiny_store.query("select * from metrics")  # not written yet, so no such view
    summary = tiny_store.summary()
    assert (summary["runs_done"], summary["runs_failed"], summary["shards_done"]) == (8, 0, 4)
    assert summary["devices"] == ["cpu"]
    assert tiny_store.metrics() is None and tiny_store.fits() is None


def test_not_a_store(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="not a superscale store"):
        open_store(tmp_path)


def test_failed_write_keeps_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "f.bin"
    write_bytes_atomic(b"old", target)

    def broken_replace(src: Any, dst: Any) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        write_bytes_atomic(b"new content", target)
    assert target.read_bytes() == b"old"


def test_second_writer_is_refused_with_the_pid(tmp_path: Path) -> None:
    config = parse_config(TINY)
    with StoreWriter(tmp_path, config, [], 0):
        with pytest.raises(StoreBusyError, match=f"pid {os.getpid()}"):
            StoreWriter(tmp_path, config, [], 0)
        with pytest.raises(StoreBusyError):
            run_sweep(TINY, tmp_path, quiet=True)
    with StoreWriter(tmp_path, config, [], 0):  # released on exit
        pass


def test_different_config_is_refused_unless_forced(tiny_store: Store, tmp_path: Path) -> None:
    out = tmp_path / "store"
    run_sweep({**TINY, "m": 3}, out, quiet=True)
    (out / "my_notes.txt").write_text("keep me")
    before = sorted(p.name for p in (out / schema.SHARDS_DIR).iterdir())
    with pytest.raises(ValueError, match=r"different sweep.*--force"):
        run_sweep(TINY, out, quiet=True)
    assert sorted(p.name for p in (out / schema.SHARDS_DIR).iterdir()) == before  # nothing touched
    store = run_sweep(TINY, out, quiet=True, force=True)
    assert (out / "my_notes.txt").read_text() == "keep me"
    assert len(store.runs) == 8
    assert set(store.manifest["shards"]) == set(tiny_store.manifest["shards"])
    # the same config again is a no-op resume, not a conflict
    assert len(run_sweep(TINY, out, quiet=True).runs) == 8


def test_readers_fall_back_to_shard_files(tiny_store: Store, tmp_path: Path) -> None:
    out = tmp_path / "store"
    run_sweep(TINY, out, quiet=True)
    (out / schema.RUNS_FILE).unlink()
    store = open_store(out)
    expected = tiny_store.runs.sort_values(schema.RUN_ID, ignore_index=True)
    got = store.runs.sort_values(schema.RUN_ID, ignore_index=True)
    pd.testing.assert_series_equal(got[schema.FINAL_LOSS], expected[schema.FINAL_LOSS])


def test_diverged_run_is_recorded_and_the_rest_kept(tmp_path: Path) -> None:
    calls: list[int] = []

    def diverge_once(spec: Any, on_step: Any = None) -> Any:
        calls.append(len(spec.models))
        if len(calls) == 1:
            raise DivergenceError("training diverged: model 1 of the shard has a non-finite loss", instance=1)
        return train_shard(spec, on_step)

    config = {**TINY, "m": 3, "gamma": -1.0, "seeds": [0, 1]}
    store = run_sweep(config, tmp_path / "s", quiet=True, train_fn=diverge_once)
    assert calls == [2, 1]  # the shard is retrained without the diverged model
    runs = store.runs.set_index(schema.SEED)
    assert runs.loc[1, schema.STATUS] == "failed" and "diverged" in runs.loc[1, schema.ERROR]
    assert pd.isna(runs.loc[1, schema.FINAL_LOSS])
    assert runs.loc[0, schema.STATUS] == "done"
    with pytest.raises(ValueError, match="has no weights: it failed"):
        store.params(runs.loc[1, schema.RUN_ID])
    assert store.summary()["runs_failed"] == 1
