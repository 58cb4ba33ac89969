"""Importance-weighted variant: weights of 1 are the tied model, weights are parsed and checked, and the
classic n = 2, m = 1 phase diagram shows its three phases."""

from __future__ import annotations

import pytest
import torch

from superscale.train.architectures import get_architecture
from superscale.train.data import power_law_probs
from superscale.train.engine import ModelSpec, ShardSpec, train_shard
from superscale.variants import importance_weights
from superscale.variants.phase import classify_phase, phase_diagram

N, M = 30, 6


@pytest.mark.parametrize("sparse", [True, False])
def test_unit_importance_trains_exactly_like_the_tied_model(sparse: bool) -> None:
    models = [
        ModelSpec(power_law_probs(N, a), gamma=g, lr_W=0.02, lr_b=0.02, seed=s, data_key=f"{a}")
        for s, (a, g) in enumerate([(0.8, -1.0), (1.3, 0.4)])
    ]
    common = {"batch": 64, "steps": 40, "warmup_steps": 4, "sparse": sparse}
    tied = train_shard(ShardSpec(N, M, models, **common))  # type: ignore[arg-type]
    ones = train_shard(
        ShardSpec(N, M, models, architecture="importance", arch_options={"importance": [1.0] * N}, **common)  # type: ignore[arg-type]
    )
    torch.testing.assert_close(ones.params["W"], tied.params["W"], rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(ones.params["b"], tied.params["b"], rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(ones.step_loss, tied.step_loss, rtol=1e-5, atol=1e-8)


def test_importance_scales_each_features_error() -> None:
    """Doubling every weight doubles the loss; a zero weight removes that feature's error."""
    x = torch.zeros(3, N)
    x[:, 0] = 1.0
    plain = get_architecture("importance", N, M)
    params = plain.init_params([0])
    base, _ = plain.loss_and_grads(params, x, 1.0, need_grads=False)
    twice, _ = get_architecture("importance", N, M, importance=[2.0] * N).loss_and_grads(
        params, x, 1.0, False
    )
    torch.testing.assert_close(twice, 2 * base)
    only_first = [1.0] + [0.0] * (N - 1)
    first, _ = get_architecture("importance", N, M, importance=only_first).loss_and_grads(
        params, x, 1.0, False
    )
    y = torch.relu(x @ params["W"][0] @ params["W"][0].T + params["b"][0])
    torch.testing.assert_close(first[0].float(), ((y[:, 0] - 1.0) ** 2).mean() / N)


def test_importance_option_forms_and_errors() -> None:
    torch.testing.assert_close(
        importance_weights(4, {"decay": 0.7}), torch.tensor([1.0, 0.7, 0.49, 0.343], dtype=torch.float64)
    )
    assert torch.equal(importance_weights(3, [1, 2, 3]), torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64))
    with pytest.raises(ValueError, match="n = 4 weights, got 3"):
        importance_weights(4, [1.0, 1.0, 1.0])
    with pytest.raises(ValueError, match="≥ 0"):
        importance_weights(2, [1.0, -1.0])
    with pytest.raises(ValueError, match="decay must be a finite number > 0"):
        importance_weights(2, {"decay": 0})
    with pytest.raises(ValueError, match="exactly the key 'decay'"):
        importance_weights(2, {"rate": 0.5})
    with pytest.raises(ValueError, match="takes no options"):
        get_architecture("importance", 2, 1, weights=[1, 1])


def test_classic_phase_diagram_has_its_three_phases() -> None:
    """Dense and unimportant: dropped; dense and important: its own dimension; sparse: superposition."""
    table = phase_diagram([1.0, 0.05], [0.1, 3.0], n=2, m=1, steps=300, batch=256, lr=0.03, seeds=2)
    phase = {(row.density, row.importance): row.phase for row in table.itertuples()}
    assert phase[(1.0, 0.1)] == "not_represented"
    assert phase[(1.0, 3.0)] == "dedicated"
    assert phase[(0.05, 0.1)] == "superposition"
    assert phase[(0.05, 3.0)] == "superposition"
    assert classify_phase(0.1, 0.9) == "not_represented"
    with pytest.raises(ValueError, match="1 ≤ m < n"):
        phase_diagram([0.5], [1.0], n=2, m=2)
