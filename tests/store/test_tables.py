"""The store's table reader and manifest check: what is damage and how it is named."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from superscale.store import schema
from superscale.store.manifest import check_manifest, read_manifest
from superscale.store.tables import (
    DamagedTable,
    check_frame,
    check_shard_id,
    empty_frame,
    file_problem,
    read_table,
    weights_file,
)


def _runs(**changes: object) -> pd.DataFrame:
    row = {
        schema.RUN_ID: "r1", schema.SHARD_ID: "n20-m3-c67e6edcad", schema.STATUS: "done",
        schema.N_FEATURES: 20, schema.M_HIDDEN: 3, schema.GAMMA: -1.0, schema.SEED: 0,
        schema.FINAL_LOSS: 1.5, schema.ERROR: "",
    }  # fmt: skip
    return pd.DataFrame([{**row, **changes}])


@pytest.mark.parametrize("name", ["n20-m3-c67e6edcad", "a.b_c-1"])
def test_plain_shard_names_pass(name: str) -> None:
    assert check_shard_id(name) == name


@pytest.mark.parametrize("name", ["../../outside", "/etc/passwd", "a/b", ".hidden", "a..b", "", 7, None])
def test_a_shard_id_that_is_not_a_plain_name_is_refused(name: object) -> None:
    with pytest.raises(ValueError, match="is not a shard name"):
        check_shard_id(name)
    with pytest.raises(ValueError, match="is not a shard name"):
        weights_file(Path("store"), name)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        (pd.DataFrame({"x": [1]}), "no columns 'run_id', 'shard_id', 'status' and 4 more"),
        (_runs().drop(columns=[schema.STATUS]), "no column 'status'"),
        (
            _runs(**{schema.STATUS: "maybe"}),
            "column 'status' holds the status 'maybe', not 'done' or 'failed'",
        ),
        (_runs(**{schema.SHARD_ID: "../x"}), "column 'shard_id' holds '../x', which is not a shard name"),
        (_runs(**{schema.M_HIDDEN: 3.5}), "column 'm' holds float64 values, not integers"),
        (_runs(**{schema.FINAL_LOSS: "low"}), "column 'final_loss' holds .* values, not numbers"),
        (_runs(**{schema.RUN_ID: 5}), "column 'run_id' holds integer values, not text"),
        (_runs(**{schema.SEED: "zero"}), "column 'seed' holds .* values, not integers"),  # optional, checked
    ],
)
def test_a_runs_table_that_does_not_hold_runs_is_damaged_with_its_reason(
    frame: pd.DataFrame, reason: str
) -> None:
    with pytest.raises(DamagedTable) as info:
        check_frame(frame, "runs", Path("s/runs.parquet"))
    pattern = re.escape(f"'s/runs.parquet' is damaged ({reason})").replace(r"\.\*", ".*")
    assert re.fullmatch(pattern, str(info.value)), str(info.value)


def test_good_and_empty_tables_pass(tmp_path: Path) -> None:
    assert check_frame(_runs(), "runs", tmp_path).equals(_runs())
    older = _runs().drop(columns=[schema.SEED, schema.ERROR])  # a store written by hand or an older version
    assert check_frame(older, "runs", tmp_path) is older
    empty = check_frame(pd.DataFrame(), "curves", tmp_path)  # older stores wrote no columns
    assert list(empty.columns) == [schema.RUN_ID, schema.STEP, schema.LOSS] and not len(empty)
    typed = pd.DataFrame({schema.RUN_ID: [], schema.STEP: [], schema.LOSS: []})  # float "run_id", no rows
    assert check_frame(typed, "curves", tmp_path) is typed
    assert list(empty_frame("runs").columns)[:3] == [schema.RUN_ID, schema.SHARD_ID, schema.STATUS]


def test_files_are_checked_from_their_footer_and_read_whole(tmp_path: Path) -> None:
    good, garbage, wrong = tmp_path / "good.parquet", tmp_path / "garbage.parquet", tmp_path / "wrong.parquet"
    _runs().to_parquet(good)
    garbage.write_bytes(b"PAR1 not parquet")
    _runs(**{schema.M_HIDDEN: "three"}).to_parquet(wrong)
    assert file_problem(good, "runs") == ""
    assert file_problem(garbage, "runs").startswith("not readable as Parquet")
    assert re.fullmatch(r"column 'm' holds (large_)?string values", file_problem(wrong, "runs"))
    assert file_problem(tmp_path / "missing.parquet", "runs") == "missing"
    assert read_table(good, "runs").equals(_runs())
    with pytest.raises(DamagedTable, match="not readable as Parquet"):
        read_table(garbage, "runs")
    with pytest.raises(FileNotFoundError):
        read_table(tmp_path / "missing.parquet", "runs")


def test_a_manifest_keeps_what_is_sound_and_names_the_rest(tmp_path: Path) -> None:
    raw = {
        "name": "s", "n_runs": None, "n_shards": 4, "status": "complete", "merged_shards": ["a", 3],
        "shards": {"a": {"seconds": 1.5, "device": "cpu"}, "b": {"seconds": "abc"}, "c": [1]},
    }  # fmt: skip
    manifest, problems = check_manifest(raw)
    assert manifest["n_shards"] == 4 and "n_runs" not in manifest and "merged_shards" not in manifest
    assert manifest["shards"] == {"a": {"seconds": 1.5, "device": "cpu"}}
    assert problems == ["n_runs is null", 'merged_shards is ["a", 3]', 'shard b: seconds is "abc"',
                        "shard c is [1], not an object"]  # fmt: skip
    assert check_manifest([1]) == ({"shards": {}}, ["manifest.json is not a superscale manifest"])
    file = tmp_path / schema.MANIFEST_FILE
    file.write_text('{"n_runs": true, "shards": {}}')
    assert read_manifest(file)["damaged"] == "manifest.json: n_runs is true"
    file.write_text('{"shards": {')
    assert read_manifest(file)["damaged"].startswith("manifest.json unreadable")
    assert read_manifest(tmp_path / "none.json") == {"shards": {}}
