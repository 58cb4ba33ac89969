"""Superposition metrics: pure functions of a weight matrix W [n, m] (and bias b [n]).

Shared by toy models and LLM unembeddings; torch or numpy in, CPU or CUDA (W's device), float64
accumulation, blocked so that no n×n matrix is ever formed. Definitions: docs/recipe.md §2.
"""

from __future__ import annotations

from superscale.analysis.metrics.features import (
    ambiguity,
    feature_dimensionality,
    m_over_frobenius2,
    per_feature_loss,
    per_feature_loss_monte_carlo,
    single_activation_loss,
)
from superscale.analysis.metrics.norms import (
    NormSummary,
    fraction_represented,
    norm_histogram,
    norm_summary,
    phi_half,
    phi_one,
    row_norms,
)
from superscale.analysis.metrics.overlaps import (
    GramCos2,
    OverlapStats,
    SampledOverlapStats,
    gram_mean_cos2,
    overlap_stats,
    sampled_overlap_stats,
)
from superscale.analysis.metrics.reference import (
    GeometryComparison,
    compare_to_reference,
    etf_max_size,
    random_vector_abs_cos_mean,
    random_vector_cos2_mean,
    random_vector_cos2_var,
    welch_bound,
    welch_kappa2,
)

__all__ = [
    "GeometryComparison",
    "GramCos2",
    "NormSummary",
    "OverlapStats",
    "SampledOverlapStats",
    "ambiguity",
    "compare_to_reference",
    "etf_max_size",
    "feature_dimensionality",
    "fraction_represented",
    "gram_mean_cos2",
    "m_over_frobenius2",
    "norm_histogram",
    "norm_summary",
    "overlap_stats",
    "per_feature_loss",
    "per_feature_loss_monte_carlo",
    "phi_half",
    "phi_one",
    "random_vector_abs_cos_mean",
    "random_vector_cos2_mean",
    "random_vector_cos2_var",
    "row_norms",
    "sampled_overlap_stats",
    "single_activation_loss",
    "welch_bound",
    "welch_kappa2",
]
