"""Model architectures the engine can train, behind one small interface.

An architecture says how to initialise a shard's parameters, how to turn a sampled batch into a loss and
its gradients, and how the optimiser treats each parameter. The engine owns everything else (data streams,
schedule, signed AdamW, logging), so a variant such as the deep or cross-entropy toy model only writes its
forward pass.

The equation once. Every architecture states the loss of ONE model on one dense batch, `loss_one(params, x)`
(e.g. the tied model's `((relu(x @ W @ W.T + b) - x) ** 2).mean()`). Its reference gradient,
`torch.func.vmap(torch.func.grad_and_value(loss_one))` over the instance dimension
(`Architecture.reference_loss_and_grads`), is the gradient path of every variant (`AutogradArchitecture`)
and the oracle of the hand-written backward of `TiedToyModel` (the hot path; tests/test_kernels.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import torch
from torch import Tensor

from superscale.train.data import SparseBatch, sample_dense, sample_sparse
from superscale.train.optim import ParamRule

__all__ = ["Architecture", "AutogradArchitecture", "Batch"]

Batch = Tensor | SparseBatch


class Architecture:
    """Interface: subclass and implement `init_params` and `loss_one`; override `loss_and_grads` only for a
    hand-written backward (then test it against `reference_loss_and_grads`)."""

    name: ClassVar[str] = ""
    #: how the optimiser treats each parameter (learning-rate group, signed decay or not)
    rules: ClassVar[dict[str, ParamRule]] = {}
    #: what the engine reports (final, held-out and curve losses): `loss_one` × `report_factor()`
    reported_scale: ClassVar[str] = "summed over features"

    def __init__(self, n: int, m: int, n_layers: int = 1, **options: Any) -> None:
        if options:
            raise ValueError(f"architecture {self.name!r} takes no options, got {sorted(options)}")
        if n_layers != 1:
            raise ValueError(f"architecture {self.name!r} has exactly 1 layer, got n_layers={n_layers!r}")
        self.n, self.m, self.n_layers = n, m, n_layers

    def init_params(self, seeds: Sequence[int]) -> dict[str, Tensor]:
        """Parameters [inst, ...] on the CPU, each instance from its own seed."""
        raise NotImplementedError

    def sample(self, probs: Tensor, batch: int, generator: torch.Generator, sparse: bool) -> Batch:
        """One batch of the paper's data; override for a different data model."""
        return sample_sparse(probs, batch, generator) if sparse else sample_dense(probs, batch, generator)

    def loss_one(self, params: dict[str, Tensor], x: Tensor, *targets: Tensor) -> Tensor:
        """The loss of ONE model (params without the instance dimension) on one dense batch x [B, n], a
        scalar on the code's scale; `targets` are any further inputs of `reference_inputs` (none by default).
        """
        raise NotImplementedError

    def report_factor(self) -> float:
        """The factor from `loss_one`'s scale to `reported_scale`: n for the squared-error models (their
        code scale is the mean over features, the paper reports the sum, docs/recipe.md §1.4)."""
        return float(self.n)

    def reference_inputs(self, batch: Batch) -> tuple[Tensor, ...]:
        """What `loss_one` takes after the parameters, shared by every instance: the dense batch."""
        return (batch.to_dense() if isinstance(batch, SparseBatch) else batch,)

    def reference_loss_and_grads(
        self, params: dict[str, Tensor], batch: Batch, loss_scale: float, need_grads: bool = True
    ) -> tuple[Tensor, dict[str, Tensor]]:
        """`loss_and_grads` derived from `loss_one` alone: vmap(grad_and_value(loss_one)) over instances.

        Floating inputs are cast to the parameters' dtype, so float64 parameters give a float64 oracle."""
        dtype = params[next(iter(params))].dtype
        inputs = tuple(t.to(dtype) if t.is_floating_point() else t for t in self.reference_inputs(batch))
        in_dims = (0,) + (None,) * len(inputs)  # every instance of a chunk reads the same batch
        if not need_grads:
            with torch.no_grad():
                return torch.func.vmap(self.loss_one, in_dims=in_dims)(params, *inputs).double(), {}
        grads, loss = torch.func.vmap(torch.func.grad_and_value(self.loss_one), in_dims=in_dims)(
            params, *inputs
        )
        if loss_scale != 1.0:
            grads = {name: grad.mul_(loss_scale) for name, grad in grads.items()}
        return loss.detach().double(), grads

    def loss_and_grads(
        self, params: dict[str, Tensor], batch: Batch, loss_scale: float, need_grads: bool = True
    ) -> tuple[Tensor, dict[str, Tensor]]:
        """Per-instance loss [inst] on the code's scale (`loss_one`) and the gradients of
        `loss_scale × loss` with respect to each parameter; by default `reference_loss_and_grads`."""
        return self.reference_loss_and_grads(params, batch, loss_scale, need_grads)

    def post_step(self, params: dict[str, Tensor]) -> None:
        """Hook after every optimiser step (e.g. a projection); nothing by default."""

    def param_count(self) -> int:
        """Trainable parameters of one instance."""
        return sum(p[0].numel() for p in self.init_params([0]).values())


class AutogradArchitecture(Architecture):
    """Base for variants: implement `loss_one`; the gradients are its vmap-grad reference
    (`Architecture.reference_loss_and_grads`). Exact by construction; a training step took 1.5–2.9× as long
    as with the hand-written backwards this replaced (cross-entropy, importance, unit norm with τ; n = 512,
    batch 512, m = 8 and 32, one thread); the paper's model keeps its hand-written hot path."""
