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
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["active_terms", "adamw_step", "scan_positive"]

_KERNELS: dict[str, Any] = {}
ROW_NORM_EPS = 1e-8  # as superscale.optim: the authors' code adds it to the row norm


def _compile() -> dict[str, Any]:
    """Import numba and compile lazily: `import superscale` must not pay for it (cached on disk)."""
    import numba

    # numba's own thread pool, not OpenMP: torch's OpenMP runtime is the same library, and numba starting
    # it would reset torch's thread count to the number of cores. The workqueue pool is not re-entrant:
    # call these kernels from one thread per process (executors use processes; add a lock before threads)
    numba.config.THREADING_LAYER = "workqueue"  # type: ignore[attr-defined]

    @numba.njit(parallel=True, cache=True, nogil=True)
    def scan(Q, h, W, sign, grad_dec, grad_h, sumsq, positives):  # type: ignore[no-untyped-def]
        """Q [I,B,n] = s ⊙ P; h [I,B,m+1]; W [I,n,m]; sign [I,n]; grad_dec [I,n,m+1] (+=);
        grad_h [I,B,m] (+=); sumsq [I] (Σ s q²); positives [I,n] (counts)."""
        n_inst, n_batch, n = Q.shape
        m1 = h.shape[2]
        m = W.shape[2]
        # one task per instance: its gradients are its own, so no lock and no private buffers, and the
        # summation order (every bit of a run's result) does not depend on the thread count or the chunk
        for i in numba.prange(n_inst):
            acc = 0.0
            hits = np.empty(n, dtype=np.int64)
            for b in range(n_batch):
                # branch-free compaction of the positive columns of this row first: the scan over all
                # B·n entries is the kernel's floor, and a loop without stores in its branch runs ~2× faster
                count = 0
                for j in range(n):
                    hits[count] = j
                    count += Q[i, b, j] > 0.0
                for t in range(count):
                    j = hits[t]
                    q = Q[i, b, j]
                    positives[i, j] += 1
                    acc += sign[i, j] * q * q
                    for k in range(m1):
                        grad_dec[i, j, k] += q * h[i, b, k]
                    for k in range(m):
                        grad_h[i, b, k] += q * W[i, j, k]
            sumsq[i] = acc

    @numba.njit(parallel=True, cache=True, nogil=True)
    def active(Q, h, W, sign, sample_idx, feature_idx, values, grad_dec, grad_h, cross):  # type: ignore[no-untyped-def]
        """The x-terms at the K active entries: −x ⊙ 1[P > 0] in both gradients, then the encoder term
        xᵀ(∂h) into grad_dec[..., :m]; cross [I] = Σ_k ReLU(P_k) v_k (for the loss)."""
        n_inst = Q.shape[0]
        m1 = h.shape[2]
        m = W.shape[2]
        n_active = values.shape[0]
        for i in numba.prange(n_inst):
            acc = 0.0
            for t in range(n_active):
                b = sample_idx[t]
                j = feature_idx[t]
                pre = Q[i, b, j] * sign[i, j]
                if pre > 0.0:
                    v = values[t]
                    acc += pre * v
                    for k in range(m1):
                        grad_dec[i, j, k] -= v * h[i, b, k]
                    for k in range(m):
                        grad_h[i, b, k] -= v * W[i, j, k]
            for t in range(n_active):
                b = sample_idx[t]
                j = feature_idx[t]
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

    return {"scan": scan, "active": active, "adamw": adamw}


def _kernels() -> dict[str, Any]:
    import numba
    import torch

    if not _KERNELS:
        _KERNELS.update(_compile())
    # the kernels use as many threads as torch is allowed (tests and Ray workers pin one)
    cores = int(numba.config.NUMBA_NUM_THREADS)  # type: ignore[attr-defined]
    numba.set_num_threads(max(1, min(torch.get_num_threads(), cores)))
    return _KERNELS


def scan_positive(
    Q: np.ndarray, h: np.ndarray, W: np.ndarray, sign: np.ndarray, grad_dec: np.ndarray, grad_h: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Add the ReLU(s ⊙ P) term to `grad_dec` and `grad_h` in place; return Σ s q² [I] (float64) and the
    positive entries per column [I, n]."""
    sumsq = np.zeros(Q.shape[0], dtype=np.float64)
    positives = np.zeros(Q.shape[::2], dtype=np.int64)
    _kernels()["scan"](Q, h, W, sign, grad_dec, grad_h, sumsq, positives)
    return sumsq, positives


def active_terms(
    Q: np.ndarray,
    h: np.ndarray,
    W: np.ndarray,
    sign: np.ndarray,
    sample_idx: np.ndarray,
    feature_idx: np.ndarray,
    values: np.ndarray,
    grad_dec: np.ndarray,
    grad_h: np.ndarray,
) -> np.ndarray:
    """Apply the x-terms in place (see the kernel); return Σ_k ReLU(P_k)·v_k per instance (float64)."""
    cross = np.zeros(Q.shape[0], dtype=np.float64)
    _kernels()["active"](Q, h, W, sign, sample_idx, feature_idx, values, grad_dec, grad_h, cross)
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
    """The signed AdamW update of superscale.optim in one fused pass (arrays [I, R, C], updated in place).

    Why: once the backward is sparse, the optimiser's ten elementwise passes over [inst, n, m] (each a
    separate torch op) were the largest share of a converged model's step (py-spy on the E2 recipe run).
    """
    beta1, beta2 = betas
    consts = np.array([beta1, 1 - beta1, beta2, 1 - beta2, np.sqrt(1.0 - beta2**t), eps], dtype=p.dtype)
    step = lr / (1.0 - beta1**t)  # η_t / (1 − β1^t) per instance
    _kernels()["adamw"](p, g, exp_avg, exp_avg_sq, step, lr_gamma, consts, decay)
