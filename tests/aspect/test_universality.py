"""Per-layer features and the similarity measures: identities they must satisfy, and their failure modes."""

from __future__ import annotations

import math

import pytest
import torch

from superscale.aspect.universality import (
    compare_features,
    feature_responses,
    layer_features,
    linear_cka,
    procrustes_similarity,
)
from superscale.train.architectures.deep import DeepToyModel


def _random(n: int, m: int, seed: int) -> torch.Tensor:
    return torch.randn(n, m, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def _rotation(m: int, seed: int) -> torch.Tensor:
    q, _ = torch.linalg.qr(_random(m, m, seed))
    return q


def test_cka_is_one_for_itself_and_for_a_rotated_copy_and_low_for_random() -> None:
    R = _random(60, 8, 0)
    assert math.isclose(linear_cka(R, R), 1.0, rel_tol=1e-12)
    assert math.isclose(linear_cka(R, R @ _rotation(8, 1)), 1.0, rel_tol=1e-10)
    # a wider embedding of the same geometry (zero columns added, then rotated) is the same Gram
    wide = torch.cat([R, torch.zeros(60, 4, dtype=torch.float64)], dim=1) @ _rotation(12, 2)
    assert math.isclose(linear_cka(R, wide), 1.0, rel_tol=1e-10)
    assert linear_cka(R, _random(60, 8, 3)) < 0.4


def test_procrustes_recovers_a_rotation_and_not_a_random_matrix() -> None:
    R = _random(50, 6, 4)
    similarity, matched = procrustes_similarity(R, R @ _rotation(6, 5))
    assert math.isclose(similarity, 1.0, rel_tol=1e-10)
    assert math.isclose(matched, 1.0, rel_tol=1e-10)
    # different widths: zero-padding makes a rotated, padded copy match exactly too
    padded = torch.cat([R, torch.zeros(50, 3, dtype=torch.float64)], dim=1) @ _rotation(9, 6)
    assert math.isclose(procrustes_similarity(R, padded)[0], 1.0, rel_tol=1e-10)
    similarity_random, matched_random = procrustes_similarity(R, _random(50, 6, 7))
    assert similarity_random < 0.6 and matched_random < 0.6
    # scale does not matter (both sides are normalised)
    assert math.isclose(procrustes_similarity(R, 3.0 * R)[0], 1.0, rel_tol=1e-12)


def test_similarity_input_errors() -> None:
    with pytest.raises(ValueError, match="same rows"):
        linear_cka(_random(5, 2, 0), _random(6, 2, 0))
    with pytest.raises(ValueError, match="same rows"):
        procrustes_similarity(_random(5, 2, 0), _random(6, 2, 0))


def test_encoder_responses_are_the_rows_of_W_and_represented_is_phi_half() -> None:
    arch = DeepToyModel(20, 4, n_layers=3)
    params = {k: v[0] for k, v in arch.init_params([11]).items()}
    W = params["W"].clone()
    W[:5] *= 0.1  # five features clearly not represented (norm ≈ 0.1)
    params["W"] = W
    responses = feature_responses(params, residual=True)
    assert len(responses) == 3 and all(r.shape == (20, 4) for r in responses)
    torch.testing.assert_close(responses[0], W.double())
    layers = layer_features(responses)
    assert torch.equal(layers[0].represented, W.norm(dim=1) > 0.5)
    assert layers[0].scale == 1.0
    assert layers[0].superposition == layers[0].n_represented / 4


def test_hidden_layer_response_is_linear_map_when_relu_is_inactive() -> None:
    """Plain two-layer model with H = −I: every response is ReLU(−W_i) — by hand."""
    arch = DeepToyModel(10, 3, n_layers=2, residual=False)
    params = {k: v[0] for k, v in arch.init_params([2]).items()}
    params["hidden"] = -torch.eye(3)[None]
    responses = feature_responses(params, residual=False)
    torch.testing.assert_close(responses[1], torch.relu(-params["W"]).double())


def test_compare_features_of_a_model_with_itself_and_with_disjoint_sets() -> None:
    R = _random(30, 5, 8)
    everything = torch.ones(30, dtype=torch.bool)
    same = compare_features(R, everything, R @ _rotation(5, 9), everything)
    assert same.jaccard == 1.0 and same.n_common == 30
    assert math.isclose(same.cka, 1.0, rel_tol=1e-10) and math.isclose(same.procrustes, 1.0, rel_tol=1e-10)
    assert same.cka_random < 0.5  # same norms, random directions: the geometry is gone
    first_half = torch.arange(30) < 15
    disjoint = compare_features(R, first_half, R, ~first_half)
    assert disjoint.jaccard == 0.0 and disjoint.n_common == 0 and math.isnan(disjoint.cka)
