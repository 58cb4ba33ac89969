"""Row norms of W and the fractions of represented features (docs/recipe.md §2)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from superscale.analysis.metrics._tensor import ArrayLike, as_matrix

_NORM_BLOCK = 16384  # rows per block, so a half-precision LLM head is never copied whole to float64


def row_norms(W: ArrayLike, device: torch.device | str | None = None) -> torch.Tensor:
    """‖W_i‖₂ for every row i, float64 [n], on W's device (or `device`); computed in row blocks."""
    W = as_matrix(W, device=device)
    out = torch.empty(W.shape[0], dtype=torch.float64, device=W.device)
    for start in range(0, W.shape[0], _NORM_BLOCK):
        block = W[start : start + _NORM_BLOCK].to(torch.float64)
        out[start : start + _NORM_BLOCK] = torch.linalg.vector_norm(block, dim=1)
    return out


def fraction_represented(W: ArrayLike, threshold: float = 0.5) -> float:
    """φ_t = |{i : ‖W_i‖ > t}| / n. t = 1/2 is the paper's φ_{1/2}, t = 1 its φ_1 (docs/recipe.md §2)."""
    if not threshold >= 0:
        raise ValueError(f"threshold must be >= 0, got {threshold}")
    norms = row_norms(W)
    return float((norms > threshold).sum().item()) / norms.numel()


def phi_half(W: ArrayLike) -> float:
    """Fraction represented φ_{1/2}: rows with norm > 1/2 (≈ m/n weak, ≈ 1 strong)."""
    return fraction_represented(W, 0.5)


def phi_one(W: ArrayLike) -> float:
    """Fraction strongly represented φ_1: rows with norm > 1 (≈ min{1, m²/2n} strong)."""
    return fraction_represented(W, 1.0)


@dataclass(frozen=True)
class NormSummary:
    """What the LLM code stores per matrix (Fig. 20): mean, std, min and max row norm."""

    mean: float
    std: float
    min: float
    max: float
    n_rows: int


def norm_summary(W: ArrayLike) -> NormSummary:
    """Mean, population std, min and max of the row norms."""
    norms = row_norms(W)
    return NormSummary(
        mean=float(norms.mean()),
        std=float(norms.std(correction=0)),
        min=float(norms.min()),
        max=float(norms.max()),
        n_rows=norms.numel(),
    )


def norm_histogram(
    W: ArrayLike, bins: int = 50, value_range: tuple[float, float] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Histogram of row norms (Figs. 5a, 7, 11, 12, 19): (counts [bins], edges [bins + 1])."""
    if bins < 1:
        raise ValueError(f"bins must be >= 1, got {bins}")
    norms = row_norms(W).cpu().numpy()
    counts, edges = np.histogram(norms, bins=bins, range=value_range)
    return counts, edges
