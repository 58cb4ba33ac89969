"""Slimmed weights: keep a committed store light, and say exactly what was kept.

A grid of a thousand models carries ~170 MB of float32 weights, most of which no figure reads: the figures
draw row norms and the analysis's tables. `slim_weights` rewrites a finished store's weights files so that
chosen runs keep float32, others keep a float16 copy, and the rest are dropped, after writing every run's
row norms (computed in float32, before any rounding) to `row_norms.parquet`. `weights/archive.json` records
per shard which runs went which way, so

- a resumed sweep counts a slimmed shard as done (it never retrains it: `StoreWriter.done_shards`),
- `Store.params` of a dropped run says how to get it back (`superscale weights restore`, which retrains the
  shard from its config and seed and checks the final losses against the stored ones), and returns a
  float16 copy as float32 with a warning once,
- metrics and fits computed before slimming stay as they were (`analyze` keeps existing rows).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from superscale.store import schema
from superscale.store.atomic import write_bytes_atomic, write_json_atomic, write_parquet_atomic
from superscale.store.safetensors_check import open_safetensors

__all__ = ["KEEPS", "SlimResult", "archive_record", "dropped_runs", "slim_weights", "write_row_norms"]

log = logging.getLogger(__name__)

#: what a run's weights can become: kept as trained, a float16 copy, or nothing (regenerable)
KEEPS = ("float32", "float16", "dropped")


def archive_record(store: Path) -> dict[str, dict[str, Any]]:
    """shard_id → {"float32": [run ids], "float16": [...], "dropped": [...], "at": time}; {} if unslimmed."""
    file = Path(store) / schema.WEIGHTS_ARCHIVE_FILE
    if not file.is_file():
        return {}
    try:
        record = json.loads(file.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{str(file)!r} is damaged ({exc}); restore it from the store's copy") from None
    if not isinstance(record, dict) or not all(isinstance(v, dict) for v in record.values()):
        raise ValueError(f"{str(file)!r} is damaged: expected an object of shards")
    return record


def dropped_runs(store: Path) -> dict[str, str]:
    """run_id → shard_id of every run whose weights were dropped."""
    return {run: shard for shard, entry in archive_record(store).items() for run in entry.get("dropped", [])}


def float16_runs(store: Path) -> set[str]:
    return {run for entry in archive_record(store).values() for run in entry.get("float16", [])}


def write_row_norms(store: Path, runs: pd.DataFrame) -> Path:
    """row_norms.parquet: one row per finished run, its ‖W_i‖₂ for i = 1..n as float32, from the weights
    as stored now (call it before any run is rounded or dropped). Figures read it when weights are gone."""
    import torch

    rows = []
    path = Path(store)
    for shard_id, sub in runs[runs[schema.STATUS] == "done"].groupby(schema.SHARD_ID, sort=False):
        with open_safetensors(path / schema.WEIGHTS_DIR / f"{shard_id}.safetensors") as fh:
            for run_id in sub[schema.RUN_ID]:
                W = fh.get_tensor(schema.weight_key(run_id, "W")).to(torch.float32)
                norms = torch.linalg.vector_norm(W, dim=-1).numpy()
                rows.append({schema.RUN_ID: run_id, schema.ROW_NORMS: norms.tolist()})
    table = pd.DataFrame(rows, columns=[schema.RUN_ID, schema.ROW_NORMS])
    out = path / schema.ROW_NORMS_FILE
    write_parquet_atomic(table, out)
    return out


@dataclass(frozen=True)
class SlimResult:
    """What `slim_weights` did: runs per kind, bytes of weights before and after."""

    counts: dict[str, int]
    bytes_before: int
    bytes_after: int


def slim_weights(store: Path, keep: dict[str, str], default: str = "dropped") -> SlimResult:
    """Rewrite the weights of the finished runs of `store`: run_id → one of KEEPS in `keep`, `default` for
    the rest. Refuses a store that is being written (its lock), one without metrics for a run that loses
    float32, and a run already dropped that `keep` asks to keep (restore it first). A partial store can be
    slimmed: resuming it trains the missing shards and keeps the slimmed ones."""
    import torch
    from safetensors.torch import save

    from superscale.store.lock import acquire_lock, release_lock
    from superscale.store.reader import open_store

    if default not in KEEPS or any(v not in KEEPS for v in keep.values()):
        raise ValueError(f"each run's weights must become one of {', '.join(KEEPS)}")
    path = Path(store)
    lock = acquire_lock(path)  # nobody trains into the store while its weights are rewritten
    try:
        opened = open_store(path)
        if opened.manifest.get("status") != "complete":
            raise ValueError(
                f"store {str(path)!r} is not complete: slim its weights once every shard trained"
            )
        runs = opened.runs()
        done = runs[runs[schema.STATUS] == "done"]
        unknown = set(keep) - set(done[schema.RUN_ID])
        if unknown:
            raise ValueError(
                f"{len(unknown)} run(s) to keep are not finished runs of this store, e.g. "
                f"{sorted(unknown)[0]!r}"
            )
        choice = {r: keep.get(r, default) for r in done[schema.RUN_ID]}
        _check_analysed(path, [r for r, kind in choice.items() if kind != "float32"])
        record = archive_record(path)
        already = {run for entry in record.values() for run in entry.get("dropped", [])}
        revived = [r for r, kind in choice.items() if r in already and kind != "dropped"]
        if revived:
            raise ValueError(f"run {revived[0]!r} was dropped already: `superscale weights restore` it first")
        halved = {run for entry in record.values() for run in entry.get("float16", [])}
        upgraded = [r for r, kind in choice.items() if r in halved and kind == "float32"]
        if upgraded:
            raise ValueError(f"run {upgraded[0]!r} holds only a float16 copy: restore it to keep float32")
        if not (path / schema.ROW_NORMS_FILE).is_file():
            write_row_norms(path, runs)
        before = after = 0
        for shard_id, sub in done.groupby(schema.SHARD_ID, sort=False):
            file = path / schema.WEIGHTS_DIR / f"{shard_id}.safetensors"
            entry = {kind: [r for r in sub[schema.RUN_ID] if choice[r] == kind] for kind in KEEPS}
            previous = record.get(shard_id, {})
            entry["dropped"] = sorted(set(entry["dropped"]) | set(previous.get("dropped", [])))
            record[shard_id] = {**entry, "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
            # intent first: a crash after this leaves a file with more than its record says, never less
            write_json_atomic(record, path / schema.WEIGHTS_ARCHIVE_FILE)
            if not file.is_file():
                continue
            before += file.stat().st_size
            tensors: dict[str, torch.Tensor] = {}
            with open_safetensors(file) as fh:
                for key in fh.keys():  # noqa: SIM118 (a safetensors handle, not a dict)
                    run_id = key.split("/", 1)[0]
                    kind = choice.get(run_id, "dropped")
                    if kind == "float32":
                        tensors[key] = fh.get_tensor(key)
                    elif kind == "float16":
                        tensors[key] = fh.get_tensor(key).to(torch.float16)
            if tensors:
                write_bytes_atomic(save({k: v.contiguous() for k, v in tensors.items()}), file)
                after += file.stat().st_size
            else:
                file.unlink()
        counts = {kind: sum(1 for k in choice.values() if k == kind) for kind in KEEPS}
        log.info("weights slimmed: %s; %.1f MB → %.1f MB", counts, before / 1e6, after / 1e6)
        return SlimResult(counts, before, after)
    finally:
        release_lock(lock)


def _check_analysed(path: Path, runs: Iterable[str]) -> None:
    """Every run about to lose its float32 weights has its metrics row (computed from float32)."""
    wanted = set(runs)
    if not wanted:
        return
    metrics_file = path / schema.METRICS_FILE
    have = (
        set(pd.read_parquet(metrics_file, columns=[schema.RUN_ID])[schema.RUN_ID])
        if metrics_file.is_file()
        else set()
    )
    missing = wanted - have
    if missing:
        raise ValueError(
            f"{len(missing)} run(s) have no metrics yet (e.g. {sorted(missing)[0]!r}): run "
            f"`superscale analyze {path!s}` before slimming, so every metric comes from the float32 weights"
        )
