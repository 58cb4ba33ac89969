"""Atomic file writes: a reader sees the old file or the new one, never half of one.

Every writer in superscale (store, analysis, report, LLM tables, studies) goes through these, so a crash or
`kill -9` at any moment leaves no torn file behind: data goes to a temp name in the same directory, is
fsynced, and is renamed over the target (rename is atomic on POSIX); the directory is fsynced after.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:  # torch loads only where weights are written: `superscale ls` stays light
    import torch

__all__ = [
    "TMP_MARK",
    "write_bytes_atomic",
    "write_json_atomic",
    "write_parquet_atomic",
    "write_weights_atomic",
]

TMP_MARK = ".tmp-"  # temp files are ".<name>.tmp-<pid>": the store sweeps leftovers of dead writers


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def write_bytes_atomic(data: bytes, path: Path) -> None:
    """Write `data` to `path` via a temp file + fsync + rename: readers never see a partial file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}{TMP_MARK}{os.getpid()}")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:  # disk full, read-only: no temp file left, and the error names the target
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise OSError(exc.errno, f"could not write {str(path)!r}: {exc.strerror or exc}") from None
    _fsync_dir(path.parent)


def write_parquet_atomic(df: pd.DataFrame, path: Path) -> None:
    """Write a DataFrame as Parquet (no index), atomically."""
    buffer = io.BytesIO()
    df.to_parquet(buffer, index=False)
    write_bytes_atomic(buffer.getvalue(), Path(path))


def write_json_atomic(obj: Any, path: Path) -> None:
    write_bytes_atomic((json.dumps(obj, indent=1, sort_keys=False) + "\n").encode(), Path(path))


def write_weights_atomic(tensors: dict[str, torch.Tensor], path: Path) -> None:
    from safetensors.torch import save

    write_bytes_atomic(save({k: v.contiguous() for k, v in tensors.items()}), Path(path))
