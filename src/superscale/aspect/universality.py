"""Which features a (deep) toy model represents at each layer, and how alike two models' features are.

Feature responses. Feeding the one-hot input e_i (feature i active with value 1) gives at layer l the
hidden response r_l(i) = h_l(e_i) − h_l(0) ∈ ℝᵐ; stacked over features this is R_l [n, m]. At the encoder
(l = 0) R_0 = W, so the row norms are the paper's ‖W_i‖.

Represented. Like φ_{1/2}: feature i is represented at layer l when ‖r_l(i)‖ > threshold · s_l. The scale s_l
is 1 at the encoder (exactly the paper's ‖W_i‖ > 1/2) and, deeper, the mean norm of the layer's m largest
responses (at least m features are always represented, and hidden layers have no unit-norm pull), so the
threshold means "half the typical norm of a represented feature" at every layer.

Universality between models A and B, on the features both represent (a common set of rows):
- set overlap: Jaccard |S_A ∩ S_B| / |S_A ∪ S_B| of the represented sets;
- CKA: linear CKA between the centred feature Gram matrices G = R Rᵀ; invariant to rotations and to the
  widths (m_A ≠ m_B is fine), 1 for a model with itself;
- Procrustes: after scaling both R to unit Frobenius norm and zero-padding to a common width, the best
  orthogonal Q (scipy's orthogonal_procrustes) aligns R_A Q to R_B; similarity = ⟨R_A Q, R_B⟩ ∈ [0, 1]
  (= 1 − d²/2 for the Procrustes distance d), and the mean cosine of matched feature directions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from scipy.linalg import orthogonal_procrustes
from torch import Tensor

from superscale.analysis.metrics import overlap_stats
from superscale.train.architectures.deep import hidden_states

__all__ = [
    "FeatureSimilarity",
    "LayerFeatures",
    "compare_features",
    "feature_responses",
    "layer_features",
    "linear_cka",
    "procrustes_similarity",
    "random_like",
]


@torch.no_grad()
def feature_responses(params: dict[str, Tensor], residual: bool = True) -> list[Tensor]:
    """R_l [n, m] for l = 0..L−1 of one model (params without the instance axis, or with inst = 1)."""
    one = {k: v.double() for k, v in _with_instance_axis(params).items()}
    n = one["W"].shape[1]
    eye = torch.eye(n, dtype=torch.float64)
    on = hidden_states(one, eye, residual)
    off = hidden_states(one, torch.zeros(1, n, dtype=torch.float64), residual)
    return [(a - z)[0] for a, z in zip(on, off, strict=True)]


def _with_instance_axis(params: dict[str, Tensor]) -> dict[str, Tensor]:
    """Add the leading instance axis when `params` is one model ("W" of ndim 2)."""
    if params["W"].ndim == 3:
        if params["W"].shape[0] != 1:
            raise ValueError(f"params must hold one model, got W of shape {tuple(params['W'].shape)}")
        return params
    return {k: v[None] for k, v in params.items()}


@dataclass(frozen=True)
class LayerFeatures:
    """Features at one layer of one model."""

    layer: int
    m: int
    represented: Tensor  # [n] bool
    norms: Tensor  # [n] response norms (unscaled)
    scale: float  # s_l
    mean_cos2: float  # mean cos² over pairs of represented features (NaN if fewer than 2)

    @property
    def n_represented(self) -> int:
        return int(self.represented.sum())

    @property
    def superposition(self) -> float:
        """Degree of superposition n_represented / m."""
        return self.n_represented / self.m


def layer_features(responses: list[Tensor], threshold: float = 0.5) -> list[LayerFeatures]:
    """Represented features, their count and overlaps at every layer (see the module docstring)."""
    if not threshold > 0:
        raise ValueError(f"threshold must be > 0, got {threshold!r}")
    out = []
    for layer, R in enumerate(responses):
        norms = R.norm(dim=1)
        m = R.shape[1]
        if layer == 0:
            scale = 1.0
        else:
            top = torch.topk(norms, min(m, norms.numel())).values
            scale = float(top.mean())
        represented = norms > threshold * scale
        count = int(represented.sum())
        mean_cos2 = overlap_stats(R, rows=represented).mean_cos2 if count >= 2 else math.nan
        out.append(LayerFeatures(layer, m, represented, norms, scale, mean_cos2))
    return out


def _centred_gram(R: np.ndarray) -> np.ndarray:
    G = R @ R.T
    row = G.mean(axis=0, keepdims=True)
    return G - row - row.T + G.mean()


def linear_cka(R_a: Tensor | np.ndarray, R_b: Tensor | np.ndarray) -> float:
    """Linear CKA ⟨G̃_A, G̃_B⟩ / (‖G̃_A‖ ‖G̃_B‖) of the centred Gram matrices G = R Rᵀ over the same rows."""
    a, b = np.asarray(R_a, dtype=np.float64), np.asarray(R_b, dtype=np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[0] != b.shape[0]:
        raise ValueError(f"need two matrices with the same rows, got {a.shape} and {b.shape}")
    ga, gb = _centred_gram(a), _centred_gram(b)
    denom = np.linalg.norm(ga) * np.linalg.norm(gb)
    return float(np.sum(ga * gb) / denom) if denom > 0 else math.nan


def _pad(R: np.ndarray, width: int) -> np.ndarray:
    return np.pad(R, ((0, 0), (0, width - R.shape[1])))


def procrustes_similarity(R_a: Tensor | np.ndarray, R_b: Tensor | np.ndarray) -> tuple[float, float]:
    """(similarity ⟨R̂_A Q, R̂_B⟩, mean cosine of matched rows) after the best orthogonal alignment Q."""
    a, b = np.asarray(R_a, dtype=np.float64), np.asarray(R_b, dtype=np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[0] != b.shape[0]:
        raise ValueError(f"need two matrices with the same rows, got {a.shape} and {b.shape}")
    width = max(a.shape[1], b.shape[1])
    a, b = _pad(a, width), _pad(b, width)
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    if na == 0 or nb == 0:
        return math.nan, math.nan
    a, b = a / na, b / nb
    Q, _ = orthogonal_procrustes(a, b)
    aligned = a @ Q
    similarity = float(np.sum(aligned * b))
    row_norms = np.linalg.norm(aligned, axis=1) * np.linalg.norm(b, axis=1)
    ok = row_norms > 0
    cosines = np.sum(aligned * b, axis=1)[ok] / row_norms[ok]
    return similarity, float(cosines.mean()) if cosines.size else math.nan


@dataclass(frozen=True)
class FeatureSimilarity:
    """How alike two models' features are at one layer each."""

    jaccard: float
    n_common: int
    cka: float
    procrustes: float
    matched_cos: float
    cka_random: (
        float  # CKA of A with random directions of B's norms and width: the "no shared geometry" level
    )


