"""The variants study: how the paper's scaling changes with a cross-entropy readout, unit-norm rows
(nGPT-like) or importance weights.

The variants' architectures are training code (superscale.train.architectures: "cross_entropy",
"unit_norm", "importance"); this package compares them (`compare`: α_m per variant, an `analyze` step),
decomposes the cross-entropy loss (App. A.2), draws the phase diagram and the study's figures.
"""

from __future__ import annotations

from superscale.train.architectures.cross_entropy import CrossEntropyToyModel, sample_tokens
from superscale.train.architectures.importance import ImportanceToyModel, importance_weights
from superscale.train.architectures.unit_norm import UnitNormToyModel, project_rows_
from superscale.variants.decomposition import DECOMPOSITION_TERMS, cross_entropy_decomposition

__all__ = [
    "DECOMPOSITION_TERMS",
    "CrossEntropyToyModel",
    "ImportanceToyModel",
    "UnitNormToyModel",
    "cross_entropy_decomposition",
    "importance_weights",
    "project_rows_",
    "sample_tokens",
]
