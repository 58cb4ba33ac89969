"""The result store: a directory of Parquet tables and safetensors that survives crashes.

Layout (names in `superscale.schema`):

    OUT/sweep.toml                 resolved config, exactly as run
    OUT/manifest.json              shards: status, timings, device, versions; the config hash
    OUT/shards/<shard>.runs.parquet, <shard>.curves.parquet   one shard's finished rows
    OUT/weights/<shard>.safetensors                            keys "<run_id>/W", "<run_id>/b", ...
    OUT/runs.parquet, OUT/curves.parquet                       merged from shards/ at the end

Crash protocol. Every file is written to a temp name, fsynced and renamed, so a reader sees either the old
file or the new one, never half of one. A finished shard writes its weights, then its curves, then its runs
rows (the "done" marker), then the manifest. On resume a shard counts as done only when its runs rows
exist (and its weights, when weights are kept); anything else is retrained. The merged tables are rebuilt
from shards/ whenever they are behind, and readers fall back to shards/ meanwhile.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import time
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from superscale import schema
from superscale.atomic import (
    TMP_MARK,
    write_bytes_atomic,
    write_json_atomic,
    write_parquet_atomic,
    write_weights_atomic,
)
from superscale.config import SweepConfig, config_hash, dump_toml, load_config
from superscale.provenance import versions

if TYPE_CHECKING:  # torch loads with the first weights read or written: `superscale ls` stays light
    import torch
    from matplotlib.figure import Figure

__all__ = [
    "Store",
    "StoreBusyError",
    "StoreTable",
    "StoreWriter",
    "load",
    "open_store",
    "versions",
]

# runs.parquet columns for the rest of the recipe and provenance (names in superscale.schema)
DENSITY_KNOB, DATA_INDEX, LOSS_SCALE = schema.DENSITY_KNOB, schema.DATA_INDEX, schema.LOSS_SCALE
FINAL_WINDOW, PRECISION, THREADS = schema.FINAL_WINDOW, schema.PRECISION, schema.THREADS
SUPERSCALE_VERSION, TORCH_VERSION = schema.SUPERSCALE_VERSION, schema.TORCH_VERSION
GIT_REVISION, FINISHED_AT = schema.GIT_REVISION, schema.FINISHED_AT

MANIFEST_FORMAT = 1


# --- reading ------------------------------------------------------------------------------------


def _shard_file(path: Path, shard_id: str, table: str) -> Path:
    return path / schema.SHARDS_DIR / f"{shard_id}.{table}.parquet"


class StoreTable(pd.DataFrame):
    """A table of the store that is also its own accessor: `store.runs()` reads like `store.fits()` and
    `store.metrics()`, and `store.runs` (the older spelling) is the same frame."""

    def __call__(self) -> pd.DataFrame:
        return self


class Store:
    """A store on disk, read lazily: tables as pandas (`runs()`, `curves()`, `metrics()`, `fits()`,
    `table(name)`), weights one run at a time (`params`), figures by name (`figure`)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not (self.path / schema.SWEEP_FILE).is_file():
            raise FileNotFoundError(f"{str(self.path)!r} is not a superscale store (no {schema.SWEEP_FILE})")

    @cached_property
    def config(self) -> dict[str, Any]:
        import tomllib

        return tomllib.loads((self.path / schema.SWEEP_FILE).read_text())

    @cached_property
    def manifest(self) -> dict[str, Any]:
        file = self.path / schema.MANIFEST_FILE
        return json.loads(file.read_text()) if file.is_file() else {"shards": {}}

    def done_shards(self) -> list[str]:
        """Shards whose rows are on disk, in plan order where the manifest knows it."""
        files = (self.path / schema.SHARDS_DIR).glob("*.runs.parquet")
        found = {p.name.removesuffix(".runs.parquet") for p in files}
        order = [s for s in self.manifest.get("shard_order", []) if s in found]
        return order + sorted(found - set(order))

    def _table(self, name: str, merged: str) -> pd.DataFrame:
        merged_file = self.path / merged
        done = self.done_shards()
        if merged_file.is_file() and self.manifest.get("merged_shards") == done:
            return pd.read_parquet(merged_file)
        frames = [pd.read_parquet(_shard_file(self.path, s, name)) for s in done]
        frames = [f for f in frames if len(f)]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

    @cached_property
    def runs(self) -> StoreTable:
        """`store.runs()`: one row per trained model (columns: superscale.schema + provenance)."""
        return StoreTable(self._table("runs", schema.RUNS_FILE))

    @cached_property
    def curves(self) -> StoreTable:
        """`store.curves()`: loss every k steps per run: run_id, step, loss (summed scale)."""
        return StoreTable(self._table("curves", schema.CURVES_FILE))

    def metrics(self) -> pd.DataFrame | None:
        """One row per analysed run (`superscale analyze`), None before the analysis."""
        file = self.path / schema.METRICS_FILE
        return pd.read_parquet(file) if file.is_file() else None

    def fits(self) -> pd.DataFrame | None:
        """The α_m fits per group, kind and scope (`superscale analyze`), None before the analysis."""
        file = self.path / schema.FITS_FILE
        return pd.read_parquet(file) if file.is_file() else None

    def figure(self, name: str, ax: Any = None) -> Figure:
        """A figure of the report by name ("fig5e", "fig1d", … `superscale.plots.FIGURES`) as a matplotlib
        Figure, drawn into `ax` when given; MissingData names what the store lacks and the preset with it."""
        from superscale.plots import FIGURES_BY_NAME
        from superscale.report.load import load_figure_data

        if name not in FIGURES_BY_NAME:
            raise ValueError(f"figure must be one of {', '.join(FIGURES_BY_NAME)}, got {name!r}")
        return FIGURES_BY_NAME[name].draw(load_figure_data(self.path), ax=ax)

    def __repr__(self) -> str:
        s = self.summary()
        return (
            f"<Store {s['name']!r}: {s['runs_done']}/{s['runs_total']} runs done, {s['runs_failed']} failed, "
            f"{s['status']}, path={s['path']!r}>"
        )

    def table(self, name: str) -> pd.DataFrame | None:
        """A table `superscale analyze` added (a file name in schema.EXTRA_TABLES), None when absent."""
        if name not in schema.EXTRA_TABLES:
            raise ValueError(f"{name!r} is not a store table; known: {', '.join(schema.EXTRA_TABLES)}")
        file = self.path / name
        return pd.read_parquet(file) if file.is_file() else None

    def _row(self, run_id: str) -> pd.Series:
        rows = self.runs[self.runs[schema.RUN_ID] == run_id] if len(self.runs) else self.runs
        if len(rows) != 1:
            raise ValueError(f"run_id {run_id!r} is not in the store at {str(self.path)!r}")
        return rows.iloc[0]

    def params(self, run_id: str) -> dict[str, torch.Tensor]:
        """That run's parameters ("W" [n, m], "b" [n], ...), read from its shard's safetensors only."""
        from safetensors import safe_open

        row = self._row(run_id)
        if row[schema.STATUS] != "done":
            raise ValueError(f"run {run_id!r} has no weights: it failed ({row[schema.ERROR]})")
        file = self.path / schema.WEIGHTS_DIR / f"{row[schema.SHARD_ID]}.safetensors"
        if not file.is_file():
            raise FileNotFoundError(f"no weights for run {run_id!r} (missing {str(file)!r})")
        prefix = schema.weight_key(run_id, "")
        with safe_open(str(file), framework="pt") as fh:
            return {k[len(prefix) :]: fh.get_tensor(k) for k in fh.keys() if k.startswith(prefix)}  # noqa: SIM118

    @cached_property
    def _run_params(self) -> dict[str, Any]:
        """run_id → RunParams of this store's sweep.toml, expanded by superscale.grid as it was run."""
        from superscale.config import parse_config
        from superscale.grid import expand_runs

        config = parse_config(self.config, source=str(self.path / schema.SWEEP_FILE))
        return {run.run_id: run for run in expand_runs(config)}

    def feature_probs(self, run_id: str) -> torch.Tensor:
        """The run's p_i (float64 [n]), rebuilt by the grid from the stored config: the one copy of the
        frequency logic, so a stored run always gets the distribution it was trained on."""
        run = self._run_params.get(run_id)
        if run is None:
            raise KeyError(f"run {run_id!r} is not a run of {str(self.path / schema.SWEEP_FILE)!r}")
        return run.probs()

    def summary(self) -> dict[str, Any]:
        """What `superscale ls/show` print: progress, failures, time, devices, versions."""
        runs, manifest = self.runs, self.manifest
        shards = manifest.get("shards", {})
        status = runs[schema.STATUS] if len(runs) else pd.Series([], dtype=str)
        return {
            "path": str(self.path),
            "name": manifest.get("name", self.config.get("name", "")),
            "status": manifest.get("status", "unknown"),
            "config_hash": manifest.get("config_hash", ""),
            "runs_done": int((status == "done").sum()),
            "runs_failed": int((status == "failed").sum()),
            "runs_total": int(manifest.get("n_runs", len(runs))),
            "shards_done": len(shards),
            "shards_total": int(manifest.get("n_shards", len(shards))),
            "train_seconds": float(sum(s.get("seconds", 0.0) for s in shards.values())),
            "devices": sorted({str(s["device"]) for s in shards.values() if "device" in s}),
            "created": manifest.get("created", ""),
            "updated": manifest.get("updated", ""),
            "versions": manifest.get("versions", {}),
            "tables": [
                name
                for name in (
                    schema.RUNS_FILE,
                    schema.CURVES_FILE,
                    schema.METRICS_FILE,
                    schema.FITS_FILE,
                    *schema.EXTRA_TABLES,
                )
                if (self.path / name).is_file()
            ],
        }

    def query(self, sql: str) -> pd.DataFrame:
        """Run DuckDB SQL over views runs, curves, metrics, fits and the extra tables (those present)."""
        import duckdb

        con = duckdb.connect()
        try:
            for view, frame in (("runs", self.runs), ("curves", self.curves)):
                if len(frame):
                    con.register(f"_{view}", frame)
                    con.execute(f"CREATE VIEW {view} AS SELECT * FROM _{view}")
            extra = [(name.removesuffix(".parquet"), name) for name in schema.EXTRA_TABLES]
            for view, name in [("metrics", schema.METRICS_FILE), ("fits", schema.FITS_FILE), *extra]:
                file = self.path / name
                if file.is_file():
                    quoted = str(file).replace("'", "''")
                    con.execute(f"CREATE VIEW {view} AS SELECT * FROM read_parquet('{quoted}')")
            return con.execute(sql).df()
        except duckdb.Error as exc:
            raise ValueError(f"query failed: {exc}") from None
        finally:
            con.close()


