"""CPU kernel for the tied toy model's backward over the entries where it is really non-zero.

Why. Per model-step the dense backward is two GEMMs of 2·B·n·m flops each over the masked residual
g = (ReLU(pre) − x) ⊙ 1[pre > 0]. In strong superposition almost every output is off (the bias filters the
interference), so g is ~1 % dense; in weak superposition the unrepresented features are *always* on
(b_j > 0, W_j ≈ 0), so g is dense but low-rank there. Splitting the columns into "mostly off" (S) and
"mostly on" (A) makes both cases sparse plus low-rank, exactly:

    ReLU(P) = ReLU(s ⊙ P) + 1_A ⊙ P,       s_j = +1 for j ∈ S, −1 for j ∈ A,

because ReLU(P) = P + ReLU(−P). The first term is non-zero only where s_j·P_bj > 0 (an S output that fired
or an A output that did not); the second is h⁺ W⁺_Aᵀ, rank m + 1, whose products with h⁺ and W cost
O((B + n)·m²) through the Gram matrix h⁺ᵀh⁺ (done in torch by the caller). Any split is exact; the split
only decides the cost, so the caller picks A from the previous step's on-fractions.

The kernel below reads s ⊙ P once (the forward GEMM writes it with the signs folded into W⁺) and, per
positive entry q, adds q·h⁺_b to the decoder gradient of column j and q·W_j to ∂h_b; then subtracts the
x-terms at the K active entries of the sparse batch and adds the encoder term xᵀ(∂h). Measured on the E2
grid (bench/engine.py) this is what takes the engine to the forward-GEMM floor; torch's index_add_ and
sparse CSR products were measured 3–10× slower for the same scatter, hence numba.

Past the floor: once the positive entries are few (a converged model: ~0.1 %), the caller computes
s ⊙ P / ‖W⁺_j‖ in bfloat16 instead (twice the GEMM throughput, half the bytes to scan), and `screen`
recomputes exactly, in float32, every entry that the rounding bound (SCREEN_BOUND) cannot rule out as ≤ 0:
0.3–2 % of the entries on the recipe's weights. No positive entry can hide below the bound, so the
gradients are the exact path's to float32 round-off (tests/test_kernels.py).
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = [
    "active_products",
    "active_terms",
    "adamw_step",
    "scan_positive",
    "screen_limits",
    "screen_positive",
]

_KERNELS: dict[str, Any] = {}
add_positive: Any = None  # the kernels' inlined helpers, set by _compile
dot: Any = None
ROW_NORM_EPS = 1e-8  # as superscale.train.optim: the authors' code adds it to the row norm


def _compile() -> dict[str, Any]:
    """Import numba and compile lazily: `import superscale` must not pay for it (cached on disk)."""
    import numba

    # numba's own thread pool, not OpenMP: torch's OpenMP runtime is the same library, and numba starting
    # it would reset torch's thread count to the number of cores. The workqueue pool is not re-entrant:
    # call these kernels from one thread per process (executors use processes; add a lock before threads)
    numba.config.THREADING_LAYER = "workqueue"  # type: ignore[attr-defined]

    # the helpers are module globals, not closure cells: numba's cache key pickles a kernel's closure, and
    # a dispatcher pickles with a fresh id in every process, so with closures nothing loaded from the cache
    global add_positive, dot

    @numba.njit(inline="always")
    def add_positive(q, i, b, j, h, W, sign, grad_dec, grad_h, positives):  # type: ignore[no-untyped-def]
        """One positive entry q of s ⊙ P: its decoder and ∂h contributions; returns s q² for the loss."""
        positives[i, j] += 1
        for k in range(h.shape[2]):
            grad_dec[i, j, k] += q * h[i, b, k]
        for k in range(W.shape[2]):
            grad_h[i, b, k] += q * W[i, j, k]
        return sign[i, j] * q * q

    @numba.njit(parallel=True, cache=True, nogil=True)
    def scan(Q, row0, h, W, sign, grad_dec, grad_h, sumsq, positives, act_b, act_j, lo, hi, pre_act):  # type: ignore[no-untyped-def]
        """Q [I,R,n] = s ⊙ P of batch rows row0 … row0+R; h [I,B,m+1]; W [I,n,m]; sign [I,n];
        grad_dec [I,n,m+1] (+=); grad_h [I,B,m] (+=); sumsq [I] (+= Σ s q²); positives [I,n] (+= counts);
        pre_act [I,K] (= P at the active entries lo … hi, sorted by sample, that fall in these rows)."""
        n_inst, n_rows, n = Q.shape
        # one task per instance: its gradients are its own, so no lock and no private buffers, and the
        # summation order (every bit of a run's result) does not depend on the thread count or the tile
        for i in numba.prange(n_inst):
            acc = 0.0
            hits = np.empty(n, dtype=np.int64)
            for r in range(n_rows):
                row = Q[i, r]
                b = row0 + r
                # branch-free compaction of the row's positive columns first: the pass over all entries is
                # the kernel's floor, and a loop whose store is unconditional ran 2× faster than one with a
                # branch and than a vectorised any-positive test of 16-entry blocks (0.86 against 1.5–2.0 ms
                # for 5 × 416 × 1000 entries at 0.12 % positive, one thread, on the bench machine)
                count = 0
                for j in range(n):
                    hits[count] = j
                    count += row[j] > 0.0
                for t in range(count):
                    j = hits[t]
                    acc += add_positive(row[j], i, b, j, h, W, sign, grad_dec, grad_h, positives)
            sumsq[i] += acc
            for t in range(lo, hi):
                j = act_j[t]
                pre_act[i, t] = Q[i, act_b[t] - row0, j] * sign[i, j]

    @numba.njit(inline="always")
    def dot(h, Ws, i, b, j):  # type: ignore[no-untyped-def]
        """s ⊙ P at (b, j) in float32: eight partial sums in a fixed order (the compiler vectorises them
        lane by lane, so every call site gets the same bits: the screen and the active entries agree)."""
        m1 = h.shape[2]
        a0 = a1 = a2 = a3 = a4 = a5 = a6 = a7 = np.float32(0.0)
        k = 0
        while k + 8 <= m1:
            a0 += h[i, b, k] * Ws[i, j, k]
            a1 += h[i, b, k + 1] * Ws[i, j, k + 1]
            a2 += h[i, b, k + 2] * Ws[i, j, k + 2]
            a3 += h[i, b, k + 3] * Ws[i, j, k + 3]
            a4 += h[i, b, k + 4] * Ws[i, j, k + 4]
            a5 += h[i, b, k + 5] * Ws[i, j, k + 5]
            a6 += h[i, b, k + 6] * Ws[i, j, k + 6]
            a7 += h[i, b, k + 7] * Ws[i, j, k + 7]
            k += 8
        rest = np.float32(0.0)
        while k < m1:
            rest += h[i, b, k] * Ws[i, j, k]
            k += 1
        return ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7)) + rest

    @numba.njit(parallel=True, cache=True, nogil=True)
    def screen(Q16, row0, limit, h, Ws, W, sign, grad_dec, grad_h, sumsq, positives, candidates):  # type: ignore[no-untyped-def]
        """As `scan`, from a bfloat16 Q16 [I,R,n] (its bits as uint16): an entry is a candidate when its
        bits are below limit [I,B] (Q̃ > −τ_b, see screen_limits), and s ⊙ P is recomputed exactly there
        (`dot`, from h [I,B,m+1] and the signed W⁺ Ws [I,n,m+1]); candidates [I] += their count."""
        n_inst, n_rows, n = Q16.shape
        for i in numba.prange(n_inst):
            acc = 0.0
            found = 0
            hits = np.empty(n + 8, dtype=np.int64)
            flags = np.zeros(n + (-n) % 8, dtype=np.uint8)  # the tail past n stays 0
            words = flags.view(np.uint64)
            for r in range(n_rows):
                row = Q16[i, r]
                b = row0 + r
                bound = limit[i, b]
                # two passes, both cheap: a flag per entry (an elementwise compare, which vectorises), then
                # the flags eight at a time as one 64-bit word, skipping the words that are zero: almost all
                # (a loop that compacts entry by entry cost 3–4× as much)
                for j in range(n):
                    flags[j] = row[j] < bound
                count = 0
                for w in range(words.shape[0]):
                    if words[w]:
                        for j in range(8 * w, 8 * w + 8):
                            hits[count] = j
                            count += flags[j]
                found += count
                for t in range(count):
                    j = hits[t]
                    q = dot(h, Ws, i, b, j)
                    if q > 0.0:
                        acc += add_positive(q, i, b, j, h, W, sign, grad_dec, grad_h, positives)
            sumsq[i] += acc
            candidates[i] += found

    @numba.njit(parallel=True, cache=True, nogil=True)
    def dot_active(h, Ws, sign, act_b, act_j, pre_act):  # type: ignore[no-untyped-def]
        """pre_act [I,K] = P at the active entries, by the screen's own `dot`."""
        for i in numba.prange(pre_act.shape[0]):
            for t in range(pre_act.shape[1]):
                j = act_j[t]
                pre_act[i, t] = dot(h, Ws, i, act_b[t], j) * sign[i, j]

    @numba.njit(parallel=True, cache=True, nogil=True)
    def active(pre_act, h, W, act_b, act_j, values, grad_dec, grad_h, cross):  # type: ignore[no-untyped-def]
        """The x-terms at the K active entries (sorted by sample; pre_act [I,K] their P): −x ⊙ 1[P > 0] in
        both gradients, then the encoder term xᵀ(∂h) into grad_dec[..., :m]; cross [I] = Σ_k ReLU(P_k) v_k."""
        n_inst = pre_act.shape[0]
        m1 = h.shape[2]
        m = W.shape[2]
        n_active = values.shape[0]
        for i in numba.prange(n_inst):
            acc = 0.0
            for t in range(n_active):
                pre = pre_act[i, t]
                if pre > 0.0:
                    b = act_b[t]
                    j = act_j[t]
                    v = values[t]
                    acc += pre * v
                    for k in range(m1):
                        grad_dec[i, j, k] -= v * h[i, b, k]
                    for k in range(m):
                        grad_h[i, b, k] -= v * W[i, j, k]
            for t in range(n_active):
                b = act_b[t]
                j = act_j[t]
                v = values[t]
                for k in range(m):
                    grad_dec[i, j, k] += v * grad_h[i, b, k]
            cross[i] = acc

    @numba.njit(parallel=True, cache=True, nogil=True)
    def adamw(p, g, exp_avg, exp_avg_sq, step, lr_gamma, consts, decay):  # type: ignore[no-untyped-def]
        """One signed-AdamW step in one pass per row: p, g, exp_avg, exp_avg_sq [I, R, C] (in place);
        step, lr_gamma [I] float64 (η_t/(1 − β1^t) and η_t·γ per instance); consts = (β1, 1 − β1, β2,
        1 − β2, sqrt(1 − β2^t), eps) in p's dtype; the per-row scale, the step size and the γ < 0 row
        norm are float64 and the result is rounded once on store (torch's path rounds each op: the two
        agree to round-off, tests/test_optim_fused.py)."""
        n_inst, n_rows, n_cols = p.shape
        beta1, one_m_beta1, beta2, one_m_beta2 = consts[0], consts[1], consts[2], consts[3]
        bias2_sqrt, eps = consts[4], consts[5]
        for i in numba.prange(n_inst):
            step_i = step[i]
            lg = lr_gamma[i]
            for r in range(n_rows):
                scale = 1.0
                if decay:
                    if lg >= 0.0:
                        scale = 1.0 - lg
                    else:
                        sq = 0.0
                        for c in range(n_cols):
                            sq += np.float64(p[i, r, c]) * p[i, r, c]
                        scale = 1.0 + lg * (1.0 - 1.0 / (np.sqrt(sq) + ROW_NORM_EPS))
                for c in range(n_cols):
                    grad = g[i, r, c]
                    m = beta1 * exp_avg[i, r, c] + one_m_beta1 * grad
                    v = beta2 * exp_avg_sq[i, r, c] + one_m_beta2 * grad * grad
                    exp_avg[i, r, c] = m
                    exp_avg_sq[i, r, c] = v
                    update = m / (np.sqrt(v) / bias2_sqrt + eps)
                    p[i, r, c] = p[i, r, c] * scale - step_i * update

    return {"scan": scan, "screen": screen, "dot_active": dot_active, "active": active, "adamw": adamw}


