"""Sweep configuration: pydantic models, TOML in and out, errors that name the field.

A sweep is one TOML file. Fields typed `Axis` accept a value or a list; each list is a grid axis and the
sweep trains the Cartesian product of all axes (see `superscale.grid.expand_runs`). The resolved config
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

import hashlib
import json
import math
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from superscale._checks import read_text
from superscale.fit.window import FitWindow
from superscale.tomlwrite import dump_toml_table

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
    "config_hash",
    "dump_toml",
    "execution_with",
    "load_config",
    "parse_config",
    "parse_config_text",
]


def _not_bool(value: Any) -> Any:
    """TOML `true` is not a number: pydantic would read `n = true` as n = 1."""
    if isinstance(value, bool):
        raise ValueError(f"must be a number, not a boolean, got {value!r}")
    return value


Int = Annotated[int, BeforeValidator(_not_bool)]
Float = Annotated[float, BeforeValidator(_not_bool)]
AxisFloat = Float | list[Float]
AxisInt = Int | list[Int]


def as_list(value: Any) -> list[Any]:
    """A grid axis as a list (a scalar is an axis of length one)."""
    return list(value) if isinstance(value, list) else [value]


def _each(value: Any, ok: Any, what: str) -> Any:
    """Check every element of an axis with `ok`; the message says what was expected."""
    for item in as_list(value):
        if not ok(item):
            raise ValueError(f"{what}, got {item!r}")
    if isinstance(value, list) and not value:
        raise ValueError("a grid axis must not be an empty list")
    return value


def _finite(x: float) -> bool:
    return math.isfinite(float(x))


class _Strict(BaseModel):
    # extra="forbid": a typo in a field name is an error, never a silently ignored setting
    model_config = ConfigDict(extra="forbid", frozen=True, strict=False)


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
        import numpy as np

        return [float(x) for x in np.load(path).ravel()]
    text = path.read_text().replace(",", " ").split()
    try:
        return [float(x) for x in text]
    except ValueError as exc:
        raise ValueError(f"data.path: {str(path)!r} is not a list of numbers ({exc})") from None


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


class WindowRule(_Strict):
    """The widths the α_m fits of matching groups use (the paper fits its large models in windows).

    Selectors: `family` and `regime` ("strong": γ < 0, "weak": γ > 0), None matching any. Window: keep
    m_min ≤ m ≤ m_max, start at the `start`-th width (0-based, the authors' notebook's `starts`), keep the
    `last` k widths; every field unset means all widths.
    """

    family: Literal["power", "exponential", "linear", "custom"] | None = None
    regime: Literal["strong", "weak"] | None = None
    start: int = Field(default=0, ge=0)
    last: int | None = Field(default=None, ge=1)
    m_min: float | None = Field(default=None, gt=0)
    m_max: float | None = Field(default=None, gt=0)

    def matches(self, family: str, gamma: float) -> bool:
        if self.family is not None and family != self.family:
            return False
        return self.regime is None or (gamma < 0 if self.regime == "strong" else gamma > 0)

    def window(self) -> FitWindow:
        return FitWindow(m_min=self.m_min, m_max=self.m_max, skip_first=self.start, last=self.last)


class AnalysisConfig(_Strict):
    """How `superscale analyze` fits α_m: window rules, the first matching one applies to a group.

    Every group gets its all-width fit as well (fit_scope "all"); a group no rule matches gets the
    all-width fit as its "recipe" fit too.
    """

    windows: list[WindowRule] = Field(default_factory=list)

    def window_for(self, family: str, gamma: float) -> FitWindow | None:
        """The window of the first rule matching (family, γ), None if no rule does."""
        rule = next((r for r in self.windows if r.matches(family, gamma)), None)
        return None if rule is None else rule.window()


class SweepConfig(_Strict):
    """A whole sweep. Defaults train 6 models of n = 100 in seconds on a CPU."""

    name: str = "sweep"
    n: AxisInt = 100
    m: AxisInt = Field(default_factory=lambda: [5, 10, 20])
    gamma: AxisFloat = Field(default_factory=lambda: [-1.0, 0.1])
    seeds: AxisInt = 0
    data: DataConfig | list[DataConfig] = Field(default_factory=DataConfig)
    model: ModelConfig = Field(default_factory=ModelConfig)
    lr: LRConfig = Field(default_factory=LRConfig)
    train: TrainConfig = Field(default_factory=TrainConfig)
    output: OutputConfig = Field(default_factory=OutputConfig)
    execution: ExecutionConfig = Field(default_factory=ExecutionConfig)
    meta: MetaConfig = Field(default_factory=MetaConfig)
    analysis: AnalysisConfig = Field(default_factory=AnalysisConfig)

    @field_validator("n", "m")
    @classmethod
    def _sizes(cls, v: AxisInt) -> AxisInt:
        return _each(v, lambda x: x > 0, "must be a positive integer")

    @field_validator("gamma")
    @classmethod
    def _gamma(cls, v: AxisFloat) -> AxisFloat:
        return _each(v, _finite, "must be finite")

    @field_validator("seeds")
    @classmethod
    def _seeds(cls, v: AxisInt) -> AxisInt:
        return _each(v, lambda x: x >= 0, "must be a non-negative integer")

    @field_validator("data")
    @classmethod
    def _data(cls, v: DataConfig | list[DataConfig]) -> DataConfig | list[DataConfig]:
        if isinstance(v, list) and not v:
            raise ValueError("needs at least one [[data]] table")
        return v

    @model_validator(mode="after")
    def _custom_n(self) -> SweepConfig:
        for i, data in enumerate(self.data_list):
            if data.values is not None:
                for n in as_list(self.n):
                    if n != len(data.values):
                        raise ValueError(f"data[{i}].values has {len(data.values)} probabilities but n = {n}")
        return self

    @property
    def data_list(self) -> list[DataConfig]:
        return self.data if isinstance(self.data, list) else [self.data]

    def resolved(self, base_dir: Path | None = None) -> SweepConfig:
        """Every default filled in, so the stored TOML says exactly what ran."""
        data = [d.resolved(base_dir) for d in self.data_list]
        return self.model_copy(
            update={
                "data": data if len(data) > 1 or isinstance(self.data, list) else data[0],
                "lr": self.lr.resolved(),
                "train": self.train.resolved(),
            }
        )


# --- parsing ------------------------------------------------------------------------------------


def _error_path(raw: Any, loc: tuple[Any, ...]) -> str | None:
    """The field path of one pydantic error, or None when it comes from a union branch that does not
    apply (an `Axis` field given a list only reports errors of its list branch, and vice versa)."""
    path, node = "", raw
    for seg in loc:
        if isinstance(node, dict) and seg in node:
            path, node = f"{path}.{seg}" if path else str(seg), node[seg]
        elif isinstance(node, list) and isinstance(seg, int) and 0 <= seg < len(node):
            path, node = f"{path}[{seg}]", node[seg]
        elif isinstance(seg, str):
            if isinstance(node, dict) and not any(c in seg for c in "[](),"):
                return f"{path}.{seg}" if path else seg  # a missing or unknown key
            if seg.startswith("list[") != isinstance(node, list):
                return None
        else:
            return f"{path}.{seg}" if path else str(seg)
    return path


def _format_errors(exc: ValidationError, raw: Any, source: str) -> str:
    lines = []
    for err in exc.errors():
        path = _error_path(raw, tuple(err["loc"]))
        if path is None:
            continue
        value = err.get("input")
        shown = "{...}" if isinstance(value, dict) else repr(value)
        msg = err["msg"].removeprefix("Value error, ")
        got = "" if shown in msg else f" (got {shown})"
        lines.append(f"{path or '<top>'}: {msg}{got}")
    unique = list(dict.fromkeys(lines)) or [str(exc)]
    where = f" {source}" if source else ""
    return f"invalid sweep config{where}:\n  " + "\n  ".join(unique)


def execution_with(execution: ExecutionConfig, overrides: dict[str, Any]) -> ExecutionConfig:
    """`execution` with the command-line overrides that are not None; a bad one gets one line naming
    its option ("--device: must be auto, cpu, cuda or cuda:N, got 'tpu'"), not pydantic's dump."""
    raw = {**execution.model_dump(), **{k: v for k, v in overrides.items() if v is not None}}
    try:
        return ExecutionConfig.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        option = "--" + str(err["loc"][0]).replace("_", "-") if err["loc"] else "execution"
        msg = err["msg"].removeprefix("Value error, ")
        got = "" if repr(err.get("input")) in msg else f", got {err.get('input')!r}"
        raise ValueError(f"{option}: {msg}{got}") from None


