"""The tiny sweep the store, resume and Ray tests share: 8 runs in 4 shards, seconds to train."""

from __future__ import annotations

from typing import Any


def tiny_sweep(name: str) -> dict[str, Any]:
    """n = 20, m ∈ {3, 4}, γ ∈ {−1, 0.1}, two seeds, 30 steps, two models per shard, one torch thread."""
    return {
        "name": name,
        "n": 20,
        "m": [3, 4],
        "gamma": [-1.0, 0.1],
        "seeds": [0, 1],
        "train": {"batch": 32, "steps": 30},
        "output": {"max_models_per_shard": 2, "curve_points": 10},
        "execution": {"threads": 1},
    }
