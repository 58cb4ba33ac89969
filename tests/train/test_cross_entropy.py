"""The cross-entropy toy model: its gradients (from `loss_one`) equal plain autograd, the engine equals a
plain loop and reports nats, the sampler draws p/Σp, and the §3.6 decomposition matches the recipe's formula
and the model's exact loss."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch
import torch.nn.functional as F

from superscale.train.architectures import get_architecture
from superscale.train.data import SparseBatch, derive_seed, power_law_probs
from superscale.train.engine import ModelSpec, ShardSpec, train_shard
from superscale.train.model import init_toy_params
from superscale.variants import cross_entropy_decomposition, sample_tokens
from tests.oracle import PaperAdamW, paper_lr

N, M, BATCH = 30, 4, 48


def plain_ce(W: torch.Tensor, b: torch.Tensor, tokens: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
    """One model, written as an LM head: embed, tied read-out, cross-entropy in nats (the code scale)."""
    h = values[:, None] * W[tokens]
    return F.cross_entropy(h @ W.T + b, tokens)


@pytest.mark.parametrize("scaled", [False, True])
def test_gradients_match_autograd_on_a_plain_model(scaled: bool) -> None:
    arch = get_architecture("cross_entropy", N, M, scaled=scaled)
    params = arch.init_params([3, 4])
    batch = arch.sample(power_law_probs(N, 0.7), BATCH, torch.Generator().manual_seed(1), sparse=True)
    assert isinstance(batch, SparseBatch)
    loss, grads = arch.loss_and_grads(params, batch, loss_scale=7.0)
    for inst in range(2):
        W = params["W"][inst].double().requires_grad_(True)
        b = params["b"][inst].double().requires_grad_(True)
        ref = plain_ce(W, b, batch.feature_idx, batch.values.double())
        gW, gb = torch.autograd.grad(ref * 7.0, [W, b])
        assert math.isclose(float(loss[inst]), ref.item(), rel_tol=1e-5)
        torch.testing.assert_close(grads["W"][inst].double(), gW, rtol=1e-4, atol=1e-7)
        torch.testing.assert_close(grads["b"][inst].double(), gb, rtol=1e-4, atol=1e-7)


def test_engine_matches_plain_per_model_loop() -> None:
    steps, warmup = 25, 5
    probs = power_law_probs(N, 1.2)
    models = [
        ModelSpec(probs, gamma=g, lr_W=0.02, lr_b=0.03, seed=s, data_key="a")
        for s, g in ((0, -1.0), (1, 0.3))
    ]
    spec = ShardSpec(
        N, M, models, batch=BATCH, steps=steps, warmup_steps=warmup, architecture="cross_entropy"
    )
    spec = dataclasses.replace(spec, arch_options={"scaled": True})
    result = train_shard(spec)
    for index, model in enumerate(models):
        W0, b0 = init_toy_params(N, M, [model.seed])
        W, b = W0[0].clone().requires_grad_(True), b0[0].clone().requires_grad_(True)
        groups = [
            {"params": [W], "lr": 0.0, "weight_decay": model.gamma},
            {"params": [b], "lr": 0.0, "weight_decay": 0.0},
        ]
        optimiser = PaperAdamW(groups)
        generator = torch.Generator().manual_seed(derive_seed(model.seed, "data:a"))
        losses = []
        for step in range(steps):
            mult = paper_lr(step, 1.0, steps, warmup)
            groups[0]["lr"], groups[1]["lr"] = model.lr_W * mult, model.lr_b * mult
            batch = sample_tokens(probs, BATCH, generator, scaled=True)
            loss = plain_ce(W, b, batch.feature_idx, batch.values)
            W.grad = b.grad = None
            loss.backward()
            optimiser.step()
            losses.append(loss.item())
        torch.testing.assert_close(result.params["W"][index], W.detach(), rtol=2e-4, atol=2e-5)
        torch.testing.assert_close(result.params["b"][index], b.detach(), rtol=2e-4, atol=2e-5)
        torch.testing.assert_close(result.step_loss[index], torch.tensor(losses), rtol=1e-4, atol=1e-7)
    # the reported scale is the code scale, the per-sample cross-entropy in nats (ln n for a uniform guess)
    assert result.report_factor == 1.0
    window = torch.tensor(losses[-spec.final_window :], dtype=torch.float64)
    torch.testing.assert_close(result.final_loss[-1], window.mean(), rtol=1e-5, atol=0)
    assert 0.5 < float(result.final_loss.mean()) < 2 * math.log(N)


def test_sampler_draws_tokens_with_probability_p_over_sum() -> None:
    probs = torch.tensor([0.4, 0.2, 0.1, 0.0, 0.1], dtype=torch.float64)  # sums to 0.8: renormalised
    batch = sample_tokens(probs, 40000, torch.Generator().manual_seed(0), scaled=True)
    counts = torch.bincount(batch.feature_idx, minlength=5).double() / 40000
    expected = probs / probs.sum()
    sd = (expected * (1 - expected) / 40000).sqrt()
    assert bool(((counts - expected).abs() <= 5 * sd + 1e-12).all())
    assert torch.equal(batch.sample_idx, torch.arange(40000))
    assert float(batch.values.min()) >= 0 and float(batch.values.max()) < 2
    assert abs(float(batch.values.mean()) - 1.0) < 0.02
    plain = sample_tokens(probs, 10, torch.Generator().manual_seed(0))
    assert torch.equal(plain.values, torch.ones(10))


def test_a_batch_without_one_token_per_sample_is_refused() -> None:
    arch = get_architecture("cross_entropy", N, M)
    dense = torch.zeros(4, N)
    with pytest.raises(ValueError, match="one token per sample"):
        arch.loss_and_grads(arch.init_params([0]), dense, 1.0)
    twice = SparseBatch(torch.tensor([0, 0]), torch.tensor([1, 2]), torch.ones(2), 2, N)
    with pytest.raises(ValueError, match="exactly one token"):
        arch.loss_and_grads(arch.init_params([0]), twice, 1.0)
    with pytest.raises(ValueError, match="scaled"):
        get_architecture("cross_entropy", N, M, scaled="yes")


def test_decomposition_is_the_spec_formula() -> None:
    """normalise_hidden=True, b=None: the three terms of §3.6 written out by a loop over i and j."""
    W = torch.randn(12, 5, generator=torch.Generator().manual_seed(2), dtype=torch.float64) * 1.3
    probs = power_law_probs(12, 1.0)
    terms = cross_entropy_decomposition(W, None, probs)
    zeroth = first = width = exact = 0.0
    for i in range(12):
        ni = float(W[i].norm())
        c = [float(W[i] @ W[j]) / ni for j in range(12) if j != i]
        zeroth += float(probs[i]) * 11 * math.exp(-ni)
        first += float(probs[i]) * sum(c) * math.exp(-ni)  # ε_{D,i} e^{-‖W_i‖}/‖W_i‖
        width += float(probs[i]) * 0.5 * sum(x * x for x in c) * math.exp(-ni)  # L_m
        exact += float(probs[i]) * math.log1p(sum(math.exp(x - ni) for x in c))
    for key, value in (("zeroth_order", zeroth), ("first_order", first), ("width", width), ("exact", exact)):
        assert math.isclose(terms[key], value, rel_tol=1e-10), key
    assert math.isclose(terms["approx"], zeroth + first + width, rel_tol=1e-12)


def test_decomposition_exact_is_the_models_expected_loss_and_the_expansion_converges() -> None:
    arch = get_architecture("cross_entropy", N, M)
    params = arch.init_params([5])
    W, b = params["W"][0], params["b"][0]
    probs = power_law_probs(N, 1.0)
    every_token = SparseBatch(torch.arange(N), torch.arange(N), torch.ones(N), N, N)
    logits = W @ W.T + b
    per_token = F.cross_entropy(logits.double(), torch.arange(N), reduction="none")
    terms = cross_entropy_decomposition(W, b, probs, normalise_hidden=False)
    assert math.isclose(terms["exact"], float((probs * per_token).sum()), rel_tol=1e-6)
    # the model's own loss on a batch of every token once, uniformly weighted, agrees too
    loss, _ = arch.loss_and_grads(params, every_token, 1.0, need_grads=False)
    assert math.isclose(float(loss[0]), float(per_token.mean()), rel_tol=1e-5)
    # long, nearly orthogonal rows (m ≥ n): small odds and overlaps, so the expansion is accurate
    Q, _ = torch.linalg.qr(torch.randn(8, 8, generator=torch.Generator().manual_seed(0), dtype=torch.float64))
    W_orth = 10.0 * Q + 0.02 * torch.randn(
        8, 8, generator=torch.Generator().manual_seed(1), dtype=torch.float64
    )
    close = cross_entropy_decomposition(W_orth, None, power_law_probs(8, 1.0))
    assert math.isclose(close["approx"], close["exact"], rel_tol=1e-3)
    assert 0 < close["width"] < 0.01 * close["zeroth_order"]
