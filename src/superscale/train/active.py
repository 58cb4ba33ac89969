"""Exact loss and gradients of the tied toy model at a cost set by the batch's distinct active features.

Identity. Sample b has active set S_b, so x_b W Wᵀ = Σ_{j∈S_b} x_bj (W Wᵀ)_j: with S = ∪_b S_b and the Gram
rows G = W_S Wᵀ [|S|, n] (one GEMM), P_b = b + τ Σ_{j∈S_b} x_bj G_{s(j)} costs |S_b|·n, not n·m. Let
δ_b = c · I ⊙ (ReLU(P_b) − x_b) ⊙ 1[P_b > 0], c = 2·scale/(B·n). Then ∂b = Σ_b δ_b, ∂τ = Σ_b δ_b·(P_b − b)/τ
and ∂W = τ Σ_b (δ_b h_bᵀ + x_b g_bᵀ), h_b = Σ_j x_bj W_j (decoder), g_b = Wᵀ δ_b (encoder), summed either as
Δ_S = X_Sᵀ δ [|S|, n], ∂W = τ (Δ_Sᵀ W_S + Δ_S W on rows S) (two GEMMs; "delta" mode) or non-zero by
non-zero of δ (2m flops each; "scatter" mode). Samples without a feature share P = b and are done once.

One fused numba pass per instance (prange over instances: results do not depend on the thread count) builds
each P_b from the G rows and does ReLU, residual, loss, δ, ∂b, ∂τ and the accumulation without storing
[B, n]. `ActiveStep` picks the mode per instance per step from a cost model (`choose_modes`). The same
algorithm in plain torch ops (for CUDA) is superscale/train/active_torch.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

__all__ = ["MODES", "ActiveBatch", "ActiveStep", "choose_modes", "group_by_sample"]

#: accumulation modes of the fused pass: 0 loss only, 1 scatter per non-zero of δ, 2 Δ_S then two GEMMs
MODES = {"loss": 0, "scatter": 1, "delta": 2}
_KERNELS: dict[str, Any] = {}


def _compile() -> dict[str, Any]:
    """Import numba and compile lazily (cached on disk), with the conventions of superscale's kernels."""
    import numba

    # numba's own pool, not OpenMP (which is torch's runtime: starting it would reset torch's thread count)
    numba.config.THREADING_LAYER = "workqueue"  # type: ignore[attr-defined]

    @numba.njit(parallel=True, cache=True, nogil=True)
    def fused(G, W, b, imp, tau, coef, row_ptr, slot, feat, val, n_empty, modes, delta_row, Delta, dW, db,
              sumsq, dtau, on):  # type: ignore[no-untyped-def]  # fmt: skip
        """G [I,S,n] Gram rows; W [I,n,m]; b [I,n]; imp [n]; tau [I]; coef = c (W's dtype); entries sorted by
        sample: row_ptr [B'+1] bounds per non-empty sample, slot/feat/val [K] (s(j), j, x_bj); modes [I]
        (MODES); Delta [D,S,n] (= Δ_S of instance i at delta_row[i]); out: dW [I,n,m] (scatter mode), db [I,n],
        sumsq [I] float64 Σ I (y − x)², dtau [I] float64 Σ δ·(P − b)/τ, on [I] #(P > 0) in non-empty samples."""
        n_inst, n, m = W.shape
        n_rows = row_ptr.shape[0] - 1
        zero = coef - coef  # a zero of W's dtype (a literal 0.0 would promote float32 to float64)
        for i in numba.prange(n_inst):
            mode = modes[i]
            Gi, Wi, bi, dbi, tau_i = G[i], W[i], b[i], db[i], tau[i]
            z = np.empty(n, dtype=W.dtype)  # Σ_j x_bj G_j: the interference part of P_b
            d = np.empty(n, dtype=W.dtype)  # δ_b
            xs = np.zeros(n, dtype=W.dtype)  # x_b, set and cleared at its features
            hits = np.empty(n, dtype=np.int64)
            h = np.empty(m, dtype=W.dtype)
            g = np.empty(m, dtype=W.dtype)
            loss_col = np.zeros(n, dtype=np.float64)  # per-column sums: elementwise, so they vectorise
            tau_col = np.zeros(n, dtype=np.float64)
            if mode == 1:
                dW[i] = zero
            if mode == 2:
                Delta[delta_row[i]] = zero
            for f in range(n):  # the n_empty samples without a feature: P = b, h = 0
                p = bi[f]
                y = p if p > zero else zero
                w = imp[f] * y
                loss_col[f] = n_empty * (np.float64(w) * y)
                dbi[f] = n_empty * (coef * w)  # y = 0 where p ≤ 0
            count = 0
            for r in range(n_rows):
                lo, hi = row_ptr[r], row_ptr[r + 1]
                G0, v0 = Gi[slot[lo]], val[lo]
                for f in range(n):
                    z[f] = v0 * G0[f]
                for t in range(lo + 1, hi):
                    Gt, vt = Gi[slot[t]], val[t]
                    for f in range(n):
                        z[f] += vt * Gt[f]
                for t in range(lo, hi):
                    xs[feat[t]] = val[t]
                for f in range(n):
                    zf = z[f]
                    p = bi[f] + tau_i * zf
                    res = (p if p > zero else zero) - xs[f]
                    w = imp[f] * res
                    loss_col[f] += np.float64(w) * res
                    df = coef * w if p > zero else zero
                    d[f] = df
                    dbi[f] += df
                    tau_col[f] += np.float64(df) * zf
                    count += p > zero
                for t in range(lo, hi):
                    xs[feat[t]] = zero
                if mode == 2:  # Δ_S[s(j)] += x_bj δ_b
                    Di = Delta[delta_row[i]]
                    for t in range(lo, hi):
                        Dt, vt = Di[slot[t]], val[t]
                        for f in range(n):
                            Dt[f] += vt * d[f]
                elif mode == 1:  # decoder rows f += δ_bf h_b, encoder rows j += x_bj g_b
                    q = 0
                    for f in range(n):  # branch-free compaction of δ's non-zeros
                        hits[q] = f
                        q += d[f] != zero
                    h[:] = zero
                    for t in range(lo, hi):
                        Wt, vt = Wi[feat[t]], val[t]
                        for k in range(m):
                            h[k] += vt * Wt[k]
                    g[:] = zero
                    for u in range(q):
                        f = hits[u]
                        df, Wf, dWf = d[f], Wi[f], dW[i, f]
                        for k in range(m):
                            g[k] += df * Wf[k]
                            dWf[k] += df * h[k]
                    for t in range(lo, hi):
                        dWt, vt = dW[i, feat[t]], val[t]
                        for k in range(m):
                            dWt[k] += vt * g[k]
            sumsq[i] = loss_col.sum()
            dtau[i] = tau_col.sum()
            on[i] = count

    return {"fused": fused}


