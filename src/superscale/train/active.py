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

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

__all__ = ["MODES", "ActiveBatch", "ActiveStep", "choose_modes", "group_by_sample"]

#: accumulation modes of the fused pass: per non-zero of δ (after a compaction of P > 0), or Δ_S (a dense
#: pass over every P_b) then two GEMMs; without gradients the same two ways of computing the loss
MODES = {"scatter": 1, "delta": 2}
_KERNELS: dict[str, Any] = {}


def _compile() -> dict[str, Any]:
    """Import numba and compile lazily (cached on disk), with the conventions of superscale's kernels."""
    import numba

    # numba's own pool, not OpenMP (which is torch's runtime: starting it would reset torch's thread count)
    numba.config.THREADING_LAYER = "workqueue"  # type: ignore[attr-defined]
    fast = {"reassoc", "contract", "nsz"}  # lets the float64 sums vectorise, in the compiled loop's order

    @numba.njit(inline="always", fastmath=fast)
    def on_entry(f, zf, x_f, bi, imp_i, tau_i, coef, dbi, grads, Wf, dWf, g, h):  # type: ignore[no-untyped-def]
        """An entry with P > 0: δ into ∂b and, with grads, decoder row f += δ h_b, g_b += δ W_f; returns
        its squared error and its ∂τ term."""
        res = bi[f] + tau_i * zf - x_f
        w = imp_i[f] * res
        df = coef * w
        dbi[f] += df
        if grads:
            for k in range(h.shape[0]):
                g[k] += df * Wf[k]
                dWf[k] += df * h[k]
        return np.float64(w) * res, np.float64(df) * zf

    @numba.njit(inline="always")
    def compact(flags, q, hits):  # type: ignore[no-untyped-def]
        """hits[:q] = the q flagged columns: eight flags (a 64-bit word) at a time, skipping zero words and
        stopping at the last flag (an entry-by-entry compaction cost 3–4× as much in superscale.kernels)."""
        words = flags.view(np.uint64)
        found = 0
        u = 0
        while found < q:
            if words[u]:
                for f in range(8 * u, 8 * u + 8):
                    hits[found] = f
                    found += flags[f]
            u += 1

    @numba.njit(parallel=True, cache=True, nogil=True, fastmath=fast)
    def step(G, W, b, imp, tau, coef, row_ptr, slot, feat, val, distinct, multi, single_ptr, single_val, n_empty,
             modes, grads, delta_row, Delta, dW, db, sumsq, dtau, on):  # type: ignore[no-untyped-def]  # fmt: skip
        """G [I,S,n] Gram rows; W [I,n,m]; b [I,n]; imp [n]; tau [I]; coef = c (W's dtype); entries sorted by
        sample: row_ptr [B'+1] bounds per non-empty sample, slot / feat / val [K] (s(j), j, x_bj); distinct [S]
        the features of the slots; multi: the samples with ≥ 2 features, single_ptr [S+1] / single_val the x
        of the others, by slot (scatter mode; delta mode takes every sample the same way);
        modes [I] (MODES); grads: accumulate ∂W. Out: Delta [D,S,n] (instance i's Δ_S at delta_row[i]), dW
        [I,n,m] (+=, scatter), db [I,n], sumsq [I] Σ I (y − x)², dtau [I] Σ δ·(P − b)/τ, on [I] #(P > 0)."""
        n_inst, n, m = W.shape
        zero = coef - coef  # a zero of W's dtype (a literal 0.0 would promote float32 to float64)
        slack = np.float32(2.0**-10)  # the candidates' margin, far above the round-off of one P
        for i in numba.prange(n_inst):
            scatter = modes[i] == 1
            Gi, Wi, dWi, bi, dbi, tau_i = G[i], W[i], dW[i], b[i], db[i], tau[i]
            z = np.empty(n, dtype=W.dtype)  # Σ_j x_bj G_j: the interference part (P_b = b + τ z)
            d = np.empty(n, dtype=W.dtype)  # δ_b (delta mode)
            xs = np.zeros(n, dtype=W.dtype)  # x_b, set and cleared at its features
            flags = np.zeros(n + (-n) % 8, dtype=np.uint8)  # P_b > 0 (scatter); the tail stays 0
            hits = np.empty(n, dtype=np.int64)
            h = np.empty(m, dtype=W.dtype)  # h_b = Σ_j x_bj W_j
            g = np.empty(m, dtype=W.dtype)  # g_b = Wᵀ δ_b
            total = 0.0
            for f in range(n):  # the n_empty samples without a feature: P = b, h = 0
                y = bi[f] if bi[f] > zero else zero
                total += np.float64(imp[f] * y) * y
                dbi[f] = n_empty * (coef * imp[f] * y)  # y = 0 where P ≤ 0
            total *= n_empty
            tsum = 0.0
            count = 0
            if grads and modes[i] == 2:
                Delta[delta_row[i]] = zero
            if scatter:
                # one-feature samples, by feature j: P = b + τ v G_j, so the columns that can be on for any
                # of them (b + v_max·max(τ G_j, 0) > 0, with a margin) are found once per feature, and each
                # sample only tests those (a converged model has a few; x ≥ 0, see group_by_sample)
                for s in range(single_ptr.shape[0] - 1):
                    a, e = single_ptr[s], single_ptr[s + 1]
                    if a == e:
                        continue
                    Gs, j = Gi[s], distinct[s]
                    vmax = single_val[a:e].max()
                    q = 0
                    for f in range(n):
                        lift = vmax * max(tau_i * Gs[f], zero)
                        on_f = bi[f] + lift + slack * (abs(bi[f]) + vmax * abs(tau_i * Gs[f])) > zero
                        flags[f] = on_f
                        q += on_f
                    compact(flags, q, hits)
                    Wj, dWj = Wi[j], dWi[j]
                    for u in range(a, e):
                        v = single_val[u]
                        if grads:
                            for k in range(m):
                                h[k] = v * Wj[k]
                                g[k] = zero
                        own_on = False
                        found = 0
                        for c in range(q):
                            f = hits[c]
                            zf = v * Gs[f]
                            if bi[f] + tau_i * zf > zero:
                                found += 1
                                own_on |= f == j
                                sq, ts = on_entry(f, zf, v if f == j else zero, bi, imp, tau_i, coef, dbi,
                                                  grads, Wi[f], dWi[f], g, h)  # fmt: skip
                                total += sq
                                tsum += ts
                        count += found
                        if not own_on:  # its feature is off: residual −x, δ = 0
                            total += np.float64(imp[j]) * v * v
                        if grads and found:  # encoder row j += x g_b
                            for k in range(m):
                                dWj[k] += v * g[k]
            for u in range(multi.shape[0] if scatter else row_ptr.shape[0] - 1):
                r = multi[u] if scatter else u
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
                if scatter:  # flag and count P > 0 (a vectorised compare), then work per flagged entry
                    q = 0
                    for f in range(n):
                        on_f = bi[f] + tau_i * z[f] > zero
                        flags[f] = on_f
                        q += on_f
                    compact(flags, q, hits)
                    count += q
                    if grads and q:
                        h[:] = zero
                        g[:] = zero
                        for t in range(lo, hi):
                            Wt, vt = Wi[feat[t]], val[t]
                            for k in range(m):
                                h[k] += vt * Wt[k]
                    for c in range(q):
                        f = hits[c]
                        sq, ts = on_entry(
                            f, z[f], xs[f], bi, imp, tau_i, coef, dbi, grads, Wi[f], dWi[f], g, h
                        )
                        total += sq
                        tsum += ts
                    for t in range(lo, hi):
                        j, vt = feat[t], val[t]
                        if not flags[j]:  # an active feature that is off: residual −x, δ = 0
                            total += np.float64(imp[j]) * vt * vt
                        if grads and q:  # encoder row j += x_bj g_b
                            dWt = dWi[j]
                            for k in range(m):
                                dWt[k] += vt * g[k]
                else:
                    s_ = 0.0
                    ts_ = 0.0
                    c_ = 0
                    for f in range(n):
                        zf = z[f]
                        p = bi[f] + tau_i * zf
                        on_f = p > zero
                        res = (p if on_f else zero) - xs[f]
                        w = imp[f] * res
                        s_ += np.float64(w) * res
                        df = coef * w if on_f else zero
                        d[f] = df
                        dbi[f] += df
                        ts_ += np.float64(df) * zf
                        c_ += on_f
                    total += s_
                    tsum += ts_
                    count += c_
                    if grads:  # Δ_S[s(j)] += x_bj δ_b
                        Di = Delta[delta_row[i]]
                        for t in range(lo, hi):
                            Dt, vt = Di[slot[t]], val[t]
                            for f in range(n):
                                Dt[f] += vt * d[f]
                for t in range(lo, hi):
                    xs[feat[t]] = zero
            sumsq[i] = total
            dtau[i] = tsum
            on[i] = count

    return {"step": step}


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
    multi: Tensor  # [B''] int64: the non-empty samples (r) with ≥ 2 features (all of them if some x < 0)
    single_ptr: Tensor  # [S+1] int64: single_val[single_ptr[s] … single_ptr[s+1]] are the x of the
    single_val: Tensor  # one-feature samples whose feature is feat[s]
    batch: int  # B
    n: int

    @property
    def n_rows(self) -> int:
        """B', the samples with at least one feature."""
        return self.row_ptr.numel() - 1

    @property
    def n_empty(self) -> int:
        return self.batch - self.n_rows


