"""Feature frequencies and exact samplers of the paper's sparse data (docs/recipe.md §1.1, §1.7).

A sample x ∈ R^n has independent coordinates x_i = Bernoulli(p_i) · U(0, 2). Features are indexed by
frequency rank (p_i decreases with i). Every frequency family is normalised so that Σ p_i = E, the
activation density (E = 1 except in the density scan of experiment E3).

Two samplers draw from the same distribution:
- `sample_dense` is the authors' code line, `(rand(B, n) < p) * rand(B, n) * 2`; cost O(B·n).
- `sample_sparse` draws only the active entries, by geometric skipping along each feature's column of B
  Bernoulli trials; cost O(B·E + n) random numbers instead of 2·B·n.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from superscale._checks import check_finite, check_positive_int

__all__ = [
    "SparseBatch",
    "custom_probs",
    "density_scan_probs",
    "derive_seed",
    "exponential_probs",
    "harmonic_number",
    "linear_probs",
    "power_law_probs",
    "sample_dense",
    "sample_sparse",
]


def derive_seed(seed: int, purpose: str) -> int:
    """A 63-bit seed for one purpose ("init", "data:<key>", ...) of a run's seed.

    Separate streams for init and data keep a model's initialisation independent of how many models share
    its data stream, and of the order in which a shard draws its batches.
    """
    digest = hashlib.blake2b(f"{int(seed)}:{purpose}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") & ((1 << 63) - 1)


def _check_n(n: int) -> None:
    check_positive_int("n", n)


def _normalise(weights: Tensor, density: float, what: str) -> Tensor:
    """Scale `weights` so they sum to `density` and check they are valid probabilities."""
    check_finite("density", density)
    if density <= 0:
        raise ValueError(f"density (activation density E = Σp) must be > 0, got {density!r}")
    total = float(weights.sum())
    if not (math.isfinite(total) and total > 0 and bool(torch.isfinite(weights).all())):
        # e.g. alpha = -1000: i^1000 overflows float64, and inf / inf would train on NaN probabilities
        raise ValueError(
            f"{what} gives weights that are not finite positive numbers (sum {total:g}); use a "
            "smaller exponent or fewer features"
        )
    probs = weights / total * density
    if float(probs.max()) > 1.0 + 1e-12:
        raise ValueError(
            f"{what} with density {density!r} gives p_1 = {float(probs.max()):.4g} > 1; "
            "lower the density (E ≤ p-weights sum / max weight)"
        )
    return probs.clamp_(max=1.0)


def power_law_probs(n: int, alpha: float, density: float = 1.0) -> Tensor:
    """p_i ∝ i^(-alpha), i = 1..n, Σp = density (small models and E1 "power"; docs/recipe.md §1.1)."""
    _check_n(n)
    check_finite("alpha", alpha)
    ranks = torch.arange(1, n + 1, dtype=torch.float64)
    return _normalise(ranks.pow(-float(alpha)), density, f"power law alpha={alpha!r}")


def exponential_probs(n: int, scale: float, density: float = 1.0) -> Tensor:
    """p_i ∝ exp(-i/scale), i = 1..n (E1 "exponential" uses scale 400; docs/recipe.md §1.1)."""
    _check_n(n)
    check_finite("scale", scale)
    if scale <= 0:
        raise ValueError(f"scale (of exp(-i/scale)) must be > 0, got {scale!r}")
    ranks = torch.arange(1, n + 1, dtype=torch.float64)
    # subtract the first exponent before exp so that large n/scale never underflows to all zeros
    return _normalise(torch.exp(-(ranks - 1) / float(scale)), density, f"exponential scale={scale!r}")


def linear_probs(n: int, density: float = 1.0) -> Tensor:
    """Rank r = 1..n gets weight n - r + 1, the authors' code for "linear" (recipe §1.1, §7 item 8)."""
    _check_n(n)
    return _normalise(torch.arange(n, 0, -1, dtype=torch.float64), density, "linear")


def custom_probs(values: Sequence[float] | Tensor, density: float | None = None) -> Tensor:
    """A user-given vector of feature probabilities, kept as given unless `density` rescales it."""
    probs = torch.as_tensor(values, dtype=torch.float64).flatten().clone()
    if probs.numel() == 0:
        raise ValueError("custom probabilities must not be empty")
    if not bool(torch.isfinite(probs).all()):
        raise ValueError("custom probabilities must be finite, got NaN or inf")
    if float(probs.min()) < 0 or float(probs.max()) > 1:
        raise ValueError(
            f"custom probabilities must lie in [0, 1], got min {float(probs.min())!r}, "
            f"max {float(probs.max())!r}"
        )
    if float(probs.sum()) <= 0:  # every input would be the zero vector: nothing to learn
        raise ValueError("custom probabilities are all 0: every input would be zero; give some p_i > 0")
    if density is not None:
        probs = _normalise(probs, density, "custom probabilities")
    return probs


def harmonic_number(n: int, alpha: float = 1.0) -> float:
    """H_n^(alpha) = Σ_{i=1}^n i^-alpha (H_1000 = 7.485471 for alpha = 1)."""
    _check_n(n)
    return float(torch.arange(1, n + 1, dtype=torch.float64).pow(-float(alpha)).sum())


