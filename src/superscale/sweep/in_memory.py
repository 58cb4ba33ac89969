"""`train_toy_models`: the engine in one call, for notebooks and the README (no store, no config file).

    result = superscale.train_toy_models(m=[10, 25, 63], gamma=[-1.0, 1.0], alpha=1.0, steps=2000)
    result.table        # one row per model: n, m, alpha, gamma, seed, final_loss (summed scale), ...
    result.W(0)         # final W [n, m] of the model in row 0

The arguments become a sweep config, expanded and sharded by superscale.config.grid exactly as `superscale
run` does (one `train_shard` call per width); `run_sweep` adds the store that survives crashes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pandas as pd
from torch import Tensor

from superscale.config import parse_config
from superscale.config.grid import expand_runs, make_shards, shard_spec
from superscale.progress import progress_bar
from superscale.store import schema
from superscale.train.engine import ShardResult, resolve_device, train_shard

__all__ = ["TrainedModels", "train_toy_models"]


def _as_list(value: float | Sequence[float]) -> list[float]:
    return [float(v) for v in value] if isinstance(value, Sequence) else [float(value)]


@dataclass
class TrainedModels:
    """Losses and weights of a grid of toy models; row i of `table` is model i."""

    table: pd.DataFrame
    params: list[dict[str, Tensor]] = field(repr=False)
    step_loss: list[Tensor] = field(repr=False)  # per model: [steps] summed-scale pre-update losses

    def W(self, index: int) -> Tensor:
        return self.params[index]["W"]

    def b(self, index: int) -> Tensor:
        return self.params[index]["b"]


def train_toy_models(
    m: int | Sequence[int] = (10, 25, 63),
    gamma: float | Sequence[float] = (-1.0, 1.0),
    alpha: float | Sequence[float] = 1.0,
    n: int = 1000,
    seeds: Sequence[int] = (0,),
    batch: int = 2048,
    steps: int = 2000,
    warmup_fraction: float = 0.1,
    lr: float = 1e-2,
    lr_b: float | None = None,
    density: float = 1.0,
    device: str = "auto",
    heldout_batches: int = 0,
    quiet: bool = False,
) -> TrainedModels:
    """Train every (m, γ, α, seed) combination of the paper's toy model with power-law data.

    Defaults follow experiment E2 (n = 1000, batch 2048, peak lr 1e-2 for W and b, 10 % warm-up, cosine
    to 5 %) with fewer steps (2000 instead of 20 000) so a call takes seconds to minutes on a CPU. The
    call is a sweep without a store: the same grid expansion, run ids and shards as `superscale run`, so
    a model trained here equals the same model trained by a sweep. Rows are ordered by m, α, γ, seed.
    Progress (model-steps, the mean loss) shows as a bar in a terminal and as timestamped lines
    elsewhere (superscale.progress), unless `quiet`.
    """
    if not 0 <= warmup_fraction < 1:  # warm-up must end before the last step, as in every entry point
        raise ValueError(f"warmup_fraction must lie in [0, 1), got {warmup_fraction!r}")
    widths = [m] if isinstance(m, int) else list(m)
    config = parse_config(
        {
            "name": "train_toy_models",
            "n": n,
            "m": widths,
            "gamma": _as_list(gamma),
            "seeds": [int(seed) for seed in seeds],
            "data": {"family": "power", "alpha": _as_list(alpha), "density": density},
            "lr": {"W": {"base": lr}, "b": {"base": lr if lr_b is None else lr_b}},
            "train": {
                "batch": batch,
                "steps": steps,
                "warmup_fraction": warmup_fraction,
                "heldout_batches": heldout_batches,
            },
        },
        source="train_toy_models arguments",
    )
    runs = expand_runs(config)
    rank = {value: i for i, value in enumerate(widths)}
    alphas, gammas = _as_list(alpha), _as_list(gamma)
    runs.sort(key=lambda r: (rank[r.m], alphas.index(r.alpha), gammas.index(r.gamma), r.seed))
    device = resolve_device(device)
    results: dict[str, tuple[int, ShardResult]] = {}
    shards = make_shards(runs, max_models=len(runs))
    total = sum(s.model_steps for s in shards)
    with progress_bar("training", total=total, quiet=quiet, unit="model-steps") as bar:
        for shard in shards:
            models = f"{len(shard.runs)} model" + ("s" if len(shard.runs) > 1 else "")
            bar.update(description=f"training m={shard.m} ({models})")

            def tick(step: int, models: int = len(shard.runs)) -> None:  # a step trains every model at once
                bar.advance(models)

            def show_loss(step: int, losses: Tensor) -> None:  # read only when the reporter shows it
                bar.set_loss(lambda: float(losses.double().mean()))

            result = train_shard(shard_spec(shard.runs, device), tick, show_loss)
            for index, run in enumerate(shard.runs):
                results[run.run_id] = (index, result)
    rows: list[dict[str, float | int | str]] = []
    params: list[dict[str, Tensor]] = []
    curves: list[Tensor] = []
    for run in runs:
        index, result = results[run.run_id]
        rows.append(
            {
                schema.N_FEATURES: n,
                schema.M_HIDDEN: run.m,
                schema.ALPHA: run.alpha,
                schema.GAMMA: run.gamma,
                schema.SEED: run.seed,
                schema.FINAL_LOSS: float(result.final_loss[index]),
                schema.FINAL_LOSS_STD: float(result.final_loss_std[index]),
                schema.HELDOUT_LOSS: float("nan")
                if result.heldout_loss is None
                else float(result.heldout_loss[index]),
                schema.DEVICE: result.device,
            }
        )
        params.append({k: v[index] for k, v in result.params.items()})
        curves.append(result.step_loss_summed[index])
    return TrainedModels(pd.DataFrame(rows), params, curves)
