"""Universality scores that can discriminate: each raw measure read against its own chance level and ceiling.

A raw similarity says little on its own (CKA of feature Gram matrices reads ≈ 0.2 for two seeds and for a
random arrangement alike in strong superposition). So every measure here is reported as

    score = (value − null) / (ceiling − null)

0: no more alike than chance; 1: identical up to an orthogonal map. The three measures, between the
responses R_A [n, m_A] and R_B [n, m_B] of two models over the same n features (rows):

- directions: the unit directions of the features both represent, zero-padded to a common width, aligned by
  the orthogonal map Q that minimises Σ w_i ‖u_i Q − v_i‖² (frequency weights w_i = p_i); the value is that
  weighted mean per-feature Procrustes residual (a distance: 0 for a rotated copy, up to 4).
- overlaps: the mean |cos_A(i, j) − cos_B(i, j)| over pairs of the frequent features both represent (the
  min(m_A, m_B) most frequent, ties included): the interference pattern that sets most of the loss.
- represented set: Jaccard |S_A ∩ S_B| / |S_A ∪ S_B| of the represented features.

Nulls. The geometric measures are read against B's features in random directions with B's norms
(`random_like`, mean over `draws`); the represented set against B's set with its features permuted (a random
set of the same size; the expected Jaccard is exact, hypergeometric). Ceiling: A against A rotated by a
random orthogonal map (its represented set unchanged), computed rather than assumed. A score is NaN when it
cannot tell: fewer than 3 common features, or a model representing every feature (or none), where a random
set of its size is that set, so sets carry no information.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from scipy.linalg import orthogonal_procrustes
from scipy.stats import hypergeom
from torch import Tensor

from superscale.aspect.universality import random_like

__all__ = [
    "MEASURES",
    "CalibratedScores",
    "calibrate",
    "calibrated_scores",
    "direction_residual",
    "frequent_rows",
    "jaccard",
    "jaccard_null",
    "overlap_distance",
    "random_rotation",
]

MEASURES = ("directions", "overlaps", "represented")
NULL_DRAWS = 8  # random arrangements averaged for a geometric null
MIN_COMMON = 3  # fewer common features leave no geometry to compare


def _unit_rows(R: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(R, axis=1, keepdims=True)
    return R / np.where(norms > 0, norms, 1.0)


def _pad(R: np.ndarray, width: int) -> np.ndarray:
    return np.pad(R, ((0, 0), (0, width - R.shape[1])))


def direction_residual(R_a: np.ndarray, R_b: np.ndarray, weights: np.ndarray | None = None) -> float:
    """Σ w_i ‖u_i Q − v_i‖² / Σ w_i over rows i, u and v the unit rows of R_a and R_b (zero-padded to a
    common width) and Q the orthogonal map minimising that sum (weighted Procrustes)."""
    a, b = np.asarray(R_a, dtype=np.float64), np.asarray(R_b, dtype=np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[0] != b.shape[0]:
        raise ValueError(f"need two matrices with the same rows, got {a.shape} and {b.shape}")
    w = np.ones(a.shape[0]) if weights is None else np.asarray(weights, dtype=np.float64)
    if w.shape != (a.shape[0],) or not (w >= 0).all() or not w.sum() > 0:
        raise ValueError("weights must be one non-negative number per row, not all zero")
    width = max(a.shape[1], b.shape[1])
    u, v = _pad(_unit_rows(a), width), _pad(_unit_rows(b), width)
    root = np.sqrt(w)[:, None]
    Q, _ = orthogonal_procrustes(root * u, root * v)
    residual = np.sum(np.square(u @ Q - v), axis=1)
    return float(np.sum(w * residual) / np.sum(w))


def overlap_distance(R_a: np.ndarray, R_b: np.ndarray) -> float:
    """Mean |cos_A(i, j) − cos_B(i, j)| over pairs i < j of rows: 0 when the overlap patterns agree."""
    a, b = np.asarray(R_a, dtype=np.float64), np.asarray(R_b, dtype=np.float64)
    if a.shape[0] != b.shape[0] or a.shape[0] < 2:
        raise ValueError(f"need two matrices with the same rows (≥ 2), got {a.shape} and {b.shape}")
    ua, ub = _unit_rows(a), _unit_rows(b)
    upper = np.triu_indices(a.shape[0], k=1)
    return float(np.mean(np.abs((ua @ ua.T)[upper] - (ub @ ub.T)[upper])))


def jaccard(set_a: np.ndarray, set_b: np.ndarray) -> float:
    """|A ∩ B| / |A ∪ B| of two boolean masks (NaN when both are empty)."""
    union = int(np.sum(set_a | set_b))
    return int(np.sum(set_a & set_b)) / union if union else math.nan


def jaccard_null(n: int, size_a: int, size_b: int) -> float:
    """Expected Jaccard of a fixed set of `size_a` and a uniformly random set of `size_b` among n features
    (the permuted-feature control): the intersection k is hypergeometric, Jaccard = k / (a + b − k)."""
    if size_a + size_b == 0:
        return math.nan
    k = np.arange(max(0, size_a + size_b - n), min(size_a, size_b) + 1)
    return float(np.sum(hypergeom.pmf(k, n, size_a, size_b) * k / (size_a + size_b - k)))


def frequent_rows(common: np.ndarray, probs: np.ndarray, k: int) -> np.ndarray:
    """Mask of the features in `common` at least as frequent as the k-th most frequent of them."""
    if not common.any():
        return common
    ranked = np.sort(probs[common])[::-1]
    cut = ranked[min(k, ranked.size) - 1]
    return common & (probs >= cut)


def random_rotation(m: int, generator: torch.Generator) -> np.ndarray:
    """A Haar-random orthogonal m × m matrix (QR of a Gaussian, signs fixed)."""
    q, r = torch.linalg.qr(torch.randn(m, m, generator=generator, dtype=torch.float64))
    return (q * torch.sign(torch.diagonal(r))).numpy()


def calibrate(value: float, null: float, ceiling: float) -> float:
    """(value − null) / (ceiling − null); NaN when null and ceiling coincide (the measure cannot tell)."""
    span = ceiling - null
    if not all(map(math.isfinite, (value, null, ceiling))) or abs(span) < 1e-9:
        return math.nan
    return (value - null) / span


@dataclass(frozen=True)
class CalibratedScores:
    """Raw value, null, ceiling and calibrated score of each measure (MEASURES) for one pair of models."""

    n_common: int
    n_frequent: int
    values: dict[str, float]
    nulls: dict[str, float]
    ceilings: dict[str, float]

    @property
    def scores(self) -> dict[str, float]:
        return {k: calibrate(self.values[k], self.nulls[k], self.ceilings[k]) for k in MEASURES}

    def row(self) -> dict[str, float | int]:
        """Flat columns for a table: n_common, n_frequent, and <measure>_{value,null,ceiling,score}."""
        out: dict[str, float | int] = {"n_common": self.n_common, "n_frequent": self.n_frequent}
        for k in MEASURES:
            out |= {
                f"{k}_value": self.values[k],
                f"{k}_null": self.nulls[k],
                f"{k}_ceiling": self.ceilings[k],
                f"{k}_score": self.scores[k],
            }
        return out


def calibrated_scores(
    R_a: Tensor | np.ndarray,
    represented_a: Tensor | np.ndarray,
    R_b: Tensor | np.ndarray,
    represented_b: Tensor | np.ndarray,
    probs: Tensor | np.ndarray | None = None,
    seed: int = 0,
    draws: int = NULL_DRAWS,
) -> CalibratedScores:
    """The three measures of the module docstring for models A and B, with nulls and ceilings."""
    a, b = np.asarray(R_a, dtype=np.float64), np.asarray(R_b, dtype=np.float64)
    set_a, set_b = np.asarray(represented_a, dtype=bool), np.asarray(represented_b, dtype=bool)
    n = a.shape[0]
    if b.shape[0] != n or set_a.shape != (n,) or set_b.shape != (n,):
        raise ValueError(f"models must describe the same {n} features, got {b.shape[0]} rows for B")
    p = np.ones(n) if probs is None else np.asarray(probs, dtype=np.float64)
    generator = torch.Generator().manual_seed(seed)
    common = set_a & set_b
    frequent = frequent_rows(common, p, min(a.shape[1], b.shape[1]))
    sizes = int(set_a.sum()), int(set_b.sum())
    values = {"represented": jaccard(set_a, set_b)}
    ceilings = {"represented": jaccard(set_a, set_a)}
    informative = all(0 < size < n for size in sizes)
    nulls = {"represented": jaccard_null(n, *sizes) if informative else ceilings["represented"]}
    nan = math.nan
    for key in ("directions", "overlaps"):
        values[key], nulls[key], ceilings[key] = nan, nan, nan
    rotated = a @ random_rotation(a.shape[1], generator)
    if common.sum() >= MIN_COMMON:
        ac, bc, w = a[common], b[common], p[common]
        randoms = [random_like(torch.from_numpy(bc), generator).numpy() for _ in range(draws)]
        values["directions"] = direction_residual(ac, bc, w)
        nulls["directions"] = float(np.mean([direction_residual(ac, r, w) for r in randoms]))
        ceilings["directions"] = direction_residual(ac, rotated[common], w)
    if frequent.sum() >= MIN_COMMON:
        af, bf = a[frequent], b[frequent]
        randoms = [random_like(torch.from_numpy(bf), generator).numpy() for _ in range(draws)]
        values["overlaps"] = overlap_distance(af, bf)
        nulls["overlaps"] = float(np.mean([overlap_distance(af, r) for r in randoms]))
        ceilings["overlaps"] = overlap_distance(af, rotated[frequent])
    return CalibratedScores(int(common.sum()), int(frequent.sum()), values, nulls, ceilings)
