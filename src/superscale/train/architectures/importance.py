"""Importance-weighted toy model: the loss of Elhage et al. (2022), "Toy Models of Superposition".

One model:   y = ReLU(W Wᵀ x + b),   L = (1/n) Σ_i I_i ⟨(y_i − x_i)²⟩_x
Row-batch:   y = relu(x @ W @ W.T + b);  loss = (I * (y - x)**2).mean()

The paper weights every feature equally and lets frequency p_i do the ranking; Anthropic's classic
experiments use uniform sparsity p_i = 1 − S and rank features by importance I_i = r^(i−1) instead. With
I = 1 this is exactly the tied model. The option `importance` is either a list of n weights or
{"decay": r} for the geometric ranking (I_1 = 1). Importances are a property of the architecture, so
every model of a shard shares them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import torch
from torch import Tensor

from superscale.train.architectures.tied import TiedToyModel
from superscale.train.model import init_toy_params
from superscale.train.optim import ParamRule

__all__ = ["ImportanceToyModel", "importance_weights"]


def importance_weights(n: int, importance: Sequence[float] | Mapping[str, float] | Tensor) -> Tensor:
    """I [n] float64 from a list of n weights or {"decay": r} (I_i = r^(i−1)); weights must be ≥ 0."""
    if isinstance(importance, Mapping):
        if set(importance) != {"decay"}:
            raise ValueError(f"importance as a table takes exactly the key 'decay', got {sorted(importance)}")
        decay = importance["decay"]
        if (
            isinstance(decay, bool)
            or not isinstance(decay, int | float)
            or not math.isfinite(decay)
            or decay <= 0
        ):
            raise ValueError(f"importance.decay must be a finite number > 0, got {decay!r}")
        return torch.tensor(float(decay), dtype=torch.float64).pow(torch.arange(n, dtype=torch.float64))
    try:
        weights = torch.as_tensor(importance, dtype=torch.float64).flatten()
    except (TypeError, ValueError):
        raise ValueError(
            f"importance must be a list of {n} numbers or {{decay = r}}, got {importance!r}"
        ) from None
    if weights.numel() != n:
        raise ValueError(f"importance must have n = {n} weights, got {weights.numel()}")
    if not bool(torch.isfinite(weights).all()) or float(weights.min()) < 0:
        raise ValueError("importance weights must be finite and ≥ 0 (got a negative, NaN or inf value)")
    return weights


class ImportanceToyModel(TiedToyModel):
    """The tied model with per-feature importance weights in the squared error: the active path weights its
    δ by I; where another path would run, `loss_one`'s reference (vmap-grad) does."""

    name = "importance"
    rules: ClassVar[dict[str, ParamRule]] = {"W": ParamRule("W", True), "b": ParamRule("b", False)}

    def __init__(
        self,
        n: int,
        m: int,
        n_layers: int = 1,
        importance: Sequence[float] | Mapping[str, float] | None = None,
        **options: Any,
    ) -> None:
        super().__init__(n, m, n_layers, **options)
        self.importance: Tensor | None = (
            torch.ones(n, dtype=torch.float64) if importance is None else importance_weights(n, importance)
        )

    def init_params(self, seeds: Sequence[int]) -> dict[str, Tensor]:
        W, b = init_toy_params(self.n, self.m, seeds)
        return {"W": W, "b": b}

    def loss_one(self, params: dict[str, Tensor], x: Tensor, *targets: Tensor) -> Tensor:
        """One model: mean over batch and features of I ⊙ (y − x)² (the module docstring)."""
        W, b = params["W"], params["b"]
        assert self.importance is not None
        importance = self.importance.to(device=x.device, dtype=x.dtype)
        return (importance * (torch.relu(x @ W @ W.T + b) - x) ** 2).mean()
