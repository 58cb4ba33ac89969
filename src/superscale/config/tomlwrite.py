"""A small TOML writer: the resolved sweep config is tables, arrays of tables and scalars, nothing more.

Written here rather than pulled in as a dependency because the reader (tomllib) is in the standard library
and this subset round-trips exactly (floats by shortest repr, strings as JSON strings).
"""

from __future__ import annotations

import json
import math
from typing import Any

__all__ = ["dump_toml_table"]


def _toml_scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)  # shortest repr round-trips float64 exactly
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a JSON string is a valid TOML basic string
    if isinstance(value, list):
        return "[" + ", ".join(_toml_scalar(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_toml_key(k)} = {_toml_scalar(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")


def _toml_key(key: str) -> str:
    return key if key.replace("_", "").replace("-", "").isalnum() else json.dumps(key)


def _is_table_list(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


def _write_table(out: list[str], prefix: str, table: dict[str, Any]) -> None:
    nested = {k: v for k, v in table.items() if isinstance(v, dict) and k != "options"}
    arrays = {k: v for k, v in table.items() if _is_table_list(v)}
    for key, value in table.items():
        if key not in nested and key not in arrays:
            out.append(f"{_toml_key(key)} = {_toml_scalar(value)}")
    for key, value in nested.items():
        name = f"{prefix}{_toml_key(key)}"
        if any(not isinstance(v, dict) or k == "options" for k, v in value.items()):
            out.extend(["", f"[{name}]"])  # a table of tables only needs its sub-table headers
        _write_table(out, f"{name}.", value)
    for key, values in arrays.items():
        name = f"{prefix}{_toml_key(key)}"
        for value in values:
            out.extend(["", f"[[{name}]]"])
            _write_table(out, f"{name}.", value)


def dump_toml_table(table: dict[str, Any], header: str = "") -> str:
    """`table` as TOML text, preceded by `header` as comment lines."""
    out: list[str] = [f"# {line}" if line else "#" for line in header.splitlines()]
    _write_table(out, "", table)
    return "\n".join(out).lstrip("\n") + "\n"