def _kernels() -> dict[str, Any]:
    """The compiled kernels, using as many threads as torch is allowed (tests and workers pin one)."""
    if not _KERNELS:
        _KERNELS.update(_compile())
    threads = torch.get_num_threads()
    if _KERNELS.get("threads") != threads:
        import numba

        numba.set_num_threads(max(1, min(threads, int(numba.config.NUMBA_NUM_THREADS))))  # type: ignore[attr-defined]
        _KERNELS["threads"] = threads
    return _KERNELS


@dataclass(frozen=True)
class ActiveBatch:
    """A sparse batch grouped by sample once, shared by every chunk (and instance) that reads it."""

    feat: Tensor  # [S] int64: the distinct active features, ascending
    row_ptr: Tensor  # [B'+1] int64: entries row_ptr[r] … row_ptr[r+1] belong to the r-th non-empty sample
    slot: Tensor  # [K] int64: s(j), the entry's feature as an index into feat
    feature: Tensor  # [K] int64: j
    values: Tensor  # [K]: x_bj
    batch: int  # B
    n: int

    @property
    def n_rows(self) -> int:
        """B', the samples with at least one feature."""
        return self.row_ptr.numel() - 1

    @property
    def n_empty(self) -> int:
        return self.batch - self.n_rows


def group_by_sample(sample_idx: Tensor, feature_idx: Tensor, values: Tensor, batch: int, n: int) -> ActiveBatch:
    """Sort the K entries by (sample, feature), so the result does not depend on the input order."""
    sample_idx, feature_idx = sample_idx.cpu().long(), feature_idx.cpu().long()
    order = torch.argsort(sample_idx * n + feature_idx)
    sample, feature = sample_idx[order], feature_idx[order]
    feat, slot = torch.unique(feature, sorted=True, return_inverse=True)
    counts = torch.unique_consecutive(sample, return_counts=True)[1]
    row_ptr = torch.zeros(counts.numel() + 1, dtype=torch.int64)
    torch.cumsum(counts, 0, out=row_ptr[1:])
    return ActiveBatch(feat, row_ptr, slot, feature, values.cpu()[order], batch, n)


