"""Argument checks shared by the library: each error names the argument and the value it received."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any


def check_positive_int(name: str, value: Any) -> None:
    """Raise ValueError unless `value` is an int > 0 (bools are refused: True is not a size)."""
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")


def check_finite(name: str, value: Any) -> None:
    """Raise ValueError unless `value` is a finite real number (NaN and ±inf are refused)."""
    try:
        ok = math.isfinite(float(value))
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ValueError(f"{name} must be a finite number, got {value!r}")


def read_text(path: Path) -> str:
    """A UTF-8 text file; a file in another encoding gets an error that names it and the bad byte."""
    data = Path(path).read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(
            f"{str(path)!r} is not UTF-8 text (byte {data[exc.start]:#04x} at offset {exc.start}); "
            "save it as UTF-8"
        ) from None