def _kernels() -> dict[str, Any]:
    import torch

    if not _KERNELS:
        _KERNELS.update(_compile())
    # the kernels use as many threads as torch is allowed (tests and Ray workers pin one); numba's setter
    # costs as much as a small kernel, so it runs only when torch's count changed
    threads = torch.get_num_threads()
    if _KERNELS.get("threads") != threads:
        import numba

        cores = int(numba.config.NUMBA_NUM_THREADS)  # type: ignore[attr-defined]
        numba.set_num_threads(max(1, min(threads, cores)))
        _KERNELS["threads"] = threads
    return _KERNELS


def scan_positive(
    Q: np.ndarray,
    row0: int,
    h: np.ndarray,
    W: np.ndarray,
    sign: np.ndarray,
    grad_dec: np.ndarray,
    grad_h: np.ndarray,
    sumsq: np.ndarray,
    positives: np.ndarray,
    active: tuple[np.ndarray, np.ndarray, int, int, np.ndarray],
) -> None:
    """Add the ReLU(s ⊙ P) term of batch rows row0 … row0 + len(Q[0]) to `grad_dec` and `grad_h`, Σ s q² to
    `sumsq` [I] (float64) and the positive entries per column to `positives` [I, n], in place; `active` =
    (sample, feature, lo, hi, pre_act): P at the active entries lo … hi (those in these rows) is stored in
    pre_act for `active_terms`."""
    act_b, act_j, lo, hi, pre_act = active
    _kernels()["scan"](Q, row0, h, W, sign, grad_dec, grad_h, sumsq, positives, act_b, act_j, lo, hi, pre_act)


