"""superscale: representation superposition and neural scaling laws, fast and reproducible.

The public API is re-exported here explicitly; everything else lives in one module per job (see the
README's file tree). Capabilities with heavier dependencies live in sub-packages imported on demand:
`superscale.llm`, `superscale.aspect`, `superscale.variants`, `superscale.plots`, `superscale.report`.
"""

from __future__ import annotations

__version__ = "0.1.0"

from superscale.analyze import AnalysisResult, analyze_store
from superscale.architectures import Architecture, get_architecture, register_architecture
from superscale.config import SweepConfig, load_config
from superscale.data import (
    custom_probs,
    density_scan_probs,
    exponential_probs,
    linear_probs,
    power_law_probs,
    sample_dense,
    sample_sparse,
)
from superscale.engine import DivergenceError, ModelSpec, ShardResult, ShardSpec, train_shard
from superscale.pipeline import reproduce
from superscale.presets import list_presets, load_preset
from superscale.report import write_report
from superscale.store import Store, load, open_store
from superscale.sweep import run_sweep
from superscale.toy import TrainedModels, train_toy_models

__all__ = [
    "AnalysisResult",
    "Architecture",
    "DivergenceError",
    "ModelSpec",
    "ShardResult",
    "ShardSpec",
    "Store",
    "SweepConfig",
    "TrainedModels",
    "__version__",
    "analyze_store",
    "custom_probs",
    "density_scan_probs",
    "exponential_probs",
    "get_architecture",
    "linear_probs",
    "list_presets",
    "load",
    "load_config",
    "load_preset",
    "open_store",
    "power_law_probs",
    "register_architecture",
    "reproduce",
    "run_sweep",
    "sample_dense",
    "sample_sparse",
    "train_shard",
    "train_toy_models",
    "write_report",
]