def open_store(path: str | Path) -> Store:
    """Open a store for reading; FileNotFoundError if `path` is not one."""
    return Store(path)


load = open_store


# --- writing ------------------------------------------------------------------------------------


class StoreBusyError(FileExistsError):
    """Another process holds the store's lock."""


_OWN_FILES = (schema.SWEEP_FILE, schema.MANIFEST_FILE, schema.RUNS_FILE, schema.CURVES_FILE)
_DERIVED = (schema.METRICS_FILE, schema.FITS_FILE, *schema.EXTRA_TABLES)
_OWN_DIRS = (schema.WEIGHTS_DIR, schema.SHARDS_DIR, schema.REPORT_DIR)


class StoreWriter:
    """The one process writing a store: holds the lock, commits finished shards, merges the tables."""

    def __init__(
        self, path: str | Path, config: SweepConfig, shard_order: list[str], n_runs: int, force: bool = False
    ) -> None:
        self.path = Path(path)
        if self.path.exists() and not self.path.is_dir():
            raise NotADirectoryError(f"--out {str(self.path)!r} exists and is not a directory")
        self.path.mkdir(parents=True, exist_ok=True)
        self._lock_fh = self._acquire_lock()
        try:
            self.config = config
            self.hash = config_hash(config)
            self._prepare(force)
            self.manifest = self._load_manifest(shard_order, n_runs)
            write_json_atomic(self.manifest, self.path / schema.MANIFEST_FILE)
        except BaseException:
            self.close()
            raise

    # lock ---------------------------------------------------------------------------------------
    def _acquire_lock(self) -> Any:
        fh = open(self.path / schema.LOCK_FILE, "a+")  # noqa: SIM115 (held until close)
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "unknown"
            fh.close()
            raise StoreBusyError(
                f"store {str(self.path)!r} is being written by another process (pid {holder}); "
                "wait for it to finish or stop it"
            ) from None
        fh.seek(0)
        fh.truncate()
        fh.write(f"{os.getpid()}\n")
        fh.flush()
        return fh

    def close(self) -> None:
        """Release the lock (the file stays; deleting it would race with a waiting writer)."""
        if self._lock_fh is not None:
            fcntl.flock(self._lock_fh.fileno(), fcntl.LOCK_UN)
            self._lock_fh.close()
            self._lock_fh = None

    def __enter__(self) -> StoreWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # config -------------------------------------------------------------------------------------
    def _prepare(self, force: bool) -> None:
        sweep_file = self.path / schema.SWEEP_FILE
        header = f"superscale sweep {self.config.name!r}, config hash {self.hash}"
        if sweep_file.is_file():
            try:
                stored: SweepConfig | None = load_config(sweep_file)
            except ValueError:
                stored = None
            old_hash = "<unreadable>" if stored is None else config_hash(stored)
            if old_hash == self.hash and stored is not None and stored.analysis != self.config.analysis:
                # new fit windows (outside the hash): the runs stay valid, `analyze` refits with these
                updated = stored.model_copy(update={"analysis": self.config.analysis})
                write_bytes_atomic(dump_toml(updated, header).encode(), sweep_file)
            if old_hash != self.hash:
                if not force:
                    raise ValueError(
                        f"{str(self.path)!r} already holds a different sweep (config hash {old_hash}, this "
                        f"one {self.hash}); choose another --out, or pass --force to delete its results"
                    )
                self._wipe()
        elif any((self.path / name).exists() for name in (schema.MANIFEST_FILE, schema.SHARDS_DIR)):
            if not force:
                raise ValueError(
                    f"{str(self.path)!r} holds a partial store without {schema.SWEEP_FILE}; pass --force"
                )
            self._wipe()
        self._remove_temp_files()
        if not sweep_file.is_file():
            write_bytes_atomic(dump_toml(self.config, header).encode(), sweep_file)

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
        old = json.loads(file.read_text()) if file.is_file() else {}
        shards: dict[str, Any] = old.get("shards", {})
        done = set(self.done_shards())
        # the manifest may lag the files (a crash between rows and manifest) or lead them (never: the
        # manifest is written last); the files are the truth
        shards = {k: v for k, v in shards.items() if k in done}
        for shard_id in done - set(shards):
            shards[shard_id] = {"status": "done", "recovered": True}
        return {
            "format": MANIFEST_FORMAT,
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

    def done_shards(self) -> list[str]:
        """Shards with rows on disk (and weights, where kept); stray parts of others are removed."""
        done = []
        for rows in (self.path / schema.SHARDS_DIR).glob("*.runs.parquet"):
            shard_id = rows.name.removesuffix(".runs.parquet")
            weights = self.path / schema.WEIGHTS_DIR / f"{shard_id}.safetensors"
            if self.config.output.save_weights and not weights.is_file():
                n_done = int((pd.read_parquet(rows, columns=[schema.STATUS])[schema.STATUS] == "done").sum())
                if n_done:
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
        write_parquet_atomic(curves, _shard_file(self.path, shard_id, "curves"))
        write_parquet_atomic(runs, _shard_file(self.path, shard_id, "runs"))
        self.manifest["shards"][shard_id] = {**info, "finished_at": _now()}
        self._write_manifest()

    def _write_manifest(self) -> None:
        self.manifest["updated"] = _now()
        write_json_atomic(self.manifest, self.path / schema.MANIFEST_FILE)

    def merge_tables(self, status: str) -> None:
        """Rebuild runs.parquet and curves.parquet from shards/ (atomically) and set the sweep status."""
        order = [s for s in self.manifest["shard_order"] if s in self.manifest["shards"]]
        for table, name in (("runs", schema.RUNS_FILE), ("curves", schema.CURVES_FILE)):
            frames = [pd.read_parquet(_shard_file(self.path, s, table)) for s in order]
            frames = [f for f in frames if len(f)]
            merged = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
            write_parquet_atomic(merged, self.path / name)
        self.manifest["merged_shards"] = order
        self.manifest["status"] = status
        self._write_manifest()


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
