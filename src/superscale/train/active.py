"""Exact loss and gradients of the tied toy model at a cost set by the batch's distinct active features.

Identity. Sample b has active set S_b, so x_b W Wᵀ = Σ_{j∈S_b} x_bj (W Wᵀ)_j: with S = ∪_b S_b and the Gram
rows G = W_S Wᵀ [|S|, n] (one GEMM), P_b = b + τ Σ_{j∈S_b} x_bj G_{s(j)} costs |S_b|·n, not n·m. Let
δ_b = c · I ⊙ (ReLU(P_b) − x_b) ⊙ 1[P_b > 0], c = 2·scale/(B·n). Then ∂b = Σ_b δ_b, ∂τ = Σ_b δ_b·(P_b − b)/τ
and ∂W = τ Σ_b (δ_b h_bᵀ + x_b g_bᵀ), h_b = Σ_j x_bj W_j (decoder), g_b = Wᵀ δ_b (encoder), summed either as
Δ_S = X_Sᵀ δ [|S|, n], ∂W = τ (Δ_Sᵀ W_S + Δ_S W on rows S) (two GEMMs; "delta" mode) or non-zero by
non-zero of δ (2m flops each; "scatter" mode). Samples without a feature share P = b and are done once; in
scatter mode the one-feature samples of feature j (P = b + τ x G_j) test only the columns that can be on.

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

#: accumulation modes: per non-zero of δ (after a compaction of P > 0), or Δ_S (a dense pass over every
#: P_b) then two GEMMs; without gradients, the same two ways to the loss
MODES = {"scatter": 1, "delta": 2}
_KERNELS: dict[str, Any] = {}
_on_entry: Any = None  # the kernels' helpers, set by _compile
_compact: Any = None


def _compile() -> dict[str, Any]:
    """Import numba and compile lazily (cached on disk), with the conventions of superscale's kernels."""
    import numba

    # numba's own pool, not OpenMP (which is torch's runtime: starting it would reset torch's thread count)
    numba.config.THREADING_LAYER = "workqueue"  # type: ignore[attr-defined]
    fast = {"reassoc", "contract", "nsz"}  # lets the float64 sums vectorise, in the compiled loop's order
    # the helpers are module globals, not closure cells: numba's cache key pickles a kernel's closure, and a
    # dispatcher pickles with a fresh random id in every process, so nothing was ever loaded from the cache
    global _on_entry, _compact

    @numba.njit(inline="always", fastmath=fast)
    def _on_entry(f, zf, x_f, Wf, dWf, ctx):  # type: ignore[no-untyped-def]
        """An entry with P > 0 (z = zf, x = x_f): its squared error and ∂τ term into acc [2], δ into ∂b and,
        with grads, decoder row f (dWf) += δ h_b and g_b += δ W_f."""
        bi, imp_i, tau_i, coef, dbi, grads, g, h, acc = ctx
        res = bi[f] + tau_i * zf - x_f
        w = imp_i[f] * res
        df = coef * w
        dbi[f] += df
        if grads:
            for k in range(h.shape[0]):
                g[k] += df * Wf[k]
                dWf[k] += df * h[k]
        acc[0] += np.float64(w) * res
        acc[1] += np.float64(df) * zf

    @numba.njit(inline="always")
    def _compact(flags, q, hits):  # type: ignore[no-untyped-def]
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
    def step(G, f0, W, b, imp, tau, coef, row_ptr, slot, feat, val, distinct, multi, single_ptr, single_val,
             n_empty, modes, grads, delta_row, Delta, dW, db, sumsq, dtau, on):  # type: ignore[no-untyped-def]  # fmt: skip
        """Columns f0 … f0+F. G [I,S,F] Gram rows there; W [I,n,m]; b [I,n]; imp [n]; tau [I]; coef = c (W's
        dtype); entries by sample: row_ptr [B'+1], slot / feat / val [K] (s(j), j, x_bj); distinct [S] the
        slots' features; multi: the samples with ≥ 2 features; single_ptr [S+1] / single_val: the x of the
        others by slot (scatter mode; delta mode takes every sample alike); modes [I] (MODES); grads: ∂W too.
        Out: Delta [D,S,F] (Δ_S of instance i at delta_row[i]), dW [I,n,m] (+=, scatter), db [I,n] (these
        columns), += sumsq [I] Σ I (y − x)², dtau [I] Σ δ·(P − b)/τ, on [I] #(P > 0) in non-empty samples."""
        n_inst, n_cols, m = G.shape[0], G.shape[2], W.shape[2]
        zero = coef - coef  # a zero of W's dtype (a literal 0.0 would promote float32 to float64)
        slack = np.float32(2.0**-10)  # the candidates' margin, far above the round-off of one P
        for i in numba.prange(n_inst):
            scatter = modes[i] == 1
            Gi, Wi, dWi, tau_i = G[i], W[i], dW[i], tau[i]
            cols = slice(f0, f0 + n_cols)  # this block's columns: their b, ∂b, I and rows of W, ∂W
            bi, dbi, imp_i, Wc, dWc = b[i, cols], db[i, cols], imp[cols], Wi[cols], dWi[cols]
            z = np.empty(n_cols, dtype=W.dtype)  # Σ_j x_bj G_j: the interference part (P_b = b + τ z)
            d = np.empty(n_cols, dtype=W.dtype)  # δ_b (delta mode)
            xs = np.zeros(n_cols, dtype=W.dtype)  # x_b, set and cleared at its features
            flags = np.zeros(n_cols + (-n_cols) % 8, dtype=np.uint8)  # P_b > 0 (scatter); the tail stays 0
            hits = np.empty(n_cols, dtype=np.int64)
            h = np.empty(m, dtype=W.dtype)  # h_b = Σ_j x_bj W_j
            g = np.empty(m, dtype=W.dtype)  # g_b = Wᵀ δ_b (these columns' part)
            acc = np.zeros(2)  # Σ I (y − x)², Σ δ·(P − b)/τ
            ctx = (bi, imp_i, tau_i, coef, dbi, grads, g, h, acc)
            for f in range(n_cols):  # the n_empty samples without a feature: P = b, h = 0
                y = bi[f] if bi[f] > zero else zero
                acc[0] += n_empty * (np.float64(imp_i[f] * y) * y)
                dbi[f] = n_empty * (coef * imp_i[f] * y)  # y = 0 where P ≤ 0
            count = 0
            if grads and not scatter:
                Delta[delta_row[i]] = zero
            if scatter:
                # one-feature samples, by feature j: P = b + τ v G_j, so the columns that can be on for any
                # of them (b + v_max·max(τ G_j, 0) > 0, with a margin) are found once per feature, and each
                # sample only tests those (a converged model has a few; x ≥ 0, see group_by_sample)
                for s in range(single_ptr.shape[0] - 1):
                    lo, hi = single_ptr[s], single_ptr[s + 1]
                    if lo == hi:
                        continue
                    Gs, j, jc = Gi[s], distinct[s], distinct[s] - f0
                    vmax = single_val[lo:hi].max()
                    q = 0
                    for f in range(n_cols):
                        lift = vmax * max(tau_i * Gs[f], zero)
                        on_f = bi[f] + lift + slack * (abs(bi[f]) + vmax * abs(tau_i * Gs[f])) > zero
                        flags[f] = on_f
                        q += on_f
                    _compact(flags, q, hits)
                    for u in range(lo, hi):
                        v = single_val[u]
                        if grads:
                            for k in range(m):
                                h[k] = v * Wi[j, k]
                                g[k] = zero
                        own_on = False
                        found = 0
                        for c in range(q):
                            f = hits[c]
                            zf = v * Gs[f]
                            if bi[f] + tau_i * zf > zero:
                                found += 1
                                own_on |= f == jc
                                x_f = v if f == jc else zero
                                _on_entry(f, zf, x_f, Wc[f], dWc[f], ctx)
                        count += found
                        if 0 <= jc < n_cols and not own_on:  # its feature is off: residual −x, δ = 0
                            acc[0] += np.float64(imp_i[jc]) * v * v
                        if grads and found:  # encoder row j += x g_b
                            for k in range(m):
                                dWi[j, k] += v * g[k]
            for u in range(multi.shape[0] if scatter else row_ptr.shape[0] - 1):
                r = multi[u] if scatter else u
                lo, hi = row_ptr[r], row_ptr[r + 1]
                G0, v0 = Gi[slot[lo]], val[lo]
                for f in range(n_cols):
                    z[f] = v0 * G0[f]
                for t in range(lo + 1, hi):
                    Gt, vt = Gi[slot[t]], val[t]
                    for f in range(n_cols):
                        z[f] += vt * Gt[f]
                for t in range(lo, hi):
                    if 0 <= feat[t] - f0 < n_cols:
                        xs[feat[t] - f0] = val[t]
                if scatter:  # flag and count P > 0 (a vectorised compare), then work per flagged entry
                    q = 0
                    for f in range(n_cols):
                        on_f = bi[f] + tau_i * z[f] > zero
                        flags[f] = on_f
                        q += on_f
                    _compact(flags, q, hits)
                    count += q
                    if grads and q:
                        h[:] = zero
                        g[:] = zero
                        for t in range(lo, hi):
                            for k in range(m):
                                h[k] += val[t] * Wi[feat[t], k]
                    for c in range(q):
                        f = hits[c]
                        _on_entry(f, z[f], xs[f], Wc[f], dWc[f], ctx)
                    for t in range(lo, hi):
                        jc, vt = feat[t] - f0, val[t]
                        if 0 <= jc < n_cols and not flags[jc]:  # an active feature that is off: −x, δ = 0
                            acc[0] += np.float64(imp_i[jc]) * vt * vt
                        if grads and q:  # encoder row j += x_bj g_b
                            for k in range(m):
                                dWi[feat[t], k] += vt * g[k]
                else:
                    s_, ts_, c_ = 0.0, 0.0, 0
                    for f in range(n_cols):
                        zf = z[f]
                        p = bi[f] + tau_i * zf
                        on_f = p > zero
                        res = (p if on_f else zero) - xs[f]
                        w = imp_i[f] * res
                        s_ += np.float64(w) * res
                        df = coef * w if on_f else zero
                        d[f] = df
                        dbi[f] += df
                        ts_ += np.float64(df) * zf
                        c_ += on_f
                    acc[0] += s_
                    acc[1] += ts_
                    count += c_
                    if grads:  # Δ_S[s(j)] += x_bj δ_b
                        Di = Delta[delta_row[i]]
                        for t in range(lo, hi):
                            Dt, vt = Di[slot[t]], val[t]
                            for f in range(n_cols):
                                Dt[f] += vt * d[f]
                for t in range(lo, hi):
                    if 0 <= feat[t] - f0 < n_cols:
                        xs[feat[t] - f0] = zero
            sumsq[i] += acc[0]
            dtau[i] += acc[1]
            on[i] += count

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
    n_rows: int  # B', the samples with at least one feature
    n_empty: int  # B − B'


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
    single = (counts == 1) & bool(values.numel() and values.min() >= 0)
    first = row_ptr[:-1][single]  # the entry of each one-feature sample
    by_slot = torch.argsort(slot[first], stable=True)
    single_ptr = torch.zeros(feat.numel() + 1, dtype=torch.int64)
    torch.cumsum(torch.bincount(slot[first], minlength=feat.numel()), 0, out=single_ptr[1:])
    multi, single_val = torch.nonzero(~single).flatten(), values[first][by_slot]
    rows = counts.numel()
    return ActiveBatch(
        feat, row_ptr, slot, feature, values, multi, single_ptr, single_val, batch, n, rows, batch - rows
    )