def density_scan_probs(n: int, s: float, alpha: float = 1.0) -> Tensor:
    """Experiment E3: p_i = (i^-α / H) · (1 + s (H - 1)), so E = 1 + s(H - 1) and p_1 = 1 at s = 1."""
    check_finite("s", s)
    if not 0.0 <= s <= 1.0:
        raise ValueError(f"s (density knob of experiment E3) must lie in [0, 1], got {s!r}")
    h = harmonic_number(n, alpha)
    return power_law_probs(n, alpha, density=1.0 + s * (h - 1.0))


def _check_sampler_args(probs: Tensor, batch: int) -> None:
    check_positive_int("batch", batch)
    if probs.ndim != 1:
        raise ValueError(f"probs must be a vector [n], got shape {tuple(probs.shape)}")
    if not bool(((probs >= 0) & (probs <= 1)).all()):
        raise ValueError("probs must lie in [0, 1] (got a value outside, or NaN)")


def sample_dense(
    probs: Tensor, batch: int, generator: torch.Generator, dtype: torch.dtype = torch.float32
) -> Tensor:
    """x [batch, n] = (rand < p) · rand · 2, the authors' line, drawn on the generator's device."""
    _check_sampler_args(probs, batch)
    device = generator.device
    p = probs.to(device=device, dtype=dtype)
    n = p.numel()
    active = torch.rand(batch, n, generator=generator, device=device, dtype=dtype) < p
    return active.to(dtype) * torch.rand(batch, n, generator=generator, device=device, dtype=dtype) * 2


@dataclass(frozen=True)
class SparseBatch:
    """The active entries of a batch x [batch, n]: x[sample_idx[k], feature_idx[k]] = values[k].

    Each (sample, feature) pair appears at most once; entries are grouped by feature.
    """

    sample_idx: Tensor  # [K] int64
    feature_idx: Tensor  # [K] int64
    values: Tensor  # [K] float
    batch: int
    n: int

    def to_dense(self) -> Tensor:
        """x [batch, n] with zeros where no feature is active."""
        x = torch.zeros(self.batch, self.n, dtype=self.values.dtype, device=self.values.device)
        x[self.sample_idx, self.feature_idx] = self.values
        return x

    @property
    def n_active(self) -> int:
        return int(self.values.numel())


def _geometric_positions(
    p: Tensor, features: Tensor, starts: Tensor, counts: Tensor, batch: int, generator: torch.Generator
) -> tuple[Tensor, Tensor, Tensor]:
    """Draw `counts[j]` geometric gaps for each feature `features[j]`, starting after `starts[j]`.

    Returns (feature of each draw, position of each success, last position reached per feature).
    Position k of feature i is a success of the Bernoulli(p_i) trials along the batch; the gap between
    successes is Geometric(p_i) on {1, 2, ...}, drawn by inversion: floor(ln U / ln(1 - p)) + 1.
    """
    device = p.device
    seg = torch.repeat_interleave(torch.arange(features.numel(), device=device), counts)
    u = 1.0 - torch.rand(seg.numel(), generator=generator, device=device, dtype=torch.float64)  # (0, 1]
    log_q = torch.log1p(-p[features])[seg]  # ln(1 - p) <= 0; -inf when p = 1
    gaps = torch.floor(torch.log(u) / log_q).clamp_(max=batch + 1) + 1  # p = 1: ln(u)/-inf = -0 -> 1
    csum = torch.cumsum(gaps.to(torch.int64), 0)
    ends = torch.cumsum(counts, 0)
    before = torch.cat([csum.new_zeros(1), csum[ends[:-1] - 1]])  # cumsum just before each segment
    positions = starts[seg] + csum - before[seg]
    last = starts + csum[ends - 1] - before  # position of the final draw of each feature
    return features[seg], positions, last


def sample_sparse(
    probs: Tensor, batch: int, generator: torch.Generator, dtype: torch.dtype = torch.float32
) -> SparseBatch:
    """Exact sparse draw of x = Bernoulli(p)·U(0,2) [batch, n]; cost O(batch·E + n) random numbers.

    Each feature gets a budget of geometric gaps (mean + 8 sd + 8 of its success count); a feature
    whose budget does not reach past the end of the batch draws more, so the result is exact whatever
    the budget (the budget only sets how rarely that second round happens).
    """
    _check_sampler_args(probs, batch)
    device = generator.device
    p = probs.to(device=device, dtype=torch.float64)
    n = p.numel()
    mean = batch * p
    budget = torch.ceil(mean + 8 * torch.sqrt(mean * (1 - p)) + 8).clamp_(max=batch + 1)
    budget = torch.where(p > 0, budget, torch.zeros_like(budget)).to(torch.int64)

    features = torch.nonzero(budget > 0).flatten()
    starts = torch.full((features.numel(),), -1, dtype=torch.int64, device=device)
    counts = budget[features]
    feature_parts: list[Tensor] = []
    position_parts: list[Tensor] = []
    while features.numel() > 0:
        feat, pos, last = _geometric_positions(p, features, starts, counts, batch, generator)
        keep = pos < batch
        feature_parts.append(feat[keep])
        position_parts.append(pos[keep])
        unfinished = last < batch  # this feature's draws stopped inside the batch: continue from there
        features, starts = features[unfinished], last[unfinished]
        counts = budget[features].clamp(min=8)
    feature_idx = torch.cat(feature_parts) if feature_parts else torch.zeros(0, dtype=torch.int64)
    sample_idx = torch.cat(position_parts) if position_parts else torch.zeros(0, dtype=torch.int64)
    values = torch.rand(sample_idx.numel(), generator=generator, device=device, dtype=dtype) * 2
    return SparseBatch(sample_idx.to(device), feature_idx.to(device), values, batch, n)
