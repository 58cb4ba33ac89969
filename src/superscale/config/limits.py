"""What a sweep will cost, checked before anything is expanded, allocated or written.

The grid is counted from the lengths of the config's axes (a 10⁹-run grid is refused in microseconds with
its numbers, instead of filling memory while it is expanded), and one shard's memory is estimated from its
largest shape, so `batch = 1e9` or `n = 1e9` is refused with the bytes it needs rather than an allocator
traceback. The estimate counts what the engine must hold per model:

    parameters W [n, m], b [n] with their gradient and two Adam moments   4 (n m + n)
    one batch: input x [batch, n], hidden h [batch, m], output y [batch, n] and their gradients
                                                                          batch (4 n + 2 m)

times the bytes of the precision, plus the step losses [models, steps] the engine keeps in float32 (4 bytes
a step: `steps = 1e13` needs 40 TB a model), times the models trained together in one shard. It is a lower
bound of the peak (temporaries come on top), so what it refuses cannot run.

The work is counted too: a run's steps plus its held-out batches (each a forward pass on a fresh batch,
counted as a step) past MAX_RUN_STEPS need --yes, as a grid past MAX_RUNS does. The torch threads of a
local sweep are bounded by the CPU cores this process may use (`available_cpus`).
"""

from __future__ import annotations

import logging
import math
import os
from dataclasses import dataclass

from superscale.config import SweepConfig, as_list
from superscale.config.grid import RunParams

__all__ = [
    "MAX_RUNS",
    "MAX_RUN_STEPS",
    "SweepPlan",
    "available_cpus",
    "check_plan",
    "check_runs",
    "check_threads",
    "machine_memory",
    "plan_size",
]

log = logging.getLogger(__name__)

MAX_RUNS = 100_000  # more runs than this need --yes (a paper grid is a few hundred)
MAX_RUN_STEPS = 100_000_000  # steps + held-out batches of one run past this need --yes (the paper: 20 000)
_BYTES = {"float32": 4, "float64": 8}
_LOSS_BYTES = 4  # the engine's step losses are float32 whatever the precision


@dataclass(frozen=True)
class SweepPlan:
    """The size of a sweep, from its config alone."""

    n_runs: int
    model_steps: int
    flop: float  # ≈ 12 batch n m per model-step: two matmuls forward, twice that backward
    shard_models: int  # models trained together in the largest shard
    shard_bytes: int  # estimated memory of that shard (see the module docstring)
    shape: tuple[int, int, int]  # (n, m, batch) of the largest model
    run_steps: int = 0  # the longest run: its steps plus its held-out batches

    def describe(self) -> str:
        n, m, batch = self.shape
        return (
            f"{self.n_runs:,} runs, {self.model_steps:.3g} model-steps (≈ {self.flop:.2g} FLOP); the largest "
            f"shard trains {self.shard_models} models of n = {n:,}, m = {m:,}, batch {batch:,} in "
            f"≈ {_bytes(self.shard_bytes)}"
        )


