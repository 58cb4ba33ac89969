"""The result store: a directory of Parquet tables and safetensors that survives crashes.

`reader` opens a store for reading (tables, weights, queries), `writer` is the one process that writes it
(shards, manifest, merged tables, the lock); file names and columns live in `schema`, provenance (versions,
machine, git revision) in `provenance`. Names load lazily: `superscale.store.schema` costs nothing, and
`ls`, `show` and `query` read stores without torch.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from superscale.store.provenance import versions
    from superscale.store.reader import Store, StoreTable, load, open_store
    from superscale.store.writer import StoreBusyError, StoreWriter

__all__ = ["Store", "StoreBusyError", "StoreTable", "StoreWriter", "load", "open_store", "versions"]

_EXPORTS = {
    "Store": "reader",
    "StoreTable": "reader",
    "load": "reader",
    "open_store": "reader",
    "versions": "provenance",
    "StoreBusyError": "writer",
    "StoreWriter": "writer",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{module}"), name)
