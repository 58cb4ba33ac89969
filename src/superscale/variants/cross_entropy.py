"""Cross-entropy toy model: one active "token" per sample, read out by a tied softmax head (PAPER_SPEC §3.6).

The paper trains the toy model only with a squared error and argues analytically (App. A.2) that a
softmax readout keeps the 1/m scaling. This variant tests that with a model:

One model:   token i ~ p_i / Σp,   v = 1 (or v ~ U(0, 2) with `scaled`),   h = v W_i ∈ R^m,
             logits z = W h + b ∈ R^n,   L = −ln softmax(z)_i
Row-batch:   h = v[:, None] * W[tok];  z = h @ W.T + b;  loss = cross_entropy(z, tok)

Loss scale. The engine treats `loss_and_grads`' value as "mean over features" and multiplies it by n for
its summed scale (final_loss, curves, held-out loss). So the code-scale loss here is the per-sample
cross-entropy divided by n, and everything the engine and the store report on the summed scale is exactly
the per-sample cross-entropy in nats. The gradients are those of that code-scale loss, the same 1/n
convention as the MSE models (Adam is scale-invariant up to eps; `loss_scale` changes it as usual).

Gradients by hand (G = c (softmax(z) − onehot(i)), c = scale/(B n)):
    ∂b = Σ_B G;   ∂W = Gᵀ h (readout) + Σ_B v · (G W) scattered to the rows of the tokens (embedding)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import torch
from torch import Tensor

from superscale.architectures import Architecture, Batch
from superscale.data import SparseBatch
from superscale.model import init_toy_params
from superscale.optim import ParamRule

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


class CrossEntropyToyModel(Architecture):
    """Tied embedding and readout W [n, m], readout bias b [n], softmax cross-entropy against the token.

    Initialisation, optimiser groups and the signed decay on W are those of the paper's tied model, so the
    two are compared on the same frequencies, seeds and recipe. Option `scaled` (default False): the
    token's embedding is multiplied by its value v ~ U(0, 2), as in the paper's data.
    """

    name = "cross_entropy"
    rules: ClassVar[dict[str, ParamRule]] = {"W": ParamRule("W", True), "b": ParamRule("b", False)}

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

    def loss_and_grads(
        self, params: dict[str, Tensor], batch: Batch, loss_scale: float, need_grads: bool = True
    ) -> tuple[Tensor, dict[str, Tensor]]:
        if not isinstance(batch, SparseBatch) or batch.n_active != batch.batch:
            raise ValueError(
                "the cross-entropy model needs a batch of one token per sample (see sample_tokens)"
            )
        W, b = params["W"], params["b"]
        arange = torch.arange(batch.batch, device=W.device)
        order = torch.argsort(batch.sample_idx)  # entries by sample; sample_tokens already gives this order
        if not torch.equal(batch.sample_idx[order], arange):
            raise ValueError("the cross-entropy model needs exactly one token in every sample of the batch")
        tokens, values = batch.feature_idx[order], batch.values[order].to(W.dtype)
        h = W[:, tokens, :] * values[None, :, None]  # [inst, B, m]
        logits = torch.baddbmm(b[:, None, :], h, W.transpose(1, 2))  # [inst, B, n]
        lse = torch.logsumexp(logits, dim=2, keepdim=True)  # [inst, B, 1]
        target = logits[:, arange, tokens]  # [inst, B]
        numel = batch.batch * self.n
        loss = (lse.squeeze(2) - target).sum(1, dtype=torch.float64) / numel
        if not need_grads:
            return loss, {}
        grad_logits = logits.sub_(lse).exp_()  # softmax, in place
        grad_logits[:, arange, tokens] -= 1.0
        coef = loss_scale / numel
        grad_b = grad_logits.sum(1).mul_(coef)
        grad_W = torch.baddbmm(torch.empty_like(W), grad_logits.transpose(1, 2), h, beta=0, alpha=coef)
        grad_h = torch.baddbmm(torch.empty_like(h), grad_logits, W, beta=0, alpha=coef)  # [inst, B, m]
        grad_W.index_add_(1, tokens, grad_h * values[None, :, None])
        return loss, {"W": grad_W, "b": grad_b}
