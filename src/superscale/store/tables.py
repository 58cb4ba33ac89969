"""The one reader of a store's Parquet tables: each is checked for the columns and kinds of values the
code after it relies on, so a damaged table is named with its reason ("damaged (no column 'status')")
instead of surfacing as a KeyError three calls later.

A shard id read from a table becomes a file name (`weights/<shard_id>.safetensors`), so it must be a
plain name: `../../outside` is damage, never a path to open.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from superscale.store import schema

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = [
    "COLUMNS",
    "DamagedTable",
    "check_frame",
    "check_shard_id",
    "empty_frame",
    "file_problem",
    "read_table",
    "weights_file",
]

# kind of a column: "text" (strings, missing allowed), "integer", "number" (not bool), "status" (done or
# failed), "shard" (a plain shard name)
COLUMNS: dict[str, dict[str, str]] = {
    "runs": {
        schema.RUN_ID: "text",
        schema.SHARD_ID: "shard",
        schema.STATUS: "status",
        schema.N_FEATURES: "integer",
        schema.M_HIDDEN: "integer",
        schema.GAMMA: "number",
        schema.FINAL_LOSS: "number",
    },
    "curves": {schema.RUN_ID: "text", schema.STEP: "integer", schema.LOSS: "number"},
    "metrics": {schema.RUN_ID: "text"},
    "fits": {schema.FIT_KIND: "text", schema.EXPONENT: "number"},
}
# columns checked only where a table has them (stores written by hand or by older versions may not)
OPTIONAL: dict[str, dict[str, str]] = {"runs": {schema.SEED: "integer", schema.ERROR: "text"}}
_STATUSES = {"done", "failed"}
# what the grid makes (config.grid.make_shards: "n20-m3-c67e6edcad"), and any other plain file stem
_SHARD_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


class DamagedTable(ValueError):
    """A store table that cannot be read as what it should hold; the message names the file and why."""

    def __init__(self, path: Path, reason: str) -> None:
        self.path, self.reason = Path(path), reason
        super().__init__(f"{str(path)!r} is damaged ({reason})")


def check_shard_id(shard_id: object) -> str:
    """`shard_id` when it is a plain file name (no separator, no `..`, not hidden); ValueError otherwise."""
    text = str(shard_id)
    if not isinstance(shard_id, str) or not _SHARD_NAME.match(text) or ".." in text:
        raise ValueError(f"shard_id {shard_id!r} is not a shard name")
    return text


def weights_file(store: Path, shard_id: str) -> Path:
    """weights/<shard_id>.safetensors, the id checked first: a name read from a table stays in the store."""
    return Path(store) / schema.WEIGHTS_DIR / f"{check_shard_id(shard_id)}.safetensors"


def empty_frame(kind: str) -> pd.DataFrame:
    """A table of `kind` with its columns and no rows (what a store with nothing finished holds)."""
    dtypes = {"text": object, "shard": object, "status": object, "integer": "int64", "number": "float64"}
    return pd.DataFrame({c: pd.Series(dtype=dtypes[k]) for c, k in COLUMNS.get(kind, {}).items()})


def arrow_schema(kind: str) -> pa.Schema:
    """The Arrow schema of an empty table of `kind` (a query view over a store with no rows)."""
    import pyarrow as pa

    types = {"text": pa.string(), "shard": pa.string(), "status": pa.string(), "integer": pa.int64(),
             "number": pa.float64()}  # fmt: skip
    return pa.schema([(c, types[k]) for c, k in COLUMNS.get(kind, {}).items()])


def _missing(columns: list[str]) -> str:
    shown = ", ".join(repr(c) for c in columns[:3])
    more = f" and {len(columns) - 3} more" if len(columns) > 3 else ""
    return f"no column{'s' if len(columns) > 1 else ''} {shown}{more}"


def _problem(values: pd.Series, kind: str) -> str:
    """Why `values` are not of `kind` ("" when they are)."""
    present = values.dropna()
    if not len(present):  # no values: whatever the column's type, nothing in it is wrong
        return ""
    if kind == "integer":
        ok = pd.api.types.is_integer_dtype(values) and not pd.api.types.is_bool_dtype(values)
        return "" if ok else f"holds {values.dtype} values, not integers"
    if kind == "number":
        ok = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
        return "" if ok else f"holds {values.dtype} values, not numbers"
    inferred = pd.api.types.infer_dtype(present, skipna=True)  # C speed: curves hold 10⁶ rows
    if inferred not in ("string", "empty"):
        return f"holds {inferred} values, not text"
    if kind == "status":
        bad = next((v for v in present.unique() if v not in _STATUSES), None)
        return "" if bad is None else f"holds the status {bad!r}, not 'done' or 'failed'"
    if kind == "shard":
        for value in present.unique():
            try:
                check_shard_id(value)
            except ValueError:
                return f"holds {value!r}, which is not a shard name"
    return ""


def check_frame(frame: pd.DataFrame, kind: str, where: Path) -> pd.DataFrame:
    """`frame` when it has the columns of `kind` with values of the right kinds; DamagedTable otherwise.

    A table with no columns and no rows is read as empty (stores whose runs all failed wrote curves so).
    """
    spec = COLUMNS.get(kind, {})
    if not len(frame.columns) and not len(frame):
        return empty_frame(kind)
    missing = [c for c in spec if c not in frame.columns]
    if missing:
        raise DamagedTable(where, _missing(missing))
    present = {c: k for c, k in OPTIONAL.get(kind, {}).items() if c in frame.columns}
    for column, column_kind in {**spec, **present}.items():
        problem = _problem(frame[column], column_kind)
        if problem:
            raise DamagedTable(where, f"column {column!r} {problem}")
    return frame


def _arrow_ok(kind: str, type_: pa.DataType) -> bool:
    import pyarrow as pa

    if pa.types.is_null(type_):  # a column of missing values only
        return True
    if kind == "integer":
        return pa.types.is_integer(type_)
    if kind == "number":
        return pa.types.is_integer(type_) or pa.types.is_floating(type_)
    return pa.types.is_string(type_) or pa.types.is_large_string(type_)


def file_problem(path: Path, kind: str) -> str:
    """Why the Parquet file at `path` cannot hold a `kind` table, from its schema alone ("" when it can;
    a table with no columns is an empty one). Cheap: only the file's footer is read."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        meta = pq.read_metadata(path)
        arrow = meta.schema.to_arrow_schema()
    except (OSError, ValueError, pa.ArrowException) as exc:
        if isinstance(exc, FileNotFoundError):
            return "missing"
        return f"not readable as Parquet: {(str(exc).strip().splitlines() or [type(exc).__name__])[0]}"
    if not arrow.names:
        return ""
    spec = COLUMNS.get(kind, {})
    missing = [c for c in spec if c not in arrow.names]
    if missing:
        return _missing(missing)
    present = {c: k for c, k in OPTIONAL.get(kind, {}).items() if c in arrow.names}
    for column, column_kind in {**spec, **present}.items():
        type_ = arrow.field(column).type
        if meta.num_rows and not _arrow_ok(column_kind, type_):  # no rows: any type holds them
            return f"column {column!r} holds {type_} values"
    return ""


def read_table(path: Path, kind: str) -> pd.DataFrame:
    """Read and check one Parquet table of `kind` ("runs", "curves", "metrics", "fits", or any other
    name for a table whose columns are not checked); DamagedTable names the file when it is not one."""
    import pyarrow as pa

    try:
        frame = pd.read_parquet(path)
    except (OSError, ValueError, pa.ArrowException) as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise DamagedTable(path, f"not readable as Parquet: {first}") from None
    return check_frame(frame, kind, path)
