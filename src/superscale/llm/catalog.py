"""The shipped reference tables for the LLM analysis: the 27 models of Liu et al. and the digitised figures.

Sources (see /work/shared/data/README.md): `llm_models.csv` comes from each model's config.json and the
authors' analysis scripts (exact); the two `liu2025_*_digitized.csv` tables are read off the paper's figures
(approximate, ±0.01–0.02 nats); `chinchilla_table_a9.csv` is Table A9 of Hoffmann et al. (2022).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from importlib import resources

import pandas as pd

log = logging.getLogger(__name__)

MODELS_FILE = "llm_models.csv"
LOSSES_FILE = "liu2025_llm_loss_digitized.csv"
OVERLAPS_FILE = "liu2025_lm_head_overlap_digitized.csv"
CHINCHILLA_FILE = "chinchilla_table_a9.csv"

# Printed next to every use of the digitised tables, so nobody mistakes them for measurements.
DIGITIZED_NOTE = "approximate: digitised from the figures of Liu et al. (2025), ±0.01–0.02"


def read_data_file(name: str) -> pd.DataFrame:
    """Read one of the CSV tables shipped in `superscale/data_files`."""
    ref = resources.files("superscale").joinpath("data_files", name)
    if not ref.is_file():
        raise FileNotFoundError(f"data file {name!r} is not shipped in superscale/data_files")
    with ref.open("r", encoding="utf-8") as handle:
        return pd.read_csv(handle)


def load_catalog() -> pd.DataFrame:
    """The 27-model table: family, model, hf_id, d_model, lm_head_width, vocab_rows, n_layers, n_params,
    tied_head, lm_head_tensor, checkpoint_file."""
    table = read_data_file(MODELS_FILE)
    table["tied_head"] = table["tied_head"].astype(bool)
    return table


def load_digitized_losses(usable_only: bool = True) -> pd.DataFrame:
    """Per-token losses of the 27 models on 4 datasets read off the paper's figure (approximate).

    Adds a `loss` column (the digitised value) so the table is directly a `llm fit` input. With
    `usable_only`, rows whose marker is hidden in the figure (no value) are dropped.
    """
    table = read_data_file(LOSSES_FILE)
    table["loss"] = table["loss_digitized"]
    if usable_only:
        table = table[table["loss"].notna()].reset_index(drop=True)
    return table


def load_digitized_overlaps(usable_only: bool = True) -> pd.DataFrame:
    """LM-head ⟨cos²⟩ vs 1/m read off the paper's overlap figure (approximate), for overlaying."""
    table = read_data_file(OVERLAPS_FILE)
    if usable_only:
        table = table[table["mean_square_overlap_digitized"].notna()].reset_index(drop=True)
    return table


def load_chinchilla_shapes() -> pd.DataFrame:
    """The 50 Chinchilla model shapes of Hoffmann et al. (2022), Table A9 (params in millions)."""
    return read_data_file(CHINCHILLA_FILE)


@dataclass(frozen=True)
class CatalogEntry:
    """One row of the model table: where the unembedding of a named model lives and how wide it is."""

    family: str
    model: str
    hf_id: str
    d_model: int
    lm_head_width: int
    vocab_rows: int
    n_layers: int
    n_params: int
    tied_head: bool
    lm_head_tensor: str
    checkpoint_file: str


def find_model(name: str) -> CatalogEntry | None:
    """Look `name` up by short name ("pythia-70m") or hub id ("EleutherAI/pythia-70m"), case-insensitively."""
    table = load_catalog()
    key = name.strip().lower()
    hit = table[(table["model"].str.lower() == key) | (table["hf_id"].str.lower() == key)]
    if hit.empty:
        return None
    row = hit.iloc[0]
    return CatalogEntry(
        family=str(row["family"]),
        model=str(row["model"]),
        hf_id=str(row["hf_id"]),
        d_model=int(row["d_model"]),
        lm_head_width=int(row["lm_head_width"]),
        vocab_rows=int(row["vocab_rows"]),
        n_layers=int(row["n_layers"]),
        n_params=int(row["n_params"]),
        tied_head=bool(row["tied_head"]),
        lm_head_tensor=str(row["lm_head_tensor"]),
        checkpoint_file=str(row["checkpoint_file"]),
    )