#: |Q̃ − s ⊙ P| ≤ SCREEN_BOUND · ‖h⁺_b‖ · ‖W⁺_j‖ for the bfloat16 product: inputs rounded to bfloat16
#: (relative error u = 2⁻⁸ each), float32 accumulation (≤ (m+1)·2⁻²⁴ ≪ u) and the result rounded to
#: bfloat16 (u of |Q| ≤ ‖h⁺‖‖W⁺‖ where it matters, Q > 0): 3u + u² + … < 4u = 2⁻⁶ (Cauchy–Schwarz bounds
#: Σ_k |h_k W_jk| by the norms). tests/test_kernels.py checks it on adversarial sums.
SCREEN_BOUND = 2.0**-6


def screen_limits(h_norm: np.ndarray) -> np.ndarray:
    """uint16 limits [I, B]: the bits of a bfloat16 Q̃ are below the limit iff Q̃ > −τ_b (or Q̃ = ±0; a NaN
    either way, and it is never positive), τ_b = SCREEN_BOUND · ‖h⁺_b‖ for the product with unit columns
    W⁺_j / ‖W⁺_j‖ (the screen's), rounded up to the next bfloat16 with 2 % slack.

    bfloat16 bits as uint16 are 0 … 0x7FFF for +0 and positives (and NaN), 0x8000 + magnitude bits for
    negatives; a negative value is > −τ iff its magnitude bits are < those of τ, so one unsigned compare
    with 0x8000 + bits(τ) tests the whole condition."""
    tau = (SCREEN_BOUND * 1.02) * h_norm.astype(np.float64) + 1e-30
    bits = np.nextafter(tau.astype(np.float32), np.float32(np.inf)).view(np.uint32).astype(np.int64)
    magnitude = np.minimum((bits + 0xFFFF) >> 16, 0x7F80)  # round up to a bfloat16; inf at most
    return (0x8000 + magnitude).astype(np.uint16)