#: cost-model constants, ns per flop of one instance on one core (bench/active_step.py measures them; only
#: their ratios matter): an m-long axpy on a gathered row of W / ∂W (the scatter, L1/L2-resident rows, the
#: index loads and short loops for small m), an n-long axpy on a row of Δ_S (contiguous, vectorised), and a
#: flop of the MKL GEMMs (Δ_Sᵀ W_S and Δ_S W, near peak).
NS_SCATTER = 0.25
NS_DELTA_AXPY = 0.06
NS_GEMM = 0.02


def choose_modes(on_fraction: Tensor, batch: ActiveBatch, m: int) -> Tensor:
    """Per instance, "scatter" (1) or "delta" (2), whichever the cost model says is cheaper [I] int8.

    on_fraction [I]: the expected fraction of (non-empty sample, feature) entries with P > 0, i.e. of δ's
    non-zeros. Scatter: 2m flops per non-zero of δ and per entry (h_b and the encoder rows). Delta: an n-long
    axpy per entry and two GEMMs of n·|S|·m (2 flops each). Both run the same forward part of the pass."""
    n, k, s = batch.n, batch.values.numel(), batch.feat.numel()
    nonzeros = on_fraction.double() * (batch.n_rows * n)
    scatter = NS_SCATTER * 2 * m * (nonzeros + k)
    delta = NS_DELTA_AXPY * 2 * k * n + NS_GEMM * 4 * n * s * m
    return torch.where(scatter < delta, MODES["scatter"], MODES["delta"]).to(torch.int8)


