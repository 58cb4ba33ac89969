"""The tables of a sweep file: [[data]], [model], [lr], [train], [output], [execution], [meta]."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import (
    Field,
    field_validator,
    model_validator,
)

from superscale._checks import read_text
from superscale.config.fields import AxisFloat, AxisInt, Float, Int, _each, _finite, _Strict, as_list


class DataConfig(_Strict):
    """One frequency family; `[[data]]` repeated gives several (E1 trains three)."""

    family: Literal["power", "exponential", "linear", "custom"] = "power"
    alpha: AxisFloat | None = None  # power: p_i ∝ i^-alpha (default 1.0)
    scale: AxisFloat | None = None  # exponential: p_i ∝ exp(-i/scale) (required)
    density: AxisFloat | None = None  # E = Σp (default 1.0; custom: None keeps the values as given)
    density_knob: AxisFloat | None = None  # E3: s ∈ [0,1], p_i = i^-α/H · (1 + s(H-1)); power only
    values: list[float] | None = None  # custom: the probabilities p_1..p_n
    path: str | None = None  # custom: a text/csv/npy file of probabilities, inlined on load

    @field_validator("alpha")
    @classmethod
    def _alpha(cls, v: AxisFloat | None) -> AxisFloat | None:
        return None if v is None else _each(v, _finite, "must be finite")

    @field_validator("scale")
    @classmethod
    def _scale(cls, v: AxisFloat | None) -> AxisFloat | None:
        return None if v is None else _each(v, lambda x: _finite(x) and x > 0, "must be > 0")

    @field_validator("density")
    @classmethod
    def _density(cls, v: AxisFloat | None) -> AxisFloat | None:
        return None if v is None else _each(v, lambda x: _finite(x) and x > 0, "must be > 0")

    @field_validator("density_knob")
    @classmethod
    def _knob(cls, v: AxisFloat | None) -> AxisFloat | None:
        return None if v is None else _each(v, lambda x: 0.0 <= x <= 1.0, "must lie in [0, 1]")

    @model_validator(mode="after")
    def _family_fields(self) -> DataConfig:
        allowed = {
            "power": {"alpha", "density", "density_knob"},
            "exponential": {"scale", "density"},
            "linear": {"density"},
            "custom": {"values", "path", "density"},
        }[self.family]
        for name in ("alpha", "scale", "density_knob", "values", "path"):
            if getattr(self, name) is not None and name not in allowed:
                raise ValueError(f"`{name}` does not apply to family {self.family!r}")
        if self.density is not None and self.density_knob is not None:
            raise ValueError("set either `density` or `density_knob`, not both")
        if self.family == "exponential" and self.scale is None:
            raise ValueError("family 'exponential' needs `scale` (p_i ∝ exp(-i/scale))")
        if self.family == "custom" and (self.values is None) == (self.path is None):
            raise ValueError("family 'custom' needs exactly one of `values` or `path`")
        if self.values is not None and not all(0.0 <= p <= 1.0 for p in self.values):
            bad = next(p for p in self.values if not 0.0 <= p <= 1.0)
            raise ValueError(f"`values` must lie in [0, 1], got {bad!r}")
        return self

    def resolved(self, base_dir: Path | None = None) -> DataConfig:
        """Defaults filled (alpha 1, density 1) and a custom `path` read into `values`."""
        update: dict[str, Any] = {}
        if self.family == "power" and self.alpha is None:
            update["alpha"] = 1.0
        if self.family != "custom" and self.density is None and self.density_knob is None:
            update["density"] = 1.0
        if self.path is not None:
            update["values"] = _read_probs_file(Path(self.path), base_dir)
            update["path"] = None
        return self.model_copy(update=update)


def _read_probs_file(path: Path, base_dir: Path | None) -> list[float]:
    if not path.is_absolute() and base_dir is not None:
        path = base_dir / path
    if not path.exists():
        raise FileNotFoundError(f"data.path: no such file {str(path)!r}")
    if path.suffix == ".npy":
        try:
            array = np.load(path, allow_pickle=False)  # an .npy holding objects is refused, never run
        except (ValueError, OSError):  # numpy's own text suggests loading it unsafely: not repeated
            raise ValueError(f"data.path: {str(path)!r} is not a NumPy .npy file of numbers") from None
        if not np.issubdtype(array.dtype, np.number):
            raise ValueError(f"data.path: {str(path)!r} holds {array.dtype} values, not numbers")
        return [float(x) for x in array.ravel()]
    try:
        text = read_text(path)
    except ValueError as exc:
        raise ValueError(f"data.path: {exc}") from None
    words = text.replace(",", " ").split()
    values = []
    for index, word in enumerate(words):
        try:
            values.append(float(word))
        except ValueError:  # the word itself is not shown: the file may be anything (`/etc/passwd`)
            raise ValueError(
                f"data.path: {str(path)!r} is not a list of numbers (entry {index + 1} is not a number)"
            ) from None
    return values


class ModelConfig(_Strict):
    """Architecture; "tied" is the paper's y = ReLU(W Wᵀ x + b). Both fields may be grid axes, so one
    sweep can compare architectures (e.g. tied, cross_entropy, unit_norm) on the same data."""

    architecture: str | list[str] = "tied"
    n_layers: AxisInt = 1
    options: dict[str, Any] = Field(default_factory=dict)

    @field_validator("n_layers")
    @classmethod
    def _layers(cls, v: AxisInt) -> AxisInt:
        return _each(v, lambda x: x >= 1, "must be ≥ 1")


class LRRule(_Strict):
    """Peak learning rate of one parameter group: base · (ref_m / m) ** power."""

    base: AxisFloat = 0.01
    ref_m: Float = Field(default=1.0, gt=0, allow_inf_nan=False)
    power: Float = Field(default=0.0, allow_inf_nan=False)

    @field_validator("base")
    @classmethod
    def _base(cls, v: AxisFloat) -> AxisFloat:
        return _each(v, lambda x: _finite(x) and x > 0, "must be > 0")

    def at(self, base: float, m: int) -> float:
        """The rule's peak learning rate for width `m` (with one value of the `base` axis)."""
        return float(base) * (self.ref_m / m) ** self.power