def screen_positive(
    Q16: np.ndarray,
    row0: int,
    limit: np.ndarray,
    h: np.ndarray,
    Ws: np.ndarray,
    W: np.ndarray,
    sign: np.ndarray,
    grad_dec: np.ndarray,
    grad_h: np.ndarray,
    sumsq: np.ndarray,
    positives: np.ndarray,
    candidates: np.ndarray,
) -> None:
    """`scan_positive` for a bfloat16 tile (its bits as uint16): candidates by `screen_limits`, each
    recomputed exactly in float32 (`dot`); counts the candidates per instance into `candidates`."""
    _kernels()["screen"](Q16, row0, limit, h, Ws, W, sign, grad_dec, grad_h, sumsq, positives, candidates)


def active_products(
    h: np.ndarray, Ws: np.ndarray, sign: np.ndarray, act_b: np.ndarray, act_j: np.ndarray
) -> np.ndarray:
    """P [I, K] at the active entries, with the screen's own arithmetic (so both agree on P > 0)."""
    pre_act = np.empty((h.shape[0], act_b.shape[0]), dtype=h.dtype)
    _kernels()["dot_active"](h, Ws, sign, act_b, act_j, pre_act)
    return pre_act


def active_terms(
    pre_act: np.ndarray,
    h: np.ndarray,
    W: np.ndarray,
    sample_idx: np.ndarray,
    feature_idx: np.ndarray,
    values: np.ndarray,
    grad_dec: np.ndarray,
    grad_h: np.ndarray,
) -> np.ndarray:
    """Apply the x-terms in place (see the kernel); return Σ_k ReLU(P_k)·v_k per instance (float64)."""
    cross = np.zeros(pre_act.shape[0], dtype=np.float64)
    _kernels()["active"](pre_act, h, W, sample_idx, feature_idx, values, grad_dec, grad_h, cross)
    return cross


def adamw_step(
    p: np.ndarray,
    g: np.ndarray,
    exp_avg: np.ndarray,
    exp_avg_sq: np.ndarray,
    lr: np.ndarray,
    lr_gamma: np.ndarray,
    betas: tuple[float, float],
    t: int,
    eps: float,
    decay: bool,
) -> None:
    """The signed AdamW update of superscale.train.optim in one fused pass (arrays [I, R, C], updated in
    place).

    Why: once the backward is sparse, the optimiser's ten elementwise passes over [inst, n, m] (each a
    separate torch op) were the largest share of a converged model's step (py-spy on the E2 recipe run).
    """
    beta1, beta2 = betas
    consts = np.array([beta1, 1 - beta1, beta2, 1 - beta2, np.sqrt(1.0 - beta2**t), eps], dtype=p.dtype)
    step = lr / (1.0 - beta1**t)  # η_t / (1 − β1^t) per instance
    _kernels()["adamw"](p, g, exp_avg, exp_avg_sq, step, lr_gamma, consts, decay)
