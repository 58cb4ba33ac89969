"""The built-in sweeps: TOML files in this folder, shipped as package data.

`paper-*` presets reproduce the toy experiments of docs/recipe.md §1.7 at the paper's scale; each `-quick`
variant says in its comments what was shrunk and what it measured. `superscale presets` lists them.
"""

from __future__ import annotations

import logging
from importlib.resources import files
from pathlib import Path
from typing import Any

from superscale.config import SweepConfig, load_config, parse_config, parse_config_text

__all__ = ["DEPRECATED_NAMES", "list_presets", "load_preset", "preset_text", "resolve_config"]

log = logging.getLogger(__name__)

#: earlier names of presets, still accepted (with a warning): old name → current name
DEPRECATED_NAMES = {"paper-e2-alpha": "paper-e2-full", "paper-e3-density": "paper-e3-full"}


def _preset_dir() -> Any:
    return files(__name__)


def list_presets() -> list[str]:
    """Names of the built-in presets (`paper-e2-full`, `paper-e2-alpha-quick`, ...)."""
    return sorted(p.name.removesuffix(".toml") for p in _preset_dir().iterdir() if p.name.endswith(".toml"))


def _current_name(name: str) -> str:
    if name in DEPRECATED_NAMES:
        log.warning("preset %r is now called %r; the old name will be removed", name, DEPRECATED_NAMES[name])
        return DEPRECATED_NAMES[name]
    return name


def preset_text(name: str) -> str:
    """The preset's TOML, comments included, for a user to copy and edit."""
    name = _current_name(name)
    if name not in list_presets():
        raise ValueError(f"unknown preset {name!r}; known: {', '.join(list_presets())}")
    return (_preset_dir() / f"{name}.toml").read_text()


def load_preset(name: str) -> SweepConfig:
    """A built-in preset as a resolved SweepConfig."""
    return parse_config_text(preset_text(name), f"preset {name!r}")


def resolve_config(config_or_preset: SweepConfig | dict[str, Any] | str | Path) -> SweepConfig:
    """A SweepConfig from a config object, a dict, a TOML path, or a preset name."""
    if isinstance(config_or_preset, SweepConfig):
        return config_or_preset.resolved()
    if isinstance(config_or_preset, dict):
        return parse_config(config_or_preset)
    path = Path(config_or_preset)
    if path.is_file():
        return load_config(path)
    if str(config_or_preset) in list_presets() or str(config_or_preset) in DEPRECATED_NAMES:
        return load_preset(str(config_or_preset))
    raise FileNotFoundError(
        f"{str(config_or_preset)!r} is neither a config file nor a preset "
        f"(presets: {', '.join(list_presets())})"
    )