class ActiveStep:
    """The loss and gradients of a chunk of tied models on a grouped batch (CPU; numba).

    Keeps, per chunk (keyed by its W's address and shape, as the engine keeps W in place), each instance's
    fraction of positive entries in the previous step: the cost model's estimate of δ's non-zeros. A first
    step estimates it from the bias (an empty sample's P = b). An instance's mode depends only on its own
    history, so a run's numbers do not depend on the other runs of its chunk."""

    def __init__(self) -> None:
        self._on_fraction: dict[tuple[int, tuple[int, ...]], Tensor] = {}
        self._flat: dict[str, Tensor] = {}
        self.last_modes: Tensor | None = None  # the modes of the last call (tests and the bench read them)

    def _scratch(self, name: str, shape: tuple[int, ...], dtype: torch.dtype) -> Tensor:
        """A contiguous view into a reused flat buffer (fresh allocations page-fault on every step)."""
        size = int(np.prod(shape))
        flat = self._flat.get(name)
        if flat is None or flat.numel() < size or flat.dtype != dtype:
            flat = self._flat[name] = torch.empty(max(size, 1), dtype=dtype)
        return flat[:size].view(shape)

    def loss_and_grads(
        self,
        W: Tensor,
        b: Tensor,
        batch: ActiveBatch,
        loss_scale: float,
        need_grads: bool = True,
        importance: Tensor | None = None,
        tau: Tensor | None = None,
        mode: str = "auto",
    ) -> tuple[Tensor, dict[str, Tensor]]:
        """Per-instance loss [I] float64, mean over batch and features of I ⊙ (y − x)², and the gradients of
        loss_scale × loss: {"W": [I,n,m], "b": [I,n]} (+ "tau": [I] when tau [I] is given) in W's dtype.

        importance [n] weights the squared error; y = ReLU(τ·x W Wᵀ + b). `mode` forces "scatter" or "delta"
        (tests and the benchmark; both are exact); "auto" is the cost model's choice."""
        W, b = W.detach().contiguous(), b.detach().contiguous()
        n_inst, n, m = W.shape
        dtype = W.dtype
        key = (W.data_ptr(), tuple(W.shape))
        if not need_grads:
            modes = torch.zeros(n_inst, dtype=torch.int8)
        elif mode == "auto":
            if key not in self._on_fraction:
                self._on_fraction[key] = (b > 0).double().mean(1)
            modes = choose_modes(self._on_fraction[key], batch, m)
        else:
            modes = torch.full((n_inst,), MODES[mode], dtype=torch.int8)
        self.last_modes = modes
        feat = batch.feat
        n_distinct = feat.numel()
        W_S = W.index_select(1, feat)  # [I,S,m]
        G = torch.bmm(W_S, W.transpose(1, 2), out=self._scratch("G", (n_inst, n_distinct, n), dtype))
        delta_inst = torch.nonzero(modes == MODES["delta"]).flatten()
        delta_row = torch.full((n_inst,), -1, dtype=torch.int64)
        delta_row[delta_inst] = torch.arange(delta_inst.numel())
        Delta = self._scratch("Delta", (delta_inst.numel(), n_distinct, n), dtype)
        dW = self._scratch("dW", (n_inst, n, m), dtype) if need_grads else torch.empty(n_inst, 0, 0)
        db = torch.empty(n_inst, n, dtype=dtype)
        sumsq = np.zeros(n_inst, dtype=np.float64)
        dtau = np.zeros(n_inst, dtype=np.float64)
        on = np.zeros(n_inst, dtype=np.int64)
        imp = torch.ones(n, dtype=dtype) if importance is None else importance.to(dtype).contiguous()
        tau_ = torch.ones(n_inst, dtype=dtype) if tau is None else tau.detach().to(dtype).contiguous()
        numel = batch.batch * n
        coef = np.array(2.0 * loss_scale / numel, dtype=W.numpy().dtype)[()]
        if n_distinct == 0:  # no entry at all: a dummy G row keeps the kernel's views valid (never read)
            G = torch.zeros(n_inst, 1, n, dtype=dtype)
        _kernels()["fused"](
            G.numpy(), W.numpy(), b.numpy(), imp.numpy(), tau_.numpy(), coef, batch.row_ptr.numpy(),
            batch.slot.numpy(), batch.feature.numpy(), batch.values.to(dtype).numpy(), batch.n_empty,
            modes.numpy(), delta_row.numpy(), Delta.numpy(), dW.numpy(), db.numpy(), sumsq, dtau, on,
        )  # fmt: skip
        loss = torch.from_numpy(sumsq) / numel
        if not need_grads:
            return loss, {}
        if mode == "auto" and batch.n_rows > 0:
            self._on_fraction[key] = torch.from_numpy(on).double() / (batch.n_rows * n)
        if delta_inst.numel() > 0:  # ∂W = Δ_Sᵀ W_S + (rows S) Δ_S W
            dec = torch.bmm(Delta.transpose(1, 2), W_S.index_select(0, delta_inst))
            dec.index_add_(1, feat, torch.bmm(Delta, W.index_select(0, delta_inst)))
            dW.index_copy_(0, delta_inst, dec)
        grads = {"W": dW.clone(), "b": db}
        if tau is not None:
            grads["W"].mul_(tau_[:, None, None])
            grads["tau"] = torch.from_numpy(dtau).to(dtype)
        return loss, grads
