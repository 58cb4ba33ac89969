"""The whole sweep (`SweepConfig`), parsed from TOML with errors that name the field, dumped back, hashed."""

from __future__ import annotations

import hashlib
import json
import tomllib
from pathlib import Path
from typing import Any

from pydantic import (
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from superscale._checks import read_text
from superscale.config.analysis import AnalysisConfig
from superscale.config.fields import AxisFloat, AxisInt, _each, _finite, _Strict, as_list
from superscale.config.sections import (
    DataConfig,
    ExecutionConfig,
    LRConfig,
    MetaConfig,
    ModelConfig,
    OutputConfig,
    TrainConfig,
    check_learning_rate,
)
from superscale.config.tomlwrite import dump_toml_table


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
        # a seed is stored as a 64-bit integer (runs.parquet) and seeds torch's 64-bit generator
        return _each(v, lambda x: 0 <= x < 2**64, "must be an integer in [0, 2**64)")

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

    @model_validator(mode="after")
    def _learning_rates(self) -> SweepConfig:
        """Every rule's peak rate at every width is a usable number of the training precision: a rule
        that overflows (inf) or underflows to 0 would train nothing, or raise mid-grid."""
        rules = [("lr.W", self.lr.W)] + ([("lr.b", self.lr.b)] if self.lr.b is not None else [])
        for where, rule in rules:
            for base in as_list(rule.base):
                for m in as_list(self.m):
                    check_learning_rate(where, rule, float(base), int(m), self.train.precision)
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
        msg = err["msg"].removeprefix("Value error, ")
        if not path:  # a check across fields: its message names them ("lr.W: …", "data[0].values …")
            lines.append(msg)
            continue
        # a table's own check names its values; a scalar's message gets the value it was given
        got = "" if isinstance(value, dict) or repr(value) in msg else f" (got {value!r})"
        lines.append(f"{path}: {msg}{got}")
    unique = list(dict.fromkeys(lines)) or [str(exc)]
    where = f" {source}" if source else ""
    if len(unique) == 1:  # one mistake, one line
        return f"invalid sweep config{where}: {unique[0]}"
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
