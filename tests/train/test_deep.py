"""The deep toy model: L = 1 tied is the paper's model; counting, planning and options behave."""

from __future__ import annotations

import math

import pytest
import torch

from superscale.aspect.planner import plan_shapes, width_for_budget
from superscale.train.architectures import get_architecture
from superscale.train.architectures.deep import DeepToyModel, deep_forward, deep_param_count
from superscale.train.data import power_law_probs, sample_dense
from superscale.train.engine import ModelSpec, ShardSpec, train_shard
from superscale.train.model import toy_forward

N = 30


def _models() -> list[ModelSpec]:
    return [
        ModelSpec(power_law_probs(N, a), gamma=g, lr_W=0.01, lr_b=0.02, seed=s, data_key=f"a={a}")
        for a, g, s in ((0.5, -1.0, 0), (1.2, 0.3, 1), (1.2, 0.0, 2))
    ]


@pytest.mark.parametrize("sparse", [True, False])
def test_one_layer_tied_deep_model_trains_exactly_like_the_paper_model(sparse: bool) -> None:
    common = {"batch": 64, "steps": 40, "warmup_steps": 5, "sparse": sparse}
    tied = train_shard(ShardSpec(N, 5, _models(), architecture="tied", **common))
    deep = train_shard(ShardSpec(N, 5, _models(), architecture="deep", n_layers=1, **common))
    assert set(deep.params) == {"W", "b"}
    torch.testing.assert_close(deep.params["W"], tied.params["W"], rtol=2e-4, atol=2e-5)
    torch.testing.assert_close(deep.params["b"], tied.params["b"], rtol=2e-4, atol=2e-5)
    torch.testing.assert_close(deep.step_loss, tied.step_loss, rtol=1e-4, atol=1e-6)


def test_one_layer_forward_is_relu_W_Wt_x_plus_b() -> None:
    arch = DeepToyModel(N, 4, n_layers=1)
    params = arch.init_params([3, 4])
    x = sample_dense(power_law_probs(N, 1.0), 16, torch.Generator().manual_seed(0))
    expected = toy_forward(params["W"], params["b"], x)
    torch.testing.assert_close(deep_forward(params, x, residual=True), expected)


@pytest.mark.parametrize(
    ("m", "layers", "tied", "hidden_bias"), [(4, 1, True, False), (5, 3, True, True), (6, 4, False, False)]
)
def test_param_count_formula_matches_the_tensors(m: int, layers: int, tied: bool, hidden_bias: bool) -> None:
    arch = get_architecture("deep", N, m, layers, tied=tied, hidden_bias=hidden_bias)
    counted = sum(p[0].numel() for p in arch.init_params([0]).values())
    assert arch.param_count() == counted == deep_param_count(N, m, layers, tied, hidden_bias)
    # and by hand: encoder + decoder + hidden + output bias
    assert counted == N * m * (1 if tied else 2) + (layers - 1) * (m * m + (m if hidden_bias else 0)) + N


def test_deep_model_trains_and_untied_residual_options_take_effect() -> None:
    models = _models()[:1]
    common = {"batch": 64, "steps": 150, "warmup_steps": 10}
    plain = train_shard(ShardSpec(N, 6, models, architecture="deep", n_layers=3, **common))
    untied = train_shard(
        ShardSpec(N, 6, models, architecture="deep", n_layers=3, arch_options={"tied": False}, **common)
    )
    assert plain.params["hidden"].shape == (1, 2, 6, 6)
    assert "W_dec" in untied.params and "W_dec" not in plain.params
    first, last = plain.step_loss[0, :20].mean(), plain.step_loss[0, -20:].mean()
    assert last < 0.5 * first  # it learns
    # γ = −1 pulls the feature rows of W towards norm 1, as in the paper; hidden layers are undecayed
    assert (plain.params["W"].norm(dim=-1) - 1).abs().median() < 0.2
    assert DeepToyModel.rules["hidden"].decay is False and DeepToyModel.rules["W_dec"].decay is True


def test_bad_options_are_refused() -> None:
    with pytest.raises(ValueError, match="takes options"):
        DeepToyModel(N, 4, n_layers=2, width=3)
    with pytest.raises(ValueError, match="residual must be true or false"):
        DeepToyModel(N, 4, n_layers=2, residual="yes")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="n_layers must be a positive integer"):
        DeepToyModel(N, 4, n_layers=0)


def test_planner_widths_spend_the_budget_within_tolerance() -> None:
    n, budget = 100, 4100
    shapes = plan_shapes(n, budget, depths=[1, 2, 4, 8], tolerance=0.05)
    assert [s.n_layers for s in shapes] == [1, 2, 4, 8]
    assert shapes[0].m == 40 and shapes[0].params == budget  # n m + n at L = 1
    for shape in shapes:
        assert shape.params == deep_param_count(n, shape.m, shape.n_layers)
        assert abs(shape.params - budget) <= 0.05 * budget
        assert shape.rel_error == (shape.params - budget) / budget
        # no other integer width is closer to the budget
        for other in (shape.m - 1, shape.m + 1):
            assert abs(deep_param_count(n, other, shape.n_layers) - budget) >= abs(shape.params - budget)
    widths = [s.m for s in shapes]
    assert widths == sorted(widths, reverse=True)  # deeper is narrower at equal N
    assert shapes[-1].aspect_ratio == shapes[-1].m / 8


def test_width_for_budget_is_the_exact_root() -> None:
    m = width_for_budget(100, 4100, 4)
    assert math.isclose(3 * m * m + 100 * m + 100, 4100, rel_tol=1e-12)
    m_untied = width_for_budget(100, 8100, 1, tied=False)
    assert math.isclose(m_untied, 40.0)


def test_planner_drops_shapes_outside_tolerance_and_rejects_bad_input() -> None:
    # a tiny budget leaves deep shapes with width < min_width
    assert [s.n_layers for s in plan_shapes(10, 60, depths=[1, 8], tolerance=0.5, min_width=3)] == [1]
    assert (
        plan_shapes(100, 4100, depths=[3], tolerance=0.0) == []
    )  # 2m² + 100m + 100 = 4100 has no integer root
    with pytest.raises(ValueError, match="tolerance must be"):
        plan_shapes(100, 4100, tolerance=-0.1)
    with pytest.raises(ValueError, match="params must be a positive integer"):
        plan_shapes(100, 0)