def parse_config(raw: dict[str, Any], source: str = "", base_dir: Path | None = None) -> SweepConfig:
    """Validate a dict (parsed TOML) into a resolved SweepConfig; ValueError names the field path."""
    try:
        config = SweepConfig.model_validate(raw)
    except ValidationError as exc:
        raise ValueError(_format_errors(exc, raw, source)) from None
    return config.resolved(base_dir)


def parse_config_text(text: str, source: str = "<text>", base_dir: Path | None = None) -> SweepConfig:
    """Parse TOML text into a resolved SweepConfig."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{source} is not valid TOML: {exc}") from None
    return parse_config(raw, source, base_dir)


def load_config(path: str | Path) -> SweepConfig:
    """Read and validate a sweep TOML file (relative data paths are relative to it)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no sweep config at {str(path)!r}")
    return parse_config_text(read_text(path), str(path), path.parent)


def config_dict(config: SweepConfig) -> dict[str, Any]:
    """The config as plain data, None fields left out (TOML has no null)."""
    return config.model_dump(mode="json", exclude_none=True)


def config_hash(config: SweepConfig) -> str:
    """Hash of what determines the trained runs: everything but `execution`, `meta` and `analysis`.

    `analysis` (the fit windows) is left out because it only changes what `superscale analyze` derives
    from the runs: a new window must refit, never retrain (`analyze` keys its fits on the window instead).
    """
    raw = config_dict(config)
    for derived_only in ("execution", "meta", "analysis"):
        raw.pop(derived_only, None)
    blob = json.dumps(raw, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def dump_toml(config: SweepConfig, header: str = "") -> str:
    """The config as TOML text that `parse_config_text` reads back to an equal config."""
    return dump_toml_table(config_dict(config), header)
