"""Model architectures the engine can train, by name: the paper's tied model and its variants.

`base` defines the small interface (initialise, one model's loss, optional hand-written gradients);
`tied` is the paper's model with its hand-written backward; `deep`, `cross_entropy`, `unit_norm` and
`importance` are variants whose gradients come from their one-model loss. A sweep config names one of
them (`[model] architecture`); `register_architecture` adds a user's own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from superscale.train.architectures.base import Architecture, AutogradArchitecture, Batch
from superscale.train.architectures.cross_entropy import CrossEntropyToyModel
from superscale.train.architectures.deep import DeepToyModel
from superscale.train.architectures.importance import ImportanceToyModel
from superscale.train.architectures.tied import TiedToyModel
from superscale.train.architectures.unit_norm import UnitNormToyModel

__all__ = [
    "ARCHITECTURES",
    "Architecture",
    "AutogradArchitecture",
    "Batch",
    "CrossEntropyToyModel",
    "DeepToyModel",
    "ImportanceToyModel",
    "TiedToyModel",
    "UnitNormToyModel",
    "get_architecture",
    "register_architecture",
]

ARCHITECTURES: dict[str, Callable[..., Architecture]] = {
    model.name: model
    for model in (TiedToyModel, DeepToyModel, CrossEntropyToyModel, UnitNormToyModel, ImportanceToyModel)
}


def register_architecture(name: str, factory: Callable[..., Architecture]) -> None:
    """Make `name` usable in ShardSpec.architecture and in sweep configs."""
    ARCHITECTURES[name] = factory


def get_architecture(name: str, n: int, m: int, n_layers: int = 1, **options: Any) -> Architecture:
    """Instantiate a registered architecture by name."""
    if name not in ARCHITECTURES:
        raise ValueError(f"unknown architecture {name!r}; known: {sorted(ARCHITECTURES)}")
    return ARCHITECTURES[name](n, m, n_layers=n_layers, **options)
