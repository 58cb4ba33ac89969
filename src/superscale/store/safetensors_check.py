"""Check a safetensors file before reading it, so a damaged one gets one error that names it.

A safetensors file is an 8-byte little-endian header length N, N bytes of JSON mapping each tensor name to
its dtype, shape and [begin, end) byte offsets into the data that follows. The Rust reader rejects a bad
file with a `SafetensorError` that names no file, and a truncated file whose header is intact opens fine
and fails only when the missing bytes are read. This checks the header and that the data the header
promises is all there, reading the header only (never the data).
"""

from __future__ import annotations

import contextlib
import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from safetensors import SafetensorError, safe_open

__all__ = ["MAX_HEADER_BYTES", "check_safetensors", "open_safetensors"]

MAX_HEADER_BYTES = 100_000_000  # the reader's own limit: a larger header is damage, not a model
_DTYPE_BYTES = {
    "BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1, "I16": 2, "U16": 2, "F16": 2, "BF16": 2,
    "I32": 4, "U32": 4, "F32": 4, "I64": 8, "U64": 8, "F64": 8,
}  # fmt: skip


def _bad(path: Path, reason: str) -> ValueError:
    return ValueError(f"{str(path)!r} is not a readable safetensors file: {reason}")


def check_safetensors(path: str | Path) -> dict[str, tuple[int, ...]]:
    """Names and shapes of the tensors in `path`; ValueError naming the file when it is damaged."""
    path = Path(path)
    size = path.stat().st_size
    if size < 8:
        raise _bad(path, f"{size} bytes, shorter than the 8-byte header length (empty or truncated)")
    with path.open("rb") as fh:
        n = int.from_bytes(fh.read(8), "little")
        if n > MAX_HEADER_BYTES or n > size - 8:
            raise _bad(path, f"header length {n:,} bytes, the file has {size - 8:,} after it")
        try:
            header: Any = json.loads(fh.read(n))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise _bad(path, f"its header is not JSON ({exc})") from None
    if not isinstance(header, dict):
        raise _bad(path, "its header is not a JSON object")
    data_bytes = size - 8 - n
    shapes: dict[str, tuple[int, ...]] = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        try:
            dtype, shape, (begin, end) = entry["dtype"], entry["shape"], entry["data_offsets"]
            ok = all(isinstance(d, int) and d >= 0 for d in [*shape, begin, end]) and 0 <= begin <= end
        except (KeyError, TypeError, ValueError):
            ok = False
        if not ok or dtype not in _DTYPE_BYTES:
            raise _bad(path, f"tensor {name!r} has a malformed entry {entry!r}")
        if math.prod(shape) * _DTYPE_BYTES[dtype] != end - begin:  # Python ints: no overflow
            raise _bad(path, f"tensor {name!r} of shape {shape} {dtype} does not fit its {end - begin} bytes")
        if end > data_bytes:
            raise _bad(path, f"truncated: tensor {name!r} ends at byte {end:,} of {data_bytes:,} data bytes")
        shapes[name] = tuple(shape)
    return shapes


@contextlib.contextmanager
def open_safetensors(path: str | Path) -> Iterator[Any]:
    """`safe_open(path, framework="pt")` after `check_safetensors`; any reader error names the file."""
    check_safetensors(path)
    try:
        with safe_open(str(path), framework="pt") as handle:
            yield handle
    except SafetensorError as exc:
        raise _bad(Path(path), str(exc)) from None
