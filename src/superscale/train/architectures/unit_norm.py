"""Norm-constrained toy model: every row of W has unit norm, a toy analogue of nGPT (docs/recipe.md §3.7).

One model:   y = ReLU(τ W Wᵀ x + b),   ‖W_i‖₂ = 1 for every feature i,   L = (1/n) ⟨‖y − x‖²⟩
Row-batch:   y = relu(tau * x @ W @ W.T + b);  after each optimiser step  W ← W / ‖W_i‖ row-wise

The signed decay with γ < 0 pulls every row norm towards 1; projecting after every step is its γ → −∞
limit, so γ has no effect here (W is not decayed). Features can no longer be dropped by shrinking their
row: the model must place all n unit vectors in R^m, which is the regime the paper predicts favours
superposition. Options:

- `temperature` (default False): learn a scalar τ per model (initialised to 1) that scales the logits
  W Wᵀ x, so the readout can be sharper or softer than unit norms allow. τ uses the learning-rate group
  of b and no weight decay. Without it τ = 1 and the model is the tied model with projected rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import torch
from torch import Tensor

from superscale.train.architectures.tied import TiedToyModel
from superscale.train.model import init_toy_params
from superscale.train.optim import ParamRule

__all__ = ["UnitNormToyModel", "project_rows_"]

_TINY = 1e-30  # a row of exact zeros stays zero instead of becoming NaN


def project_rows_(W: Tensor) -> None:
    """W_i ← W_i / ‖W_i‖₂ in place for every row (last dimension)."""
    W.div_(torch.linalg.vector_norm(W, dim=-1, keepdim=True).clamp_(min=_TINY))


class UnitNormToyModel(TiedToyModel):
    """The tied model with rows of W projected to the unit sphere after init and after every step.

    Loss and gradients are the tied model's paths: the active path handles τ; where another path would
    run, a model with a temperature takes `loss_one`'s reference instead."""

    name = "unit_norm"
    rules: ClassVar[dict[str, ParamRule]] = {
        "W": ParamRule("W", False),  # the projection replaces the decay (γ → −∞)
        "b": ParamRule("b", False),
        "tau": ParamRule("b", False),
    }

    def __init__(self, n: int, m: int, n_layers: int = 1, temperature: bool = False, **options: Any) -> None:
        super().__init__(n, m, n_layers, **options)
        if not isinstance(temperature, bool):
            raise ValueError(
                f"temperature (option of 'unit_norm') must be true or false, got {temperature!r}"
            )
        self.temperature = temperature

    def init_params(self, seeds: Sequence[int]) -> dict[str, Tensor]:
        W, b = init_toy_params(self.n, self.m, seeds)
        project_rows_(W)
        params = {"W": W, "b": b}
        if self.temperature:
            params["tau"] = torch.ones(len(seeds))
        return params

    def loss_one(self, params: dict[str, Tensor], x: Tensor, *targets: Tensor) -> Tensor:
        """One model: mean over batch and features of (ReLU(τ W Wᵀ x + b) − x)²; τ = 1 without temperature."""
        W, b = params["W"], params["b"]
        tau = params.get("tau", 1.0)
        return ((torch.relu(tau * (x @ W @ W.T) + b) - x) ** 2).mean()

    def post_step(self, params: dict[str, Tensor]) -> None:
        project_rows_(params["W"])
