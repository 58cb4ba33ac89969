"""The aspect-ratio experiments: equal-N families across shapes, and the compressed-sensing transition.

Both build `ShardSpec`s and call `superscale.engine.train_shard`, so the deep models train with the same
data streams, schedule and signed AdamW as the paper's model. One shard per shape (L, m) holds every
(data, γ, seed) model of that shape; a seed's data stream depends only on (seed, data label), so all
shapes of a family see the very same batches.

Outputs (parquet, written atomically when `out_dir` is given):
    aspect_runs.parquet    one row per model: shape, data, loss, features at the first and last layer;
                           kind "family" (equal N) or "width_baseline" (L = 1 at a deeper shape's width)
    aspect_layers.parquet  one row per (model, layer): represented features, superposition, implied S
    aspect_pairs.parquet   one row per (pair of models, layer "first"/"last"): Jaccard, CKA, Procrustes
    phase_transition.parquet  one row per (method, S, m[, seed]): relative error, success rate, bound
"""

from __future__ import annotations

import itertools
import logging
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from torch import Tensor

from superscale.aspect.compressed_sensing import cs_min_width, implied_sparsity, uniform_probs
from superscale.aspect.deep import deep_param_count
from superscale.aspect.planner import Shape, plan_shapes
from superscale.aspect.universality import compare_features, feature_responses, layer_features
from superscale.atomic import write_parquet_atomic
from superscale.data import power_law_probs
from superscale.engine import ModelSpec, ShardSpec, train_shard

__all__ = [
    "LAYERS_FILE",
    "PAIRS_FILE",
    "PHASE_FILE",
    "RUNS_FILE",
    "AspectConfig",
    "AspectResult",
    "DataCondition",
    "PhaseConfig",
    "model_phase_transition",
    "run_aspect_family",
]

log = logging.getLogger(__name__)

RUNS_FILE = "aspect_runs.parquet"
LAYERS_FILE = "aspect_layers.parquet"
PAIRS_FILE = "aspect_pairs.parquet"
PHASE_FILE = "phase_transition.parquet"


@dataclass(frozen=True)
class DataCondition:
    """One data distribution: a power law (alpha) or uniform sparsity (p_i = 1 − S)."""

    label: str
    probs: Tensor
    alpha: float  # NaN for uniform data
    sparsity: float  # the data's actual sparsity 1 − E/n (mean fraction of inactive features)


def _conditions(n: int, alphas: Sequence[float], sparsities: Sequence[float]) -> list[DataCondition]:
    out = []
    for alpha in alphas:
        probs = power_law_probs(n, alpha)
        out.append(DataCondition(f"alpha={alpha:g}", probs, float(alpha), 1 - float(probs.sum()) / n))
    for sparsity in sparsities:
        out.append(DataCondition(f"S={sparsity:g}", uniform_probs(n, sparsity), math.nan, float(sparsity)))
    if not out:
        raise ValueError("give at least one data exponent (alphas) or sparsity (sparsities)")
    return out


@dataclass(frozen=True)
class AspectConfig:
    """An equal-N family: every planned shape × data condition × γ × seed, one recipe."""

    n: int = 100
    params: int = 4100  # the budget N (L = 1, m = 40 at n = 100)
    depths: tuple[int, ...] = (1, 2, 4, 8)
    tolerance: float = 0.05
    alphas: tuple[float, ...] = (1.0,)
    sparsities: tuple[float, ...] = ()
    gammas: tuple[float, ...] = (-1.0,)
    seeds: tuple[int, ...] = (0, 1, 2)
    steps: int = 3000
    batch: int = 512
    warmup_fraction: float = 0.1
    lr_W: float = 0.01
    lr_b: float = 0.01
    residual: bool = True
    tied: bool = True
    threshold: float = 0.5
    device: str = "cpu"
    arch_extra: dict[str, Any] = field(default_factory=dict)
    width_baseline: bool = True  # also train the one-layer model at each deeper shape's width

    def shapes(self) -> list[Shape]:
        shapes = plan_shapes(self.n, self.params, self.depths, self.tolerance, self.tied)
        if not shapes:
            raise ValueError(f"no shape among depths {self.depths} fits params={self.params} at n={self.n}")
        return shapes


@dataclass
class AspectResult:
    runs: pd.DataFrame
    layers: pd.DataFrame
    pairs: pd.DataFrame


