"""Reading manifest.json with every field checked: a damaged field is dropped (its default applies, the
files on disk are the truth) and named, so `ls` and `show` print "damaged (reason)" instead of a
TypeError, and the writer rebuilds what it dropped from shards/.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from superscale._checks import read_text
from superscale.store import schema

__all__ = ["check_manifest", "read_manifest"]


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _seconds(value: Any) -> bool:
    return (
        isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value) and value >= 0
    )


def _text(value: Any) -> bool:
    return isinstance(value, str)


def _names(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _strings(value: Any) -> bool:
    return isinstance(value, dict) and all(isinstance(v, str | type(None)) for v in value.values())


_TOP = {
    "format": _count,
    "name": _text,
    "config_hash": _text,
    "created": _text,
    "updated": _text,
    "status": _text,
    "n_shards": _count,
    "n_runs": _count,
    "shard_order": _names,
    "merged_shards": _names,
    "versions": _strings,
}
_SHARD = {
    "status": _text,
    "n_models": _count,
    "n_failed": _count,
    "seconds": _seconds,
    "device": _text,
    "threads": _count,
    "finished_at": _text,
    "recovered": lambda v: isinstance(v, bool),
}


def check_manifest(raw: Any) -> tuple[dict[str, Any], list[str]]:
    """The manifest with every field of the wrong kind dropped (a shard entry with one is dropped whole:
    the writer rebuilds it from the shard's rows), and what was dropped, one reason each."""
    if not isinstance(raw, dict):
        return {"shards": {}}, [f"{schema.MANIFEST_FILE} is not a superscale manifest"]
    manifest: dict[str, Any] = {}
    problems: list[str] = []
    for key, value in raw.items():
        ok = _TOP.get(key)
        if key == "shards" or ok is None or ok(value):
            manifest[key] = value
        else:
            problems.append(f"{key} is {json.dumps(value)[:40]}")
    shards = raw.get("shards", {})
    if not isinstance(shards, dict):
        problems.append(f"shards is {json.dumps(shards)[:40]}, not an object")
        shards = {}
    kept: dict[str, Any] = {}
    for shard_id, entry in shards.items():
        if not isinstance(entry, dict):
            problems.append(f"shard {shard_id} is {json.dumps(entry)[:40]}, not an object")
            continue
        bad = [key for key, ok in _SHARD.items() if key in entry and not ok(entry[key])]
        if bad:
            problems.append(f"shard {shard_id}: {bad[0]} is {json.dumps(entry[bad[0]])[:40]}")
            continue
        kept[shard_id] = entry
    manifest["shards"] = kept
    return manifest, problems


def read_manifest(file: Path) -> dict[str, Any]:
    """The manifest at `file` checked (`check_manifest`); a damaged one carries "damaged": the reason.
    A missing file reads as empty (a store being created, or one that lost it: shards/ hold the data)."""
    if not file.is_file():
        return {"shards": {}}
    try:
        raw = json.loads(read_text(file))
    except ValueError as exc:  # JSONDecodeError and non-UTF-8 bytes both
        return {"shards": {}, "damaged": f"{schema.MANIFEST_FILE} unreadable: {exc}"}
    manifest, problems = check_manifest(raw)
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        manifest["damaged"] = f"{schema.MANIFEST_FILE}: {problems[0]}{more}"
    return manifest
