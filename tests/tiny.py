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


def planted_result(spec: Any, final: Any, curve: Any, W: Any) -> Any:
    """What a stand-in for `train_shard` returns: planted summed-scale final losses [inst] and curves
    [inst, steps], weights W [inst, n, m], zero bias and error bars (tests that plant the numbers)."""
    import torch

    from superscale.train.engine import ShardResult

    inst = len(spec.models)
    return ShardResult(
        params={"W": W, "b": torch.zeros(inst, spec.n)},
        step_loss=(curve / spec.n).float(),
        final_loss=final,
        final_loss_std=torch.zeros(inst, dtype=torch.float64),
        heldout_loss=None,
        seconds=0.0,
        device="cpu",
        report_factor=float(spec.n),
    )
