"""The cross-entropy loss decomposition of docs/recipe.md §3.6 (paper App. A.2), evaluated on a weight matrix.

For target token i with hidden state h_i, the logit of token j is z_ij = W_j·h_i + b_j and

    L_i = ln[1 + Σ_{j≠i} e^{z_ij − z_ii}] = ln[1 + Σ_{j≠i} a_ij e^{o_ij}],
    o_ij = W_j·h_i (overlap),   a_ij = e^{b_j − b_i − W_i·h_i} (overlap-free odds of token j).

Expanding e^o to second order and ln(1 + s) to first order gives three terms:

    L_i ≈ Σ_{j≠i} a_ij  +  Σ_{j≠i} a_ij o_ij  +  ½ Σ_{j≠i} a_ij o_ij²
          (zeroth order)    (first order)         (width-dependent part L_m)

With the recipe's set-up, h_i = Ŵ_i and no bias (`normalise_hidden=True`, `b=None`), a_ij = e^{−‖W_i‖},
o_ij = W_i·W_j/‖W_i‖, and the three terms are (n−1)e^{−‖W_i‖}, ε_{D,i} e^{−‖W_i‖}/‖W_i‖ and
L_m = ½ Σ_{j≠i} (W_i·W_j/‖W_i‖)² e^{−‖W_i‖}, exactly as §3.6 writes them. With the toy model's own
read-out (`normalise_hidden=False`, its b), h_i = W_i and "exact" is the model's expected loss at v = 1.
Every term is averaged over targets i ~ p_i/Σp.
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["DECOMPOSITION_TERMS", "cross_entropy_decomposition"]

#: keys of `cross_entropy_decomposition`'s result
DECOMPOSITION_TERMS = ("exact", "zeroth_order", "first_order", "width", "approx")
_ROW_BLOCK = 1024  # targets per block, so an n×n matrix is never formed for large n


def cross_entropy_decomposition(
    W: Tensor, b: Tensor | None, probs: Tensor, normalise_hidden: bool = True
) -> dict[str, float]:
    """Each term of the expansion above, averaged over i ~ p; "approx" is the sum of the three terms.

    W [n, m], b [n] or None (no bias), probs [n] ≥ 0 with a positive sum. Computed in float64.
    """
    if W.ndim != 2:
        raise ValueError(f"W must be a matrix [n, m], got shape {tuple(W.shape)}")
    n = W.shape[0]
    if probs.shape != (n,) or not bool((probs >= 0).all()) or float(probs.sum()) <= 0:
        raise ValueError(f"probs must be a vector [{n}] of non-negative numbers with a positive sum")
    if b is not None and b.shape != (n,):
        raise ValueError(f"b must be a vector [{n}] or None, got shape {tuple(b.shape)}")
    Wd = W.detach().to(torch.float64)
    bd = torch.zeros(n, dtype=torch.float64) if b is None else b.detach().to(torch.float64).cpu()
    Wd = Wd.cpu()
    weights = (probs.detach().to(torch.float64) / probs.sum()).cpu()
    norms = torch.linalg.vector_norm(Wd, dim=1)
    hidden = Wd / norms.clamp(min=1e-300)[:, None] if normalise_hidden else Wd
    totals = dict.fromkeys(DECOMPOSITION_TERMS, 0.0)
    for start in range(0, n, _ROW_BLOCK):
        rows = torch.arange(start, min(start + _ROW_BLOCK, n))
        overlap = hidden[rows] @ Wd.T  # o_ij [block, n]; o_ii = W_i·h_i
        own = overlap[torch.arange(rows.numel()), rows]  # W_i·h_i
        log_a = bd[None, :] - bd[rows, None] - own[:, None]  # ln a_ij
        log_odds = log_a + overlap  # z_ij − z_ii
        off = torch.ones_like(overlap, dtype=torch.bool)
        off[torch.arange(rows.numel()), rows] = False
        log_odds = log_odds.masked_fill(~off, float("-inf"))
        a = log_a.exp() * off
        per_target = {
            "exact": torch.nn.functional.softplus(torch.logsumexp(log_odds, dim=1)),
            "zeroth_order": a.sum(1),
            "first_order": (a * overlap).sum(1),
            "width": 0.5 * (a * overlap.square()).sum(1),
        }
        w = weights[rows]
        for key, value in per_target.items():
            totals[key] += float((w * value).sum())
    totals["approx"] = totals["zeroth_order"] + totals["first_order"] + totals["width"]
    return totals
