"""Superposition metrics: exact against brute force, analytic values, invariances, failure modes."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate

from superscale.analysis import metrics


def _random(n: int, m: int, seed: int = 0, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    return torch.randn(n, m, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def _brute_pairs(W: torch.Tensor) -> torch.Tensor:
    Wn = W / W.norm(dim=1, keepdim=True)
    i, j = torch.triu_indices(W.shape[0], W.shape[0], offset=1)
    return (Wn @ Wn.T)[i, j]


def _simplex_etf(m: int) -> torch.Tensor:
    """m + 1 unit vectors in R^m with all pairwise cosines −1/m (the regular simplex, an ETF)."""
    centred = torch.eye(m + 1, dtype=torch.float64) - 1.0 / (m + 1)
    U, _, _ = torch.linalg.svd(centred)
    rows = centred @ U[:, :m]
    return rows / rows.norm(dim=1, keepdim=True)


@pytest.mark.parametrize("block_size", [7, 30, 1000])
def test_overlap_stats_equal_brute_force_over_all_pairs(block_size: int) -> None:
    W = _random(30, 5)
    c = _brute_pairs(W)
    s = metrics.overlap_stats(W, block_size=block_size)
    assert s.n_pairs == 30 * 29 // 2 and s.n_rows == 30
    assert s.mean_abs_cos == pytest.approx(float(c.abs().mean()), rel=1e-12)
    assert s.mean_cos2 == pytest.approx(float((c**2).mean()), rel=1e-12)
    assert s.var_cos2 == pytest.approx(float((c**2).var(correction=0)), rel=1e-9)
    assert s.max_abs_cos == pytest.approx(float(c.abs().max()), rel=1e-12)
    # the paper's identity: mean square overlap = mean_over² + var_over (docs/recipe.md §2)
    assert s.mean_cos2 == pytest.approx(s.mean_abs_cos**2 + s.std_abs_cos**2, rel=1e-12)


def test_overlap_stats_on_a_subset_mask_or_index_and_numpy() -> None:
    W = _random(40, 6, seed=1)
    mask = W.norm(dim=1) > W.norm(dim=1).median()
    sub = metrics.overlap_stats(W, rows=mask, block_size=8)
    c = _brute_pairs(W[mask])
    assert sub.n_rows == int(mask.sum())
    assert sub.mean_cos2 == pytest.approx(float((c**2).mean()), rel=1e-12)
    by_index = metrics.overlap_stats(W.numpy(), rows=torch.nonzero(mask).flatten().numpy())
    assert by_index.mean_cos2 == pytest.approx(sub.mean_cos2, rel=1e-12)


def test_half_precision_on_cpu_is_computed_in_float32() -> None:
    W = _random(50, 8, seed=2, dtype=torch.float32)
    exact = metrics.overlap_stats(W.double())
    half = metrics.overlap_stats(W.to(torch.bfloat16))
    assert half.mean_cos2 == pytest.approx(exact.mean_cos2, rel=2e-2)


def test_random_unit_vectors_match_the_reference_geometry() -> None:
    m = 16
    s = metrics.overlap_stats(_random(600, m, seed=3))
    assert s.mean_cos2 == pytest.approx(metrics.random_vector_cos2_mean(m), rel=0.05)
    assert s.var_cos2 == pytest.approx(metrics.random_vector_cos2_var(m), rel=0.1)
    assert s.mean_abs_cos == pytest.approx(metrics.random_vector_abs_cos_mean(m), rel=0.03)
    ratio = metrics.compare_to_reference(s, m)
    assert ratio.mean_cos2_over_random == pytest.approx(1.0, rel=0.05)
    assert ratio.max_abs_cos_over_welch > 1  # nobody beats the Welch bound


def test_reference_values_by_hand() -> None:
    assert metrics.random_vector_cos2_var(10) == pytest.approx(18 / 1200)
    assert metrics.random_vector_abs_cos_mean(2) == pytest.approx(2 / math.pi)  # E|cos θ|, θ uniform
    assert metrics.random_vector_abs_cos_mean(3) == pytest.approx(0.5)  # E|u_1| on the 2-sphere
    assert metrics.welch_bound(4, 2) == pytest.approx(math.sqrt(2 / 6))
    assert metrics.welch_bound(2, 2) == 0.0
    assert metrics.welch_kappa2(10_000, 100) == pytest.approx(9900 / (100 * 9999))
    assert metrics.etf_max_size(3) == 6


@pytest.mark.parametrize("m", [2, 5, 9])
def test_simplex_etf_meets_the_welch_bound_with_zero_spread(m: int) -> None:
    s = metrics.overlap_stats(_simplex_etf(m))
    kappa = metrics.welch_bound(m + 1, m)
    assert kappa == pytest.approx(1 / m)
    assert s.max_abs_cos == pytest.approx(kappa, rel=1e-10)
    assert s.var_cos2 == pytest.approx(0.0, abs=1e-12)
    ratio = metrics.compare_to_reference(s, m)
    assert ratio.mean_cos2_over_welch == pytest.approx(1.0, rel=1e-9)
    assert ratio.max_abs_cos_over_welch == pytest.approx(1.0, rel=1e-9)


def test_sampled_estimator_is_unbiased_and_its_interval_covers() -> None:
    W = _random(80, 6, seed=4)
    exact = metrics.overlap_stats(W)
    hits, z_scores = 0, []
    for seed in range(20):
        est = metrics.sampled_overlap_stats(W, 4000, torch.Generator().manual_seed(seed))
        hits += est.mean_cos2_ci_low <= exact.mean_cos2 <= est.mean_cos2_ci_high
        z_scores.append((est.mean_abs_cos - exact.mean_abs_cos) / est.mean_abs_cos_se)
    assert hits >= 16  # 95 % intervals: 19 of 20 expected
    assert abs(np.mean(z_scores)) < 4 / math.sqrt(20)  # the mean of 20 unbiased z-scores is ~N(0, 1/20)


def test_norms_fractions_histogram() -> None:
    W = torch.zeros(8, 3, dtype=torch.float64)
    for i, norm in enumerate([0.0, 0.2, 0.5, 0.6, 0.9, 1.0, 1.2, 2.0]):
        W[i, i % 3] = norm
    assert metrics.row_norms(W).tolist() == pytest.approx([0.0, 0.2, 0.5, 0.6, 0.9, 1.0, 1.2, 2.0])
    assert metrics.phi_half(W) == 5 / 8  # strictly greater than 1/2: 0.5 itself is out
    assert metrics.phi_one(W) == 2 / 8
    assert metrics.fraction_represented(W, 0.0) == 7 / 8
    counts, edges = metrics.norm_histogram(W, bins=4, value_range=(0.0, 2.0))
    assert counts.sum() == 8 and edges[0] == 0.0 and edges[-1] == 2.0
    summary = metrics.norm_summary(W)
    assert summary.max == 2.0 and summary.min == 0.0 and summary.n_rows == 8


def test_dimensionality_and_frobenius() -> None:
    W = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]], dtype=torch.float64)
    assert metrics.feature_dimensionality(W).tolist() == [1.0, 1.0, 0.0]
    antipodal = torch.tensor([[1.0, 0.0], [-1.0, 0.0], [0.0, 2.0]], dtype=torch.float64)
    assert metrics.feature_dimensionality(antipodal).tolist() == pytest.approx([0.5, 0.5, 1.0])
    assert metrics.m_over_frobenius2(antipodal) == pytest.approx(2 / 6)
    W = _random(25, 4, seed=5)
    Wn = W / W.norm(dim=1, keepdim=True)
    brute = W.norm(dim=1) ** 2 / ((Wn @ W.T) ** 2).sum(dim=1)
    assert torch.allclose(metrics.feature_dimensionality(W), brute, rtol=1e-12)
    assert float(metrics.feature_dimensionality(W).sum()) <= 4 + 1e-9  # Σ D_i ≤ m


def test_ambiguity_matches_the_dense_norms() -> None:
    W = _random(12, 3, seed=6)
    B = np.zeros((12, 12))
    B[:3, :3] = np.eye(3)
    dense = (W @ W.T).numpy() - B
    assert metrics.ambiguity(W) == pytest.approx(np.linalg.norm(dense, 2), rel=1e-10)
    assert metrics.ambiguity(W, norm="fro") == pytest.approx(np.linalg.norm(dense, "fro"), rel=1e-10)
    no_superposition = torch.zeros(12, 3, dtype=torch.float64)
    no_superposition[:3] = torch.eye(3)
    assert metrics.ambiguity(no_superposition) == pytest.approx(0.0, abs=1e-12)


def test_per_feature_loss_by_hand() -> None:
    n = 4
    zero = torch.zeros(n, 2, dtype=torch.float64)
    # nothing represented: output 0, loss = ⟨v²⟩ = 4/3
    assert metrics.per_feature_loss(zero, torch.zeros(n)).tolist() == pytest.approx([4 / 3] * n)
    eye = torch.eye(n, dtype=torch.float64)
    assert metrics.per_feature_loss(eye, torch.zeros(n)).tolist() == pytest.approx([0.0] * n)
    # a constant positive bias c: every output is off by c
    assert metrics.per_feature_loss(eye, torch.full((n,), 0.3)).tolist() == pytest.approx([n * 0.09] * n)
    probs = torch.tensor([0.4, 0.3, 0.2, 0.1], dtype=torch.float64)
    assert metrics.single_activation_loss(zero, torch.zeros(n), probs) == pytest.approx(4 / 3)


def test_per_feature_loss_matches_quadrature_and_monte_carlo() -> None:
    W = _random(30, 6, seed=7) / 3
    b = _random(30, 1, seed=8).flatten() * 0.3
    closed = metrics.per_feature_loss(W, b)
    Wn, bn = W.numpy(), b.numpy()

    def loss(v: float, i: int) -> float:
        y = np.maximum(Wn @ Wn[i] * v + bn, 0)
        y[i] -= v
        return float((y**2).sum())

    for i in range(3):
        kinks = sorted({float(x) for x in -bn / (Wn @ Wn[i]) if 0 < x < 2})
        value = integrate.quad(loss, 0, 2, args=(i,), points=kinks or None, epsabs=1e-12)[0] / 2
        assert float(closed[i]) == pytest.approx(value, rel=1e-8)
    mean, se = metrics.per_feature_loss_monte_carlo(W, b, 4000, torch.Generator().manual_seed(0))
    assert float(((closed - mean) / se).abs().max()) < 4.5


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(4, 20), m=st.integers(2, 5))
def test_every_metric_is_invariant_to_rotating_the_hidden_space(seed: int, n: int, m: int) -> None:
    W = _random(n, m, seed=seed)
    b = _random(n, 1, seed=seed + 1).flatten() * 0.2
    Q, _ = torch.linalg.qr(_random(m, m, seed=seed + 2))
    perm = torch.randperm(m, generator=torch.Generator().manual_seed(seed))
    for moved in (W @ Q, W[:, perm]):
        a, c = metrics.overlap_stats(W), metrics.overlap_stats(moved, block_size=3)
        assert c.mean_cos2 == pytest.approx(a.mean_cos2, rel=1e-9, abs=1e-12)
        assert c.max_abs_cos == pytest.approx(a.max_abs_cos, rel=1e-9)
        assert torch.allclose(metrics.row_norms(moved), metrics.row_norms(W), rtol=1e-12)
        dims = metrics.feature_dimensionality(W)
        assert torch.allclose(metrics.feature_dimensionality(moved), dims, rtol=1e-9)
        assert torch.allclose(metrics.per_feature_loss(moved, b), metrics.per_feature_loss(W, b), rtol=1e-9)
        if m <= n:
            assert metrics.ambiguity(moved) == pytest.approx(metrics.ambiguity(W), rel=1e-9)


def test_bad_inputs_name_the_argument() -> None:
    W = _random(5, 3)
    with pytest.raises(ValueError, match="zero rows"):
        metrics.overlap_stats(torch.cat([W, torch.zeros(1, 3, dtype=torch.float64)]))
    with pytest.raises(ValueError, match="matrix"):
        metrics.row_norms(torch.zeros(3))
    with pytest.raises(ValueError, match="rows indices"):
        metrics.overlap_stats(W, rows=torch.tensor([0, 9]))
    with pytest.raises(ValueError, match="at least 2 rows"):
        metrics.overlap_stats(W, rows=torch.tensor([1]))
    with pytest.raises(ValueError, match="b must have shape"):
        metrics.per_feature_loss(W, torch.zeros(4))
    with pytest.raises(ValueError, match="n_pairs"):
        metrics.sampled_overlap_stats(W, 1, torch.Generator())
    with pytest.raises(ValueError, match="norm"):
        metrics.ambiguity(W, norm="nuclear")


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_results_equal_cpu_results() -> None:
    W = _random(3000, 64, seed=9, dtype=torch.float32)
    cpu = metrics.overlap_stats(W, block_size=1024)
    on_gpu = metrics.overlap_stats(W.cuda(), block_size=1024)
    moved = metrics.overlap_stats(W, block_size=1024, device="cuda")
    for other in (on_gpu, moved):
        assert other.mean_cos2 == pytest.approx(cpu.mean_cos2, rel=1e-5)
        assert other.max_abs_cos == pytest.approx(cpu.max_abs_cos, rel=1e-5)
    half = metrics.overlap_stats(W.cuda().half(), block_size=1024)
    assert half.mean_cos2 == pytest.approx(cpu.mean_cos2, rel=1e-2)
    est = metrics.sampled_overlap_stats(W.cuda(), 20000, torch.Generator().manual_seed(0))
    assert abs(est.mean_cos2 - cpu.mean_cos2) < 5 * est.mean_cos2_se
    b = torch.zeros(3000)
    assert torch.allclose(
        metrics.per_feature_loss(W[:200].cuda(), b[:200]).cpu(), metrics.per_feature_loss(W[:200], b[:200])
    )
