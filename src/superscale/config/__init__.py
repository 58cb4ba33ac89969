"""Sweep configuration: pydantic models, TOML in and out, errors that name the field.

A sweep is one TOML file. Fields typed `Axis` accept a value or a list; each list is a grid axis and the
sweep trains the Cartesian product of all axes (see `superscale.config.grid.expand_runs`). The resolved config
(every default filled, custom probability files inlined) is what a store keeps as `sweep.toml`, and it
parses back to the same object, so a stored sweep can always be re-run.

    name = "demo"
    n = 100
    m = [5, 10, 20]
    gamma = [-1.0, 0.1]
    [data]
    family = "power"
    alpha = [0.5, 1.0]
"""

from __future__ import annotations

from superscale.config.analysis import AnalysisConfig, WindowRule
from superscale.config.fields import as_list
from superscale.config.sections import (
    DataConfig,
    ExecutionConfig,
    LRConfig,
    LRRule,
    MetaConfig,
    ModelConfig,
    OutputConfig,
    TrainConfig,
)
from superscale.config.sweep import (
    SweepConfig,
    config_dict,
    config_hash,
    dump_toml,
    execution_with,
    load_config,
    parse_config,
    parse_config_text,
)

__all__ = [
    "AnalysisConfig",
    "DataConfig",
    "ExecutionConfig",
    "LRConfig",
    "LRRule",
    "MetaConfig",
    "ModelConfig",
    "OutputConfig",
    "SweepConfig",
    "TrainConfig",
    "WindowRule",
    "as_list",
    "config_dict",
    "config_hash",
    "dump_toml",
    "execution_with",
    "load_config",
    "parse_config",
    "parse_config_text",
]
