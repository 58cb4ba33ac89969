"""A crash at any point loses nothing: re-running finishes only what is missing, with identical results.

Each test crashes a sweep at a different point, resumes it, and compares the final store with an
uninterrupted run bit for bit (rows, curves and every weight tensor).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import torch

from superscale.config import dump_toml, parse_config
from superscale.config.grid import Shard
from superscale.store import Store, open_store, schema
from superscale.store import writer as store_mod
from superscale.store.atomic import TMP_MARK
from superscale.sweep import run_sweep
from superscale.sweep.events import Progress
from superscale.train.engine import train_shard
from tests.tiny import tiny_sweep

TINY = tiny_sweep("resume")
N_SHARDS = 4


class Crash(BaseException):
    """Stands in for the process dying: not an Exception, so nothing cleans up after it."""


def comparable(store: Store) -> tuple[pd.DataFrame, pd.DataFrame]:
    runs = store.runs.drop(columns=[schema.TRAIN_SECONDS]).sort_values(schema.RUN_ID, ignore_index=True)
    curves = store.curves.sort_values([schema.RUN_ID, schema.STEP], ignore_index=True)
    return runs, curves


def assert_identical(got: Store, want: Store) -> None:
    got_runs, got_curves = comparable(got)
    want_runs, want_curves = comparable(want)
    pd.testing.assert_frame_equal(got_runs, want_runs, check_exact=True)
    pd.testing.assert_frame_equal(got_curves, want_curves, check_exact=True)
    for run_id in want_runs[schema.RUN_ID]:
        got_params, want_params = got.params(run_id), want.params(run_id)
        assert got_params.keys() == want_params.keys()
        for name in want_params:
            assert torch.equal(got_params[name], want_params[name]), (run_id, name)
    assert got.manifest["status"] == "complete"
    assert not list(got.path.rglob(f"*{TMP_MARK}*"))


class CountingTrain:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, spec: Any, on_step: Any = None) -> Any:
        self.calls += 1
        return train_shard(spec, on_step)


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> Store:
    return run_sweep(TINY, tmp_path_factory.mktemp("baseline") / "store", quiet=True)


def _resume(out: Path, expected_trainings: int) -> Store:
    counting = CountingTrain()
    store = run_sweep(TINY, out, quiet=True, train_fn=counting)
    assert counting.calls == expected_trainings  # finished shards are never retrained
    return store


def _crash_on_call(monkeypatch: pytest.MonkeyPatch, name: str, crash_at: int, suffix: str = "") -> None:
    """Make store_writer.<name> raise Crash on its `crash_at`-th call (1-based) for paths ending `suffix`."""
    original = getattr(store_mod, name)
    calls = {"k": 0}

    def flaky(obj: Any, path: Path) -> None:
        if str(path).endswith(suffix):
            calls["k"] += 1
            if calls["k"] == crash_at:
                raise Crash
            if calls["k"] > crash_at:  # a killed process writes nothing more (the interrupt handler's
                return  # own manifest write would otherwise repair what the test means to leave broken)
        original(obj, path)

    monkeypatch.setattr(store_mod, name, flaky)


def test_crash_after_weights_before_rows(
    baseline: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "store"
    _crash_on_call(monkeypatch, "write_parquet_atomic", 2, ".curves.parquet")  # 2nd shard: weights written
    with pytest.raises(Crash):
        run_sweep(TINY, out, quiet=True)
    monkeypatch.undo()
    assert len(list((out / schema.WEIGHTS_DIR).glob("*.safetensors"))) == 2
    assert len(list((out / schema.SHARDS_DIR).glob("*.runs.parquet"))) == 1
    assert_identical(_resume(out, N_SHARDS - 1), baseline)


def test_crash_after_rows_before_manifest(
    baseline: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "store"
    _crash_on_call(monkeypatch, "write_json_atomic", 3)  # calls: open, shard 1, shard 2 <- crash
    with pytest.raises(Crash):
        run_sweep(TINY, out, quiet=True)
    monkeypatch.undo()
    assert len(json.loads((out / schema.MANIFEST_FILE).read_text())["shards"]) == 1
    store = _resume(out, N_SHARDS - 2)  # shard 2's rows are on disk, so it counts as done
    assert_identical(store, baseline)
    assert sum(bool(s.get("recovered")) for s in store.manifest["shards"].values()) == 1


class StopAt(Progress):
    def __init__(self, shard_index: int, step: int, error: type[BaseException]) -> None:
        self.shard_index, self.stop_step, self.error, self.seen = shard_index, step, error, 0

    def shard_started(self, shard: Shard) -> None:
        self.seen += 1

    def step(self, shard: Shard, step: int) -> None:
        if self.seen == self.shard_index and step == self.stop_step:
            raise self.error


def test_crash_mid_shard(baseline: Store, tmp_path: Path) -> None:
    out = tmp_path / "store"
    with pytest.raises(Crash):
        run_sweep(TINY, out, progress=StopAt(3, 10, Crash))
    # leave a torn temp file behind, as a kill during a write would
    (out / schema.SHARDS_DIR / f".x.runs.parquet{TMP_MARK}99").write_bytes(b"PAR1 half")
    assert_identical(_resume(out, N_SHARDS - 2), baseline)


def test_ctrl_c_saves_finished_shards(baseline: Store, tmp_path: Path) -> None:
    out = tmp_path / "store"
    with pytest.raises(KeyboardInterrupt):
        run_sweep(TINY, out, progress=StopAt(2, 5, KeyboardInterrupt))
    partial = open_store(out)
    assert partial.manifest["status"] == "interrupted"
    assert len(partial.runs) == 2  # the first shard, merged into runs.parquet
    assert (out / schema.RUNS_FILE).is_file()
    assert_identical(_resume(out, N_SHARDS - 1), baseline)  # the lock was released


def test_kill_9_mid_run(baseline: Store, tmp_path: Path) -> None:
    """A real `superscale run` process killed with SIGKILL while training, then resumed."""
    config_file = tmp_path / "tiny.toml"
    config_file.write_text(dump_toml(parse_config(TINY)))
    out = tmp_path / "store"
    code = "from superscale.cli import main; main()"
    args = [sys.executable, "-c", code, "run", str(config_file), "--out", str(out), "--quiet"]
    # make every shard slow enough to be killed inside one: the child sleeps in each step
    env = {**os.environ, "PYTHONPATH": str(tmp_path) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    (tmp_path / "sitecustomize.py").write_text(
        "import time, superscale.sweep.executors as ex\n"
        "_orig = ex.LocalExecutor.execute\n"
        "class _Slow(ex.Progress):\n"
        "    def __init__(self, inner): self.inner = inner\n"
        "    def __getattr__(self, name): return getattr(self.inner, name)\n"
        "    def step(self, shard, step): time.sleep(0.02)\n"
        "def _execute(self, shards, commit, progress):\n"
        "    return _orig(self, shards, commit, _Slow(progress))\n"
        "ex.LocalExecutor.execute = _execute\n"
    )
    log = tmp_path / "child.log"
    with open(log, "wb") as sink:
        proc = subprocess.Popen(args, env=env, stdout=sink, stderr=subprocess.STDOUT)
    rows = out / schema.SHARDS_DIR
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if len(list(rows.glob("*.runs.parquet"))) >= 1:
            break
        time.sleep(0.01)
    assert proc.poll() is None, log.read_text()
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    done = len(list(rows.glob("*.runs.parquet")))
    assert 1 <= done < N_SHARDS
    assert not (out / schema.RUNS_FILE).exists()  # killed before the end: nothing merged yet
    assert_identical(_resume(out, N_SHARDS - done), baseline)
