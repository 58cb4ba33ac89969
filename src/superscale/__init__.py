"""superscale: representation superposition and neural scaling laws, fast and reproducible.

The public API is re-exported here explicitly; everything else lives in one folder per stage of the
pipeline (docs/architecture.md): train → config → store → sweep → analysis → toy (one model) → studies (llm,
aspect, variants) → plots → report → pipeline → cli. Nothing is imported until it is used.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from superscale._version import __version__

# name → module: the root re-exports the public API without importing it, so `import superscale` (and
# every command, and every Ray worker) loads only what it uses; the report stack and matplotlib load when
# `write_report` or `reproduce` is first touched
_EXPORTS = {
    "AnalysisResult": "superscale.pipeline.analyze",
    "analyze_store": "superscale.pipeline.analyze",
    "Architecture": "superscale.train.architectures",
    "get_architecture": "superscale.train.architectures",
    "register_architecture": "superscale.train.architectures",
    "SweepConfig": "superscale.config",
    "load_config": "superscale.config",
    "custom_probs": "superscale.train.data",
    "density_scan_probs": "superscale.train.data",
    "exponential_probs": "superscale.train.data",
    "linear_probs": "superscale.train.data",
    "power_law_probs": "superscale.train.data",
    "sample_dense": "superscale.train.data",
    "sample_sparse": "superscale.train.data",
    "DivergenceError": "superscale.train.engine",
    "ModelSpec": "superscale.train.engine",
    "ShardResult": "superscale.train.engine",
    "ShardSpec": "superscale.train.engine",
    "train_shard": "superscale.train.engine",
    "reproduce": "superscale.pipeline.reproduce",
    "list_presets": "superscale.config.presets",
    "load_preset": "superscale.config.presets",
    "write_report": "superscale.report",
    "Store": "superscale.pipeline.store",
    "load": "superscale.pipeline.store",
    "open_store": "superscale.pipeline.store",
    "run_sweep": "superscale.pipeline.store",
    "ToyModel": "superscale.toy",
    "TrainedModels": "superscale.sweep.in_memory",
    "train_toy_models": "superscale.sweep.in_memory",
}

if TYPE_CHECKING:  # the same names, eagerly, for type checkers and editors
    from superscale.config import SweepConfig, load_config
    from superscale.config.presets import list_presets, load_preset
    from superscale.pipeline.analyze import AnalysisResult, analyze_store
    from superscale.pipeline.reproduce import reproduce
    from superscale.pipeline.store import Store, load, open_store, run_sweep
    from superscale.report import write_report
    from superscale.sweep.in_memory import TrainedModels, train_toy_models
    from superscale.toy import ToyModel
    from superscale.train.architectures import Architecture, get_architecture, register_architecture
    from superscale.train.data import (
        custom_probs,
        density_scan_probs,
        exponential_probs,
        linear_probs,
        power_law_probs,
        sample_dense,
        sample_sparse,
    )
    from superscale.train.engine import DivergenceError, ModelSpec, ShardResult, ShardSpec, train_shard


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
    "ToyModel",
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
