"""`analyze_store`: the analysis stage of the pipeline, with every study's own step.

The core (`superscale.analysis.analyze`) measures every run and fits every group; the studies add their
tables when a store's runs call for them: the variant comparison (several architectures) and the
aspect-ratio study (deep models at several shapes). They live above the analysis layer, so this module,
above both, is where they are put together.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from superscale.analysis.analyze import AnalysisResult, Step, analyze_metrics_and_fits
from superscale.aspect.study import analyze_aspect
from superscale.store import Store
from superscale.variants.compare import analyze_variants

__all__ = ["STUDY_STEPS", "AnalysisResult", "analyze_store"]

#: the studies' analysis steps by name; each checks whether the store's runs need it and is idempotent
STUDY_STEPS: dict[str, Step] = {"variants": analyze_variants, "aspect": analyze_aspect}


def analyze_store(store: Store | str | Path, **options: Any) -> AnalysisResult:
    """Metrics and fits for every finished run and group (`analyze_metrics_and_fits`, whose options these
    are), then every study step the runs call for; returns what was computed and kept."""
    return analyze_metrics_and_fits(store, steps=STUDY_STEPS, **options)
