"""Katta's aspect-ratio argument made testable (recipe §6): equal-parameter deep toy models of different
width and depth, the features each layer represents, universality across seeds and shapes (calibrated
against chance and a rotated copy, `superscale.aspect.calibrated`), the compressed-sensing bound checked
against L1 recovery and the toy models, and Katta's inequality per shape with a computed verdict
(`superscale.aspect.katta`).

The models train as ordinary sweeps (architecture "deep", presets aspect-*); `superscale analyze` measures
them (`superscale.aspect.study`). The "deep" architecture itself is training code
(`superscale.train.architectures.deep`); the figures live in `superscale.aspect.figures`, the report
section in `superscale.report.aspect` (both import matplotlib).
"""

from __future__ import annotations

from superscale.aspect.calibrated import CalibratedScores, calibrated_scores
from superscale.aspect.compressed_sensing import (
    basis_pursuit,
    critical_width,
    cs_min_width,
    implied_sparsity,
    l1_phase_transition,
    l1_recovery,
    uniform_probs,
)
from superscale.aspect.katta import katta_lines, katta_table, score_summary, shape_bounds
from superscale.aspect.planner import Shape, plan_shapes, width_for_budget
from superscale.aspect.summary import (
    loss_flatness,
    phase_summary,
    sparsity_summary,
    universality_summary,
    verdict,
)
from superscale.aspect.universality import (
    FeatureSimilarity,
    LayerFeatures,
    compare_features,
    feature_responses,
    layer_features,
    linear_cka,
    procrustes_similarity,
)
from superscale.train.architectures.deep import DeepToyModel, deep_forward, deep_param_count, hidden_states

__all__ = [
    "CalibratedScores",
    "DeepToyModel",
    "FeatureSimilarity",
    "LayerFeatures",
    "Shape",
    "basis_pursuit",
    "calibrated_scores",
    "compare_features",
    "critical_width",
    "cs_min_width",
    "deep_forward",
    "deep_param_count",
    "feature_responses",
    "hidden_states",
    "implied_sparsity",
    "katta_lines",
    "katta_table",
    "l1_phase_transition",
    "l1_recovery",
    "layer_features",
    "linear_cka",
    "loss_flatness",
    "phase_summary",
    "plan_shapes",
    "procrustes_similarity",
    "score_summary",
    "shape_bounds",
    "sparsity_summary",
    "uniform_probs",
    "universality_summary",
    "verdict",
    "width_for_budget",
]
