"""Result tables of the LLM commands: Parquet or CSV by suffix, appendable across calls, atomic writes."""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from superscale.store import schema
from superscale.store.atomic import write_bytes_atomic
from superscale.store.schema import TABLE_SUFFIXES as SUFFIXES


def _check_suffix(path: Path) -> None:
    if path.suffix not in SUFFIXES:
        raise ValueError(f"table path must end in .parquet or .csv, got {str(path)!r}")


def read_table(path: str | Path) -> pd.DataFrame:
    """Read a .parquet or .csv table."""
    path = Path(path)
    _check_suffix(path)
    if not path.is_file():
        raise FileNotFoundError(f"table {str(path)!r} does not exist")
    import pyarrow as pa

    try:
        return pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
    except (ValueError, pa.ArrowException, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]  # UTF-8, CSV or Parquet errors
        kind = "Parquet" if path.suffix == ".parquet" else "CSV"
        raise ValueError(f"table {str(path)!r} cannot be read as {kind}: {first}") from None


def table_bytes(table: pd.DataFrame, suffix: str) -> bytes:
    """The table encoded as Parquet or CSV (no index), by file suffix."""
    if suffix == ".parquet":
        buffer = io.BytesIO()
        table.to_parquet(buffer, index=False)
        return buffer.getvalue()
    if suffix == ".csv":
        return table.to_csv(index=False).encode("utf-8")
    raise ValueError(f"suffix must be one of {SUFFIXES}, got {suffix!r}")


def _refuse_store_table(path: Path) -> None:
    """A store's own tables come from its sweep and `analyze` only: an LLM table must not replace them."""
    store_files = {
        schema.RUNS_FILE, schema.CURVES_FILE, schema.METRICS_FILE, schema.FITS_FILE, *schema.EXTRA_TABLES
    }  # fmt: skip
    inside = [
        parent for parent in (path.parent, path.parent.parent) if (parent / schema.SWEEP_FILE).is_file()
    ]
    if inside and (path.name in store_files or path.parent.name in (schema.SHARDS_DIR, schema.WEIGHTS_DIR)):
        raise ValueError(
            f"{str(path)!r} is a table of the superscale store {str(inside[0])!r}; choose another path"
        )


def write_table(table: pd.DataFrame, path: str | Path) -> None:
    """Write atomically (`store.write_bytes_atomic`: temp file + rename), never leaving half a table."""
    path = Path(path)
    _check_suffix(path)
    _refuse_store_table(path)
    write_bytes_atomic(table_bytes(table, path.suffix), path)


def _existing(path: Path, new: pd.DataFrame, key: Sequence[str]) -> pd.DataFrame | None:
    """The table at `path` to add `new` to (None when absent or empty); refused when its columns differ,
    since rows of another table would otherwise get NaN keys and be lost."""
    _refuse_store_table(path)
    if not path.is_file():
        return None
    old = read_table(path)
    if old.empty and not len(old.columns):
        return None
    if set(old.columns) != set(new.columns) or not set(key) <= set(old.columns):
        lacks, extra = (
            sorted(set(new.columns) - set(old.columns)),
            sorted(set(old.columns) - set(new.columns)),
        )
        raise ValueError(
            f"{str(path)!r} holds another table (it lacks columns {lacks}, has others {extra}); "
            "choose another path or move it away"
        )
    return old


def _key_index(frame: pd.DataFrame, key: Sequence[str]) -> pd.MultiIndex:
    return pd.MultiIndex.from_frame(frame[list(key)].astype(str))


def append_rows(new: pd.DataFrame, path: str | Path, key: Sequence[str]) -> pd.DataFrame:
    """Append `new` to the table at `path` (created if missing); an old row with the same `key` is replaced.

    Returns the table as written. Re-running a model therefore updates its row instead of duplicating it;
    no other old row is ever dropped, and a file holding another table is refused.
    """
    path = Path(path)
    _check_suffix(path)
    missing = [k for k in key if k not in new.columns]
    if missing:
        raise ValueError(f"key must name columns of the new rows, got {missing} not in {list(new.columns)}")
    new = new.drop_duplicates(subset=list(key), keep="last")
    old = _existing(path, new, key)
    if old is None:
        combined = new.reset_index(drop=True)
    else:
        keep = ~_key_index(old, key).isin(_key_index(new, key))
        combined = pd.concat([old[keep], new[list(old.columns)]], ignore_index=True)
    write_table(combined, path)
    return combined


def replace_groups(new: pd.DataFrame, path: str | Path, group: Sequence[str]) -> pd.DataFrame:
    """Add `new` to the table at `path` (created if missing), first dropping every old row whose `group`
    values occur in `new`: a re-measured group is replaced whole, other groups are kept.

    For tables with several rows per group (a rank-frequency curve per tokenizer and dataset), where
    `append_rows` would keep one row per key. Returns the table as written.
    """
    path = Path(path)
    _check_suffix(path)
    missing = [g for g in group if g not in new.columns]
    if missing:
        raise ValueError(f"group must name columns of the new rows, got {missing} not in {list(new.columns)}")
    combined = new.reset_index(drop=True)
    old = _existing(path, new, group)
    if old is not None:
        keep = ~_key_index(old, group).isin(_key_index(new, group))
        combined = pd.concat([old[keep], new[list(old.columns)]], ignore_index=True)
    write_table(combined, path)
    return combined
