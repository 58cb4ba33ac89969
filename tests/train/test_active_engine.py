"""The engine on the active-feature path equals the plain per-model loop of the paper's recipe (float64,
autograd, tests/oracle.py) over 1 000 steps with warm-up, cosine decay and the signed weight decay; the
variants equal their own reference; "auto" takes the active path where it is cheaper and not otherwise."""

from __future__ import annotations

import pytest
import torch

from superscale.train.architectures import ImportanceToyModel, TiedToyModel, UnitNormToyModel
from superscale.train.data import derive_seed, power_law_probs, sample_sparse
from superscale.train.engine import ModelSpec, ShardSpec, train_shard
from superscale.train.model import init_toy_params
from tests.oracle import train_plain

N, BATCH, STEPS, WARMUP = 120, 64, 1000, 100
GAMMAS = (-1.0, 0.0, 0.5)
# E ≤ Σ_i i^-α (p_1 ≤ 1): E = 10 is reachable only for flat data (α = 0.5: Σ ≈ 20 at n = 120)
CASES = [(a, e) for a in (0.5, 1.0, 2.0) for e in (0.5, 1.0)] + [(0.5, 10.0)]


def _models(alpha: float, density: float) -> list[ModelSpec]:
    probs = power_law_probs(N, alpha, density)
    return [
        ModelSpec(probs, gamma=g, lr_W=0.01, lr_b=0.01, seed=3, data_key=f"{alpha}/{density}") for g in GAMMAS
    ]


def _oracle(model: ModelSpec, m: int) -> tuple[torch.Tensor, torch.Tensor, list[float]]:
    """The paper's loop in float64 on the engine's own batches (same seed, same stream)."""
    W0, b0 = init_toy_params(N, m, [model.seed])
    generator = torch.Generator().manual_seed(derive_seed(model.seed, "data:" + model.data_key))

    def next_batch() -> torch.Tensor:
        return sample_sparse(model.probs, BATCH, generator).to_dense().double()

    return train_plain(
        W0[0].double(), b0[0].double(), next_batch, model.gamma, model.lr_W, model.lr_b, STEPS, WARMUP
    )


def _relative(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).abs().max() / b.abs().max())


@pytest.mark.parametrize("m", [10, 100])
@pytest.mark.parametrize(("alpha", "density"), CASES)
def test_active_engine_equals_the_float64_oracle_over_1000_steps(
    alpha: float, density: float, m: int
) -> None:
    models = _models(alpha, density)
    spec = ShardSpec(
        N, m, models, batch=BATCH, steps=STEPS, warmup_steps=WARMUP, sparse=True, dtype=torch.float64,
        arch_options={"backward": "active"},
    )  # fmt: skip
    result = train_shard(spec)
    for index, model in enumerate(models):
        W, b, losses = _oracle(model, m)
        assert _relative(result.step_loss[index].double(), torch.tensor(losses, dtype=torch.float64)) < 1e-5
        assert _relative(result.params["W"][index], W) < 1e-5
        assert _relative(result.params["b"][index], b) < 1e-5


def _train(arch: str, backward: str, options: dict, steps: int = 300) -> torch.Tensor:
    models = _models(1.0, 1.0)
    spec = ShardSpec(
        N, 12, models, batch=BATCH, steps=steps, warmup_steps=30, sparse=True, dtype=torch.float64,
        architecture=arch, arch_options={"backward": backward, **options},
    )  # fmt: skip
    return train_shard(spec).params["W"]


@pytest.mark.parametrize(
    ("arch", "options"),
    [
        ("unit_norm", {}),
        ("unit_norm", {"temperature": True}),
        ("importance", {"importance": {"decay": 0.99}}),
    ],
)
def test_variants_on_the_active_path_equal_their_reference(arch: str, options: dict) -> None:
    """unit norm (with and without τ) and importance weights: the active path against the dense path
    (the hand-written GEMMs without τ; `loss_one`'s vmap-grad with τ or importance)."""
    assert _relative(_train(arch, "active", options), _train(arch, "dense", options)) < 1e-9


@pytest.mark.parametrize(
    ("model", "alpha", "density", "path"),
    [
        (TiedToyModel, 1.0, 1.0, "active"),
        (TiedToyModel, 2.0, 1.0, "active"),
        (TiedToyModel, 0.5, 10.0, "sparse"),  # ten features a sample: the whole-batch path is cheaper
        (ImportanceToyModel, 0.5, 10.0, "reference"),
        (UnitNormToyModel, 1.0, 1.0, "active"),
    ],
)
def test_auto_takes_the_active_path_only_where_it_is_cheaper(model, alpha, density, path) -> None:
    n, m, batch = 1000, 25, 2048
    arch = model(n, m)
    W, b = init_toy_params(n, m, [0])
    generator = torch.Generator().manual_seed(0)
    x = sample_sparse(power_law_probs(n, alpha, density), batch, generator)
    arch.loss_and_grads({"W": W, "b": b}, x, 1.0)
    assert arch.last_path == path