def random_like(R: Tensor, generator: torch.Generator) -> Tensor:
    """Rows with R's norms pointing in uniformly random directions (same shape): geometry destroyed."""
    directions = torch.randn(R.shape, generator=generator, dtype=torch.float64)
    directions /= directions.norm(dim=1, keepdim=True)
    return directions * R.double().norm(dim=1, keepdim=True)


def compare_features(
    R_a: Tensor,
    represented_a: Tensor,
    R_b: Tensor,
    represented_b: Tensor,
    generator: torch.Generator | None = None,
) -> FeatureSimilarity:
    """Set overlap of the represented features, and CKA / Procrustes on the features both represent.

    `cka_random` compares A with `random_like(B)` (drawn from `generator`, seed 0 by default): what CKA
    reads when the two models share their feature norms but no arrangement.
    """
    if R_a.shape[0] != R_b.shape[0]:
        raise ValueError(f"models must have the same features n, got {R_a.shape[0]} and {R_b.shape[0]}")
    union = int((represented_a | represented_b).sum())
    common = represented_a & represented_b
    n_common = int(common.sum())
    jaccard = n_common / union if union else math.nan
    if n_common < 3:
        return FeatureSimilarity(jaccard, n_common, math.nan, math.nan, math.nan, math.nan)
    a, b = R_a[common], R_b[common]
    procrustes, matched = procrustes_similarity(a.numpy(), b.numpy())
    generator = generator if generator is not None else torch.Generator().manual_seed(0)
    cka_random = linear_cka(a.numpy(), random_like(b, generator).numpy())
    return FeatureSimilarity(
        jaccard, n_common, linear_cka(a.numpy(), b.numpy()), procrustes, matched, cka_random
    )
