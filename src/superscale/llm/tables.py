"""Result tables of the LLM commands: Parquet or CSV by suffix, appendable across calls, atomic writes."""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from superscale.atomic import write_bytes_atomic
from superscale.schema import TABLE_SUFFIXES as SUFFIXES


def _check_suffix(path: Path) -> None:
    if path.suffix not in SUFFIXES:
        raise ValueError(f"table path must end in .parquet or .csv, got {str(path)!r}")


def read_table(path: str | Path) -> pd.DataFrame:
    """Read a .parquet or .csv table."""
    path = Path(path)
    _check_suffix(path)
    if not path.is_file():
        raise FileNotFoundError(f"table {str(path)!r} does not exist")
    return pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)


def table_bytes(table: pd.DataFrame, suffix: str) -> bytes:
    """The table encoded as Parquet or CSV (no index), by file suffix."""
    if suffix == ".parquet":
        buffer = io.BytesIO()
        table.to_parquet(buffer, index=False)
        return buffer.getvalue()
    if suffix == ".csv":
        return table.to_csv(index=False).encode("utf-8")
    raise ValueError(f"suffix must be one of {SUFFIXES}, got {suffix!r}")


def write_table(table: pd.DataFrame, path: str | Path) -> None:
    """Write atomically (`store.write_bytes_atomic`: temp file + rename), never leaving half a table."""
    path = Path(path)
    _check_suffix(path)
    write_bytes_atomic(table_bytes(table, path.suffix), path)


def append_rows(new: pd.DataFrame, path: str | Path, key: Sequence[str]) -> pd.DataFrame:
    """Append `new` to the table at `path` (created if missing); a row with the same `key` is replaced.

    Returns the table as written. Re-running a model therefore updates its row instead of duplicating it.
    """
    path = Path(path)
    _check_suffix(path)
    if path.is_file():
        old = read_table(path)
        combined = pd.concat([old, new], ignore_index=True) if not old.empty else new.copy()
        present = [k for k in key if k in combined.columns]
        combined = combined.drop_duplicates(subset=present, keep="last").reset_index(drop=True)
    else:
        combined = new.reset_index(drop=True)
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
    if path.is_file():
        old = read_table(path)
        if not old.empty and set(group) <= set(old.columns):
            replaced = pd.MultiIndex.from_frame(new[list(group)].astype(str))
            keep = ~pd.MultiIndex.from_frame(old[list(group)].astype(str)).isin(replaced)
            combined = pd.concat([old[keep], new], ignore_index=True)
    write_table(combined, path)
    return combined