#: cost-model constants, ns on one core of the bench machine, fitted to both modes' times (α = 1 and 2,
#: m = 10 and 100, the bias raised to put 0.1–70 % of the outputs on; only ratios matter). Scatter mode per
#: non-zero of δ: a fixed part (compaction, branches, the scalar δ, loss and ∂b) and per unit of m (its two
#: m-long rows). Delta mode per (sample or entry, column): the dense pass over the one-feature samples that
#: scatter mode skips, and the Δ_S accumulation; per (slot, column) of Δ_S: zeroing and reading it, and per
#: unit of m its two GEMMs. Crossovers seen: 6 % on (α = 1, m = 10), 8 % (m = 100), 3.5 and 2.5 % at α = 2.
NS_HIT, NS_HIT_M = 9.0, 0.11
NS_DENSE = 0.16
NS_SLOT, NS_SLOT_M = 0.38, 0.03


def choose_modes(on_fraction: Tensor, batch: ActiveBatch, m: int) -> Tensor:
    """Per instance, MODES["scatter"] or MODES["delta"], whichever the cost model finds cheaper [I] int8;
    on_fraction [I] is the expected fraction of (non-empty sample, column) entries with P > 0 (δ ≠ 0)."""
    n, slots = batch.n, batch.feat.numel()
    single = batch.n_rows - batch.multi.numel()
    scatter = on_fraction.double() * (batch.n_rows * n) * (NS_HIT + NS_HIT_M * m)
    delta = NS_DENSE * n * (single + batch.values.numel()) + (NS_SLOT + NS_SLOT_M * m) * slots * n
    return torch.where(scatter < delta, MODES["scatter"], MODES["delta"]).to(torch.int8)


