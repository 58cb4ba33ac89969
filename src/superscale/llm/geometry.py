"""Geometry of an LM head: row norms, φ thresholds, overlaps exact or sampled, vs 1/m and the Welch bound.

All statistics come from `superscale.analysis.metrics` (docs/recipe.md §2, §5.2–5.3); this module only
chooses exact
or sampled pairs (`budget`), runs them on one matrix, and lays the result out as one tidy table row per model.
⟨cos²⟩, raw and with the mean row subtracted, is always exact (Gram identity, O(n m²)); pairs, exact or
sampled, are only needed for ⟨|cos|⟩, max |cos| and var(cos²).
"""

from __future__ import annotations

import logging
import math
import time
from typing import Any, Literal

import pandas as pd
import torch

from superscale.analysis import metrics
from superscale.analysis.metrics._tensor import compute_dtype
from superscale.llm.budget import Method, choose_method, default_sampled_pairs
from superscale.llm.source import Unembedding

log = logging.getLogger(__name__)

DEFAULT_SAMPLED_PAIRS = 1_000_000
LLM_EPS = 1e-9  # the paper's text adds ε = 1e-9 to each norm (recipe §2), so zero (padding) rows give cos 0

# Columns of the geometry table, in order (the plots read these names).
GEOMETRY_COLUMNS = [
    "model", "family", "source", "revision", "step", "tensor", "n_rows", "m", "d_model", "tied",
    "padded_rows_included", "padded_rows", "tokenizer_size", "duplicate_rows", "dtype", "mean_norm",
    "std_norm", "min_norm", "max_norm", "phi_half", "phi_one", "mean_abs_cos", "mean_cos2", "var_abs_cos",
    "std_abs_cos", "var_cos2", "max_abs_cos", "inv_m", "cos2_times_m", "mean_cos2_centered",
    "cos2_times_m_centered", "verdict", "welch_kappa2", "method", "method_reason", "n_pairs", "confidence",
    "mean_abs_cos_ci_low", "mean_abs_cos_ci_high", "mean_cos2_ci_low", "mean_cos2_ci_high", "device",
    "seconds",
]  # fmt: skip
GEOMETRY_KEY = ["model", "source", "revision", "tensor", "n_rows", "method"]
HISTOGRAM_COLUMNS = ["model", "family", "m", "bin_low", "bin_high", "count"]


