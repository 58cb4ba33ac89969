"""Result tables of the LLM commands: Parquet or CSV by suffix, appendable across calls, atomic writes."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

SUFFIXES = (".parquet", ".csv")


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


def write_table(table: pd.DataFrame, path: str | Path) -> None:
    """Write through a temporary file and os.replace, so a crash never leaves half a table."""
    path = Path(path)
    _check_suffix(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=path.suffix)
    os.close(fd)
    try:
        if path.suffix == ".parquet":
            table.to_parquet(tmp, index=False)
        else:
            table.to_csv(tmp, index=False)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


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
