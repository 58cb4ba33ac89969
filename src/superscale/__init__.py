"""superscale: representation superposition and neural scaling laws, fast and reproducible.

The public API is re-exported here explicitly; everything else lives in one module per job (see the
README's file tree). Capabilities with heavier dependencies live in sub-packages imported on demand:
`superscale.llm`, `superscale.aspect`, `superscale.variants`, `superscale.plots`, `superscale.report`.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from superscale._version import __version__

# name → module: the root re-exports the public API without importing it, so `import superscale` (and
# every command, and every Ray worker) loads only what it uses; the report stack and matplotlib load when
# `write_report` or `reproduce` is first touched
_EXPORTS = {
    "AnalysisResult": "superscale.analyze",
    "analyze_store": "superscale.analyze",
    "Architecture": "superscale.architectures",
    "get_architecture": "superscale.architectures",
    "register_architecture": "superscale.architectures",
    "SweepConfig": "superscale.config",
    "load_config": "superscale.config",
    "custom_probs": "superscale.data",
    "density_scan_probs": "superscale.data",
    "exponential_probs": "superscale.data",
    "linear_probs": "superscale.data",
    "power_law_probs": "superscale.data",
    "sample_dense": "superscale.data",
    "sample_sparse": "superscale.data",
    "DivergenceError": "superscale.engine",
    "ModelSpec": "superscale.engine",
    "ShardResult": "superscale.engine",
    "ShardSpec": "superscale.engine",
    "train_shard": "superscale.engine",
    "reproduce": "superscale.pipeline",
    "list_presets": "superscale.presets",
    "load_preset": "superscale.presets",
    "write_report": "superscale.report",
    "Store": "superscale.store",
    "load": "superscale.store",
    "open_store": "superscale.store",
    "run_sweep": "superscale.sweep",
    "TrainedModels": "superscale.toy",
    "train_toy_models": "superscale.toy",
}

if TYPE_CHECKING:  # the same names, eagerly, for type checkers and editors
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


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'superscale' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value  # next time, a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])


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
