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

import json
import logging
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from superscale._checks import read_text
from superscale.store import schema
from superscale.store.archive import dropped_runs
from superscale.store.provenance import versions
from superscale.store.safetensors_check import open_safetensors

if TYPE_CHECKING:  # torch loads with the first weights read or written: `superscale ls` stays light
    import torch

__all__ = ["Store", "StoreTable", "load", "open_store", "versions"]

log = logging.getLogger(__name__)


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
        """The manifest; a damaged one reads as empty with a "damaged" reason (shards/ hold the data)."""
        file = self.path / schema.MANIFEST_FILE
        try:
            manifest = json.loads(read_text(file)) if file.is_file() else {"shards": {}}
        except ValueError as exc:  # JSONDecodeError and non-UTF-8 bytes both
            return {"shards": {}, "damaged": f"{schema.MANIFEST_FILE} unreadable: {exc}"}
        if not isinstance(manifest, dict) or not isinstance(manifest.get("shards", {}), dict):
            return {"shards": {}, "damaged": f"{schema.MANIFEST_FILE} is not a superscale manifest"}
        return manifest

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
        frames = [pd.read_parquet(schema.shard_table_path(self.path, s, name)) for s in done]
        frames = [f for f in frames if len(f)]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

    @cached_property
    def runs(self) -> StoreTable:
        """`store.runs()`: one row per trained model (columns: superscale.store.schema + provenance)."""
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
        """That run's parameters ("W" [n, m], "b" [n], ...), read from its shard's safetensors only (a
        float16 archive copy comes back as float32; a dropped run says how to restore it)."""
        import torch

        row = self._row(run_id)
        if row[schema.STATUS] != "done":
            raise ValueError(f"run {run_id!r} has no weights: it failed ({row[schema.ERROR]})")
        shard = row[schema.SHARD_ID]
        if run_id in dropped_runs(self.path):
            raise FileNotFoundError(
                f"the weights of run {run_id!r} were not kept in this store (slimmed to save space; its "
                f"metrics and row norms are); retrain them exactly: superscale weights restore "
                f"{self.path!s} --shard {shard}"
            )
        file = self.path / schema.WEIGHTS_DIR / f"{shard}.safetensors"
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
        """What `superscale ls/show` print: progress, failures, time, devices, versions."""
        runs, manifest = self.runs, self.manifest
        shards = manifest.get("shards", {})
        status = runs[schema.STATUS] if len(runs) else pd.Series([], dtype=str)
        damaged = manifest.get("damaged")
        return {
            "path": str(self.path),
            "name": manifest.get("name") or self.config.get("name", ""),
            "status": f"damaged ({damaged})" if damaged else manifest.get("status", "unknown"),
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

    def _view_files(self) -> dict[str, list[Path]]:
        """view name → the Parquet files it reads (shards/ while the merged tables are behind)."""
        done = self.done_shards()
        fresh = self.manifest.get("merged_shards") == done
        files: dict[str, list[Path]] = {}
        for view, merged in (("runs", schema.RUNS_FILE), ("curves", schema.CURVES_FILE)):
            if fresh and (self.path / merged).is_file():
                files[view] = [self.path / merged]
            else:
                files[view] = [schema.shard_table_path(self.path, s, view) for s in done]
        extra = [(name.removesuffix(".parquet"), name) for name in schema.EXTRA_TABLES]
        for view, name in [("metrics", schema.METRICS_FILE), ("fits", schema.FITS_FILE), *extra]:
            files[view] = [self.path / name] if (self.path / name).is_file() else []
        return {view: paths for view, paths in files.items() if paths}

    def query(self, sql: str) -> pd.DataFrame:
        """Run read-only DuckDB SQL over views runs, curves, metrics, fits and the extra tables present.

        The views are Arrow datasets over the store's Parquet files, scanned by Arrow; DuckDB itself gets
        no file system (`enable_external_access = false`, then the configuration is locked), so COPY,
        ATTACH, EXPORT, read_csv/read_text of other files and INSTALL/LOAD of extensions are refused.
        """
        import duckdb
        import pyarrow as pa
        import pyarrow.dataset as ds
        import pyarrow.parquet as pq

        con = duckdb.connect(config=_SANDBOX)
        try:
            for view, files in self._view_files().items():
                unified = pa.unify_schemas([pq.read_schema(f) for f in files], promote_options="permissive")
                con.register(view, ds.dataset([str(f) for f in files], schema=unified, format="parquet"))
            return con.execute(sql).df()
        except duckdb.Error as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ValueError(
                f"query failed (queries are read-only over the store's tables): {first}"
            ) from None
        finally:
            con.close()


# DuckDB settings of `Store.query`: no files, no extensions, no Python variables as tables, locked
_SANDBOX: dict[str, str | bool | int | float | list[str]] = {
    "enable_external_access": False,
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
    "python_enable_replacements": False,
    "lock_configuration": True,
}


def open_store(path: str | Path) -> Store:
    """Open a store for reading; FileNotFoundError if `path` is not one."""
    return Store(path)


load = open_store
