"""The one process that writes a store: its lock, its config check, committing shards, merging tables.

The crash protocol is described in `superscale.store`; this module implements the writing side of it.
A damaged `sweep.toml` or `manifest.json` is rebuilt from `shards/` when every finished shard belongs to
the config being run (shard ids are digests of their run ids), and a store with no finished shard is
replaced without `--force`: there is nothing in it to lose. A shard whose rows file is damaged retrains; a
shard whose shards/ files are gone but whose rows are in the merged tables gets them back from there. A
directory holding other files and no store is refused: a sweep never mixes its files into someone's data.
"""

from __future__ import annotations

import logging
import shutil
import time
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from superscale.config import SweepConfig, config_hash, dump_toml, load_config
from superscale.store import schema
from superscale.store.archive import archive_record
from superscale.store.atomic import (
    TMP_MARK,
    write_bytes_atomic,
    write_json_atomic,
    write_parquet_atomic,
    write_weights_atomic,
)
from superscale.store.lock import StoreBusyError, acquire_lock, release_lock
from superscale.store.manifest import read_manifest
from superscale.store.provenance import versions
from superscale.store.safetensors_check import check_safetensors
from superscale.store.tables import DamagedTable, check_shard_id, empty_frame, read_table, weights_file

__all__ = ["StoreBusyError", "StoreWriter"]

log = logging.getLogger(__name__)

_OWN_FILES = (schema.SWEEP_FILE, schema.MANIFEST_FILE, schema.RUNS_FILE, schema.CURVES_FILE)
_DERIVED = (schema.METRICS_FILE, schema.FITS_FILE, *schema.EXTRA_TABLES)
_OWN_DIRS = (schema.WEIGHTS_DIR, schema.SHARDS_DIR, schema.REPORT_DIR)
_MARKS = (schema.SWEEP_FILE, schema.MANIFEST_FILE, schema.SHARDS_DIR)  # what makes a directory a store


def _refuse_foreign_directory(path: Path) -> None:
    """A directory with files of its own and no store in it is not a place to write one (its files would
    mix with the store's and `--force` would then delete some of them)."""
    if not path.is_dir() or any((path / mark).exists() for mark in _MARKS):
        return
    own = {*_OWN_FILES, *_DERIVED, *_OWN_DIRS, schema.LOCK_FILE}
    foreign = sorted(p.name for p in path.iterdir() if p.name not in own and TMP_MARK not in p.name)
    if foreign:
        raise ValueError(
            f"--out {str(path)!r} holds other files (e.g. {foreign[0]!r}) and no superscale store; "
            "choose a new or empty directory"
        )


