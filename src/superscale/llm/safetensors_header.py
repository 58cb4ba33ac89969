"""Read a safetensors header and one tensor's rows with plain file reads: no memory map of the whole file.

`safe_open` maps the file whole, which fails for a single file larger than the address space the process
may map ("unable to mmap 32245022920 bytes"). The format is simple enough to read directly: 8 bytes of
little-endian header length N, N bytes of JSON {name: {dtype, shape, data_offsets: [begin, end]}}, then the
data, offsets counted from byte 8 + N. We seek to the tensor and read only the rows asked for.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

import torch

DTYPES = {
    "F64": torch.float64, "F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16,
    "I64": torch.int64, "I32": torch.int32, "I16": torch.int16, "I8": torch.int8, "U8": torch.uint8,
    "BOOL": torch.bool, "F8_E4M3": torch.float8_e4m3fn, "F8_E5M2": torch.float8_e5m2,
}  # fmt: skip
MAX_HEADER_BYTES = 100 * 2**20  # the reference implementation's own limit


def read_header(path: Path) -> tuple[dict[str, dict[str, Any]], int]:
    """The tensor entries of the header (metadata dropped) and the byte offset where the data starts."""
    with Path(path).open("rb") as handle:
        prefix = handle.read(8)
        if len(prefix) != 8:
            raise ValueError(f"{path} is not a safetensors file (shorter than its 8-byte header length)")
        (length,) = struct.unpack("<Q", prefix)
        if length > MAX_HEADER_BYTES:
            raise ValueError(f"{path} is not a safetensors file (header length {length} bytes)")
        raw = handle.read(length)
    try:
        header = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path} is not a safetensors file (header is not JSON: {exc})") from None
    if not isinstance(header, dict):
        raise ValueError(f"{path} is not a safetensors file (header is not a JSON object)")
    header.pop("__metadata__", None)
    return header, 8 + length


def header_shapes(path: Path) -> dict[str, tuple[int, ...]]:
    """Names and shapes of every tensor, from the header alone."""
    header, _ = read_header(path)
    return {name: tuple(int(d) for d in entry["shape"]) for name, entry in header.items()}


def read_rows(path: Path, name: str, n_rows: int | None = None) -> torch.Tensor:
    """Tensor `name` (its first `n_rows` rows when given) in its stored dtype, reading only those bytes."""
    header, data_start = read_header(path)
    if name not in header:
        raise ValueError(f"tensor {name!r} is not in {Path(path).name}")
    entry = header[name]
    if entry["dtype"] not in DTYPES:
        raise ValueError(f"tensor {name!r} has dtype {entry['dtype']}, which superscale cannot read")
    dtype, shape = DTYPES[entry["dtype"]], [int(d) for d in entry["shape"]]
    begin, end = (int(x) for x in entry["data_offsets"])
    row_bytes = (end - begin) // max(shape[0], 1) if shape else end - begin
    rows = shape[0] if shape else 1
    take = rows if n_rows is None else min(n_rows, rows)
    with Path(path).open("rb") as handle:
        handle.seek(data_start + begin)
        buffer = bytearray(take * row_bytes)
        if handle.readinto(buffer) != len(buffer):
            raise ValueError(f"{path} is truncated: tensor {name!r} runs past the end of the file")
    flat = torch.frombuffer(buffer, dtype=dtype) if buffer else torch.empty(0, dtype=dtype)
    return flat.reshape([take, *shape[1:]] if shape else [])