class ActiveStep:
    """The loss and gradients of a chunk of tied models on a grouped batch (CPU; numba). Keeps per chunk
    (keyed by its W's address and shape: the engine updates W in place) each instance's fraction of P > 0 in
    its previous step, the cost model's estimate of δ's non-zeros (a first step: the bias's, P = b). A mode
    depends only on the instance's own history, so a run's numbers do not depend on the rest of its chunk.
    The gradients returned live in buffers that the next call reuses."""

    #: G and Δ_S are built a block of columns at a time, at most this many bytes per instance (a bound on
    #: memory for a large n; at n = 1000 one block). L2-sized blocks measured no faster on the bench machine:
    #: the pass costs ~50 ns a sample more per block, about what G's and Δ_S's cache misses cost
    BLOCK_BYTES = 2**25

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
        sel = torch.nonzero(modes == MODES["delta"]).flatten() if need_grads else torch.zeros(0).long()
        W_t = W.transpose(1, 2).contiguous()  # [I,m,n]
        # the delta GEMMs with the m rows on the left, (W_Sᵀ Δ_S)ᵀ and (Wᵀ Δ_Sᵀ)ᵀ: 3–4× as fast at m = 10
        W_S_t, W_t_sel = W_S.index_select(0, sel).transpose(1, 2).contiguous(), W_t[sel]  # [D,m,S], [D,m,n]
        delta_row = torch.full((n_inst,), -1, dtype=torch.int64)
        delta_row[sel] = torch.arange(sel.numel())
        dW = self._scratch("dW", (n_inst, n, m), dtype)
        if need_grads and sel.numel() < n_inst:
            dW.zero_()
        enc_t = torch.zeros(sel.numel(), m, n_distinct, dtype=dtype)  # (Δ_S W)ᵀ (delta mode) [D,m,S]
        db = torch.empty(n_inst, n, dtype=dtype)
        sumsq, dtau = np.zeros(n_inst), np.zeros(n_inst)
        on = np.zeros(n_inst, dtype=np.int64)
        imp = torch.ones(n, dtype=dtype) if importance is None else importance.to(dtype).contiguous()
        tau_ = torch.ones(n_inst, dtype=dtype) if tau is None else tau.detach().to(dtype).contiguous()
        numel = batch.batch * n
        coef = np.array(2.0 * loss_scale / numel, dtype=W.numpy().dtype)[()]
        entries = (batch.row_ptr, batch.slot, batch.feature, batch.values.to(dtype), batch.feat, batch.multi)
        args = (*(t.numpy() for t in entries), batch.single_ptr.numpy(), batch.single_val.to(dtype).numpy())
        width = min(n, max(64, self.BLOCK_BYTES // (n_distinct * W.element_size()) // 64 * 64))
        for f0 in range(0, n, width):
            f1 = min(n, f0 + width)
            G = self._scratch("G", (n_inst, n_distinct, f1 - f0), dtype)
            torch.bmm(W_S, W_t[:, :, f0:f1], out=G)  # [I,S,F]
            Delta = self._scratch("Delta", (sel.numel(), n_distinct, f1 - f0), dtype)  # [D,S,F]
            _kernels()["step"](
                G.numpy(), f0, W.numpy(), b.numpy(), imp.numpy(), tau_.numpy(), coef, *args, batch.n_empty,
                modes.numpy(), need_grads, delta_row.numpy(), Delta.numpy(), dW.numpy(), db.numpy(), sumsq,
                dtau, on,
            )  # fmt: skip
            if sel.numel():  # this block's decoder rows Δ_Sᵀ W_S, and its part of the encoder term Δ_S W
                dW[:, f0:f1].index_copy_(0, sel, torch.bmm(W_S_t, Delta).transpose(1, 2))
                enc_t.baddbmm_(W_t_sel[:, :, f0:f1], Delta.transpose(1, 2))
        if sel.numel() and feat.numel():  # ∂W rows S += Δ_S W
            dW.index_copy_(0, sel, dW.index_select(0, sel).index_add_(1, feat, enc_t.transpose(1, 2)))
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
