"""Grid expansion, stable run ids and shards: from a SweepConfig to the work an executor does.

A run is one model: one point of the grid and one seed. Its id hashes everything that determines its
trained numbers (data, shape, γ, learning rates, recipe, seed) and nothing about where it ran (device,
executor, threads), so the same run always has the same id and a resumed sweep recognises it.

A shard groups runs that share (n, m, architecture, recipe), the unit the engine trains together; groups
are cut into chunks of at most `output.max_models_per_shard` so a crash loses little.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

import torch

from superscale.config import SweepConfig, as_list
from superscale.train import data as datamod

if TYPE_CHECKING:
    from superscale.train.engine import ShardSpec

__all__ = ["RunParams", "Shard", "expand_runs", "make_shards", "plan_sweep", "shard_spec"]

log = logging.getLogger(__name__)


def _digest(obj: Any, length: int = 16) -> str:
    blob = json.dumps(obj, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:length]


@dataclass(frozen=True)
class RunParams:
    """Everything that determines one trained model (plus the sweep name and data index, for tables)."""

    experiment: str
    data_index: int  # which [[data]] table of the config (to rebuild custom probabilities)
    family: str
    alpha: float  # NaN when the family has none
    scale: float  # NaN when the family has none
    density: float  # target E; NaN for the density knob or an unscaled custom vector
    density_knob: float  # E3's s; NaN when unused
    n: int
    m: int
    gamma: float
    seed: int
    architecture: str
    n_layers: int
    arch_options: str  # JSON, so the dataclass stays hashable
    batch: int
    steps: int
    warmup_steps: int
    lr_floor: float
    lr_W: float
    lr_b: float
    loss_scale: float
    final_window: int
    heldout_batches: int
    sparse: bool  # resolved per run from train.sparse (None: by density)
    share_batches: bool
    precision: str
    values: tuple[float, ...] | None = field(default=None, repr=False)  # custom family only

    def _identity(self) -> dict[str, Any]:
        """The fields that determine the trained numbers, NaN written as None (JSON has no NaN)."""
        raw = asdict(self)
        for name in ("experiment", "data_index"):
            raw.pop(name)
        if raw["values"] is not None:
            raw["values"] = _digest(list(raw["values"]), 32)
        return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in raw.items()}

    @cached_property
    def run_id(self) -> str:
        return _digest(self._identity())

    @cached_property
    def data_key(self) -> str:
        """Runs with equal data_key draw from the same distribution (and may share batches)."""
        ident = self._identity()
        keys = ("family", "alpha", "scale", "density", "density_knob", "n", "values")
        return _digest({k: ident[k] for k in keys})

    def shard_key(self) -> tuple[Any, ...]:
        """Runs with equal keys can be trained together by the engine."""
        return (
            self.n,
            self.m,
            self.architecture,
            self.n_layers,
            self.arch_options,
            self.batch,
            self.steps,
            self.warmup_steps,
            self.lr_floor,
            self.loss_scale,
            self.final_window,
            self.heldout_batches,
            self.sparse,
            self.share_batches,
            self.precision,
        )

    def probs(self) -> torch.Tensor:
        """The run's feature probabilities p_1..p_n (float64)."""
        density = None if math.isnan(self.density) else self.density
        if self.family == "power":
            if not math.isnan(self.density_knob):
                return datamod.density_scan_probs(self.n, self.density_knob, self.alpha)
            return datamod.power_law_probs(self.n, self.alpha, density or 1.0)
        if self.family == "exponential":
            return datamod.exponential_probs(self.n, self.scale, density or 1.0)
        if self.family == "linear":
            return datamod.linear_probs(self.n, density or 1.0)
        if self.family == "custom":
            assert self.values is not None
            return datamod.custom_probs(list(self.values), density)
        raise ValueError(f"unknown data family {self.family!r}")


def _nan(value: Any) -> float:
    return math.nan if value is None else float(value)


def _activation_density(family: str, n: int, alpha: Any, density: Any, knob: Any, values: Any) -> float:
    """E = Σ p_i without building p (used to pick the sparse sampler per run)."""
    if knob is not None:
        return 1.0 + float(knob) * (datamod.harmonic_number(n, float(alpha)) - 1.0)
    if density is not None:
        return float(density)
    return float(sum(values)) if values is not None else 1.0


def _sparse_for(setting: bool | None, density: float, n: int) -> bool:
    """Resolve `train.sparse = None` per run, so a run's sampler never depends on its shard-mates."""
    from superscale.train.engine import SPARSE_MAX_DENSITY_FRACTION

    return setting if setting is not None else density <= SPARSE_MAX_DENSITY_FRACTION * n


