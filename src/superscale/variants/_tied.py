"""The tied model's loss and hand-written gradients, generalised by a temperature and feature importances.

One model:   y = ReLU(τ W Wᵀ x + b),   L = (1/n) Σ_i I_i ⟨(y_i − x_i)²⟩_x
Row-batch:   y = relu(tau * x @ W @ W.T + b)

τ = 1 and I = 1 is exactly `superscale.architectures.TiedToyModel`; the unit-norm variant adds a learned
τ and the importance variant adds I, and both share this one backward pass:

    h = x W [B, m];  y = relu(τ h Wᵀ + b);  r = c · I ⊙ (y − x) ⊙ 1[y > 0],  c = 2·scale/(B n)
    ∂b = Σ_B r;   ∂W = τ (rᵀ h + xᵀ (r W));   ∂τ = Σ_B Σ_m (r W) ⊙ h
"""

from __future__ import annotations

import torch
from torch import Tensor

from superscale.architectures import Batch
from superscale.data import SparseBatch
from superscale.model import encode

__all__ = ["tied_loss_and_grads"]


def tied_loss_and_grads(
    W: Tensor,
    b: Tensor,
    batch: Batch,
    loss_scale: float,
    need_grads: bool = True,
    tau: Tensor | None = None,
    importance: Tensor | None = None,
) -> tuple[Tensor, dict[str, Tensor]]:
    """Per-instance loss [inst] (mean over batch and features) and the gradients of `loss_scale × loss`.

    `tau` [inst] multiplies W Wᵀ x (its gradient is returned as "tau"); `importance` [n] weights each
    feature's squared error. A sparse batch uses the tied model's trick: y − x differs from y only at the
    K active entries, so the dense work is three GEMMs and two passes over [inst, B, n].
    """
    n_batch = batch.batch if isinstance(batch, SparseBatch) else batch.shape[-2]
    numel = n_batch * W.shape[1]
    h = encode(W, batch)  # [inst, B, m]
    h_out = h if tau is None else h * tau.to(h.dtype)[:, None, None]
    y = torch.baddbmm(b[:, None, :], h_out, W.transpose(1, 2)).relu_()  # [inst, B, n]
    weight = None if importance is None else importance.to(device=y.device, dtype=y.dtype)
    if isinstance(batch, SparseBatch):
        s_idx, f_idx, v = batch.sample_idx, batch.feature_idx, batch.values.to(y.dtype)
        y_act = y[:, s_idx, f_idx]  # [inst, K]
        if weight is None:
            sum_sq = torch.linalg.vector_norm(y, dim=(1, 2)).double().square()
            correction = ((y_act - v).square() - y_act.square()).sum(1, dtype=torch.float64)
        else:
            sum_sq = torch.einsum("ibn,n->i", y.square(), weight).double()
            w_act = weight[f_idx]
            correction = (((y_act - v).square() - y_act.square()) * w_act).sum(1, dtype=torch.float64)
        loss = (sum_sq + correction) / numel
        if not need_grads:
            return loss, {}
        # y becomes the masked residual (y − x)·1[y > 0]: only active entries change
        y[:, s_idx, f_idx] = torch.where(y_act > 0, y_act - v, torch.zeros_like(y_act))
        residual = y
    else:
        diff = y - batch
        if weight is None:
            loss = torch.linalg.vector_norm(diff, dim=(1, 2)).double().square() / numel
        else:
            loss = torch.einsum("ibn,n->i", diff.square(), weight).double() / numel
        if not need_grads:
            return loss, {}
        residual = diff.mul_(y > 0)
    if weight is not None:
        residual.mul_(weight)
    coef = 2.0 * loss_scale / numel
    grad_b = residual.sum(1).mul_(coef)
    grad_W = torch.baddbmm(torch.empty_like(W), residual.transpose(1, 2), h_out, beta=0, alpha=coef)
    grad_h_out = torch.baddbmm(torch.empty_like(h), residual, W, beta=0, alpha=coef)  # ∂/∂(τh) [inst, B, m]
    grads = {"b": grad_b}
    if tau is not None:
        grads["tau"] = (grad_h_out * h).sum(dim=(1, 2))
        grad_h_out.mul_(tau.to(h.dtype)[:, None, None])  # ∂/∂h = τ · ∂/∂(τh)
    if isinstance(batch, SparseBatch):
        rows = grad_h_out[:, batch.sample_idx, :] * batch.values.to(W.dtype)[None, :, None]
        grad_W.index_add_(1, batch.feature_idx, rows)
    else:
        grad_W += torch.matmul(batch.transpose(-1, -2), grad_h_out)
    grads["W"] = grad_W
    return loss, grads
