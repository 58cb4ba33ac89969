"""Per-feature quantities: dimensionality, single-activation loss, distance to no superposition.

All are computed in float64 with O(n·m²) or blocked O(n²·m) work; none forms more than a
[block, n] slab of W Wᵀ.
"""

from __future__ import annotations

from typing import Any

import torch

from superscale.analysis.metrics._tensor import ArrayLike, as_matrix, as_vector

_SLAB_ELEMENTS = 2**24  # entries of one [block, n] slab of W_I Wᵀ in the per-feature loss (128 MB)


def _gram(W: torch.Tensor) -> torch.Tensor:
    """WᵀW [m, m] in float64, accumulated over row blocks."""
    G = torch.zeros(W.shape[1], W.shape[1], dtype=torch.float64, device=W.device)
    for start in range(0, W.shape[0], 16384):
        block = W[start : start + 16384].to(torch.float64)
        G += block.T @ block
    return G


def feature_dimensionality(W: ArrayLike, device: torch.device | str | None = None) -> torch.Tensor:
    """D_i = ‖W_i‖² / Σ_j (Ŵ_i·W_j)² (Elhage et al. 2022), float64 [n]; 0 for a zero row.

    Σ_j (Ŵ_i·W_j)² = Ŵ_i (WᵀW) Ŵ_iᵀ, so D_i = ‖W_i‖⁴ / (W_i WᵀW W_iᵀ) costs O(n m²), not O(n² m).
    D_i = 1 for a feature with a dimension of its own, 1/k for k features sharing one direction.
    """
    W = as_matrix(W, device=device)
    G = _gram(W)
    out = torch.empty(W.shape[0], dtype=torch.float64, device=W.device)
    for start in range(0, W.shape[0], 16384):
        block = W[start : start + 16384].to(torch.float64)
        norm2 = (block * block).sum(dim=1)
        interference = ((block @ G) * block).sum(dim=1)
        safe = torch.where(interference > 0, interference, torch.ones_like(interference))
        out[start : start + 16384] = torch.where(
            interference > 0, norm2 * norm2 / safe, torch.zeros_like(norm2)
        )
    return out


def m_over_frobenius2(W: ArrayLike) -> float:
    """m / ‖W‖_F², Elhage et al.'s "dimensions per feature" (m/n when all n rows have unit norm)."""
    W = as_matrix(W)
    frob2 = float(torch.diagonal(_gram(W)).sum())
    if frob2 == 0:
        raise ValueError("W is all zeros: m / ||W||_F^2 is undefined")
    return W.shape[1] / frob2


