"""Train a shard of toy models together: one code path for CPU and CUDA (docs/recipe.md §1).

A shard is a group of models that share (n, m, architecture) and the training recipe; each model has its
own frequencies p, weight decay γ, peak learning rates and seed. Per step the engine draws one fresh batch
per data stream, computes every model's loss and gradients in chunks of instances (so memory stays bounded
whatever the shard size), and applies the vectorised signed AdamW.

Data streams. A model's data is a function of (seed, data_key) only: models with equal seed and data_key
(`share_batches=True`) read the same batch each step instead of drawing their own. Each model still sees an
i.i.d. stream from its own distribution, and its result does not depend on which other models share its
shard: a run trained alone, or in any shard, gives the same numbers on the same device.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor

from superscale._checks import check_finite, check_positive_int
from superscale.train.architectures import Architecture, Batch, get_architecture
from superscale.train.data import derive_seed
from superscale.train.optim import SignedAdamW, lr_multiplier

__all__ = ["DivergenceError", "ModelSpec", "ShardResult", "ShardSpec", "resolve_device", "train_shard"]

log = logging.getLogger(__name__)

#: activation memory per chunk of instances ([chunk, batch, n] float32 tensors), in bytes
CHUNK_BYTES = 256 * 2**20
#: sparse sampling pays off when few features are active per sample
SPARSE_MAX_DENSITY_FRACTION = 0.05
DIVERGENCE_CHECK_EVERY = 50


class DivergenceError(ValueError):
    """A model's loss became NaN or infinite; raised instead of writing NaNs.

    `instance` is the index of the (first) diverged model in `ShardSpec.models`.
    """

    def __init__(self, message: str, instance: int) -> None:
        super().__init__(message)
        self.instance = instance


@dataclass(frozen=True)
class ModelSpec:
    """One model of a shard."""

    probs: Tensor  # [n] float64 feature probabilities
    gamma: float  # signed weight decay
    lr_W: float  # peak learning rate of W (and of any other decayed weight)
    lr_b: float  # peak learning rate of b
    seed: int  # determines the initialisation and the data stream
    data_key: str = ""  # models with equal (data_key, seed) share each step's batch


@dataclass(frozen=True)
class ShardSpec:
    """Models sharing (n, m, architecture) and the recipe. Defaults are the paper's small models (E2)."""

    n: int
    m: int
    models: list[ModelSpec]
    batch: int = 2048
    steps: int = 20000
    warmup_steps: int = 2000
    lr_floor: float = 0.05
    loss_scale: float = 1.0  # backward multiplier (the E1 script uses 100); Adam is scale-invariant up to eps
    sparse: bool | None = None  # None: sparse when the density is below 5 % of n
    share_batches: bool = True
    final_window: int = 100  # clipped to `steps` for short runs
    heldout_batches: int = 0
    device: str = "cpu"
    dtype: torch.dtype = torch.float32
    architecture: str = "tied"
    n_layers: int = 1
    arch_options: dict[str, Any] = field(default_factory=dict)
    chunk_size: int | None = None  # instances per chunk; None: from CHUNK_BYTES
    # start from these parameters ([inst, ...] per name, in `models` order) instead of each seed's
    # initialisation: a warm start, e.g. to time or continue trained models (the optimiser starts fresh)
    initial_params: dict[str, Tensor] | None = None

    def __post_init__(self) -> None:
        self.validate()  # a spec that exists can be trained: errors name the argument at construction

    def validate(self) -> None:
        """Raise ValueError naming the argument and the value for anything the engine cannot train."""
        for name in ("n", "m", "batch", "steps", "final_window"):
            check_positive_int(name, getattr(self, name))
        if not self.models:
            raise ValueError("models must not be empty")
        if not 0 <= self.warmup_steps < self.steps:  # warm-up ≥ steps would leave no cosine decay at all
            raise ValueError(f"warmup_steps must lie in [0, steps={self.steps}), got {self.warmup_steps!r}")
        for name in ("lr_floor", "loss_scale"):
            check_finite(name, getattr(self, name))
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be ≥ 0, got {getattr(self, name)!r}")
        if self.heldout_batches < 0:
            raise ValueError(f"heldout_batches must be ≥ 0, got {self.heldout_batches!r}")
        for index, model in enumerate(self.models):
            _validate_model(index, model, self.n)


def _validate_model(index: int, model: ModelSpec, n: int) -> None:
    where = f"models[{index}]"
    for name in ("gamma", "lr_W", "lr_b"):
        check_finite(f"{where}.{name}", getattr(model, name))
    for name in ("lr_W", "lr_b"):
        if getattr(model, name) < 0:
            raise ValueError(f"{where}.{name} must be ≥ 0, got {getattr(model, name)!r}")
    if tuple(model.probs.shape) != (n,):
        raise ValueError(f"{where}.probs must have shape ({n},), got {tuple(model.probs.shape)}")
    if not bool(((model.probs >= 0) & (model.probs <= 1)).all()):
        raise ValueError(f"{where}.probs must lie in [0, 1] (found a value outside, or NaN)")


