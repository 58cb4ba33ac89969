"""Anthropic's classic superposition phase diagram, trained with the importance-weighted toy model.

Elhage et al. (2022), Fig. "phase change": n features, m < n hidden dimensions, every feature active
with the same probability p (sparsity S = 1 − p); the first n − 1 features have importance 1 and the last
one has relative importance r. For each (p, r) the trained model stores the last feature

- not at all ("not_represented": ‖W_n‖ small),
- in a dimension of its own ("dedicated": ‖W_n‖ ≈ 1 and no other feature overlaps it), or
- in superposition ("superposition": ‖W_n‖ ≈ 1 and Σ_{j≠n} (Ŵ_n·W_j)² ≈ 1, e.g. antipodal pairs).

The n = 2, m = 1 diagram shows superposition appearing as features get sparser. Each importance is one
shard (importances belong to the architecture), each density × seed one model in it; the seed with the
lowest final loss represents the cell, as in the original (which keeps the best of several runs).
Anthropic draws x_i ~ U(0, 1) where this package draws U(0, 2); the scale does not change the phase.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import torch

from superscale.train.engine import ModelSpec, ShardSpec, train_shard

__all__ = ["PHASES", "classify_phase", "phase_diagram"]

PHASES = ("not_represented", "dedicated", "superposition")
REPRESENTED_NORM = 0.5  # ‖W_n‖ above this: the feature is represented (norms cluster at 0 or ≈ 1)
SUPERPOSED = 0.25  # Σ_{j≠n} (Ŵ_n·W_j)² above this: it shares its direction


def classify_phase(norm: float, superposition: float) -> str:
    """Phase of one feature from its norm ‖W_i‖ and its superposition Σ_{j≠i} (Ŵ_i·W_j)²."""
    if norm < REPRESENTED_NORM:
        return "not_represented"
    return "superposition" if superposition > SUPERPOSED else "dedicated"


def phase_diagram(
    densities: Sequence[float],
    importances: Sequence[float],
    n: int = 2,
    m: int = 1,
    steps: int = 2000,
    batch: int = 512,
    lr: float = 0.01,
    seeds: int = 3,
    device: str = "cpu",
) -> pd.DataFrame:
    """One row per (density, importance): the last feature's norm, superposition and phase, and the loss.

    Weight decay is 0 (Anthropic's setting) and both W and b use peak learning rate `lr`.
    """
    if n < 2 or not 1 <= m < n:
        raise ValueError(f"the phase diagram needs n ≥ 2 features and 1 ≤ m < n, got n={n!r}, m={m!r}")
    if seeds < 1:
        raise ValueError(f"seeds must be ≥ 1, got {seeds!r}")
    for name, values in (("densities", densities), ("importances", importances)):
        if not values:
            raise ValueError(f"{name} must not be empty")
    if not all(0 < p <= 1 for p in densities):
        raise ValueError(
            f"densities (probability each feature is active) must lie in (0, 1], got {list(densities)}"
        )
    if not all(r >= 0 for r in importances):
        raise ValueError(f"importances must be ≥ 0, got {list(importances)}")
    rows = []
    for r in importances:
        models = [
            ModelSpec(torch.full((n,), float(p), dtype=torch.float64), 0.0, lr, lr, seed, data_key=f"p={p}")
            for p in densities
            for seed in range(seeds)
        ]
        importance = [1.0] * (n - 1) + [float(r)]
        spec = ShardSpec(
            n, m, models, batch=batch, steps=steps, warmup_steps=steps // 10, final_window=min(100, steps),
            device=device, architecture="importance", arch_options={"importance": importance},
        )  # fmt: skip
        result = train_shard(spec)
        for index, p in enumerate(densities):
            block = slice(index * seeds, (index + 1) * seeds)
            best = index * seeds + int(torch.argmin(result.final_loss[block]))
            W = result.params["W"][best].double()
            norm = float(W[-1].norm())
            overlap = W[:-1] @ (W[-1] / max(norm, 1e-12))
            superposition = float(overlap.square().sum())
            rows.append(
                {
                    "density": float(p),
                    "sparsity": 1.0 - float(p),
                    "importance": float(r),
                    "last_norm": norm,
                    "last_superposition": superposition,
                    "phase": classify_phase(norm, superposition),
                    "final_loss": float(result.final_loss[best]),
                }
            )
    return pd.DataFrame(rows)
