"""A saved ToyModel: one safetensors file, the tensors plus the model's config as JSON in its header.

    W [n, m] float32, b [n] float32, step_loss [steps] float32 (trained models), frequencies [n] float64
    (when the user gave them, as given); header metadata "superscale.toy_model" = JSON {format, n, m, γ,
    seed, α, density, the fit's recipe and results, the superscale version that wrote it}

One file, written atomically (superscale.store.atomic), so a crash leaves the old file or the new one,
never half of one; any safetensors reader opens it. `FORMAT_VERSION` goes up when a field changes
meaning; a file of a newer format is refused with a message saying so, never misread.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from superscale._version import __version__
from superscale.store.atomic import write_bytes_atomic
from superscale.store.safetensors_check import check_safetensors
from superscale.toy.model import ToyModel

__all__ = ["FORMAT", "FORMAT_VERSION", "load_model", "save_model"]

FORMAT = "superscale.ToyModel"
FORMAT_VERSION = 1
METADATA_KEY = "superscale.toy_model"


def save_model(model: ToyModel, path: Path) -> Path:
    """Write `model` to `path` (parent folders created); returns the path."""
    from safetensors.torch import save

    config = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "superscale_version": __version__,
        "n": model.n,
        "m": model.m,
        "gamma": model.gamma,
        "seed": model.seed,
        "alpha": model.alpha,
        "density": model.density,
        "trained": model.trained,
    }
    tensors = {"W": model.W.contiguous(), "b": model.b.contiguous()}
    if model.values is not None:
        tensors["frequencies"] = torch.from_numpy(model.values.copy())
    if model.step_loss is not None:
        tensors["step_loss"] = model.step_loss.contiguous()
    write_bytes_atomic(save(tensors, metadata={METADATA_KEY: json.dumps(config)}), path)
    return path


def _not_a_model(path: Path, reason: str) -> ValueError:
    return ValueError(f"{str(path)!r} is not a saved ToyModel: {reason}")


def _read_config(path: Path) -> dict[str, Any]:
    from safetensors import safe_open

    try:
        check_safetensors(path)
    except ValueError as exc:
        raise _not_a_model(path, str(exc).split(": ", 1)[-1]) from None
    with safe_open(str(path), framework="pt") as fh:
        text = (fh.metadata() or {}).get(METADATA_KEY)
    if text is None:
        raise _not_a_model(
            path, f"a safetensors file without the {METADATA_KEY!r} entry ToyModel.save writes"
        )
    try:
        config = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _not_a_model(path, f"its {METADATA_KEY!r} entry is not JSON ({exc})") from None
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise _not_a_model(path, f"its {METADATA_KEY!r} entry does not name the format {FORMAT!r}")
    version = config.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise _not_a_model(path, f"format_version {version!r} is not a version number")
    if version > FORMAT_VERSION:
        raise ValueError(
            f"{str(path)!r} was saved by superscale {config.get('superscale_version', '?')} in ToyModel "
            f"format {version}; this superscale ({__version__}) reads format {FORMAT_VERSION}: upgrade "
            "superscale to load it"
        )
    return config


def load_model(path: Path) -> ToyModel:
    """Rebuild the model `save_model` wrote: every tensor bit for bit, the config as it was."""
    from safetensors.torch import load_file

    if not path.is_file():
        raise FileNotFoundError(f"no saved ToyModel at {str(path)!r}")
    config = _read_config(path)
    tensors = load_file(str(path))
    try:
        frequencies = tensors.get("frequencies")
        model = ToyModel(
            config["n"],
            config["m"],
            frequencies,
            alpha=None if frequencies is not None else config["alpha"],
            density=config["density"],
            gamma=config["gamma"],
            seed=config["seed"],
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise _not_a_model(path, f"its config does not describe a valid model ({exc})") from None
    W, b = tensors.get("W"), tensors.get("b")
    if W is None or b is None or tuple(W.shape) != (model.n, model.m) or tuple(b.shape) != (model.n,):
        shapes = {k: tuple(v.shape) for k, v in tensors.items()}
        raise _not_a_model(path, f"its tensors {shapes} do not match n = {model.n}, m = {model.m}")
    model.W, model.b = W, b
    model.trained = config.get("trained")
    model.step_loss = tensors.get("step_loss")
    return model
