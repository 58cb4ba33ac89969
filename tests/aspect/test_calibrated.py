"""Calibrated universality scores: 1 for a rotated copy, ≈ 0 for chance, in between for a planted partial
match; the raw measures against values worked out by hand or by brute force."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch

from superscale.aspect.calibrated import (
    MEASURES,
    calibrate,
    calibrated_scores,
    direction_residual,
    frequent_rows,
    jaccard_null,
    overlap_distance,
    random_rotation,
)

N, M = 200, 12


def _model(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Responses [N, M] with norms in (0.5, 1.5), a represented set of 150 features, and p_i ∝ 1/i."""
    rng = np.random.default_rng(seed)
    R = rng.standard_normal((N, M))
    R *= (rng.uniform(0.5, 1.5, N) / np.linalg.norm(R, axis=1))[:, None]
    represented = np.zeros(N, dtype=bool)
    represented[rng.choice(N, 150, replace=False)] = True
    return R, represented, 1.0 / np.arange(1, N + 1)


def _random_arrangement(R: np.ndarray, represented: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The same norms in random directions, and the same number of represented features, permuted."""
    rng = np.random.default_rng(1000 + seed)
    directions = rng.standard_normal(R.shape)
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    return directions * np.linalg.norm(R, axis=1, keepdims=True), represented[rng.permutation(N)]


def test_every_score_is_one_for_a_rotated_copy_even_in_another_width() -> None:
    R, represented, probs = _model(0)
    generator = torch.Generator().manual_seed(5)
    rotated = R @ random_rotation(M, generator)
    wider = np.hstack([R, np.zeros((N, 4))]) @ random_rotation(M + 4, generator)
    for copy in (rotated, wider):
        scores = calibrated_scores(R, represented, copy, represented, probs).scores
        for measure in MEASURES:
            assert scores[measure] == pytest.approx(1.0, abs=1e-9), measure


def test_every_score_is_about_zero_for_a_random_arrangement_with_the_same_norms() -> None:
    R, represented, probs = _model(1)
    draws = [
        calibrated_scores(R, represented, *_random_arrangement(R, represented, s), probs) for s in range(6)
    ]
    for measure in MEASURES:
        mean = float(np.mean([d.scores[measure] for d in draws]))
        assert abs(mean) < 0.06, (measure, mean)


def test_a_planted_partial_match_scores_in_between() -> None:
    """Half the features keep their rotated direction and represented status, the other half are redrawn."""
    R, represented, probs = _model(2)
    Q = random_rotation(M, torch.Generator().manual_seed(3))
    random_R, random_set = _random_arrangement(R, represented, 9)
    keep = np.arange(N) % 2 == 0
    partial_R = np.where(keep[:, None], R @ Q, random_R)
    partial_set = np.where(keep, represented, random_set)
    scores = calibrated_scores(R, represented, partial_R, partial_set, probs).scores
    for measure in MEASURES:
        assert 0.15 < scores[measure] < 0.85, (measure, scores[measure])


def test_direction_residual_by_hand() -> None:
    # a reflection is an orthogonal map: residual 0
    assert direction_residual(np.eye(2), np.diag([1.0, -1.0])) == pytest.approx(0.0, abs=1e-12)
    # rows e1, e2 against e1, e1: the best orthonormal q1, q2 maximise (q1 + q2)·e1 = √2, so the mean
    # residual is (4 − 2√2) / 2
    assert direction_residual(np.eye(2), np.array([[1.0, 0.0], [1.0, 0.0]])) == pytest.approx(
        2 - math.sqrt(2)
    )
    # all weight on the first row: it is matched exactly
    weighted = direction_residual(np.eye(2), np.array([[1.0, 0.0], [1.0, 0.0]]), np.array([1.0, 0.0]))
    assert weighted == pytest.approx(0.0, abs=1e-12)
    # norms do not matter, only directions
    assert direction_residual(np.eye(2), 3 * np.eye(2)) == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(ValueError, match="weights"):
        direction_residual(np.eye(2), np.eye(2), np.array([0.0, 0.0]))


def test_overlap_distance_by_hand() -> None:
    a = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])  # cosines (1,2) 0, (1,3) 1/√2, (2,3) 1/√2
    b = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 2.0]])  # cosines (1,2) 1, (1,3) 0, (2,3) 0
    expected = (1.0 + 2 / math.sqrt(2)) / 3
    assert overlap_distance(a, b) == pytest.approx(expected)
    assert overlap_distance(a, 5 * a) == pytest.approx(0.0, abs=1e-12)


def test_jaccard_null_equals_brute_force_over_all_sets() -> None:
    n, fixed = 7, {0, 1, 2}
    for size_b in (1, 3, 5):
        sets = list(itertools.combinations(range(n), size_b))
        brute = np.mean([len(fixed & set(s)) / len(fixed | set(s)) for s in sets])
        assert jaccard_null(n, len(fixed), size_b) == pytest.approx(brute, rel=1e-12)


def test_frequent_rows_keeps_ties() -> None:
    common = np.array([True, True, False, True, True])
    probs = np.array([0.5, 0.2, 0.9, 0.2, 0.1])
    assert frequent_rows(common, probs, 2).tolist() == [True, True, False, True, False]
    assert frequent_rows(common, np.ones(5), 1).tolist() == common.tolist()  # uniform: all tie


def test_calibrate_and_the_cases_a_score_cannot_tell() -> None:
    assert calibrate(0.3, 0.3, 1.0) == 0.0 and calibrate(1.0, 0.3, 1.0) == 1.0
    assert calibrate(1.0, 2.0, 0.0) == 0.5  # a distance: ceiling 0 below the null
    assert math.isnan(calibrate(0.5, 1.0, 1.0))
    R, _, _ = _model(3)
    everything = np.ones(N, dtype=bool)
    scores = calibrated_scores(R, everything, R, everything).scores
    assert math.isnan(scores["represented"])  # every feature represented: sets carry no information
    assert scores["directions"] == pytest.approx(1.0)
    two = np.zeros(N, dtype=bool)
    two[:2] = True
    few = calibrated_scores(R, two, R, two).scores
    assert math.isnan(few["directions"]) and math.isnan(few["overlaps"])
    with pytest.raises(ValueError, match="same 200 features"):
        calibrated_scores(R, everything, R[:10], everything[:10])
