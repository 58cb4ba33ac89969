"""Weights back: retrain a slimmed shard from its config and seed and put its float32 weights back.

A run's numbers are a function of its config and seed (superscale.train.engine), so a shard whose weights
were dropped or rounded to float16 (superscale.store.archive) is retrained with the thread count it was
trained with, its final losses are compared with the ones the store recorded, and the float32 weights of
those runs replace what was left. The comparison is reported, not enforced: the same code on the same
machine gives the same numbers; another engine version or CPU can differ by float round-off, which 20 000
steps of training amplify.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path

import torch

from superscale.config import parse_config
from superscale.config.grid import plan_sweep
from superscale.store import schema
from superscale.store.archive import archive_record
from superscale.store.atomic import write_json_atomic, write_weights_atomic
from superscale.store.lock import acquire_lock, release_lock
from superscale.store.reader import open_store
from superscale.store.safetensors_check import open_safetensors
from superscale.sweep.shard import run_shard

__all__ = ["RestoredShard", "restore_weights"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RestoredShard:
    """One retrained shard: its runs put back and the largest relative change of a final loss."""

    shard_id: str
    runs: int
    max_rel_diff: float
    seconds: float


def restore_weights(
    store: str | Path, shards: list[str] | None = None, device: str = "cpu"
) -> list[RestoredShard]:
    """Retrain `shards` (default: every shard with runs dropped or in float16) of a slimmed store and write
    their float32 weights back; the archive record then says float32 for them."""
    path = Path(store)
    lock = acquire_lock(path)
    try:
        reader = open_store(path)
        record = archive_record(path)
        lacking = {s for s, entry in record.items() if entry.get("dropped") or entry.get("float16")}
        targets = sorted(lacking) if shards is None else list(shards)
        unknown = [s for s in targets if s not in record]
        if unknown:
            raise ValueError(f"shard {unknown[0]!r} was not slimmed in {str(path)!r}")
        config = parse_config(reader.config, str(path / schema.SWEEP_FILE))
        plan = {shard.shard_id: shard for shard in plan_sweep(config)}
        runs = reader.runs()
        done: list[RestoredShard] = []
        for shard_id in targets:
            entry = record[shard_id]
            wanted = set(entry.get("dropped", [])) | set(entry.get("float16", []))
            if not wanted:
                continue
            rows = runs[runs[schema.SHARD_ID] == shard_id].set_index(schema.RUN_ID)
            threads = int(rows[schema.THREADS].iloc[0])
            outcome = run_shard(plan[shard_id], device, threads, config.output.curve_points)
            stored = rows[schema.FINAL_LOSS]
            diffs = [
                abs(loss - float(stored[run])) / float(stored[run])
                for run, loss in zip(outcome.run_ids, outcome.final_loss.tolist(), strict=True)
                if run in wanted
            ]
            _put_back(path, shard_id, outcome.run_ids, outcome.params, wanted)
            entry["float32"] = sorted(set(entry.get("float32", [])) | wanted)
            entry["dropped"], entry["float16"] = [], []
            write_json_atomic(record, path / schema.WEIGHTS_ARCHIVE_FILE)
            worst = max(diffs) if diffs else 0.0
            done.append(RestoredShard(shard_id, len(wanted), worst, outcome.seconds))
            log.info("restored %s: %d runs, final losses within %.2e", shard_id, len(wanted), worst)
        return done
    finally:
        release_lock(lock)


def _put_back(
    path: Path, shard_id: str, run_ids: list[str], params: dict[str, torch.Tensor], wanted: set[str]
) -> None:
    """The shard's weights file with the `wanted` runs' float32 tensors in place of what was left."""
    file = path / schema.WEIGHTS_DIR / f"{shard_id}.safetensors"
    tensors: dict[str, torch.Tensor] = {}
    if file.is_file():
        with open_safetensors(file) as fh:
            tensors = {key: fh.get_tensor(key) for key in fh.keys()}  # noqa: SIM118 (not a dict)
    for index, run_id in enumerate(run_ids):
        if run_id in wanted:
            for name, values in params.items():
                tensors[schema.weight_key(run_id, name)] = values[index]
    if not math.isfinite(sum(float(t.float().sum()) for t in tensors.values())):
        raise ValueError(f"shard {shard_id!r} retrained to non-finite weights; nothing was written")
    write_weights_atomic(tensors, file)
