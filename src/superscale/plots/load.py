"""Build the figures' `FigureData` from a result directory: the store's tables, weights read lazily,
LLM tables where present, and the shipped paper tables (digitised losses, overlaps, Chinchilla)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from superscale.plots.data import FigureData, LLMData, WidthFit
from superscale.store import schema

log = logging.getLogger(__name__)

# LLM result tables the report looks for inside DIR (written by the `superscale llm` commands)
LLM_GEOMETRY_FILES = tuple(schema.LLM_GEOMETRY_FILE + suffix for suffix in schema.TABLE_SUFFIXES)
LLM_LOSSES_FILES = tuple(schema.LLM_LOSSES_FILE + suffix for suffix in schema.TABLE_SUFFIXES)
LLM_HISTOGRAM_FILES = tuple(schema.LLM_HISTOGRAM_FILE + suffix for suffix in schema.TABLE_SUFFIXES)
TOKEN_FREQ_FILES = tuple(schema.TOKEN_FREQ_FILE + suffix for suffix in schema.TABLE_SUFFIXES)
DIGITIZED_SOURCE = "digitised from Liu et al. 2025, approximate"


class LazyRunArrays(Mapping[str, np.ndarray]):
    """run_id → array, computed on first access and cached: figures read only the runs they draw."""

    def __init__(self, run_ids: set[str], load: Callable[[str], np.ndarray]) -> None:
        self._ids = run_ids
        self._load = load
        self._cache: dict[str, np.ndarray] = {}

    def __getitem__(self, run_id: str) -> np.ndarray:
        if run_id not in self._ids:
            raise KeyError(run_id)
        if run_id not in self._cache:
            self._cache[run_id] = self._load(run_id)
        return self._cache[run_id]

    def __contains__(self, run_id: object) -> bool:
        return run_id in self._ids

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._ids))

    def __len__(self) -> int:
        return len(self._ids)


class NothingToReport(FileNotFoundError):
    """A directory without a store or LLM tables (the report may still find other sections' results)."""


def _first_table(folder: Path, names: tuple[str, ...]) -> pd.DataFrame | None:
    for name in names:
        path = folder / name
        if path.is_file():
            return pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
    return None


def _named_family(table: pd.DataFrame | None) -> pd.DataFrame | None:
    """A model without a known family (a local checkpoint without `model_type`) gets "" from
    `superscale llm geometry`, which a CSV reads back as NaN: group those under "other", not "nan"."""
    if table is None or "family" not in table:
        return table
    family = table["family"].astype("string").fillna("").str.strip()
    return table.assign(family=family.where(family != "", "other").astype(str))


def _measured_losses(table: pd.DataFrame | None) -> pd.DataFrame | None:
    """Loss rows the width fit can use: `superscale llm eval` leaves m empty when it cannot read the
    width from the model's config."""
    if table is None or not {"m", "loss"} <= set(table.columns):
        return table
    return _named_family(table.dropna(subset=["m", "loss"]).reset_index(drop=True))


def load_llm_data(folder: Path) -> LLMData:
    """Measured LLM tables from `folder` where present; otherwise the paper's digitised data, labelled so."""
    from superscale.llm.catalog import (
        load_catalog,
        load_chinchilla_shapes,
        load_digitized_losses,
        load_digitized_overlaps,
    )
    from superscale.llm.widthfit import fit_width_table

    losses = _measured_losses(_first_table(folder, LLM_LOSSES_FILES))
    losses_source = "measured"
    if losses is None or losses.empty:
        losses, losses_source = load_digitized_losses(), DIGITIZED_SOURCE
    try:
        # the paper's L = A m^-α + B_{family/dataset} (§5.5), fitted in `superscale.llm.widthfit`
        fit = fit_width_table(losses, n_bootstrap=20, compare_per_group=False).fit
        width_fit: WidthFit | None = WidthFit(
            exponent=fit.exponent, exponent_se=fit.exponent_se_paper, C=fit.A, offsets=dict(fit.offsets)
        )
    except ValueError as exc:
        log.warning("LLM width fit skipped: %s", exc)
        width_fit = None
    catalog = load_catalog()
    return LLMData(
        geometry=_named_family(_first_table(folder, LLM_GEOMETRY_FILES)),
        losses=losses,
        losses_source=losses_source,
        width_fit=width_fit,
        norm_histogram=_named_family(_first_table(folder, LLM_HISTOGRAM_FILES)),
        paper_overlaps=load_digitized_overlaps(),
        token_freq=_first_table(folder, TOKEN_FREQ_FILES),
        models=catalog[["family", "model", "d_model", "n_params"]],
        chinchilla=load_chinchilla_shapes(),
    )


LLM_TABLES = (LLM_GEOMETRY_FILES, LLM_LOSSES_FILES, LLM_HISTOGRAM_FILES, TOKEN_FREQ_FILES)


def has_llm_tables(folder: Path) -> bool:
    """Whether `folder` holds any measured LLM table (without one the LLM figures show only paper data)."""
    return any((folder / name).is_file() for names in LLM_TABLES for name in names)


def load_figure_data(folder: str | Path) -> FigureData:
    """Everything the figures need from result directory `folder` (a store, LLM tables, or both)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{str(folder)!r} is not a directory")
    if not (folder / schema.SWEEP_FILE).is_file():
        if not has_llm_tables(folder):
            raise NothingToReport(
                f"{str(folder)!r} holds nothing to report: no superscale store ({schema.SWEEP_FILE}), "
                f"no LLM tables ({', '.join(name[0] for name in LLM_TABLES)})"
            )
        return FigureData(llm=load_llm_data(folder))
    llm = load_llm_data(folder)
    from superscale.analysis.metrics import row_norms
    from superscale.store import open_store
    from superscale.store.archive import dropped_runs

    store = open_store(folder)
    runs = store.runs()
    # row norms: from row_norms.parquet where a slimmed store keeps them (store.archive), else the weights
    table = store.table(schema.ROW_NORMS_FILE)
    stored = {} if table is None else dict(zip(table[schema.RUN_ID], table[schema.ROW_NORMS], strict=True))
    dropped = dropped_runs(folder)
    with_weights: set[str] = set(stored)
    if not runs.empty:
        for shard, sub in runs.groupby(schema.SHARD_ID):
            if (folder / schema.WEIGHTS_DIR / f"{shard}.safetensors").is_file():
                with_weights.update(str(r) for r in sub[schema.RUN_ID] if r not in dropped)

    def norms(run_id: str) -> np.ndarray:
        if run_id in stored:
            return np.array(stored[run_id], dtype=np.float64)
        return row_norms(store.params(run_id)["W"]).double().numpy()

    def probs(run_id: str) -> np.ndarray:
        return store.feature_probs(run_id).double().numpy()

    return FigureData(
        runs=runs,
        metrics=store.metrics(),
        fits=store.fits(),
        curves=store.curves(),
        norms=LazyRunArrays(with_weights, norms),
        probs=LazyRunArrays({str(r) for r in runs.get(schema.RUN_ID, [])}, probs),
        config=store.config,
        llm=llm,
    )