def _shard(config: AspectConfig, shape: Shape, models: list[ModelSpec]) -> ShardSpec:
    fast_tied = shape.n_layers == 1 and config.tied  # exactly the paper's model: use its hand gradients
    return ShardSpec(
        config.n,
        shape.m,
        models,
        batch=config.batch,
        steps=config.steps,
        warmup_steps=int(config.warmup_fraction * config.steps),
        device=config.device,
        architecture="tied" if fast_tied else "deep",
        n_layers=shape.n_layers,
        arch_options={}
        if fast_tied
        else {"tied": config.tied, "residual": config.residual, **config.arch_extra},
    )


def run_aspect_family(config: AspectConfig, out_dir: str | Path | None = None) -> AspectResult:
    """Train the family and measure loss, per-layer features and universality; see the module docstring."""
    conditions = _conditions(config.n, config.alphas, config.sparsities)
    grid = list(itertools.product(conditions, config.gammas, config.seeds))
    run_rows: list[dict[str, Any]] = []
    layer_rows: list[dict[str, Any]] = []
    features: dict[int, tuple[list[Tensor], list[Any]]] = {}  # run index -> (responses, LayerFeatures)
    shapes = [(shape, False) for shape in config.shapes()]
    if config.width_baseline:
        # the paper's model at each deeper shape's width: separates "set by width" from "helped by depth"
        one_layer = {s.m for s, _ in shapes if s.n_layers == 1}
        for m in sorted({s.m for s, _ in shapes} - one_layer, reverse=True):
            count = deep_param_count(config.n, m, 1, config.tied)
            shapes.append((Shape(1, m, count, (count - config.params) / config.params), True))
    for shape, baseline in shapes:
        models = [
            ModelSpec(data.probs, gamma=g, lr_W=config.lr_W, lr_b=config.lr_b, seed=s, data_key=data.label)
            for data, g, s in grid
        ]
        result = train_shard(_shard(config, shape, models))
        log.info("shape L=%d m=%d: %d models in %.1fs", shape.n_layers, shape.m, len(models), result.seconds)
        kind = "width_baseline" if baseline else "family"
        for index, (data, gamma, seed) in enumerate(grid):
            params = {k: v[index] for k, v in result.params.items()}
            responses = feature_responses(params, config.residual)
            per_layer = layer_features(responses, config.threshold)
            run_index = len(run_rows)
            features[run_index] = (responses, per_layer)
            first, last = per_layer[0], per_layer[-1]
            run_rows.append(
                {
                    "run": run_index,
                    "kind": kind,
                    "n": config.n,
                    "n_layers": shape.n_layers,
                    "m": shape.m,
                    "params": shape.params,
                    "params_budget": config.params,
                    "aspect_ratio": shape.aspect_ratio,
                    "data": data.label,
                    "alpha": data.alpha,
                    "data_sparsity": data.sparsity,
                    "gamma": gamma,
                    "seed": seed,
                    "final_loss": float(result.final_loss[index]),
                    "final_loss_std": float(result.final_loss_std[index]),
                    "late_improvement": _late_improvement(result.step_loss[index]),
                    "n_repr_first": first.n_represented,
                    "n_repr_last": last.n_represented,
                    "superposition_last": last.superposition,
                    "implied_sparsity_last": implied_sparsity(last.n_represented, shape.m),
                    "train_seconds": result.seconds / len(grid),
                }
            )
            for lf in per_layer:
                layer_rows.append(
                    {
                        "run": run_index,
                        "kind": kind,
                        "layer": lf.layer,
                        "n_layers": shape.n_layers,
                        "m": shape.m,
                        "data": data.label,
                        "gamma": gamma,
                        "seed": seed,
                        "n_represented": lf.n_represented,
                        "fraction_represented": lf.n_represented / config.n,
                        "superposition": lf.superposition,
                        "mean_cos2": lf.mean_cos2,
                        "response_scale": lf.scale,
                        "implied_sparsity": implied_sparsity(lf.n_represented, shape.m),
                        "data_sparsity": data.sparsity,
                    }
                )
    runs = pd.DataFrame(run_rows)
    result_tables = AspectResult(runs, pd.DataFrame(layer_rows), _pairs(runs, features))
    if out_dir is not None:
        _write(result_tables, Path(out_dir))
    return result_tables


