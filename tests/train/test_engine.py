"""The engine equals the plain per-model loop, and its contract holds (seeds, sharing, errors)."""

from __future__ import annotations

import dataclasses
import math
import statistics

import pytest
import torch

from superscale.sweep.in_memory import train_toy_models
from superscale.train.data import derive_seed, power_law_probs, sample_dense, sample_sparse
from superscale.train.engine import DivergenceError, ModelSpec, ShardSpec, train_shard
from superscale.train.model import init_toy_params
from tests.oracle import train_plain

N, BATCH, STEPS, WARMUP = 40, 64, 60, 10


def _models(gammas, alphas=(1.0,), seed=0):
    return [
        ModelSpec(power_law_probs(N, a), gamma=g, lr_W=0.01, lr_b=0.02, seed=seed + i, data_key=f"a={a}")
        for a in alphas
        for i, g in enumerate(gammas)
    ]


def _oracle(model: ModelSpec, m: int, sparse: bool, loss_scale: float = 1.0):
    W0, b0 = init_toy_params(N, m, [model.seed])
    generator = torch.Generator().manual_seed(derive_seed(model.seed, "data:" + model.data_key))

    def next_batch():
        if sparse:
            return sample_sparse(model.probs, BATCH, generator).to_dense()
        return sample_dense(model.probs, BATCH, generator)

    return train_plain(
        W0[0], b0[0], next_batch, model.gamma, model.lr_W, model.lr_b, STEPS, WARMUP, loss_scale=loss_scale
    )


@pytest.mark.parametrize(("sparse", "backward"), [(True, "sparse"), (True, "dense"), (False, "auto")])
@pytest.mark.parametrize("m", [3, 7])
def test_engine_matches_plain_loop(sparse: bool, backward: str, m: int) -> None:
    """Both backward paths of the tied model (sparse + low-rank kernel, dense GEMMs) equal the oracle."""
    models = _models([-0.8, 0.0, 0.6], alphas=(0.5, 1.5))
    spec = ShardSpec(
        N,
        m,
        models,
        batch=BATCH,
        steps=STEPS,
        warmup_steps=WARMUP,
        sparse=sparse,
        chunk_size=2,
        arch_options={"backward": backward},
    )
    result = train_shard(spec)
    for index, model in enumerate(models):
        W, b, losses = _oracle(model, m, sparse)
        torch.testing.assert_close(result.params["W"][index], W, rtol=2e-4, atol=2e-5)
        torch.testing.assert_close(result.params["b"][index], b, rtol=2e-4, atol=2e-5)
        torch.testing.assert_close(result.step_loss[index], torch.tensor(losses), rtol=1e-4, atol=1e-6)


def test_loss_scale_matches_plain_loop() -> None:
    model = _models([-1.0])[0]
    spec = ShardSpec(N, 4, [model], batch=BATCH, steps=STEPS, warmup_steps=WARMUP, loss_scale=100.0)
    W, _, _ = _oracle(model, 4, sparse=True, loss_scale=100.0)
    torch.testing.assert_close(train_shard(spec).params["W"][0], W, rtol=2e-4, atol=2e-5)


