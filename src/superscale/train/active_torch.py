"""The active-feature (Gram) step of superscale/train/active.py in plain torch ops, for any device (CUDA).

The same identity: with S the distinct active features and G = W_S Wᵀ [|S|, n] (one bmm), the K entries
give P = b + τ Z, Z_b = Σ_{j∈S_b} x_bj G_{s(j)} (an index_add of the gathered G rows); only the B' samples
with a feature are materialised, [I, B', n], the others share P = b and are counted once. Then
δ = c · I ⊙ (ReLU(P) − x) ⊙ 1[P > 0], ∂b = Σ_b δ_b, ∂τ = Σ δ ⊙ Z, Δ_S = X_Sᵀ δ [|S|, n] (an index_add over
the entries) and ∂W = τ (Δ_Sᵀ W_S + Δ_S W on rows S). Only the GEMM ("delta") accumulation: it is what a
GPU runs near peak, and it needs no host synchronisation. Instances go in chunks whose gathered
[chunk, K, n] and [chunk, B', n] temporaries stay under `max_elements`.
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["loss_and_grads"]


def loss_and_grads(
    W: Tensor,
    b: Tensor,
    sample_idx: Tensor,
    feature_idx: Tensor,
    values: Tensor,
    batch: int,
    loss_scale: float,
    need_grads: bool = True,
    importance: Tensor | None = None,
    tau: Tensor | None = None,
    max_elements: int = 2**26,
) -> tuple[Tensor, dict[str, Tensor]]:
    """Per-instance loss [I] float64, mean over batch and features of I ⊙ (y − x)², y = ReLU(τ·x W Wᵀ + b),
    and the gradients of loss_scale × loss: {"W": [I,n,m], "b": [I,n]} (+ "tau": [I] when tau is given),
    in W's dtype, on W's device. The batch is its K entries (each (sample, feature) at most once)."""
    W, b = W.detach(), b.detach()
    n_inst, n, _ = W.shape
    device, dtype = W.device, W.dtype
    sample_idx, feature_idx = sample_idx.to(device), feature_idx.to(device)
    v = values.to(device=device, dtype=dtype)
    feat, slot = torch.unique(feature_idx, return_inverse=True)  # [S], [K]
    rows, row = torch.unique(sample_idx, return_inverse=True)  # [B'], [K]
    n_rows, n_empty = rows.numel(), batch - rows.numel()
    x = torch.zeros(n_rows, n, dtype=dtype, device=device)
    x[row, feature_idx] = v  # [B', n]
    imp = torch.ones(n, dtype=dtype, device=device) if importance is None else importance.to(device, dtype)
    taus = torch.ones(n_inst, dtype=dtype, device=device) if tau is None else tau.detach().to(device, dtype)
    coef = 2.0 * loss_scale / (batch * n)
    loss = torch.empty(n_inst, dtype=torch.float64, device=device)
    dW, db, dtau = torch.empty_like(W), torch.empty_like(b), torch.empty(n_inst, dtype=dtype, device=device)
    step = max(1, max_elements // max(1, n * max(v.numel(), n_rows)))
    for lo in range(0, n_inst, step):
        hi = min(n_inst, lo + step)
        Wc, bc, tc = W[lo:hi], b[lo:hi], taus[lo:hi, None, None]
        W_S = Wc[:, feat]  # [c, S, m]
        G = torch.bmm(W_S, Wc.transpose(1, 2))  # [c, S, n]
        Z = torch.zeros(hi - lo, n_rows, n, dtype=dtype, device=device)
        Z.index_add_(1, row, G[:, slot] * v[:, None])  # [c, B', n]
        P = torch.addcmul(bc[:, None, :], Z, tc)
        residual = torch.relu(P) - x
        weighted = imp * residual
        empty = torch.relu(bc)  # P = b for the samples without a feature; their residual is ReLU(b)
        loss[lo:hi] = (weighted * residual).sum((1, 2), dtype=torch.float64)
        loss[lo:hi] += n_empty * (imp * empty * empty).sum(1, dtype=torch.float64)
        if not need_grads:
            continue
        delta = torch.where(P > 0, coef * weighted, torch.zeros((), dtype=dtype, device=device))
        db[lo:hi] = delta.sum(1) + n_empty * coef * imp * empty
        dtau[lo:hi] = (delta * Z).sum((1, 2))
        Delta = torch.zeros(hi - lo, feat.numel(), n, dtype=dtype, device=device)
        Delta.index_add_(1, slot, delta[:, row] * v[:, None])  # Δ_S [c, S, n]
        dW[lo:hi] = torch.bmm(Delta.transpose(1, 2), W_S).index_add_(1, feat, torch.bmm(Delta, Wc)) * tc
    loss /= batch * n
    if not need_grads:
        return loss, {}
    grads = {"W": dW, "b": db}
    if tau is not None:
        grads["tau"] = dtau
    return loss, grads