@dataclass
class ShardResult:
    """What a shard returns; tensors on the CPU, instances in the order of `ShardSpec.models`."""

    params: dict[str, Tensor]  # "W" [inst, n, m], "b" [inst, n], ...
    step_loss: Tensor  # [inst, steps] float32: pre-update loss of each step, the code's scale (`loss_one`)
    # the reported scale (the architecture's `reported_scale`: summed over features for the paper's model)
    final_loss: Tensor  # [inst] float64, reported scale: mean of the last `final_window` step losses
    final_loss_std: (
        Tensor  # [inst] float64, reported scale: sample std (n − 1) of those step losses; 0 for one
    )
    heldout_loss: Tensor | None  # [inst] float64, reported scale, final weights on fresh batches
    seconds: float
    device: str
    report_factor: float  # reported scale / code scale: the architecture's `report_factor()` (n, or 1)

    @property
    def step_loss_summed(self) -> Tensor:
        """[inst, steps] on the reported scale (the paper's: summed over features; nats for cross-entropy)."""
        return self.step_loss * self.report_factor


def resolve_device(device: str) -> str:
    """'auto' → 'cuda' when available else 'cpu'; anything else must be a device torch knows."""
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    try:
        parsed = torch.device(device)
    except RuntimeError:
        raise ValueError(f"device must be 'auto', 'cpu' or 'cuda[:i]', got {device!r}") from None
    if parsed.type not in ("cpu", "cuda"):
        raise ValueError(f"device must be 'auto', 'cpu' or 'cuda[:i]', got {device!r}")
    if parsed.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} requested but CUDA is not available on this machine")
    return device


@dataclass
class _Stream:
    """One data stream: the models (contiguous after sorting) that read each of its batches."""

    probs: Tensor
    generator: torch.Generator
    rows: slice
    purpose: str  # "data:<key>", with the stream's seed the name of its random stream
    seed: int


def _plan_streams(spec: ShardSpec, device: str) -> tuple[list[int], list[_Stream]]:
    """Order models so each stream's readers are contiguous; return that order and the streams."""
    keys: dict[tuple[str, int], list[int]] = {}
    for index, model in enumerate(spec.models):
        key = (model.data_key, model.seed) if spec.share_batches else (f"#{index}", model.seed)
        keys.setdefault(key, []).append(index)
    order: list[int] = []
    streams: list[_Stream] = []
    for (data_key, seed), members in keys.items():
        start = len(order)
        order.extend(members)
        data_purpose = "data:" + (data_key if spec.share_batches else spec.models[members[0]].data_key)
        generator = torch.Generator(device=device).manual_seed(derive_seed(seed, data_purpose))
        rows = slice(start, len(order))
        streams.append(_Stream(spec.models[members[0]].probs, generator, rows, data_purpose, seed))
    return order, streams