class StoreWriter:
    """The one process writing a store: holds the lock, commits finished shards, merges the tables."""

    def __init__(
        self, path: str | Path, config: SweepConfig, shard_order: list[str], n_runs: int, force: bool = False
    ) -> None:
        self.path = Path(path)
        if self.path.exists() and not self.path.is_dir():
            raise NotADirectoryError(f"--out {str(self.path)!r} exists and is not a directory")
        _refuse_foreign_directory(self.path)
        self.path.mkdir(parents=True, exist_ok=True)
        self._lock_fh = self._acquire_lock()
        try:
            self.config = config
            self.hash = config_hash(config)
            self._prepare(force, shard_order)
            self.manifest = self._load_manifest(shard_order, n_runs)
            write_json_atomic(self.manifest, self.path / schema.MANIFEST_FILE)
        except BaseException:
            self.close()
            raise

    # lock ---------------------------------------------------------------------------------------
    def _acquire_lock(self) -> Any:
        return acquire_lock(self.path)

    def close(self) -> None:
        """Release the lock (the file stays; deleting it would race with a waiting writer)."""
        if self._lock_fh is not None:
            release_lock(self._lock_fh)
            self._lock_fh = None

    def __enter__(self) -> StoreWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # config -------------------------------------------------------------------------------------
    def _prepare(self, force: bool, shard_order: list[str]) -> None:
        sweep_file = self.path / schema.SWEEP_FILE
        header = f"superscale sweep {self.config.name!r}, config hash {self.hash}"
        self._restore_shards_from_merged()  # before anything counts finished shards
        finished = self._shard_files()
        if sweep_file.is_file():
            try:
                stored: SweepConfig | None = load_config(sweep_file)
                damage = ""
            except ValueError as exc:
                stored, damage = None, str(exc)
            old_hash = "<unreadable>" if stored is None else config_hash(stored)
            if stored is None and self._rebuildable(finished, shard_order):
                # shard ids are digests of their run ids: every finished shard is one of this config's
                log.warning("%s was damaged (%s); rewritten from this config", sweep_file, damage)
                write_bytes_atomic(dump_toml(self.config, header).encode(), sweep_file)
                old_hash = self.hash
            elif stored is None:
                foreign = sorted(finished - set(shard_order))
                raise ValueError(
                    f"{str(sweep_file)!r} is damaged ({damage}) and shards/ holds {len(foreign)} finished "
                    f"shard(s) this config does not plan (e.g. {foreign[0]}); run the config that made them "
                    "with the same --out to rebuild it, or choose another --out"
                )
            if old_hash == self.hash and stored is not None and stored.analysis != self.config.analysis:
                # new fit windows (outside the hash): the runs stay valid, `analyze` refits with these
                updated = stored.model_copy(update={"analysis": self.config.analysis})
                write_bytes_atomic(dump_toml(updated, header).encode(), sweep_file)
            if old_hash != self.hash:
                if finished and not force:
                    raise ValueError(
                        f"{str(self.path)!r} already holds a different sweep (config hash {old_hash}, this "
                        f"one {self.hash}); choose another --out, or pass --force to delete its results"
                    )
                self._wipe()  # nothing finished (say a first shard that failed): nothing to lose
        elif any((self.path / name).exists() for name in (schema.MANIFEST_FILE, schema.SHARDS_DIR)):
            if not self._rebuildable(finished, shard_order) and not force:
                raise ValueError(
                    f"{str(self.path)!r} holds a partial store without {schema.SWEEP_FILE} whose shards are "
                    "not this config's; run the config that made them, or pass --force to delete them"
                )
            if not self._rebuildable(finished, shard_order):
                self._wipe()
        self._remove_temp_files()
        if not sweep_file.is_file():
            write_bytes_atomic(dump_toml(self.config, header).encode(), sweep_file)

    def _shard_files(self) -> set[str]:
        return {
            p.name.removesuffix(".runs.parquet")
            for p in (self.path / schema.SHARDS_DIR).glob("*.runs.parquet")
        }

    def _rebuildable(self, finished: set[str], shard_order: list[str]) -> bool:
        """True when every finished shard belongs to this config (and the manifest, if readable, agrees)."""
        if not finished <= set(shard_order):
            return False
        return bool(
            read_manifest(self.path / schema.MANIFEST_FILE).get("config_hash", self.hash) == self.hash
        )

    def _restore_shards_from_merged(self) -> None:
        """Write back the shards/ files of merged shards that lost them (deleted to save space, say) from
        runs.parquet and curves.parquet, so they count as finished instead of retraining."""
        merged = read_manifest(self.path / schema.MANIFEST_FILE).get("merged_shards", [])
        have = self._shard_files()
        lost = [s for s in merged if s not in have]
        if not lost or not (self.path / schema.RUNS_FILE).is_file():
            return
        try:
            runs = read_table(self.path / schema.RUNS_FILE, "runs")
            curves = read_table(self.path / schema.CURVES_FILE, "curves")
        except (DamagedTable, FileNotFoundError) as exc:
            log.warning(
                "cannot restore %d shard(s) from the merged tables (%s); they retrain", len(lost), exc
            )
            return
        for shard_id in lost:
            rows = runs[runs[schema.SHARD_ID] == check_shard_id(shard_id)].reset_index(drop=True)
            if not len(rows):
                continue
            shard_curves = curves[curves[schema.RUN_ID].isin(set(rows[schema.RUN_ID]))].reset_index(drop=True)
            write_parquet_atomic(shard_curves, schema.shard_table_path(self.path, shard_id, "curves"))
            write_parquet_atomic(rows, schema.shard_table_path(self.path, shard_id, "runs"))
        log.warning("restored the shards/ files of %d shard(s) from the merged tables", len(lost))

    def _wipe(self) -> None:
        """Delete the store's own files and nothing else in the directory."""
        for name in _OWN_FILES + _DERIVED:
            (self.path / name).unlink(missing_ok=True)
        for name in _OWN_DIRS:
            shutil.rmtree(self.path / name, ignore_errors=True)

    def _remove_temp_files(self) -> None:
        for folder in (self.path, self.path / schema.WEIGHTS_DIR, self.path / schema.SHARDS_DIR):
            for tmp in folder.glob(f".*{TMP_MARK}*"):
                tmp.unlink(missing_ok=True)

    # manifest -----------------------------------------------------------------------------------
    def _load_manifest(self, shard_order: list[str], n_runs: int) -> dict[str, Any]:
        file = self.path / schema.MANIFEST_FILE
        old = read_manifest(file)  # fields of the wrong kind dropped: what they held is rebuilt from shards/
        if "damaged" in old:
            log.warning(
                "%s was damaged (%s); rebuilding it from %s/", file, old["damaged"], schema.SHARDS_DIR
            )
        shards: dict[str, Any] = dict(old["shards"])
        done = set(self.done_shards())
        # the manifest may lag the files (a crash between rows and manifest) or lead them (never: the
        # manifest is written last); the files are the truth
        shards = {k: v for k, v in shards.items() if k in done}
        for shard_id in done - set(shards):
            shards[shard_id] = self._recovered_info(shard_id)
        return {
            "format": schema.MANIFEST_FORMAT,
            "name": self.config.name,
            "config_hash": self.hash,
            "created": old.get("created", _now()),
            "updated": _now(),
            "status": "running",
            "n_shards": len(shard_order),
            "n_runs": n_runs,
            "shard_order": shard_order,
            "merged_shards": old.get("merged_shards", []),
            "versions": versions(),
            "shards": shards,
        }

    def _recovered_info(self, shard_id: str) -> dict[str, Any]:
        """A shard's manifest entry rebuilt from its rows (after a crash, or a damaged manifest)."""
        rows = read_table(schema.shard_table_path(self.path, shard_id, "runs"), "runs")
        info: dict[str, Any] = {"status": "done", "recovered": True, "n_models": len(rows)}
        if len(rows):
            info["n_failed"] = int((rows[schema.STATUS] == "failed").sum())
            if schema.TRAIN_SECONDS in rows:
                info["seconds"] = round(float(rows[schema.TRAIN_SECONDS].sum()), 3)
            if schema.DEVICE in rows:
                info["device"] = str(rows[schema.DEVICE].iloc[0])
            if schema.THREADS in rows:
                info["threads"] = int(rows[schema.THREADS].iloc[0])
        return info

    def done_shards(self) -> list[str]:
        """Shards with rows on disk and, where weights are kept, a complete weights file holding every
        done run; the rows of any other shard are removed so it retrains."""
        done = []
        archive = archive_record(self.path)
        for rows in (self.path / schema.SHARDS_DIR).glob("*.runs.parquet"):
            shard_id = rows.name.removesuffix(".runs.parquet")
            try:  # a damaged rows or curves file (or a stray name) is no finished shard: it retrains
                table = read_table(rows, "runs")
                read_table(schema.shard_table_path(self.path, shard_id, "curves"), "curves")
                weights = weights_file(self.path, shard_id)
            except (ValueError, FileNotFoundError) as exc:
                log.warning("shard %s will retrain: %s", shard_id, exc)
                rows.unlink()
                continue
            if self.config.output.save_weights:
                dropped = set(archive.get(shard_id, {}).get("dropped", []))
                expected = {
                    schema.weight_key(r, "W")
                    for r in table[table[schema.STATUS] == "done"][schema.RUN_ID]
                    if r not in dropped  # slimmed on purpose (store.archive): kept done, restorable
                }
                problem = _weights_problem(weights, expected) if expected else ""
                if problem:
                    log.warning("shard %s will retrain: %s", shard_id, problem)
                    rows.unlink()
                    continue
            done.append(shard_id)
        return done

    def commit_shard(
        self,
        shard_id: str,
        runs: pd.DataFrame,
        curves: pd.DataFrame,
        weights: dict[str, torch.Tensor],
        info: dict[str, Any],
    ) -> None:
        """Persist one finished shard: weights, curves, runs rows (the done marker), then the manifest."""
        if weights and self.config.output.save_weights:
            write_weights_atomic(weights, self.path / schema.WEIGHTS_DIR / f"{shard_id}.safetensors")
        write_parquet_atomic(curves, schema.shard_table_path(self.path, shard_id, "curves"))
        write_parquet_atomic(runs, schema.shard_table_path(self.path, shard_id, "runs"))
        self.manifest["shards"][shard_id] = {**info, "finished_at": _now()}
        self._write_manifest()

    def _write_manifest(self) -> None:
        self.manifest["updated"] = _now()
        write_json_atomic(self.manifest, self.path / schema.MANIFEST_FILE)

    def set_status(self, status: str) -> None:
        """Record the sweep's status ("running", "interrupted", "complete") in the manifest."""
        self.manifest["status"] = status
        self._write_manifest()

    def merge_tables(self, status: str) -> None:
        """Rebuild runs.parquet and curves.parquet from shards/ (atomically) and set the sweep status."""
        order = [s for s in self.manifest["shard_order"] if s in self.manifest["shards"]]
        for table, name in (("runs", schema.RUNS_FILE), ("curves", schema.CURVES_FILE)):
            frames = [read_table(schema.shard_table_path(self.path, s, table), table) for s in order]
            rows = [f for f in frames if len(f)]
            # no rows (every run failed, so no curves): the columns stay, so the table can still be queried
            merged = (
                pd.concat(rows, ignore_index=True) if rows else (frames[0] if frames else empty_frame(table))
            )
            write_parquet_atomic(merged, self.path / name)
        self.manifest["merged_shards"] = order
        self.manifest["status"] = status
        self._write_manifest()


def _weights_problem(file: Path, expected: set[str]) -> str:
    """Why `file` does not hold the weights `expected` ("" when it does): missing, damaged, incomplete."""
    if not file.is_file():
        return f"its weights file {str(file)!r} is missing"
    try:
        names = check_safetensors(file)
    except ValueError as exc:
        return str(exc)
    missing = expected - set(names)
    return f"{str(file)!r} lacks {len(missing)} of its runs' weights" if missing else ""


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
