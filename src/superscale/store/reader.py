"""The result store: a directory of Parquet tables and safetensors that survives crashes.

Layout (names in `superscale.store.schema`):

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

import logging
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from superscale._checks import read_text
from superscale.store import schema
from superscale.store.archive import dropped_runs
from superscale.store.lock import writer_gone
from superscale.store.manifest import read_manifest
from superscale.store.provenance import versions
from superscale.store.safetensors_check import open_safetensors
from superscale.store.tables import DamagedTable, empty_frame, file_problem, read_table, weights_file

if TYPE_CHECKING:  # torch loads with the first weights read or written: `superscale ls` stays light
    import torch

__all__ = ["DamagedTable", "Store", "StoreTable", "load", "open_store", "versions"]

log = logging.getLogger(__name__)

_MERGED = {"runs": schema.RUNS_FILE, "curves": schema.CURVES_FILE}


# --- reading ------------------------------------------------------------------------------------


class StoreTable(pd.DataFrame):
    """A table of the store that is also its own accessor: `store.runs()` reads like `store.fits()` and
    `store.metrics()`, and `store.runs` (the older spelling) is the same frame."""

    def __call__(self) -> pd.DataFrame:
        return self


class Store:
    """A store on disk, read lazily: tables as pandas (`runs()`, `curves()`, `metrics()`, `fits()`,
    `table(name)`), weights one run at a time (`params`). The public `superscale.Store` adds the report's
    figures by name (`superscale.pipeline.store`)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not (self.path / schema.SWEEP_FILE).is_file():
            raise FileNotFoundError(f"{str(self.path)!r} is not a superscale store (no {schema.SWEEP_FILE})")
        self._damage: dict[str, str] = {}  # what the readers found damaged and worked around, by part

    @cached_property
    def config(self) -> dict[str, Any]:
        import tomllib

        file = self.path / schema.SWEEP_FILE
        try:
            return tomllib.loads(read_text(file))
        except (ValueError, tomllib.TOMLDecodeError) as exc:
            raise ValueError(
                f"{str(file)!r} is damaged ({exc}); `superscale run CONFIG --out {str(self.path)!r}` with "
                "the config that made the store rewrites it and keeps every finished shard"
            ) from None

    @cached_property
    def manifest(self) -> dict[str, Any]:
        """The manifest, every field checked (store.manifest); a damaged one carries a "damaged" reason and
        keeps what is sound (shards/ hold the data)."""
        return read_manifest(self.path / schema.MANIFEST_FILE)

    def done_shards(self) -> list[str]:
        """Shards whose rows are on disk, in plan order where the manifest knows it."""
        files = (self.path / schema.SHARDS_DIR).glob("*.runs.parquet")
        found = {p.name.removesuffix(".runs.parquet") for p in files}
        order = [s for s in self.manifest.get("shard_order", []) if s in found]
        return order + sorted(found - set(order))

    def _sources(self, view: str) -> tuple[list[Path], list[Path] | None]:
        """The files holding the rows of `view` ("runs" or "curves"), and the shards' files to read instead
        should the merged table prove damaged (None when they do not hold every row).

        The merged table is read when it holds every shard on disk; shards/ while it is behind. A merged
        table whose shards/ files are gone (deleted to save space) still holds their rows.
        """
        merged_file = self.path / _MERGED[view]
        done = self.done_shards()
        merged = self.manifest.get("merged_shards", [])
        shards = [schema.shard_table_path(self.path, s, view) for s in done]
        if not merged_file.is_file() or not set(done) <= set(merged):
            return shards, None
        lost = [s for s in merged if s not in set(done)]
        if lost:
            self._damage["shards"] = (
                f"{schema.SHARDS_DIR}/ lacks {len(lost)} of the {len(merged)} merged shard(s), whose rows "
                f"are read from {schema.RUNS_FILE}; `superscale run` restores them"
            )
        fallback = shards if done and not lost else None  # shards/ holds every merged row
        problem = file_problem(merged_file, view)
        if not problem:
            return [merged_file], fallback
        if fallback is None:
            raise DamagedTable(merged_file, f"{problem}; shards/ does not hold all of its rows")
        self._note_fallback(merged_file, problem)
        return fallback, None

    def _note_fallback(self, merged_file: Path, problem: str, read_instead: bool = True) -> None:
        instead = f"; its rows are read from {schema.SHARDS_DIR}/ (`superscale run` rewrites it)"
        self._damage[merged_file.name] = f"{merged_file.name}: {problem}{instead if read_instead else ''}"

    def _table(self, view: str) -> pd.DataFrame:
        merged_file = self.path / _MERGED[view]
        files, fallback = self._sources(view)
        try:
            try:
                frames = [read_table(f, view) for f in files]
            except DamagedTable as exc:
                if fallback is None:
                    raise
                self._note_fallback(exc.path, exc.reason)
                frames = [read_table(f, view) for f in fallback]
        except DamagedTable as exc:
            if merged_file.name in self._damage:  # shards/ was the way round a damaged merged table: not so
                problem = self._damage[merged_file.name].split("; its rows are read")[0]
                self._damage[merged_file.name] = problem
            if exc.path.parent.name == schema.SHARDS_DIR:
                raise DamagedTable(exc.path, f"{exc.reason}; `superscale run` retrains that shard") from None
            raise
        rows = [f for f in frames if len(f)]
        if rows:
            return pd.concat(rows, ignore_index=True) if len(rows) > 1 else rows[0]
        return frames[0] if frames else empty_frame(view)  # no rows: the columns still there

    @cached_property
    def runs(self) -> StoreTable:
        """`store.runs()`: one row per trained model (columns: superscale.store.schema + provenance)."""
        return StoreTable(self._table("runs"))

    @cached_property
    def curves(self) -> StoreTable:
        """`store.curves()`: loss every k steps per run: run_id, step, loss (summed scale)."""
        return StoreTable(self._table("curves"))

    def _derived(self, name: str, kind: str) -> pd.DataFrame | None:
        file = self.path / name
        if not file.is_file():
            return None
        try:
            return read_table(file, kind)
        except DamagedTable as exc:
            raise ValueError(f"{exc}; `superscale analyze --force {str(self.path)!r}` rewrites it") from None

    def metrics(self) -> pd.DataFrame | None:
        """One row per analysed run (`superscale analyze`), None before the analysis."""
        return self._derived(schema.METRICS_FILE, "metrics")

    def fits(self) -> pd.DataFrame | None:
        """The α_m fits per group, kind and scope (`superscale analyze`), None before the analysis."""
        return self._derived(schema.FITS_FILE, "fits")

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
        return self._derived(name, name.removesuffix(".parquet"))

    def _row(self, run_id: str) -> pd.Series:
        rows = self.runs[self.runs[schema.RUN_ID] == run_id] if len(self.runs) else self.runs
        if len(rows) != 1:
            raise ValueError(f"run_id {run_id!r} is not in the store at {str(self.path)!r}")
        return rows.iloc[0]

    def params(self, run_id: str) -> dict[str, torch.Tensor]:
        """That run's parameters ("W" [n, m], "b" [n], ...), read from its shard's safetensors only (a
        float16 archive copy comes back as float32; a dropped run says how to restore it)."""
        import torch

        row = self._row(run_id)
        if row[schema.STATUS] != "done":
            raise ValueError(f"run {run_id!r} has no weights: it failed ({row.get(schema.ERROR, '')})")
        shard = row[schema.SHARD_ID]
        if run_id in dropped_runs(self.path):
            raise FileNotFoundError(
                f"the weights of run {run_id!r} were not kept in this store (slimmed to save space; its "
                f"metrics and row norms are); retrain them exactly: superscale weights restore "
                f"{self.path!s} --shard {shard}"
            )
        file = weights_file(self.path, shard)  # a checked name: never a path out of the store
        if not file.is_file():
            raise FileNotFoundError(f"no weights for run {run_id!r} (missing {str(file)!r})")
        prefix = schema.weight_key(run_id, "")
        with open_safetensors(file) as fh:
            params = {k[len(prefix) :]: fh.get_tensor(k) for k in fh.keys() if k.startswith(prefix)}  # noqa: SIM118
        if not params:
            raise ValueError(f"{str(file)!r} holds no weights of run {run_id!r}")
        if any(p.dtype == torch.float16 for p in params.values()):
            # a float16 archive copy (store.archive): read as float32; metrics came from float32 before
            log.debug("run %s: weights are a float16 copy, returned as float32", run_id)
            params = {k: p.float() if p.dtype == torch.float16 else p for k, p in params.items()}
        return params

    @cached_property
    def _run_params(self) -> dict[str, Any]:
        """run_id → RunParams of this store's sweep.toml, expanded by superscale.config.grid as it was run."""
        from superscale.config import parse_config
        from superscale.config.grid import expand_runs

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
        """What `superscale ls/show` print: progress, failures, time, devices, versions. A damaged part is
        named in the status ("damaged (reason)"), never raised: `ls` of many stores shows every one."""
        manifest = self.manifest
        try:
            runs: pd.DataFrame = self.runs
            unreadable = ""
        except DamagedTable as exc:
            runs, unreadable = empty_frame("runs"), f"{exc.path.name}: {exc.reason}"
        shards = manifest.get("shards", {})
        status = runs[schema.STATUS]
        reasons = [r for r in (manifest.get("damaged"), unreadable, *self._damage.values()) if r]
        state = manifest.get("status", "unknown")
        if state == "running" and writer_gone(self.path):  # kill -9, a lost machine: nobody holds it
            state = "interrupted (process gone)"
        return {
            "path": str(self.path),
            "name": manifest.get("name") or self.config.get("name", ""),
            "status": f"damaged ({'; '.join(reasons)})" if reasons else state,
            "config_hash": manifest.get("config_hash", ""),
            "runs_done": int((status == "done").sum()),
            "runs_failed": int((status == "failed").sum()),
            "runs_total": int(manifest.get("n_runs", len(runs))),
            "shards_done": len(set(shards) | set(self.done_shards())),
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

    def view_files(self) -> dict[str, list[Path]]:
        """view name → the Parquet files it reads (shards/ while the merged tables are behind); runs and
        curves are always there, with no files when nothing finished."""
        files: dict[str, list[Path]] = {view: self._sources(view)[0] for view in _MERGED}
        extra = [(name.removesuffix(".parquet"), name) for name in schema.EXTRA_TABLES]
        for view, name in [("metrics", schema.METRICS_FILE), ("fits", schema.FITS_FILE), *extra]:
            if (self.path / name).is_file():
                files[view] = [self.path / name]
        return files

    def query(self, sql: str) -> pd.DataFrame:
        """Run read-only DuckDB SQL over views runs, curves, metrics, fits and the extra tables present
        (`superscale.store.query`: Arrow scans the files, DuckDB gets no file system)."""
        from superscale.store.query import query_store

        return query_store(self, sql)


def open_store(path: str | Path) -> Store:
    """Open a store for reading; FileNotFoundError if `path` is not one."""
    return Store(path)


load = open_store
