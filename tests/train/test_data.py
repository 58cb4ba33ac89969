"""Frequency families are normalised as recipe §1.1 says; the dense and sparse samplers agree in law."""

from __future__ import annotations

import math

import pytest
import torch

from superscale.train.data import (
    custom_probs,
    density_scan_probs,
    exponential_probs,
    harmonic_number,
    linear_probs,
    power_law_probs,
    sample_dense,
    sample_sparse,
)


def test_power_law_is_normalised_and_ranked() -> None:
    p = power_law_probs(1000, 1.2)
    assert math.isclose(float(p.sum()), 1.0, rel_tol=1e-12)
    assert bool((p[:-1] > p[1:]).all())
    assert math.isclose(float(p[0] / p[9]), 10**1.2, rel_tol=1e-12)
    assert torch.allclose(power_law_probs(10, 0.0), torch.full((10,), 0.1, dtype=torch.float64))


def test_exponential_and_linear_families() -> None:
    p = exponential_probs(10240, 400)
    assert math.isclose(float(p.sum()), 1.0, rel_tol=1e-12)
    assert math.isclose(float(p[0] / p[400]), math.e, rel_tol=1e-9)
    q = linear_probs(4)  # weights 4, 3, 2, 1 (the code's rank r ↦ n − r + 1)
    assert torch.allclose(q, torch.tensor([0.4, 0.3, 0.2, 0.1], dtype=torch.float64))


def test_density_scan_matches_spec_values() -> None:
    assert math.isclose(harmonic_number(1000), 7.485471, abs_tol=1e-6)
    expected = [1, 1.8107, 2.6214, 3.4321, 4.2427, 5.0534, 5.8641, 6.6748, 7.4855]  # docs/recipe.md §1.7 E3
    for s, e in zip(torch.linspace(0, 1, 9).tolist(), expected, strict=True):
        assert math.isclose(float(density_scan_probs(1000, s).sum()), e, abs_tol=1e-4)
    assert math.isclose(float(density_scan_probs(1000, 1.0)[0]), 1.0, rel_tol=1e-12)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: power_law_probs(0, 1.0), "n must be a positive integer"),
        (lambda: power_law_probs(10, float("nan")), "alpha must be a finite number"),
        (lambda: power_law_probs(10, 1.0, density=50.0), "p_1 = .* > 1"),
        (lambda: exponential_probs(10, -1.0), "scale .* must be > 0"),
        (lambda: custom_probs([0.5, 1.5]), r"must lie in \[0, 1\]"),
        (lambda: density_scan_probs(100, 1.5), r"s .* must lie in \[0, 1\]"),
        (lambda: sample_sparse(power_law_probs(10, 1.0), -4, torch.Generator()), "batch must be"),
    ],
)
def test_bad_input_names_the_argument(call, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()


def _moments(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per-feature activation rate, and mean / mean square of the active values."""
    active = x > 0
    rate = active.double().mean(0)
    values = x.double()[active]
    return rate, values.mean(), values.square().mean()


@pytest.mark.parametrize("probs", [power_law_probs(200, 1.0), density_scan_probs(200, 1.0, alpha=1.5)])
def test_sparse_and_dense_samplers_draw_the_same_distribution(probs: torch.Tensor) -> None:
    """Per-feature rates agree with p within 5 standard errors; values are U(0,2): mean 1, E[v²] = 4/3."""
    batch, draws = 512, 40
    g_dense, g_sparse = torch.Generator().manual_seed(1), torch.Generator().manual_seed(2)
    dense = torch.cat([sample_dense(probs, batch, g_dense) for _ in range(draws)])
    sparse = torch.cat([sample_sparse(probs, batch, g_sparse).to_dense() for _ in range(draws)])
    total = batch * draws
    se = torch.sqrt(probs * (1 - probs) / total).clamp(min=1e-12)
    for x in (dense, sparse):
        rate, mean, mean_sq = _moments(x)
        z = ((rate - probs) / se)[probs < 1]
        assert float(z.abs().max()) < 5.0
        assert float(z.square().mean()) < 1.5  # chi-square per feature ≈ 1
        assert abs(float(mean) - 1.0) < 0.02
        assert abs(float(mean_sq) - 4 / 3) < 0.03
    assert bool((sparse[:, probs == 1] > 0).all())  # p = 1 features are always on


def test_sparse_sampler_handles_zero_and_certain_features_and_is_seeded() -> None:
    probs = torch.tensor([1.0, 0.0, 0.5, 1e-9], dtype=torch.float64)
    batch = sample_sparse(probs, 1000, torch.Generator().manual_seed(0))
    x = batch.to_dense()
    assert bool((x[:, 0] > 0).all()) and bool((x[:, 1] == 0).all())
    assert abs(float((x[:, 2] > 0).double().mean()) - 0.5) < 0.06
    pairs = batch.sample_idx * 4 + batch.feature_idx
    assert pairs.unique().numel() == pairs.numel()  # each (sample, feature) at most once
    again = sample_sparse(probs, 1000, torch.Generator().manual_seed(0))
    assert torch.equal(again.values, batch.values) and torch.equal(again.sample_idx, batch.sample_idx)


def test_sparse_cost_grows_with_active_entries_not_batch_times_n(monkeypatch) -> None:
    """Count the random numbers drawn: about B·E + a budget per feature, never B·n."""
    drawn: list[int] = []
    real_rand = torch.rand

    def counting_rand(*size, **kwargs):
        out = real_rand(*size, **kwargs)
        drawn.append(out.numel())
        return out

    monkeypatch.setattr(torch, "rand", counting_rand)
    n, batch = 100_000, 2048
    sample_sparse(power_law_probs(n, 1.0), batch, torch.Generator().manual_seed(0))
    assert sum(drawn) < 20 * n  # budget: mean + 8 sd + 8 per feature; dense would be 2·B·n = 4e8
    assert sum(drawn) < batch * n / 100
