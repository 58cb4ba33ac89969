"""The deep toy model: the paper's model with L − 1 hidden ReLU layers between encoder and decoder.

One model (row-batch, x [batch, n]):

    h_0 = x W                                   encoder W [n, m] (rows are features, as in the paper)
    h_l = ReLU(h_{l−1} H_l + c_l)               l = 1..L−1, H_l [m, m]   (plain)
    h_l = h_{l−1} + ReLU(h_{l−1} H_l + c_l)     (residual)
    y   = ReLU(h_{L−1} Dᵀ + b)                  decoder D = W (tied) or W_dec [n, m] (untied)

c_l exists only with `hidden_bias=True`. With L = 1 and a tied decoder this is exactly y = ReLU(W Wᵀ x + b),
initialised from the same seed streams, so it trains to the same W as `TiedToyModel` (tests/test_aspect_deep).

Initialisation: W and b as the paper (`init_toy_params`); W_dec ~ N(0, 1/m) from its own stream, so that
rows start with norm ≈ 1 like W's. Hidden layers: plain H_l ~ N(0, 2/m) (He: keeps ‖h‖ through a ReLU);
residual H_l ~ N(0, 1/m) / sqrt(L − 1), so the residual stream grows by O(1) over the whole depth and the
model starts near the one-layer toy model. c_l = 0.

Optimiser: every weight matrix (W, W_dec, H) is in the "W" learning-rate group; biases (b, c) are in the
"b" group. The signed decay γ acts on the feature rows only (W and W_dec, row-wise: exactly the paper's
rule); hidden H is undecayed, because γ < 0 pulls each row to norm 1, and an m × m matrix with unit rows
has gain > 1, so the residual stream would grow geometrically with depth (seen: ×400 at L = 8).

Parameter count N (`deep_param_count`) counts every trainable parameter, biases included:
    N = n m (encoder) + [n m untied decoder] + (L − 1) m² + [(L − 1) m hidden biases] + n (output bias).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, ClassVar

import torch
from torch import Tensor

from superscale._checks import check_positive_int
from superscale.train.architectures.base import AutogradArchitecture
from superscale.train.data import derive_seed
from superscale.train.model import init_toy_params
from superscale.train.optim import ParamRule

__all__ = ["DeepToyModel", "deep_forward", "deep_param_count", "hidden_states"]


def deep_param_count(n: int, m: int, n_layers: int, tied: bool = True, hidden_bias: bool = False) -> int:
    """Trainable parameters N of one deep toy model (biases included; see the module docstring)."""
    for name, value in (("n", n), ("m", m), ("n_layers", n_layers)):
        check_positive_int(name, value)
    decoder = 0 if tied else n * m
    hidden = (n_layers - 1) * m * m + ((n_layers - 1) * m if hidden_bias else 0)
    return n * m + decoder + hidden + n


def hidden_states(params: dict[str, Tensor], x: Tensor, residual: bool) -> list[Tensor]:
    """[h_0, …, h_{L−1}], each [batch, m] for one model's params (`loss_one`) or [inst, batch, m] for
    params with an instance dimension; x [batch, n] or [inst, batch, n]."""
    h = x @ params["W"]
    states = [h]
    hidden = params.get("hidden")  # [(inst,) L − 1, m, m]
    if hidden is not None:
        hidden_b = params.get("hidden_b")
        for layer in range(hidden.shape[-3]):
            z = h @ hidden[..., layer, :, :]
            if hidden_b is not None:
                z = z + hidden_b[..., layer, :].unsqueeze(-2)
            h = h + torch.relu(z) if residual else torch.relu(z)
            states.append(h)
    return states


def deep_forward(params: dict[str, Tensor], x: Tensor, residual: bool) -> Tensor:
    """y [(inst,) batch, n]; the decoder is W_dec when present, else W (tied). Shapes as `hidden_states`."""
    h = hidden_states(params, x, residual)[-1]
    decoder = params.get("W_dec", params["W"])
    return torch.relu(h @ decoder.transpose(-1, -2) + params["b"].unsqueeze(-2))


class DeepToyModel(AutogradArchitecture):
    """`superscale.train.architectures.deep` module docstring; gradients by autograd."""

    name = "deep"
    # one rule per parameter name the model may have (a given instance uses a subset)
    rules: ClassVar[dict[str, ParamRule]] = {
        "W": ParamRule("W", True),
        "W_dec": ParamRule("W", True),
        "hidden": ParamRule("W", False),
        "hidden_b": ParamRule("b", False),
        "b": ParamRule("b", False),
    }

    def __init__(
        self,
        n: int,
        m: int,
        n_layers: int = 1,
        tied: bool = True,
        residual: bool = True,
        hidden_bias: bool = False,
        **options: Any,
    ) -> None:
        if options:
            raise ValueError(
                f"architecture 'deep' takes options tied, residual, hidden_bias; got {sorted(options)}"
            )
        for name, value in (("n", n), ("m", m), ("n_layers", n_layers)):
            check_positive_int(name, value)
        for name, flag in (("tied", tied), ("residual", residual), ("hidden_bias", hidden_bias)):
            if not isinstance(flag, bool):
                raise ValueError(f"{name} must be true or false, got {flag!r}")
        self.n, self.m, self.n_layers = n, m, n_layers
        self.tied, self.residual, self.hidden_bias = tied, residual, hidden_bias

    def init_params(self, seeds: Sequence[int]) -> dict[str, Tensor]:
        n, m, depth = self.n, self.m, self.n_layers - 1
        W, b = init_toy_params(n, m, seeds)
        params = {"W": W, "b": b}
        if not self.tied:
            W_dec = torch.empty(len(seeds), n, m)
            for inst, seed in enumerate(seeds):
                generator = torch.Generator().manual_seed(derive_seed(seed, "init:W_dec"))
                W_dec[inst] = torch.randn(n, m, generator=generator) / math.sqrt(m)
            params["W_dec"] = W_dec
        if depth > 0:
            std = 1.0 / math.sqrt(m * depth) if self.residual else math.sqrt(2.0 / m)
            hidden = torch.empty(len(seeds), depth, m, m)
            for inst, seed in enumerate(seeds):
                generator = torch.Generator().manual_seed(derive_seed(seed, "init:hidden"))
                hidden[inst] = torch.randn(depth, m, m, generator=generator) * std
            params["hidden"] = hidden
            if self.hidden_bias:
                params["hidden_b"] = torch.zeros(len(seeds), depth, m)
        return params

    def loss_one(self, params: dict[str, Tensor], x: Tensor, *targets: Tensor) -> Tensor:
        """One model: mean over batch and features of (y − x)², the code's scale (docs/recipe.md §1.4)."""
        return ((deep_forward(params, x, self.residual) - x) ** 2).mean()

    def param_count(self) -> int:
        return deep_param_count(self.n, self.m, self.n_layers, self.tied, self.hidden_bias)
