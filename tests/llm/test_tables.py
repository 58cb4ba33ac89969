"""LLM result tables: appending never loses a row it did not replace, nor writes over another table."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from superscale.llm.tables import append_rows, read_table, replace_groups
from superscale.store import schema


def _rows(models: list[str], value: float) -> pd.DataFrame:
    return pd.DataFrame({"model": models, "method": "exact", "phi_half": value})


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_append_replaces_its_own_keys_and_keeps_every_other_row(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"geometry{suffix}"
    old = _rows([f"m{i}" for i in range(50)], 1.0)
    old = pd.concat([old, old.iloc[[7]]], ignore_index=True)  # m7 twice: not replaced, so both stay
    old.to_parquet(path, index=False) if suffix == ".parquet" else old.to_csv(path, index=False)
    append_rows(_rows(["m3", "new"], 2.0), path, ["model", "method"])
    table = read_table(path)
    assert len(table) == 51 - 1 + 2  # the old m3 replaced, "new" added, every other row kept
    assert sorted(table["model"]) == sorted([f"m{i}" for i in range(50)] + ["m7", "new"])
    assert table.set_index("model").loc["m3", "phi_half"] == 2.0


def test_another_tables_file_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "hist.parquet"
    hist = pd.DataFrame({"model": ["a"] * 50, "bin_low": range(50), "count": 1})
    hist.to_parquet(path, index=False)  # the key columns of geometry rows are missing here
    with pytest.raises(ValueError, match=r"holds another table \(it lacks columns \['method', 'phi_half'\]"):
        append_rows(_rows(["a"], 1.0), path, ["model", "method"])
    with pytest.raises(ValueError, match="holds another table"):
        replace_groups(_rows(["a"], 1.0), path, ["model"])
    pd.testing.assert_frame_equal(pd.read_parquet(path), hist)


@pytest.mark.parametrize(
    "name", [schema.RUNS_FILE, schema.METRICS_FILE, f"{schema.SHARDS_DIR}/x.runs.parquet"]
)
def test_a_stores_own_tables_are_refused(tmp_path: Path, name: str) -> None:
    (tmp_path / schema.SWEEP_FILE).write_text('name = "s"\n')
    path = tmp_path / name
    with pytest.raises(ValueError, match="is a table of the superscale store"):
        append_rows(_rows(["a"], 1.0), path, ["model", "method"])
    assert not path.exists()