def _relu_square_integral(
    a: torch.Tensor, b: torch.Tensor, v_max: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """∫_0^{v_max} ReLU(a v + b)² dv, elementwise, and the active interval [l, u] it used.

    The ReLU is active on one sub-interval of [0, v_max]: v > −b/a for a > 0, v < −b/a for a < 0,
    everywhere or nowhere for a = 0; on it the integrand is the quadratic (a v + b)².
    """
    zero = torch.zeros_like(a)
    top = torch.full_like(a, v_max)
    root = -b / torch.where(a == 0, torch.ones_like(a), a)
    root = root.clamp(0.0, v_max)
    lo = torch.where(a > 0, root, zero)
    hi = torch.where(a < 0, root, torch.where(a == 0, torch.where(b > 0, top, zero), top))
    hi = torch.maximum(hi, lo)
    integral = a * a * (hi**3 - lo**3) / 3 + a * b * (hi**2 - lo**2) + b * b * (hi - lo)
    return integral, torch.stack([lo, hi])


def per_feature_loss(
    W: ArrayLike, b: ArrayLike, v_max: float = 2.0, device: torch.device | str | None = None
) -> torch.Tensor:
    """Expected loss when only feature i is active, with value v ~ U(0, v_max) (recipe §3.4), float64 [n].

        loss_i(v) = Σ_{j≠i} ReLU(W_j·W_i v + b_j)² + (ReLU(‖W_i‖² v + b_i) − v)²

    Each term is a quadratic in v on the interval where its ReLU is active, so the expectation is exact
    in closed form (no sampling): the self term is ∫_active ((‖W_i‖² − 1)v + b_i)² + ∫_inactive v².
    """
    if not v_max > 0:
        raise ValueError(f"v_max must be > 0, got {v_max}")
    W64 = as_matrix(W, device=device).to(torch.float64)
    b64 = as_vector(b, W64.shape[0], device=W64.device).to(torch.float64)
    n = W64.shape[0]
    out = torch.empty(n, dtype=torch.float64, device=W64.device)
    block = max(1, min(1024, _SLAB_ELEMENTS // n))
    for start in range(0, n, block):
        stop = min(start + block, n)
        slopes = W64[start:stop] @ W64.T  # [block, n]: output j's response per unit of feature i
        cross, _ = _relu_square_integral(slopes, b64.expand_as(slopes), v_max)
        rows = torch.arange(stop - start, device=W64.device)
        self_slope = slopes[rows, rows + start]
        self_bias = b64[start:stop]
        diag, (lo, hi) = _relu_square_integral(self_slope, self_bias, v_max)
        a1 = self_slope - 1.0  # on the active interval of output i the error is (‖W_i‖² − 1) v + b_i
        own = a1 * a1 * (hi**3 - lo**3) / 3 + a1 * self_bias * (hi**2 - lo**2) + self_bias**2 * (hi - lo)
        silent = (v_max**3 - (hi**3 - lo**3)) / 3  # ∫ v² where the output is 0
        total = cross.sum(dim=1) - diag + own + silent
        out[start:stop] = total / v_max
    return out


def per_feature_loss_monte_carlo(
    W: ArrayLike, b: ArrayLike, n_samples: int, generator: torch.Generator, v_max: float = 2.0
) -> tuple[torch.Tensor, torch.Tensor]:
    """Monte Carlo check of `per_feature_loss`: (mean [n], standard error [n]) from `n_samples` values of v.

    O(n² · n_samples): for tests and small models.
    """
    if n_samples < 2:
        raise ValueError(f"n_samples must be >= 2, got {n_samples}")
    W64 = as_matrix(W).to(torch.float64)
    n = W64.shape[0]
    b64 = as_vector(b, n).to(torch.float64).to(W64.device)
    v = (torch.rand(n, n_samples, generator=generator, dtype=torch.float64) * v_max).to(W64.device)
    slopes = W64 @ W64.T  # [i, j]
    y = torch.relu(slopes.unsqueeze(2) * v.unsqueeze(1) + b64.view(1, n, 1))  # [i, j, sample]
    idx = torch.arange(n, device=W64.device)
    y[idx, idx] -= v
    losses = (y * y).sum(dim=1)  # [i, sample]
    return losses.mean(dim=1), losses.std(dim=1) / n_samples**0.5


def single_activation_loss(W: ArrayLike, b: ArrayLike, probs: Any, v_max: float = 2.0) -> float:
    """Eq. 8 of App. A.1: L = Σ_i p_i ⟨loss_i(v)⟩_v, one feature active per sample."""
    losses = per_feature_loss(W, b, v_max=v_max)
    p = torch.as_tensor(probs, dtype=torch.float64, device=losses.device)
    if p.shape != losses.shape:
        raise ValueError(f"probs must have shape {tuple(losses.shape)}, got {tuple(p.shape)}")
    return float((p * losses).sum())


def ambiguity(W: ArrayLike, norm: str = "spectral") -> float:
    """A = ‖W Wᵀ − B‖, B = I_m in the top-left n×n block (docs/recipe.md §2; Fig. 4b case selection).

    W Wᵀ − B = U S Uᵀ with U = [W, E] (E = the first m unit vectors) and S = diag(I, −I). With U = QR,
    its non-zero eigenvalues are those of R S Rᵀ (2m × 2m), so the spectral norm costs O(n m²).
    `norm="fro"` uses ‖WWᵀ − B‖_F² = ‖WᵀW‖_F² − 2‖W_{:m}‖_F² + m.
    """
    W64 = as_matrix(W).to(torch.float64)
    n, m = W64.shape
    if m > n:
        raise ValueError(f"ambiguity needs m <= n, got W of shape {(n, m)}")
    if norm == "fro":
        top = W64[:m]
        value = float((_gram(W64) ** 2).sum()) - 2 * float((top * top).sum()) + m
        return max(value, 0.0) ** 0.5
    if norm != "spectral":
        raise ValueError(f"norm must be 'spectral' or 'fro', got {norm!r}")
    E = torch.zeros(n, m, dtype=torch.float64, device=W64.device)
    E[:m] = torch.eye(m, dtype=torch.float64, device=W64.device)
    _, R = torch.linalg.qr(torch.cat([W64, E], dim=1))
    signs = torch.cat([torch.ones(m), -torch.ones(m)]).to(R)
    core = (R * signs) @ R.T
    return float(torch.linalg.eigvalsh((core + core.T) / 2).abs().max())
