"""The paper's toy model, batched over instances (docs/recipe.md §1.2–1.3).

One model:        h = Wᵀ x,  y = ReLU(W h + b) = ReLU(W Wᵀ x + b),   W ∈ R^{n×m}, b ∈ R^n.
Row-batch code:   y = relu(x @ W @ W.T + b)
Many instances:   W [inst, n, m], b [inst, n]; each instance is initialised from its own seed, so a
                  model's starting point does not depend on which other models share its shard.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor

from superscale._checks import check_positive_int
from superscale.train.data import SparseBatch, derive_seed

__all__ = ["encode", "init_toy_params", "toy_forward"]


def init_toy_params(n: int, m: int, seeds: Sequence[int]) -> tuple[Tensor, Tensor]:
    """W ~ N(0, 1/m) (rows start with norm ≈ 1) and b ~ N(0, 1), as the authors' code (docs/recipe.md §1.3).

    Drawn on the CPU in float32 from one generator per seed, W before b, so the same seed gives the same
    initial model on every device and in every shard.
    """
    check_positive_int("n", n)
    check_positive_int("m", m)
    W = torch.empty(len(seeds), n, m)
    b = torch.empty(len(seeds), n)
    for inst, seed in enumerate(seeds):
        generator = torch.Generator().manual_seed(derive_seed(seed, "init"))
        W[inst] = torch.randn(n, m, generator=generator) / math.sqrt(m)
        b[inst] = torch.randn(n, generator=generator)
    return W, b


def encode(W: Tensor, x: Tensor | SparseBatch) -> Tensor:
    """h [inst, batch, m] = x Wᵀ-row-batch; a sparse batch is a gather-sum of the active rows of W."""
    if isinstance(x, SparseBatch):
        rows = W[:, x.feature_idx, :] * x.values.to(W.dtype)[None, :, None]  # [inst, K, m]
        h = W.new_zeros(W.shape[0], x.batch, W.shape[2])
        return h.index_add_(1, x.sample_idx, rows)
    return torch.matmul(x, W)  # [batch, n] or [inst, batch, n] @ [inst, n, m]


def toy_forward(W: Tensor, b: Tensor, x: Tensor | SparseBatch) -> Tensor:
    """y [inst, batch, n] = ReLU(W Wᵀ x + b) for every instance; x shared [batch, n] or per instance."""
    h = encode(W, x)
    return torch.relu(torch.baddbmm(b[:, None, :], h, W.transpose(1, 2)))