def group_by_sample(
    sample_idx: Tensor, feature_idx: Tensor, values: Tensor, batch: int, n: int
) -> ActiveBatch:
    """Sort the K entries by (sample, feature), so the result does not depend on the input order, and
    group the one-feature samples by their feature (their bound on P needs x ≥ 0: the paper's data)."""
    sample_idx, feature_idx, values = sample_idx.cpu().long(), feature_idx.cpu().long(), values.cpu()
    order = torch.argsort(sample_idx * n + feature_idx)
    sample, feature, values = sample_idx[order], feature_idx[order], values[order]
    feat, slot = torch.unique(feature, sorted=True, return_inverse=True)
    counts = torch.unique_consecutive(sample, return_counts=True)[1]
    row_ptr = torch.zeros(counts.numel() + 1, dtype=torch.int64)
    torch.cumsum(counts, 0, out=row_ptr[1:])
    single = (
        counts == 1
        if values.numel() and bool(values.min() >= 0)
        else torch.zeros_like(counts, dtype=torch.bool)
    )
    first = row_ptr[:-1][single]  # the entry of each one-feature sample
    by_slot = torch.argsort(slot[first], stable=True)
    single_ptr = torch.zeros(feat.numel() + 1, dtype=torch.int64)
    torch.cumsum(torch.bincount(slot[first], minlength=feat.numel()), 0, out=single_ptr[1:])
    multi = torch.nonzero(~single).flatten()
    return ActiveBatch(
        feat, row_ptr, slot, feature, values, multi, single_ptr, values[first][by_slot], batch, n
    )


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
    history, so a run's numbers do not depend on the other runs of its chunk. The returned gradients live
    in buffers that the next call reuses."""

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
        mode: str | Sequence[str] = "auto",
    ) -> tuple[Tensor, dict[str, Tensor]]:
        """Per-instance loss [I] float64, mean over batch and features of I ⊙ (y − x)², and the gradients of
        loss_scale × loss: {"W": [I,n,m], "b": [I,n]} (+ "tau": [I] when tau [I] is given) in W's dtype.

        importance [n] weights the squared error; y = ReLU(τ·x W Wᵀ + b). `mode` forces "scatter" or "delta",
        for all instances or one name per instance (tests and the benchmark: both are exact); "auto" is the
        cost model's choice."""
        W, b = W.detach().contiguous(), b.detach().contiguous()
        n_inst, n, m = W.shape
        dtype = W.dtype
        key = (W.data_ptr(), tuple(W.shape))
        if mode == "auto":
            if key not in self._on_fraction:
                self._on_fraction[key] = (b > 0).double().mean(1)
            modes = choose_modes(self._on_fraction[key], batch, m)
        else:
            names = [mode] * n_inst if isinstance(mode, str) else list(mode)
            modes = torch.tensor([MODES[name] for name in names], dtype=torch.int8)
        self.last_modes = modes
        feat = batch.feat
        n_distinct = max(1, feat.numel())  # no entry at all: one dummy G row keeps the views valid (unread)
        W_S = W.index_select(1, feat) if feat.numel() else W.new_zeros(n_inst, 1, m)  # [I,S,m]
        G = torch.bmm(
            W_S, W.transpose(1, 2), out=self._scratch("G", (n_inst, n_distinct, n), dtype)
        )  # [I,S,n]
        sel = torch.nonzero(modes == MODES["delta"]).flatten() if need_grads else torch.zeros(0).long()
        delta_row = torch.full((n_inst,), -1, dtype=torch.int64)
        delta_row[sel] = torch.arange(sel.numel())
        Delta = self._scratch("Delta", (sel.numel(), n_distinct, n), dtype)  # [D,S,n]
        dW = self._scratch("dW", (n_inst, n, m), dtype)
        if need_grads and sel.numel() < n_inst:
            dW.zero_()
        db = torch.empty(n_inst, n, dtype=dtype)
        sumsq, dtau = np.zeros(n_inst), np.zeros(n_inst)
        on = np.zeros(n_inst, dtype=np.int64)
        imp = torch.ones(n, dtype=dtype) if importance is None else importance.to(dtype).contiguous()
        tau_ = torch.ones(n_inst, dtype=dtype) if tau is None else tau.detach().to(dtype).contiguous()
        numel = batch.batch * n
        coef = np.array(2.0 * loss_scale / numel, dtype=W.numpy().dtype)[()]
        entries = (batch.row_ptr, batch.slot, batch.feature, batch.values.to(dtype), batch.feat, batch.multi)
        singles = (batch.single_ptr.numpy(), batch.single_val.to(dtype).numpy(), batch.n_empty)
        _kernels()["step"](
            G.numpy(), W.numpy(), b.numpy(), imp.numpy(), tau_.numpy(), coef, *(t.numpy() for t in entries),
            *singles, modes.numpy(), need_grads, delta_row.numpy(), Delta.numpy(), dW.numpy(), db.numpy(),
            sumsq, dtau, on,
        )  # fmt: skip
        if sel.numel() and feat.numel():  # ∂W = Δ_Sᵀ W_S, + Δ_S W on rows S
            every = sel.numel() == n_inst  # all in delta mode (early training): no gathers
            W_S_sel, W_sel = (W_S, W) if every else (W_S.index_select(0, sel), W.index_select(0, sel))
            dec = torch.bmm(Delta.transpose(1, 2), W_S_sel).index_add_(1, feat, torch.bmm(Delta, W_sel))
            if every:
                dW.copy_(dec)
            else:
                dW.index_copy_(0, sel, dec)
        elif sel.numel():
            dW.index_fill_(0, sel, 0.0)
        loss = torch.from_numpy(sumsq) / numel
        if mode == "auto" and batch.n_rows > 0:
            self._on_fraction[key] = torch.from_numpy(on).double() / (batch.n_rows * n)
        if not need_grads:
            return loss, {}
        grads = {"W": dW, "b": db}
        if tau is not None:
            dW.mul_(tau_[:, None, None])
            grads["tau"] = torch.from_numpy(dtau).to(dtype)
        return loss, grads
