"""Field types and validators shared by the config models: numbers that are not booleans, grid axes
(a value or a list), strict models that refuse unknown keys."""

from __future__ import annotations

import math
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
)


def _not_bool(value: Any) -> Any:
    """TOML `true` is not a number: pydantic would read `n = true` as n = 1."""
    if isinstance(value, bool):
        raise ValueError(f"must be a number, not a boolean, got {value!r}")
    return value


Int = Annotated[int, BeforeValidator(_not_bool)]
Float = Annotated[float, BeforeValidator(_not_bool)]
AxisFloat = Float | list[Float]
AxisInt = Int | list[Int]


def as_list(value: Any) -> list[Any]:
    """A grid axis as a list (a scalar is an axis of length one)."""
    return list(value) if isinstance(value, list) else [value]


def _each(value: Any, ok: Any, what: str) -> Any:
    """Check every element of an axis with `ok`; the message says what was expected."""
    for item in as_list(value):
        if not ok(item):
            raise ValueError(f"{what}, got {item!r}")
    if isinstance(value, list) and not value:
        raise ValueError("a grid axis must not be an empty list")
    return value


def _finite(x: float) -> bool:
    return math.isfinite(float(x))


class _Strict(BaseModel):
    # extra="forbid": a typo in a field name is an error, never a silently ignored setting
    model_config = ConfigDict(extra="forbid", frozen=True, strict=False)