def _late_improvement(step_loss: Tensor) -> float:
    """Relative drop of the loss over the last 20 % of training (mean of the 5 % before step 0.8 T vs the
    last 5 %): near 0 when converged at this schedule, large when the shape was still learning."""
    steps = step_loss.numel()
    window = max(1, steps // 20)
    cut = int(0.8 * steps)
    before = float(step_loss[max(0, cut - window) : cut].double().mean())
    after = float(step_loss[-window:].double().mean())
    return (before - after) / before if before > 0 else math.nan


def _pairs(runs: pd.DataFrame, features: dict[int, tuple[list[Tensor], list[Any]]]) -> pd.DataFrame:
    """Every pair of models on the same data and γ, compared at their first and at their last layer."""
    rows = []
    family = runs[runs["kind"] == "family"]
    for (_, _), group in family.groupby(["data", "gamma"], sort=False):
        for a, b in itertools.combinations(group.to_dict("records"), 2):
            same_shape = a["n_layers"] == b["n_layers"] and a["m"] == b["m"]
            same_seed = a["seed"] == b["seed"]
            for which, pick in (("first", 0), ("last", -1)):
                responses_a, layers_a = features[a["run"]]
                responses_b, layers_b = features[b["run"]]
                sim = compare_features(
                    responses_a[pick],
                    layers_a[pick].represented,
                    responses_b[pick],
                    layers_b[pick].represented,
                )
                rows.append(
                    {
                        "run_a": a["run"],
                        "run_b": b["run"],
                        "data": a["data"],
                        "gamma": a["gamma"],
                        "layer": which,
                        "shape_a": f"L={a['n_layers']},m={a['m']}",
                        "shape_b": f"L={b['n_layers']},m={b['m']}",
                        "same_shape": same_shape,
                        "same_seed": same_seed,
                        "kind": "seed" if same_shape else "shape",
                        **asdict(sim),
                    }
                )
    return pd.DataFrame(rows)


def _write(tables: AspectResult, out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    write_parquet_atomic(tables.runs, out_dir / RUNS_FILE)
    write_parquet_atomic(tables.layers, out_dir / LAYERS_FILE)
    write_parquet_atomic(tables.pairs, out_dir / PAIRS_FILE)


@dataclass(frozen=True)
class PhaseConfig:
    """The empirical compressed-sensing transition: toy, deep toy and L1 over a grid of (S, m)."""

    n: int = 64
    sparsities: tuple[float, ...] = (0.8, 0.9, 0.95)
    widths: tuple[int, ...] = (2, 4, 6, 8, 12, 16, 24, 32, 48)
    deep_layers: int = 2
    gamma: float = -1.0
    seeds: tuple[int, ...] = (0,)
    steps: int = 2000
    batch: int = 512
    lr_W: float = 0.01
    lr_b: float = 0.01
    residual: bool = True
    tol: float = 0.1  # relative squared error E‖x̂ − x‖² / E‖x‖² counted as "reconstructed"
    l1_trials: int = 20
    device: str = "cpu"


def model_phase_transition(config: PhaseConfig) -> pd.DataFrame:
    """Relative error of the toy model (L = 1) and the deep toy model (L = deep_layers) per (S, m, seed).

    Relative error = final loss / E‖x‖², with E‖x‖² = (4/3) n (1 − S) on the paper's data; success_rate
    is 1 when it is below `tol` (averaged over seeds by `critical_width`).
    """
    rows = []
    for m in config.widths:
        for method, n_layers in (("toy", 1), ("deep", config.deep_layers)):
            models = [
                ModelSpec(
                    uniform_probs(config.n, S), config.gamma, config.lr_W, config.lr_b, seed, f"S={S:g}"
                )
                for S in config.sparsities
                for seed in config.seeds
            ]
            spec = ShardSpec(
                config.n,
                m,
                models,
                batch=config.batch,
                steps=config.steps,
                warmup_steps=config.steps // 10,
                device=config.device,
                architecture="tied" if n_layers == 1 else "deep",
                n_layers=n_layers,
                arch_options={} if n_layers == 1 else {"residual": config.residual},
            )
            result = train_shard(spec)
            for index, (S, seed) in enumerate(itertools.product(config.sparsities, config.seeds)):
                rel_error = float(result.final_loss[index]) / (4.0 / 3.0 * config.n * (1.0 - S))
                rows.append(
                    {
                        "method": method,
                        "n": config.n,
                        "n_layers": n_layers,
                        "params": deep_param_count(config.n, m, n_layers),
                        "sparsity": S,
                        "m": m,
                        "seed": seed,
                        "rel_error": rel_error,
                        "success_rate": float(rel_error < config.tol),
                        "bound_m": cs_min_width(config.n, S),
                    }
                )
    return pd.DataFrame(rows)