def check_learning_rate(where: str, rule: LRRule, base: float, m: int, precision: str) -> None:
    """Refuse a rule whose rate at width `m` is not a normal number of `precision` (ValueError naming
    `where`): past the largest it is inf, below the smallest every update rounds to 0 in the engine."""
    info = np.finfo(np.float32 if precision == "float32" else np.float64)
    log_lr = math.log(base) + rule.power * (math.log(rule.ref_m) - math.log(m))  # never overflows
    if log_lr <= math.log(float(info.max)) and log_lr >= math.log(float(info.tiny)):
        return
    side, bound = (
        ("overflows", f"above the largest {precision}, {float(info.max):.3g}")
        if log_lr > 0
        else (
            "underflows to 0",
            f"below the smallest {precision}, {float(info.tiny):.3g}: every update would be 0",
        )
    )
    raise ValueError(
        f"{where}: base · (ref_m / m) ** power {side} at m = {m} (base = {base:g}, ref_m = {rule.ref_m:g}, "
        f"power = {rule.power:g} give ≈ 1e{log_lr / math.log(10):.0f}, {bound}); choose ref_m and power "
        "that give a usable rate at every width"
    )


class LRConfig(_Strict):
    """Per-group rules; `b` unset means b uses W's rule (the small-model recipe)."""

    W: LRRule = Field(default_factory=LRRule)
    b: LRRule | None = None

    def resolved(self) -> LRConfig:
        return self if self.b is not None else self.model_copy(update={"b": self.W})


class TrainConfig(_Strict):
    """The recipe shared by every model of a shard (docs/recipe.md §1.5-1.8)."""

    batch: AxisInt = 256
    steps: AxisInt = 500
    warmup_steps: Int | None = Field(default=None, ge=0)
    warmup_fraction: Float | None = Field(default=None, ge=0, lt=1)  # warm-up = int(fraction · steps) < steps
    lr_floor: Float = Field(default=0.05, ge=0, le=1)
    loss_scale: Float = Field(default=1.0, gt=0, allow_inf_nan=False)  # backward multiplier (E1 code: 100)
    final_window: Int = Field(default=100, ge=1)  # final loss = mean of the last `final_window` step losses
    heldout_batches: Int = Field(default=0, ge=0)
    sparse: bool | None = None  # None: the engine chooses by density
    share_batches: bool = True
    precision: Literal["float32", "float64"] = "float32"

    @field_validator("batch", "steps")
    @classmethod
    def _positive(cls, v: AxisInt) -> AxisInt:
        return _each(v, lambda x: x > 0, "must be a positive integer")

    @model_validator(mode="after")
    def _warmup(self) -> TrainConfig:
        if self.warmup_steps is not None and self.warmup_fraction is not None:
            raise ValueError("set either `warmup_steps` or `warmup_fraction`, not both")
        for steps in as_list(self.steps):
            if self.warmup_steps is not None and self.warmup_steps >= steps:
                raise ValueError(f"`warmup_steps` ({self.warmup_steps}) must be < steps ({steps})")
        return self

    def resolved(self) -> TrainConfig:
        if self.warmup_steps is None and self.warmup_fraction is None:
            return self.model_copy(update={"warmup_fraction": 0.1})
        return self

    def warmup_for(self, steps: int) -> int:
        """Warm-up steps for one value of the `steps` axis."""
        if self.warmup_steps is not None:
            return self.warmup_steps
        return int((self.warmup_fraction if self.warmup_fraction is not None else 0.1) * steps)


class OutputConfig(_Strict):
    """What the store keeps; part of the config hash because it changes the stored files."""

    curve_points: Int = Field(default=300, ge=2)  # ≈ points per loss curve (always including the last step)
    max_models_per_shard: Int = Field(default=128, ge=1)  # small shards: a crash loses little
    save_weights: bool = True


class ExecutionConfig(_Strict):
    """Where and how to run; not part of the config hash (a sweep may resume on another device)."""

    device: str = "auto"  # "auto" | "cpu" | "cuda" | "cuda:1"
    executor: Literal["local", "ray"] = "local"
    threads: Int | None = Field(default=None, ge=1)  # torch threads per shard; None: torch default (ray: 1)
    ray_address: str | None = None
    ray_timeout_s: Float = Field(default=30.0, gt=0, allow_inf_nan=False)  # connect to / start Ray within

    @field_validator("device")
    @classmethod
    def _device(cls, v: str) -> str:
        if v not in ("auto", "cpu", "cuda", "mps") and not v.startswith("cuda:"):
            raise ValueError(f"must be auto, cpu, cuda or cuda:N, got {v!r}")
        return v


class MetaConfig(_Strict):
    """Free text and time estimates shown by `superscale presets`; not part of the config hash."""

    description: str = ""
    shrunk: str = ""  # for -quick presets: what was made smaller than the paper
    expected_cpu_minutes: float | None = None
    expected_gpu_minutes: float | None = None
