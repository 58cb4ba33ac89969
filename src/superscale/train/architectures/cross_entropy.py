"""Cross-entropy toy model: one active "token" per sample, read out by a tied softmax head (recipe §3.6).

The paper trains the toy model only with a squared error and argues analytically (App. A.2) that a
softmax readout keeps the 1/m scaling. This variant tests that with a model:

One model:   token i ~ p_i / Σp,   v = 1 (or v ~ U(0, 2) with `scaled`),   h = v W_i ∈ R^m,
             logits z = W h + b ∈ R^n,   L = −ln softmax(z)_i
Row-batch:   x = v · onehot(i) [B, n];  loss = cross_entropy(x @ W @ W.T + b, tokens)   (`loss_one`)

Loss scale. The code-scale loss is the per-sample cross-entropy in nats (mean over the batch), and so is
everything the engine and the store report: `report_factor()` is 1 (the squared-error models report n ×
their mean over features). Gradients are `loss_one`'s vmap-grad reference: the hand-written backward it
replaced made a training step only 1.8–2.0× faster at the quick comparison's size (n = 512, batch 512,
m = 8 and 32, one model, one thread, on a busy 2-core machine), too little to state the equation twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor

from superscale.train.architectures.base import AutogradArchitecture, Batch
from superscale.train.data import SparseBatch
from superscale.train.model import init_toy_params
from superscale.train.optim import ParamRule

__all__ = ["CrossEntropyToyModel", "sample_tokens"]


def sample_tokens(probs: Tensor, batch: int, generator: torch.Generator, scaled: bool = False) -> SparseBatch:
    """One token per sample, i ~ p_i / Σp, as a SparseBatch with exactly one entry per sample.

    Values are 1, or U(0, 2) with `scaled` (the paper's value distribution). Drawn on the generator's device.
    """
    if probs.ndim != 1 or not bool((probs >= 0).all()) or float(probs.sum()) <= 0:
        raise ValueError("probs must be a vector [n] of non-negative numbers with a positive sum")
    device = generator.device
    tokens = torch.multinomial(
        probs.to(device=device, dtype=torch.float64), batch, replacement=True, generator=generator
    )
    if scaled:
        values = torch.rand(batch, generator=generator, device=device) * 2
    else:
        values = torch.ones(batch, device=device)
    return SparseBatch(torch.arange(batch, device=device), tokens, values, batch, probs.numel())


class CrossEntropyToyModel(AutogradArchitecture):
    """Tied embedding and readout W [n, m], readout bias b [n], softmax cross-entropy against the token.

    Initialisation, optimiser groups and the signed decay on W are those of the paper's tied model, so the
    two are compared on the same frequencies, seeds and recipe. Option `scaled` (default False): the
    token's embedding is multiplied by its value v ~ U(0, 2), as in the paper's data.
    """

    name = "cross_entropy"
    rules: ClassVar[dict[str, ParamRule]] = {"W": ParamRule("W", True), "b": ParamRule("b", False)}
    reported_scale: ClassVar[str] = "nats per token"

    def __init__(self, n: int, m: int, n_layers: int = 1, scaled: bool = False, **options: Any) -> None:
        super().__init__(n, m, n_layers, **options)
        if not isinstance(scaled, bool):
            raise ValueError(f"scaled (option of 'cross_entropy') must be true or false, got {scaled!r}")
        self.scaled = scaled

    def init_params(self, seeds: Sequence[int]) -> dict[str, Tensor]:
        W, b = init_toy_params(self.n, self.m, seeds)
        return {"W": W, "b": b}

    def sample(self, probs: Tensor, batch: int, generator: torch.Generator, sparse: bool) -> Batch:
        """A categorical draw of one token per sample (`sparse` does not apply: batches are compact)."""
        return sample_tokens(probs, batch, generator, self.scaled)

    def report_factor(self) -> float:
        """1: `loss_one` is already the per-sample cross-entropy in nats."""
        return 1.0

    def loss_one(self, params: dict[str, Tensor], x: Tensor, *targets: Tensor) -> Tensor:
        """One model: mean over the batch of −ln softmax(W Wᵀ x + b)_token; x = v · onehot(token) [B, n] and
        `targets` = (tokens [B],), given apart because v may be 0."""
        W, b = params["W"], params["b"]
        (tokens,) = targets
        return F.cross_entropy(x @ W @ W.T + b, tokens)

    def reference_inputs(self, batch: Batch) -> tuple[Tensor, ...]:
        """(x [B, n], tokens [B]) from a batch of one token per sample (`sample_tokens`)."""
        if not isinstance(batch, SparseBatch) or batch.n_active != batch.batch:
            raise ValueError(
                "the cross-entropy model needs a batch of one token per sample (see sample_tokens)"
            )
        order = torch.argsort(batch.sample_idx)  # entries by sample; sample_tokens already gives this order
        if not torch.equal(batch.sample_idx[order], torch.arange(batch.batch, device=order.device)):
            raise ValueError("the cross-entropy model needs exactly one token in every sample of the batch")
        return batch.to_dense(), batch.feature_idx[order]
