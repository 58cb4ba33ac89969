"""Overlaps c_ij = Ŵ_i·Ŵ_j of normalised rows, exact (blocked GEMM) or sampled (docs/recipe.md §2, §5.2).

The exact path never forms the n×n matrix: it walks block pairs (I, J ≥ I) of `block_size` rows, keeps
the strict upper triangle on the diagonal blocks, and accumulates Σ|c|, Σc², Σc⁴ and max|c| in float64.
A 152 000 × 8192 head is 19 × 20 / 2 block pairs of 8192 × 8192.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
from scipy import stats

from superscale.analysis.metrics._tensor import ArrayLike, as_matrix, compute_dtype, select_rows
from superscale.analysis.metrics.norms import row_norms


@dataclass(frozen=True)
class OverlapStats:
    """Exact statistics over all unordered pairs i < j of the chosen rows.

    mean_cos2 = mean_abs_cos² + var(|c|) = ⟨c²⟩ is the paper's "mean square overlap" (Fig. 6a);
    var_cos2 is the variance of c² over pairs (Fig. 5c, before dividing by the random value).
    """

    mean_abs_cos: float
    mean_cos2: float
    var_cos2: float
    max_abs_cos: float
    std_abs_cos: float
    n_rows: int
    n_pairs: int


def _check_norms(norms: torch.Tensor, eps: float) -> None:
    if eps == 0 and bool((norms == 0).any()):
        raise ValueError(
            f"W has {int((norms == 0).sum())} zero rows, whose direction is undefined; "
            "pass rows= to exclude them or eps > 0 (the paper's LLM text uses 1e-9)"
        )


def overlap_stats(
    W: ArrayLike,
    rows: Any = None,
    block_size: int = 8192,
    device: torch.device | str | None = None,
    eps: float = 0.0,
) -> OverlapStats:
    """Exact |cos| / cos² statistics over all pairs i < j of rows (all, or a mask / index subset).

    The GEMMs run in W's dtype on GPU (float32 for half types on CPU), as the paper's LLM code; squares
    are taken in at least float32 and every sum is accumulated in float64. Use float64 W for
    reference-exact values.
    """
    if block_size < 1:
        raise ValueError(f"block_size must be >= 1, got {block_size}")
    W = as_matrix(W)
    run_device = torch.device(device) if device is not None else W.device
    idx = select_rows(rows, W.shape[0])
    k = idx.numel()
    if k < 2:
        raise ValueError(f"overlap statistics need at least 2 rows, got {k}")
    norms = row_norms(W)[idx.to(W.device)].to(run_device)
    _check_norms(norms, eps)
    local = torch.arange(k)
    dtype = compute_dtype(W.dtype, run_device)
    # rows are gathered and normalised block by block: no normalised copy of the whole matrix
    sum_abs = torch.zeros((), dtype=torch.float64, device=run_device)
    sum_c2 = torch.zeros_like(sum_abs)
    sum_c4 = torch.zeros_like(sum_abs)
    max_abs = torch.zeros_like(sum_abs)
    for i0 in range(0, k, block_size):
        block_i = local[i0 : i0 + block_size]
        A = _gather(W, idx, block_i, norms, dtype, eps, run_device)
        for j0 in range(i0, k, block_size):
            if j0 == i0:
                G = torch.triu(A @ A.T, diagonal=1)  # strict upper triangle: pairs i < j only
            else:
                B = _gather(W, idx, local[j0 : j0 + block_size], norms, dtype, eps, run_device)
                G = A @ B.T
            G = G.abs().float() if G.dtype in (torch.float16, torch.bfloat16) else G.abs()  # squares in fp32+
            c2 = G * G
            sum_abs += G.sum(dtype=torch.float64)
            sum_c2 += c2.sum(dtype=torch.float64)
            sum_c4 += (c2 * c2).sum(dtype=torch.float64)
            max_abs = torch.maximum(max_abs, G.max().to(torch.float64))
    n_pairs = k * (k - 1) // 2
    mean_abs = float(sum_abs) / n_pairs
    mean_c2 = float(sum_c2) / n_pairs
    var_c2 = max(float(sum_c4) / n_pairs - mean_c2 * mean_c2, 0.0)
    return OverlapStats(
        mean_abs_cos=mean_abs,
        mean_cos2=mean_c2,
        var_cos2=var_c2,
        max_abs_cos=float(max_abs),
        std_abs_cos=math.sqrt(max(mean_c2 - mean_abs * mean_abs, 0.0)),
        n_rows=k,
        n_pairs=n_pairs,
    )


def _gather(
    W: torch.Tensor,
    idx: torch.Tensor,
    block: torch.Tensor,
    norms: torch.Tensor,
    dtype: torch.dtype,
    eps: float,
    device: torch.device,
) -> torch.Tensor:
    """Normalised rows idx[block] of W as a [len(block), m] tensor of `dtype` on `device`."""
    rows = W[idx[block].to(W.device)].to(device=device, dtype=dtype)
    scale = (norms[block.to(norms.device)] + eps).to(dtype)
    return rows / scale.unsqueeze(1)


@dataclass(frozen=True)
class SampledOverlapStats:
    """Unbiased random-pair estimates with normal-approximation confidence intervals."""

    mean_abs_cos: float
    mean_abs_cos_se: float
    mean_abs_cos_ci_low: float
    mean_abs_cos_ci_high: float
    mean_cos2: float
    mean_cos2_se: float
    mean_cos2_ci_low: float
    mean_cos2_ci_high: float
    var_cos2: float
    n_pairs: int
    n_rows: int
    confidence: float


def sampled_overlap_stats(
    W: ArrayLike,
    n_pairs: int,
    generator: torch.Generator,
    rows: Any = None,
    confidence: float = 0.95,
    chunk: int = 65536,
    eps: float = 0.0,
) -> SampledOverlapStats:
    """Estimate mean |cos| and mean cos² from `n_pairs` pairs drawn uniformly (with replacement) among i < j.

    i is uniform and j = i + U{1..k-1} (mod k), so each ordered pair i ≠ j, hence each unordered pair,
    is equally likely: the sample means are unbiased for the all-pairs means of `overlap_stats`.
    """
    if n_pairs < 2:
        raise ValueError(f"n_pairs must be >= 2, got {n_pairs}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must lie in (0, 1), got {confidence}")
    W = as_matrix(W)
    idx = select_rows(rows, W.shape[0])
    k = idx.numel()
    if k < 2:
        raise ValueError(f"overlap statistics need at least 2 rows, got {k}")
    norms = row_norms(W)[idx.to(W.device)]  # norms of the selected rows, indexed like `idx`
    _check_norms(norms, eps)
    first = torch.randint(0, k, (n_pairs,), generator=generator)
    second = (first + torch.randint(1, k, (n_pairs,), generator=generator)) % k
    dtype = compute_dtype(W.dtype, W.device)
    abs_parts, c2_parts = [], []
    for start in range(0, n_pairs, chunk):
        i, j = first[start : start + chunk], second[start : start + chunk]
        dots = (W[idx[i].to(W.device)].to(dtype) * W[idx[j].to(W.device)].to(dtype)).sum(dim=1)
        scale = (norms[i.to(norms.device)] + eps) * (norms[j.to(norms.device)] + eps)
        c = (dots.to(torch.float64) / scale).abs()  # normalise the pair, not the rows: half the passes
        abs_parts.append(c)
        c2_parts.append(c * c)
    abs_c = torch.cat(abs_parts)
    c2 = torch.cat(c2_parts)
    z = float(stats.norm.ppf(0.5 + confidence / 2))
    mean_abs, mean_c2 = float(abs_c.mean()), float(c2.mean())
    se_abs = float(abs_c.std()) / math.sqrt(n_pairs)
    se_c2 = float(c2.std()) / math.sqrt(n_pairs)
    return SampledOverlapStats(
        mean_abs_cos=mean_abs,
        mean_abs_cos_se=se_abs,
        mean_abs_cos_ci_low=mean_abs - z * se_abs,
        mean_abs_cos_ci_high=mean_abs + z * se_abs,
        mean_cos2=mean_c2,
        mean_cos2_se=se_c2,
        mean_cos2_ci_low=mean_c2 - z * se_c2,
        mean_cos2_ci_high=mean_c2 + z * se_c2,
        var_cos2=float(c2.var()),
        n_pairs=n_pairs,
        n_rows=k,
        confidence=confidence,
    )


@dataclass(frozen=True)
class GramCos2:
    """Exact ⟨cos²⟩ over all pairs i < j from the m × m Gram matrix of the normalised rows."""

    mean_cos2: float
    n_rows: int
    n_pairs: int


def gram_mean_cos2(
    W: ArrayLike,
    rows: Any = None,
    block_size: int = 8192,
    col_block: int = 1024,
    device: torch.device | str | None = None,
    eps: float = 0.0,
    center: bool = False,
) -> GramCos2:
    """Exact mean squared overlap in O(n m²) instead of O(n² m), through the Gram identity

        Σ_{i≠j} c_ij² = ‖ÛᵀÛ‖_F² − Σ_i ‖û_i‖⁴      (‖ÛᵀÛ‖_F = ‖ÛÛᵀ‖_F; Û the normalised rows)

    ÛᵀÛ is summed over row blocks in float64; only its upper column blocks are formed (it is symmetric),
    so a 152 064 × 8192 head costs ~0.56 × n m² multiply-adds and an m × m float64 matrix, no n × n one.
    The GEMMs run in the dtype of `overlap_stats` (float32 for half types on CPU). `center` subtracts the
    mean row first (the shared offset that inflates every overlap of an LM head).
    """
    W = as_matrix(W)
    if block_size < 1 or col_block < 1:
        raise ValueError(f"block_size and col_block must be >= 1, got {block_size}, {col_block}")
    run_device = torch.device(device) if device is not None else W.device
    idx = select_rows(rows, W.shape[0])
    k, m = idx.numel(), W.shape[1]
    if k < 2:
        raise ValueError(f"overlap statistics need at least 2 rows, got {k}")
    dtype = compute_dtype(W.dtype, run_device)
    mean_row = _mean_row(W, idx, block_size, run_device) if center else None
    cols = [(c0, min(c0 + col_block, m)) for c0 in range(0, m, col_block)]
    gram = {
        (a, b): torch.zeros(cols[a][1] - cols[a][0], cols[b][1] - cols[b][0], dtype=torch.float64,
                            device=run_device)
        for a in range(len(cols)) for b in range(a, len(cols))
    }  # fmt: skip
    diag4 = torch.zeros((), dtype=torch.float64, device=run_device)
    for i0 in range(0, k, block_size):
        rows_i = W[idx[i0 : i0 + block_size].to(W.device)].to(device=run_device, dtype=dtype)
        if mean_row is not None:
            rows_i = rows_i - mean_row.to(dtype)
        norms = torch.linalg.vector_norm(rows_i, dim=1, dtype=torch.float64)
        _check_norms(norms, eps)
        U = rows_i / (norms + eps).to(dtype).unsqueeze(1)  # [block, m]
        diag4 += (U.square().sum(dim=1, dtype=torch.float64) ** 2).sum()  # ‖û_i‖⁴ of the rows as rounded
        for (a, b), G in gram.items():
            (a0, a1), (b0, b1) = cols[a], cols[b]
            G += (U[:, a0:a1].T @ U[:, b0:b1]).to(torch.float64)
    frobenius2 = sum(float(G.square().sum()) * (1 if a == b else 2) for (a, b), G in gram.items())
    n_pairs = k * (k - 1) // 2
    return GramCos2(mean_cos2=(frobenius2 - float(diag4)) / (2 * n_pairs), n_rows=k, n_pairs=n_pairs)


def _mean_row(W: torch.Tensor, idx: torch.Tensor, block_size: int, device: torch.device) -> torch.Tensor:
    """Mean of the selected rows in float64, summed block by block."""
    total = torch.zeros(W.shape[1], dtype=torch.float64, device=device)
    for i0 in range(0, idx.numel(), block_size):
        total += W[idx[i0 : i0 + block_size].to(W.device)].to(device=device, dtype=torch.float64).sum(dim=0)
    return total / idx.numel()