def _bytes(value: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB", "PB"):
        if value < 1000 or unit == "PB":
            return f"{value:.3g} {unit}"
        value /= 1000
    raise AssertionError("unreachable")


def plan_size(config: SweepConfig) -> SweepPlan:
    """Count the grid and estimate its largest shard without expanding it."""
    train, model = config.train, config.model
    lr_b = config.lr.b or config.lr.W
    per_data = [
        math.prod(len(as_list(v)) for v in (d.alpha, d.scale, d.density, d.density_knob))
        for d in config.data_list
    ]
    shape_axes = [config.n, config.m, train.batch, train.steps, model.architecture, model.n_layers]
    model_axes = [config.lr.W.base, lr_b.base, config.gamma, config.seeds]
    n_shapes = math.prod(len(as_list(a)) for a in shape_axes)
    per_shape = sum(per_data) * math.prod(len(as_list(a)) for a in model_axes)
    n_runs = n_shapes * per_shape
    steps = as_list(train.steps)
    others = n_runs // len(steps)
    # a held-out batch is one more forward pass per model: counted as a step (docs/recipe.md §1.8)
    model_steps = others * sum(int(s) + train.heldout_batches for s in steps)
    n, m, batch = (max(int(v) for v in as_list(a)) for a in (config.n, config.m, train.batch))
    nm_sum = sum(int(a) * int(b) for a in as_list(config.n) for b in as_list(config.m))
    mean_nm = nm_sum / (len(as_list(config.n)) * len(as_list(config.m)))
    mean_batch = sum(int(b) for b in as_list(train.batch)) / len(as_list(train.batch))
    models = min(config.output.max_models_per_shard, per_shape)
    per_model = 4 * (n * m + n) + batch * (4 * n + 2 * m)
    longest = max(int(s) for s in steps)
    return SweepPlan(
        n_runs=n_runs,
        model_steps=model_steps,
        flop=12.0 * mean_batch * mean_nm * model_steps,
        shard_models=models,
        shard_bytes=(per_model * _BYTES[train.precision] + longest * _LOSS_BYTES) * models,
        shape=(n, m, batch),
        run_steps=longest + train.heldout_batches,
    )


def machine_memory(device: str) -> int:
    """Bytes of memory the shard lives in: the GPU's for CUDA (and "auto" where there is one), else RAM."""
    if device.startswith("cuda") or device == "auto":
        import torch

        if torch.cuda.is_available():
            index = torch.device(device).index or 0
            return int(torch.cuda.get_device_properties(index).total_memory)
    return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))


def check_plan(plan: SweepPlan, memory: int, allow_large: bool) -> None:
    """Refuse (ValueError, with the numbers) a grid past MAX_RUNS or a shard past `memory`, unless
    `allow_large` (`--yes`)."""
    if allow_large:
        return
    if plan.n_runs > MAX_RUNS:
        raise ValueError(
            f"the grid has {plan.n_runs:,} runs (more than {MAX_RUNS:,}): {plan.describe()}; "
            "shorten an axis, or pass --yes to train it"
        )
    if plan.run_steps > MAX_RUN_STEPS:
        raise ValueError(
            f"one run trains {plan.run_steps:,} steps and held-out batches (more than {MAX_RUN_STEPS:,}): "
            f"{plan.describe()}; lower train.steps or train.heldout_batches, or pass --yes to train it"
        )
    if plan.shard_bytes > memory:
        raise ValueError(
            f"one shard needs ≈ {_bytes(plan.shard_bytes)} and this machine has {_bytes(memory)}: "
            f"{plan.describe()}; lower batch, n, m or steps (or output.max_models_per_shard), or pass --yes"
        )


def available_cpus() -> int:
    """CPU cores this process may run on (its affinity mask where the OS has one, else all of them)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # macOS, Windows
        return os.cpu_count() or 1


def check_threads(threads: int | None, option: str) -> None:
    """Refuse more torch threads than the cores this process may use (`option` names where the value came
    from: "--threads" or "execution.threads"); torch crashes outright at a few thousand."""
    cores = available_cpus()
    if threads is not None and threads > cores:
        raise ValueError(
            f"{option}: {threads} threads, but this process may use {cores} CPU core(s); use at most {cores}"
        )


def check_runs(runs: list[RunParams]) -> None:
    """Values that cannot train: refuse them with the reason; warn about runs that measure nothing."""
    for run in runs:
        step = run.lr_W * abs(run.gamma)  # the decay acts on W only (docs/recipe.md §1.5)
        if step >= 1:
            # W ← (1 − η γ) W (γ > 0) or the row-norm step η|γ| (γ < 0): at η|γ| ≥ 1 it overshoots
            raise ValueError(
                f"gamma = {run.gamma:g} with peak learning rate {run.lr_W:g} for W gives a "
                f"weight-decay step η·|γ| = {step:.3g} ≥ 1, which flips or overshoots W every step; "
                "use |gamma| < 1 / lr"
            )
    wide = sorted({(run.m, run.n) for run in runs if run.m >= run.n})
    if wide:
        m, n = wide[0]
        log.warning(
            "%d width(s) have m ≥ n (e.g. m = %d, n = %d): every feature can have its own dimension, so "
            "those models are not forced into superposition",
            len(wide),
            m,
            n,
        )
