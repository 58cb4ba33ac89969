"""Toy-model variants beyond the paper: cross-entropy readout, unit-norm rows (nGPT-like), importance weights.

Importing this package registers the architectures "cross_entropy", "unit_norm" and "importance", so
`ShardSpec.architecture` and sweep configs can name them; their options are passed as keyword arguments
(`ShardSpec.arch_options`, `[model] options` in a sweep).
"""

from __future__ import annotations

from superscale.architectures import ARCHITECTURES, register_architecture
from superscale.variants.cross_entropy import CrossEntropyToyModel, sample_tokens
from superscale.variants.decomposition import DECOMPOSITION_TERMS, cross_entropy_decomposition
from superscale.variants.importance import ImportanceToyModel, importance_weights
from superscale.variants.unit_norm import UnitNormToyModel, project_rows_

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

for _arch in (CrossEntropyToyModel, UnitNormToyModel, ImportanceToyModel):
    if _arch.name not in ARCHITECTURES:
        register_architecture(_arch.name, _arch)