def default_device() -> torch.device:
    return torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")


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
    """Overlap columns of the table: ⟨cos²⟩ always exact (Gram identity, O(n m²)); ⟨|cos|⟩, max |cos| and
    var(cos²) from all pairs (metrics.overlap_stats) or from `n_pairs` random ones (sampled_overlap_stats)."""
    mean_cos2 = metrics.gram_mean_cos2(W, device=device, eps=eps).mean_cos2
    exact_cos2 = {"mean_cos2": mean_cos2, "mean_cos2_ci_low": mean_cos2, "mean_cos2_ci_high": mean_cos2}
    if method == "exact":
        exact = metrics.overlap_stats(W, block_size=block_size, device=device, eps=eps)
        return {
            "mean_abs_cos": exact.mean_abs_cos,
            "var_abs_cos": max(mean_cos2 - exact.mean_abs_cos**2, 0.0),
            "std_abs_cos": max(mean_cos2 - exact.mean_abs_cos**2, 0.0) ** 0.5,
            "var_cos2": exact.var_cos2,
            "max_abs_cos": exact.max_abs_cos,
            "n_pairs": exact.n_pairs,
            "confidence": float("nan"),
            # exact values: the interval has zero width
            "mean_abs_cos_ci_low": exact.mean_abs_cos,
            "mean_abs_cos_ci_high": exact.mean_abs_cos,
            **exact_cos2,
        }
    generator = torch.Generator().manual_seed(seed)
    W_run = W if device is None else W.to(device)
    chunk = max(1024, 2**24 // W.shape[1])  # ~64 MB of gathered rows per chunk, whatever the width
    est = metrics.sampled_overlap_stats(
        W_run, n_pairs, generator, confidence=confidence, chunk=chunk, eps=eps
    )
    var_abs = max(mean_cos2 - est.mean_abs_cos**2, 0.0)
    return {
        "mean_abs_cos": est.mean_abs_cos,
        "var_abs_cos": var_abs,
        "std_abs_cos": var_abs**0.5,
        "var_cos2": est.var_cos2,
        "max_abs_cos": float("nan"),  # a sample cannot bound the maximum
        "n_pairs": est.n_pairs,
        "confidence": est.confidence,
        "mean_abs_cos_ci_low": est.mean_abs_cos_ci_low,
        "mean_abs_cos_ci_high": est.mean_abs_cos_ci_high,
        **exact_cos2,
    }


def check_measurable(W: torch.Tensor, label: str, block_rows: int = 65536) -> None:
    """Refuse a matrix whose geometry is undefined (ValueError naming `label`): a NaN or ±inf entry makes
    every overlap NaN, and fewer than two non-zero rows have no directions to compare (an all-zero head
    would report ⟨cos²⟩·m = 0, "far below random"). Checked in row blocks: a 150k × 8k head stays cheap."""
    bad_values = bad_rows = nonzero_rows = 0
    for start in range(0, W.shape[0], block_rows):
        block = W[start : start + block_rows]
        finite = torch.isfinite(block)
        bad_values += int((~finite).sum())
        bad_rows += int((~finite).any(dim=1).sum())
        nonzero_rows += int((block != 0).any(dim=1).sum())
    if bad_values:
        raise ValueError(
            f"{label} holds {bad_values:,} non-finite value(s) (NaN or ±inf) in {bad_rows:,} of its "
            f"{W.shape[0]:,} rows: its geometry is undefined (a diverged or damaged checkpoint?)"
        )
    if nonzero_rows < 2:
        raise ValueError(
            f"{label} has {nonzero_rows} non-zero row(s) of {W.shape[0]:,}: no directions to measure"
        )


def measure_geometry(
    emb: Unembedding,
    method: Method = "auto",
    n_pairs: int | None = None,
    seed: int = 0,
    block_size: int = 8192,
    device: torch.device | str | None = None,
    confidence: float = 0.95,
    eps: float = LLM_EPS,
    center: bool = True,
    rate: float | None = None,
) -> dict[str, Any]:
    """One geometry-table row (GEOMETRY_COLUMNS) for the unembedding `emb`."""
    nan = float("nan")
    check_measurable(emb.W, f"the unembedding {emb.tensor!r} of {emb.model}")
    run_device = torch.device(device) if device is not None else default_device()
    W = emb.W
    n_rows, m = emb.n_rows, emb.m
    choice = choose_method(n_rows, m, method, run_device, compute_dtype(W.dtype, run_device), rate=rate)
    pairs = n_pairs if n_pairs is not None else default_sampled_pairs(m)
    start = time.perf_counter()
    norms = metrics.norm_summary(W)
    overlaps = overlap_row(W, choice.method, pairs, seed, block_size, run_device, confidence, eps)
    centered = metrics.gram_mean_cos2(W, device=run_device, eps=eps, center=True).mean_cos2 if center else nan
    seconds = time.perf_counter() - start
    log.info("%s: %s; %d x %d in %.1f s on %s", emb.model, choice.reason, n_rows, m, seconds, run_device)
    row: dict[str, Any] = {
        "model": emb.model,
        "family": emb.family,
        "source": emb.source,
        "revision": emb.revision,  # None (empty in a table) for a local path or the default branch
        "step": emb.step if emb.step is not None else pd.NA,
        "tensor": emb.tensor,
        "n_rows": n_rows,
        "m": m,
        "d_model": emb.d_model if emb.d_model is not None else m,
        "tied": emb.tied,
        "padded_rows_included": emb.padded_rows_included,
        "padded_rows": emb.padded_rows if emb.padded_rows is not None else pd.NA,
        "tokenizer_size": emb.tokenizer_size if emb.tokenizer_size is not None else pd.NA,
        "duplicate_rows": duplicate_rows(W),
        "dtype": str(W.dtype).removeprefix("torch."),
        "mean_norm": norms.mean,
        "std_norm": norms.std,
        "min_norm": norms.min,
        "max_norm": norms.max,
        "phi_half": metrics.phi_half(W),
        "phi_one": metrics.phi_one(W),
        **overlaps,
        "inv_m": metrics.random_vector_cos2_mean(m),
        "mean_cos2_centered": centered,
        "welch_kappa2": metrics.welch_kappa2(n_rows, m),
        "method": choice.method,
        "method_reason": choice.reason
        if choice.method == "exact"
        else f"{choice.reason}; {pairs} pairs drawn",
        "device": run_device.type,
        "seconds": seconds,
    }
    row["cos2_times_m"] = row["mean_cos2"] * m  # 1 for random directions (docs/recipe.md §3.6: ⟨c²⟩ ∝ 1/m)
    row["cos2_times_m_centered"] = centered * m
    row["verdict"] = verdict_vs_inv_m(row["cos2_times_m"], row["cos2_times_m_centered"])
    return {col: row[col] for col in GEOMETRY_COLUMNS}


def duplicate_rows(W: torch.Tensor) -> int:
    """Rows equal to at least one other row (SmolLM2-135M: 15, in 4 groups): each pair of them has |cos| = 1,
    so max |cos| = 1 then says nothing about the rest of the head."""
    _, counts = torch.unique(W, dim=0, return_counts=True)
    return int(counts[counts > 1].sum())


def verdict_vs_inv_m(cos2_times_m: float, cos2_times_m_centered: float) -> str:
    """⟨cos²⟩ against the random-direction value 1/m, on centred rows when measured (the mean row is an
    offset shared by every row, which inflates all overlaps alike), and saying which was used."""
    use_centered = not math.isnan(cos2_times_m_centered)
    ratio = cos2_times_m_centered if use_centered else cos2_times_m
    if not math.isfinite(ratio):  # no verdict on a number that is not one
        raise ValueError(f"⟨cos²⟩·m = {ratio} is not a finite number: no verdict against 1/m")
    basis = "centred rows" if use_centered else "raw rows"
    if 0.5 <= ratio <= 2:
        return f"{basis}: ⟨cos²⟩ = {ratio:.3g}/m, within 2× of random directions (1/m)"
    side = "above" if ratio > 2 else "below"
    return f"{basis}: ⟨cos²⟩ = {ratio:.3g}/m, {side} random directions (1/m) by more than 2×"


def geometry_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Rows as a DataFrame with GEOMETRY_COLUMNS (nullable ints for the optional counts)."""
    frame = pd.DataFrame(rows, columns=GEOMETRY_COLUMNS)
    for col in ("padded_rows", "tokenizer_size", "step"):
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
