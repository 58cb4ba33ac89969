"""Geometry of an LM head: row norms, φ thresholds, overlaps exact or sampled, vs 1/m and the Welch bound.

All statistics come from `superscale.metrics` (docs/recipe.md §2, §5.2–5.3); this module only chooses exact
or sampled, runs them on one matrix, and lays the result out as one tidy table row per model.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Literal

import pandas as pd
import torch

from superscale import metrics
from superscale.llm.source import Unembedding

log = logging.getLogger(__name__)

Method = Literal["exact", "sampled", "auto"]

# `auto` goes exact on CPU up to this many multiply-adds (pairs × m): about a minute on 2 cores.
EXACT_CPU_BUDGET = 2e13
DEFAULT_SAMPLED_PAIRS = 1_000_000
LLM_EPS = 1e-9  # the paper's text adds ε = 1e-9 to each norm (recipe §2), so zero (padding) rows give cos 0

# Columns of the geometry table, in order (the plots read these names).
GEOMETRY_COLUMNS = [
    "model", "family", "source", "tensor", "n_rows", "m", "d_model", "tied", "padded_rows_included",
    "padded_rows", "tokenizer_size", "dtype", "mean_norm", "std_norm", "min_norm", "max_norm", "phi_half",
    "phi_one", "mean_abs_cos", "mean_cos2", "var_abs_cos", "std_abs_cos", "var_cos2", "max_abs_cos",
    "inv_m", "cos2_times_m", "welch_kappa2", "method", "n_pairs", "confidence", "mean_abs_cos_ci_low",
    "mean_abs_cos_ci_high", "mean_cos2_ci_low", "mean_cos2_ci_high", "device", "seconds",
]  # fmt: skip
GEOMETRY_KEY = ["model", "source", "tensor", "n_rows", "method"]
HISTOGRAM_COLUMNS = ["model", "family", "m", "bin_low", "bin_high", "count"]


def default_device() -> torch.device:
    return torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")


def choose_method(n_rows: int, m: int, method: Method, device: torch.device) -> Literal["exact", "sampled"]:
    """`auto`: exact on a GPU, or on a CPU when pairs × m is within EXACT_CPU_BUDGET; otherwise sampled."""
    if method not in ("exact", "sampled", "auto"):
        raise ValueError(f"method must be 'exact', 'sampled' or 'auto', got {method!r}")
    if method != "auto":
        return method
    work = n_rows * (n_rows - 1) / 2 * m
    return "exact" if device.type == "cuda" or work <= EXACT_CPU_BUDGET else "sampled"


def overlap_row(
    W: torch.Tensor,
    method: Literal["exact", "sampled"],
    n_pairs: int = DEFAULT_SAMPLED_PAIRS,
    seed: int = 0,
    block_size: int = 8192,
    device: torch.device | None = None,
    confidence: float = 0.95,
    eps: float = LLM_EPS,
) -> dict[str, Any]:
    """Overlap columns of the table from metrics.overlap_stats (exact) or sampled_overlap_stats."""
    if method == "exact":
        exact = metrics.overlap_stats(W, block_size=block_size, device=device, eps=eps)
        return {
            "mean_abs_cos": exact.mean_abs_cos,
            "mean_cos2": exact.mean_cos2,
            "var_abs_cos": exact.std_abs_cos**2,
            "std_abs_cos": exact.std_abs_cos,
            "var_cos2": exact.var_cos2,
            "max_abs_cos": exact.max_abs_cos,
            "n_pairs": exact.n_pairs,
            "confidence": float("nan"),
            # exact values: the interval has zero width
            "mean_abs_cos_ci_low": exact.mean_abs_cos,
            "mean_abs_cos_ci_high": exact.mean_abs_cos,
            "mean_cos2_ci_low": exact.mean_cos2,
            "mean_cos2_ci_high": exact.mean_cos2,
        }
    generator = torch.Generator().manual_seed(seed)
    W_run = W if device is None else W.to(device)
    est = metrics.sampled_overlap_stats(W_run, n_pairs, generator, confidence=confidence, eps=eps)
    var_abs = max(est.mean_cos2 - est.mean_abs_cos**2, 0.0)
    return {
        "mean_abs_cos": est.mean_abs_cos,
        "mean_cos2": est.mean_cos2,
        "var_abs_cos": var_abs,
        "std_abs_cos": var_abs**0.5,
        "var_cos2": est.var_cos2,
        "max_abs_cos": float("nan"),  # a sample cannot bound the maximum
        "n_pairs": est.n_pairs,
        "confidence": est.confidence,
        "mean_abs_cos_ci_low": est.mean_abs_cos_ci_low,
        "mean_abs_cos_ci_high": est.mean_abs_cos_ci_high,
        "mean_cos2_ci_low": est.mean_cos2_ci_low,
        "mean_cos2_ci_high": est.mean_cos2_ci_high,
    }


def measure_geometry(
    emb: Unembedding,
    method: Method = "auto",
    n_pairs: int = DEFAULT_SAMPLED_PAIRS,
    seed: int = 0,
    block_size: int = 8192,
    device: torch.device | str | None = None,
    confidence: float = 0.95,
    eps: float = LLM_EPS,
) -> dict[str, Any]:
    """One geometry-table row (GEOMETRY_COLUMNS) for the unembedding `emb`."""
    run_device = torch.device(device) if device is not None else default_device()
    W = emb.W
    n_rows, m = emb.n_rows, emb.m
    chosen = choose_method(n_rows, m, method, run_device)
    start = time.perf_counter()
    norms = metrics.norm_summary(W)
    overlaps = overlap_row(W, chosen, n_pairs, seed, block_size, run_device, confidence, eps)
    seconds = time.perf_counter() - start
    log.info("%s: %s overlaps of %d x %d in %.1f s on %s", emb.model, chosen, n_rows, m, seconds, run_device)
    row: dict[str, Any] = {
        "model": emb.model,
        "family": emb.family,
        "source": emb.source,
        "tensor": emb.tensor,
        "n_rows": n_rows,
        "m": m,
        "d_model": emb.d_model if emb.d_model is not None else m,
        "tied": emb.tied,
        "padded_rows_included": emb.padded_rows_included,
        "padded_rows": emb.padded_rows if emb.padded_rows is not None else pd.NA,
        "tokenizer_size": emb.tokenizer_size if emb.tokenizer_size is not None else pd.NA,
        "dtype": str(W.dtype).removeprefix("torch."),
        "mean_norm": norms.mean,
        "std_norm": norms.std,
        "min_norm": norms.min,
        "max_norm": norms.max,
        "phi_half": metrics.phi_half(W),
        "phi_one": metrics.phi_one(W),
        **overlaps,
        "inv_m": metrics.random_vector_cos2_mean(m),
        "welch_kappa2": metrics.welch_kappa2(n_rows, m),
        "method": chosen,
        "device": run_device.type,
        "seconds": seconds,
    }
    row["cos2_times_m"] = row["mean_cos2"] * m  # 1 for random directions (docs/recipe.md §3.6: ⟨c²⟩ ∝ 1/m)
    return {col: row[col] for col in GEOMETRY_COLUMNS}


def geometry_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Rows as a DataFrame with GEOMETRY_COLUMNS (nullable ints for the optional counts)."""
    frame = pd.DataFrame(rows, columns=GEOMETRY_COLUMNS)
    for col in ("padded_rows", "tokenizer_size"):
        frame[col] = frame[col].astype("Int64")
    return frame


def norm_histogram_frame(emb: Unembedding, bins: int = 50) -> pd.DataFrame:
    """Tidy histogram of the row norms (Fig. 19): one row per bin."""
    counts, edges = metrics.norm_histogram(emb.W, bins=bins)
    return pd.DataFrame(
        {
            "model": emb.model,
            "family": emb.family,
            "m": emb.m,
            "bin_low": edges[:-1],
            "bin_high": edges[1:],
            "count": counts.astype("int64"),
        },
        columns=HISTOGRAM_COLUMNS,
    )