def test_run_does_not_depend_on_its_shard() -> None:
    """A model trained alone equals the same model trained among others (same seed ⇒ same numbers)."""
    models = _models([-0.5, 0.3, 0.9], alphas=(0.8, 1.2))
    together = train_shard(ShardSpec(N, 5, models, batch=BATCH, steps=30, warmup_steps=5, chunk_size=3))
    alone = train_shard(ShardSpec(N, 5, [models[4]], batch=BATCH, steps=30, warmup_steps=5))
    torch.testing.assert_close(together.params["W"][4], alone.params["W"][0], rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(together.step_loss[4], alone.step_loss[0], rtol=1e-5, atol=1e-7)


def test_same_seed_same_result_and_final_loss_definition() -> None:
    spec = ShardSpec(N, 4, _models([-0.5, 0.5]), batch=BATCH, steps=40, warmup_steps=4, final_window=10)
    first, second = train_shard(spec), train_shard(spec)
    assert torch.equal(first.params["W"], second.params["W"])
    expected = first.step_loss[:, -10:].double().mean(1) * N
    torch.testing.assert_close(first.final_loss, expected)
    for index in range(2):  # the error bar is the sample std (n − 1) of the last 10 step losses, summed scale
        last = [float(x) * N for x in first.step_loss[index, -10:].double()]
        assert float(first.final_loss_std[index]) == pytest.approx(statistics.stdev(last), rel=1e-12)
        assert float(first.final_loss_std[index]) > statistics.pstdev(last)


def test_one_step_window_has_zero_spread() -> None:
    result = train_shard(ShardSpec(N, 4, _models([0.1]), batch=8, steps=3, warmup_steps=1, final_window=1))
    assert float(result.final_loss_std[0]) == 0.0 and math.isfinite(float(result.final_loss[0]))


@pytest.mark.parametrize("warmup", [5, 6, -1])
def test_warmup_must_end_before_the_last_step(warmup: int) -> None:
    with pytest.raises(ValueError, match=r"warmup_steps must lie in \[0, steps=5\), got " + str(warmup)):
        ShardSpec(N, 4, _models([0.1]), batch=8, steps=5, warmup_steps=warmup)


@pytest.mark.parametrize("fraction", [1.0, 1.5, -0.1])
def test_train_toy_models_refuses_a_warmup_fraction_outside_0_1(fraction: float) -> None:
    with pytest.raises(ValueError, match=r"warmup_fraction must lie in \[0, 1\), got "):
        train_toy_models(m=3, gamma=0.1, n=10, batch=4, steps=4, warmup_fraction=fraction, device="cpu")


def test_heldout_loss_is_close_to_final_training_loss() -> None:
    models = _models([-0.5])
    spec = ShardSpec(N, 6, models, batch=256, steps=300, warmup_steps=30, heldout_batches=20)
    result = train_shard(spec)
    assert result.heldout_loss is not None
    # learning rate is at its floor: training and held-out losses estimate the same quantity
    assert math.isclose(float(result.heldout_loss[0]), float(result.final_loss[0]), rel_tol=0.1)


def test_negative_gamma_pulls_row_norms_to_one_and_positive_shrinks() -> None:
    probs = power_law_probs(N, 1.0)
    models = [ModelSpec(probs, gamma=g, lr_W=0.03, lr_b=0.03, seed=1) for g in (-1.0, 1.0)]
    result = train_shard(ShardSpec(N, 8, models, batch=256, steps=1500, warmup_steps=100))
    norms = result.params["W"].norm(dim=-1)
    assert (norms[0] > 0.5).float().mean() == 1.0  # strong: every feature represented
    assert (norms[1] > 0.5).float().mean() < 0.5  # weak: most features dropped


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("m", 0, "m must be a positive integer"),
        ("batch", -3, "batch must be a positive integer"),
        ("device", "tpu", "device must be"),
    ],
)
def test_bad_arguments_name_the_argument(field: str, value, message: str) -> None:
    spec = ShardSpec(N, 4, _models([0.1]), batch=8, steps=2, warmup_steps=1)
    with pytest.raises(ValueError, match=message):  # shapes at construction, the device when training
        train_shard(dataclasses.replace(spec, **{field: value}))
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.m = 5  # type: ignore[misc]


def test_bad_model_values_are_refused() -> None:
    nan_gamma = ModelSpec(power_law_probs(N, 1.0), gamma=float("nan"), lr_W=0.01, lr_b=0.01, seed=0)
    with pytest.raises(ValueError, match=r"models\[0\].gamma must be a finite number"):
        train_shard(ShardSpec(N, 4, [nan_gamma], batch=8, steps=2, warmup_steps=1))
    bad_p = ModelSpec(torch.full((N,), 1.5, dtype=torch.float64), gamma=0.0, lr_W=0.01, lr_b=0.01, seed=0)
    with pytest.raises(ValueError, match="probs must lie in"):
        train_shard(ShardSpec(N, 4, [bad_p], batch=8, steps=2, warmup_steps=1))


def test_divergence_names_the_model() -> None:
    models = _models([0.0, 0.0])
    models[1] = ModelSpec(models[1].probs, gamma=0.0, lr_W=1e30, lr_b=1e30, seed=7)
    with pytest.raises(DivergenceError, match="model 1") as caught:
        train_shard(ShardSpec(N, 4, models, batch=16, steps=60, warmup_steps=1))
    assert caught.value.instance == 1


def test_sharing_batches_changes_no_number() -> None:
    """A model's stream is a function of (seed, data_key): sharing it is a saving, never a change."""
    models = _models([-0.5, 0.0, 0.5], alphas=(0.7,))
    shared = train_shard(ShardSpec(N, 4, models, batch=BATCH, steps=25, warmup_steps=5, share_batches=True))
    separate = train_shard(
        ShardSpec(N, 4, models, batch=BATCH, steps=25, warmup_steps=5, share_batches=False)
    )
    assert torch.equal(shared.step_loss, separate.step_loss)
    assert torch.equal(shared.params["W"], separate.params["W"])
