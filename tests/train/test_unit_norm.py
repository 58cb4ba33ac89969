"""Unit-norm and importance variants: rows stay on the sphere, and the gradients these variants get from
their `loss_one` (vmap-grad) equal plain per-model autograd of the equation written out again here."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from superscale.train.architectures.importance import ImportanceToyModel
from superscale.train.architectures.unit_norm import UnitNormToyModel
from superscale.train.data import power_law_probs, sample_dense, sample_sparse
from superscale.train.engine import ModelSpec, ShardSpec, train_shard

N, M = 24, 5


def _batches():
    probs = power_law_probs(N, 0.6, density=2.0)
    generator = torch.Generator().manual_seed(4)
    return [sample_sparse(probs, 40, generator), sample_dense(probs, 40, generator)]


@pytest.mark.parametrize("variant", ["temperature", "importance"])
@pytest.mark.parametrize("dense", [False, True])
def test_tempered_and_weighted_gradients_match_plain_autograd(variant: str, dense: bool) -> None:
    batch = _batches()[int(dense)]
    generator = torch.Generator().manual_seed(0)
    W = torch.randn(2, N, M, generator=generator) / M**0.5
    b = torch.randn(2, N, generator=generator) * 0.3
    tau = torch.tensor([0.7, 1.6]) if variant == "temperature" else torch.ones(2)
    importance = torch.rand(N, generator=generator, dtype=torch.float64) * 2
    if variant == "temperature":
        arch: UnitNormToyModel | ImportanceToyModel = UnitNormToyModel(N, M, temperature=True)
        params = {"W": W, "b": b, "tau": tau}
        weight = torch.ones(N, dtype=torch.float64)
    else:
        arch = ImportanceToyModel(N, M, importance=importance.tolist())
        params = {"W": W, "b": b}
        weight = importance
    loss, grads = arch.loss_and_grads(params, batch, 3.0)
    assert set(grads) == set(params)
    x = (batch if dense else batch.to_dense()).double()
    for inst in range(2):
        leaves = [t[inst].double().requires_grad_(True) for t in (W, b, tau)]
        Wi, bi, ti = leaves
        y = torch.relu(ti * x @ Wi @ Wi.T + bi)
        ref = (weight * (y - x).square()).sum() / x.numel()
        expected = torch.autograd.grad(3.0 * ref, leaves)
        torch.testing.assert_close(loss[inst], ref.detach(), rtol=1e-5, atol=1e-8)
        for name, want in zip(("W", "b", "tau"), expected, strict=True):
            if name in grads:
                torch.testing.assert_close(grads[name][inst].double(), want, rtol=1e-4, atol=1e-7)


@pytest.mark.parametrize("temperature", [False, True])
def test_rows_have_unit_norm_after_every_step(temperature: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    probs = power_law_probs(N, 1.0)
    models = [ModelSpec(probs, gamma=g, lr_W=0.05, lr_b=0.05, seed=s) for s, g in ((0, -1.0), (1, 0.5))]
    spec = ShardSpec(N, M, models, batch=64, steps=40, warmup_steps=4, architecture="unit_norm")
    spec = dataclasses.replace(spec, arch_options={"temperature": temperature})
    norms_seen: list[torch.Tensor] = []
    # the engine's params are private: a post_step spy records the norms the next step starts from
    original = UnitNormToyModel.post_step

    def spy(self: UnitNormToyModel, params: dict[str, torch.Tensor]) -> None:
        original(self, params)
        norms_seen.append(params["W"].norm(dim=-1))

    monkeypatch.setattr(UnitNormToyModel, "post_step", spy)
    result = train_shard(spec)
    assert len(norms_seen) == 40
    for norms in norms_seen:
        torch.testing.assert_close(norms, torch.ones_like(norms), rtol=0, atol=2e-6)
    assert ("tau" in result.params) == temperature
    if temperature:
        assert bool((result.params["tau"] != 1.0).all())  # τ is learned


def test_initial_rows_are_unit_and_gamma_has_no_effect() -> None:
    """The projection is the γ → −∞ limit: models differing only in γ train identically."""
    probs = power_law_probs(N, 1.0)
    initial = UnitNormToyModel(N, M).init_params([3])["W"].norm(dim=-1)
    torch.testing.assert_close(initial, torch.ones_like(initial), rtol=0, atol=2e-6)
    models = [ModelSpec(probs, gamma=g, lr_W=0.03, lr_b=0.03, seed=3) for g in (-1.0, 0.0, 0.8)]
    result = train_shard(ShardSpec(N, M, models, batch=32, steps=1, warmup_steps=0, architecture="unit_norm"))
    assert not torch.allclose(result.params["W"][0], UnitNormToyModel(N, M).init_params([3])["W"][0])
    assert torch.equal(result.params["W"][0], result.params["W"][1])
    assert torch.equal(result.params["W"][0], result.params["W"][2])
    with pytest.raises(ValueError, match="temperature"):
        train_shard(
            ShardSpec(
                N,
                M,
                models,
                steps=1,
                warmup_steps=0,
                architecture="unit_norm",
                arch_options={"temperature": 1},
            )
        )