def expand_runs(config: SweepConfig) -> list[RunParams]:
    """Every run of the grid: the Cartesian product of all list-valued fields, per [[data]] table."""
    runs: list[RunParams] = []
    seen: dict[str, RunParams] = {}
    train, model = config.train, config.model
    lr_b_rule = config.lr.b or config.lr.W
    for data_index, data in enumerate(config.data_list):
        data_axes = itertools.product(
            as_list(data.alpha), as_list(data.scale), as_list(data.density), as_list(data.density_knob)
        )
        grid = itertools.product(
            data_axes,
            as_list(config.n),
            as_list(train.batch),
            as_list(train.steps),
            as_list(config.m),
            as_list(config.lr.W.base),
            as_list(lr_b_rule.base),
            as_list(config.gamma),
            as_list(config.seeds),
            as_list(model.architecture),
            as_list(model.n_layers),
        )
        for (
            alpha,
            scale,
            density,
            knob,
        ), n, batch, steps, m, base_W, base_b, gamma, seed, arch, layers in grid:
            density_e = _activation_density(data.family, int(n), alpha, density, knob, data.values)
            run = RunParams(
                experiment=config.name,
                data_index=data_index,
                family=data.family,
                alpha=_nan(alpha),
                scale=_nan(scale),
                density=_nan(density),
                density_knob=_nan(knob),
                n=int(n),
                m=int(m),
                gamma=float(gamma),
                seed=int(seed),
                architecture=str(arch),
                n_layers=int(layers),
                arch_options=json.dumps(model.options, sort_keys=True),
                batch=int(batch),
                steps=int(steps),
                warmup_steps=train.warmup_for(int(steps)),
                lr_floor=train.lr_floor,
                lr_W=config.lr.W.at(base_W, int(m)),
                lr_b=lr_b_rule.at(base_b, int(m)),
                loss_scale=train.loss_scale,
                final_window=min(train.final_window, int(steps)),
                heldout_batches=train.heldout_batches,
                sparse=_sparse_for(train.sparse, density_e, int(n)),
                share_batches=train.share_batches,
                precision=train.precision,
                values=None if data.values is None else tuple(data.values),
            )
            if run.run_id in seen:
                raise ValueError(f"the grid lists the same run twice: {run!r}; remove the duplicate value")
            seen[run.run_id] = run
            runs.append(run)
    return runs


@dataclass(frozen=True)
class Shard:
    """Runs the engine trains together; its id is stable because the run ids and their order are."""

    shard_id: str
    runs: tuple[RunParams, ...]

    @property
    def n(self) -> int:
        return self.runs[0].n

    @property
    def m(self) -> int:
        return self.runs[0].m

    @property
    def steps(self) -> int:
        return self.runs[0].steps

    @property
    def model_steps(self) -> int:
        return len(self.runs) * self.steps


def make_shards(runs: list[RunParams], max_models: int) -> list[Shard]:
    """Group runs by shard key (first-seen order), keep runs of one data stream adjacent, chunk.

    The shards are then ordered by the first data stream they hold (stable), so when shards are smaller
    than a shape group, every width of the first stream trains before the second stream starts: a sweep
    stopped part-way holds whole loss-vs-m curves to fit, not every stream at the small widths only.
    """
    if max_models < 1:
        raise ValueError(f"max_models must be ≥ 1, got {max_models!r}")
    groups: dict[tuple[Any, ...], list[RunParams]] = {}
    for run in runs:
        groups.setdefault(run.shard_key(), []).append(run)
    shards: list[Shard] = []
    for members in groups.values():
        # stable sort: runs sharing a data stream land in the same chunk when they fit
        first: dict[tuple[str, int], int] = {}
        for run in members:
            first.setdefault((run.data_key, run.seed), len(first))
        ordered = sorted(members, key=lambda r: first[(r.data_key, r.seed)])
        for start in range(0, len(ordered), max_models):
            chunk = tuple(ordered[start : start + max_models])
            head = chunk[0]
            digest = _digest([r.run_id for r in chunk], 10)
            shards.append(Shard(f"n{head.n}-m{head.m}-{digest}", chunk))
    stream_rank: dict[tuple[str, int], int] = {}
    for run in runs:
        stream_rank.setdefault((run.data_key, run.seed), len(stream_rank))
    return sorted(shards, key=lambda shard: stream_rank[(shard.runs[0].data_key, shard.runs[0].seed)])


def _check_architecture(config: SweepConfig) -> None:
    from superscale.train.architectures import get_architecture

    model = config.model
    for arch, layers, n in itertools.product(
        as_list(model.architecture), as_list(model.n_layers), as_list(config.n)
    ):
        try:  # with the real n: options such as a per-feature importance list must match it
            get_architecture(str(arch), int(n), 1, int(layers), **model.options)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"model: {exc}") from None


def plan_sweep(config: SweepConfig) -> list[Shard]:
    """Check the config can be trained (probabilities valid, architecture known) and return its shards."""
    _check_architecture(config)
    runs = expand_runs(config)
    checked: set[str] = set()
    for run in runs:
        if run.data_key not in checked:  # e.g. a density too high for p_1 ≤ 1 fails here, not mid-sweep
            run.probs()
            checked.add(run.data_key)
    return make_shards(runs, config.output.max_models_per_shard)


_DTYPES = {"float32": torch.float32, "float64": torch.float64}


def shard_spec(runs: Sequence[RunParams], device: str = "cpu") -> ShardSpec:
    """The one place a list of runs (sharing a shard key) becomes the engine's ShardSpec."""
    from superscale.train.engine import ModelSpec, ShardSpec

    if not runs:
        raise ValueError("a shard needs at least one run")
    head = runs[0]
    if any(run.shard_key() != head.shard_key() for run in runs):
        raise ValueError("runs of one shard must share n, m, architecture and recipe (RunParams.shard_key)")
    probs: dict[str, torch.Tensor] = {}
    models = []
    for run in runs:
        if run.data_key not in probs:
            probs[run.data_key] = run.probs()
        models.append(ModelSpec(probs[run.data_key], run.gamma, run.lr_W, run.lr_b, run.seed, run.data_key))
    return ShardSpec(
        n=head.n,
        m=head.m,
        models=models,
        batch=head.batch,
        steps=head.steps,
        warmup_steps=head.warmup_steps,
        lr_floor=head.lr_floor,
        loss_scale=head.loss_scale,
        sparse=head.sparse,
        share_batches=head.share_batches,
        final_window=head.final_window,
        heldout_batches=head.heldout_batches,
        device=device,
        dtype=_DTYPES[head.precision],
        architecture=head.architecture,
        n_layers=head.n_layers,
        arch_options=json.loads(head.arch_options),
    )