def _chunk_size(spec: ShardSpec) -> int:
    return spec.chunk_size or max(1, CHUNK_BYTES // (spec.batch * spec.n * 4))


def _chunks(rows: slice, size: int) -> list[slice]:
    return [slice(s, min(s + size, rows.stop)) for s in range(rows.start, rows.stop, size)]


def train_shard(
    spec: ShardSpec,
    on_step: Callable[[int], None] | None = None,
    on_loss: Callable[[int, Tensor], None] | None = None,
) -> ShardResult:
    """Train every model of `spec` for `spec.steps` steps; see the module docstring.

    `on_step(step)` is called after each step; `on_loss(step, losses)` just before it, with that step's
    pre-update losses [inst] on the reported scale in the order of `spec.models`, still on the device
    (a progress display reads them only when it shows them: reading a CUDA tensor waits for the GPU)."""
    spec.validate()
    device = resolve_device(spec.device)
    started = time.perf_counter()
    arch = get_architecture(spec.architecture, spec.n, spec.m, n_layers=spec.n_layers, **spec.arch_options)
    order, streams = _plan_streams(spec, device)
    models = [spec.models[i] for i in order]
    sparse = spec.sparse
    if sparse is None:
        sparse = max(float(s.probs.sum()) for s in streams) <= SPARSE_MAX_DENSITY_FRACTION * spec.n

    if spec.initial_params is None:
        initial = arch.init_params([model.seed for model in models])
    else:
        expected = arch.init_params([0])
        initial = {}
        for name, like in expected.items():
            given = spec.initial_params.get(name)
            if given is None or tuple(given.shape) != (len(models), *like.shape[1:]):
                shape = None if given is None else tuple(given.shape)
                raise ValueError(
                    f"initial_params[{name!r}] must have shape {(len(models), *like.shape[1:])}, got {shape}"
                )
            initial[name] = given[torch.tensor(order)]
    params = {k: v.to(device=device, dtype=spec.dtype) for k, v in initial.items()}
    f64 = {"dtype": torch.float64, "device": device}
    optimiser = SignedAdamW(
        params,
        arch.rules,
        gamma=torch.tensor([m.gamma for m in models], **f64),  # type: ignore[arg-type]
        peak_lr={
            "W": torch.tensor([m.lr_W for m in models], **f64),  # type: ignore[arg-type]
            "b": torch.tensor([m.lr_b for m in models], **f64),  # type: ignore[arg-type]
        },
    )
    plan = [(stream, rows) for stream in streams for rows in _chunks(stream.rows, _chunk_size(spec))]
    step_loss = torch.empty(len(models), spec.steps, dtype=torch.float32, device=device)
    inverse_order = torch.argsort(torch.tensor(order, device=device))  # engine order → spec.models order

    # gradients of every chunk land in one shard-wide buffer, so the optimiser runs once per step whatever
    # the number of chunks (its small ops, not the GEMMs, dominate shards of small batches)
    shard_grads: dict[str, Tensor] = {}
    for step in range(spec.steps):
        lr_mult = lr_multiplier(step, spec.steps, spec.warmup_steps, spec.lr_floor)
        for stream in streams:
            batch = arch.sample(stream.probs, spec.batch, stream.generator, sparse)
            for rows in (r for s, r in plan if s is stream):
                sliced = {k: v[rows] for k, v in params.items()}
                loss, grads = arch.loss_and_grads(sliced, batch, spec.loss_scale)
                step_loss[rows, step] = loss.to(torch.float32)
                if len(plan) == 1:
                    shard_grads = grads
                    continue
                for name, grad in grads.items():
                    if name not in shard_grads:
                        shard_grads[name] = torch.empty_like(params[name])
                    shard_grads[name][rows].copy_(grad)
        optimiser.step(params, shard_grads, step + 1, lr_mult)
        arch.post_step(params)
        if (step + 1) % DIVERGENCE_CHECK_EVERY == 0 or step + 1 == spec.steps:
            _check_finite(step_loss[:, : step + 1], order, step)
        if on_loss is not None:
            on_loss(step, step_loss[inverse_order, step] * arch.report_factor())
        if on_step is not None:
            on_step(step)

    heldout = _heldout_loss(spec, arch, params, streams, sparse, device) if spec.heldout_batches else None
    inverse = torch.argsort(torch.tensor(order))
    window = step_loss[:, -spec.final_window :].double() * arch.report_factor()
    # the error bar: sample standard deviation (n − 1) of the window's step losses; 0 for a 1-step window
    spread = window.std(1, correction=1) if window.shape[1] > 1 else torch.zeros_like(window[:, 0])
    result = ShardResult(
        params={k: v[inverse].cpu() for k, v in params.items()},
        step_loss=step_loss[inverse].cpu(),
        final_loss=window.mean(1)[inverse].cpu(),
        final_loss_std=spread[inverse].cpu(),
        heldout_loss=None if heldout is None else heldout[inverse].cpu(),
        seconds=time.perf_counter() - started,
        device=device,
        report_factor=arch.report_factor(),
    )
    log.debug("shard n=%d m=%d models=%d took %.1fs", spec.n, spec.m, len(models), result.seconds)
    return result


def _check_finite(step_loss: Tensor, order: Sequence[int], step: int) -> None:
    bad = ~torch.isfinite(step_loss).all(1)
    if bool(bad.any()):
        first = int(torch.nonzero(bad)[0])
        raise DivergenceError(
            f"training diverged: model {order[first]} of the shard has a non-finite loss by step {step} "
            "(lower its learning rate or |gamma|)",
            instance=order[first],
        )


@torch.no_grad()
def _heldout_loss(
    spec: ShardSpec,
    arch: Architecture,
    params: dict[str, Tensor],
    streams: list[_Stream],
    sparse: bool,
    device: str,
) -> Tensor:
    """Reported-scale loss of the final weights on `heldout_batches` fresh batches a stream (recipe §1.8)."""
    total = torch.zeros(sum(s.rows.stop - s.rows.start for s in streams), dtype=torch.float64, device=device)
    for stream in streams:
        seed = derive_seed(stream.seed, "heldout-" + stream.purpose)
        generator = torch.Generator(device=device).manual_seed(seed)
        for _ in range(spec.heldout_batches):
            batch: Batch = arch.sample(stream.probs, spec.batch, generator, sparse)
            for rows in _chunks(stream.rows, _chunk_size(spec)):
                sliced = {k: v[rows] for k, v in params.items()}
                loss, _ = arch.loss_and_grads(sliced, batch, 1.0, need_grads=False)
                total[rows] += loss
    return total / spec.heldout_batches * arch.report_factor()
