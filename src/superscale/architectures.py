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

import importlib
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import torch
from torch import Tensor

from superscale.data import SparseBatch, sample_dense, sample_sparse
from superscale.model import encode, init_toy_params
from superscale.optim import ParamRule

__all__ = [
    "ARCHITECTURES",
    "Architecture",
    "AutogradArchitecture",
    "Batch",
    "TiedToyModel",
    "get_architecture",
    "register_architecture",
]

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


class TiedToyModel(Architecture):
    """y = ReLU(W Wᵀ x + b), loss = mean over batch and features of (y − x)² (`loss_one`), gradients by hand.

    Forward, per instance:   h = x W [B, m];  pre = h Wᵀ + b [B, n];  y = relu(pre)
    Backward (c = 2·scale/(B n), g = c (y − x) ⊙ 1[pre > 0]):
        ∂b = Σ_B g;   ∂W = gᵀ h + xᵀ (g W)   (decoder term + encoder term)
    With a sparse batch, x is zero except at K active entries, so (y − x) differs from y only there and
    the encoder term is a scatter of K rows: the dense work is three GEMMs and two passes over [B, n].
    """

    name = "tied"
    rules: ClassVar[dict[str, ParamRule]] = {"W": ParamRule("W", True), "b": ParamRule("b", False)}

    def init_params(self, seeds: Sequence[int]) -> dict[str, Tensor]:
        W, b = init_toy_params(self.n, self.m, seeds)
        return {"W": W, "b": b}

    def loss_one(self, params: dict[str, Tensor], x: Tensor, *targets: Tensor) -> Tensor:
        """The paper's loss (recipe §1.2, on the code's scale): mean over batch and features of (y − x)²."""
        W, b = params["W"], params["b"]
        return ((torch.relu(x @ W @ W.T + b) - x) ** 2).mean()

    #: "sparse": the backward over the entries where it is non-zero plus a low-rank part (superscale.kernels,
    #: CPU only); "dense": three GEMMs over [inst, B, n]; "auto": sparse on a CPU, dense on a GPU (whose
    #: GEMMs run near peak, and whose compaction would need a host sync). On a CPU the sparse path costs
    #: about what the dense GEMMs cost at ~20 % non-zero entries (the first steps) and far less later.
    BACKWARDS = ("auto", "sparse", "dense")

    def __init__(self, n: int, m: int, n_layers: int = 1, backward: str = "auto", **options: Any) -> None:
        super().__init__(n, m, n_layers, **options)
        if backward not in self.BACKWARDS:
            raise ValueError(f"backward must be one of {self.BACKWARDS}, got {backward!r}")
        self.backward = backward
        self._workspace: dict[tuple[str, tuple[int, ...]], Tensor] = {}
        # per chunk of instances (keyed by the data pointer of its W, stable across steps): the column
        # split of the sparse backward, chosen from each instance's own previous step, so a run's numbers
        # do not depend on the other runs of its chunk
        self._signs: dict[tuple[int, tuple[int, ...]], Tensor] = {}

    def _buffer(self, name: str, shape: tuple[int, ...], like: Tensor) -> Tensor:
        """A reused scratch tensor: fresh [inst, B, n] allocations cost page faults on every step on a
        CPU, which took longer than the GEMM that fills them."""
        key = (name, shape)
        buffer = self._workspace.get(key)
        if buffer is None or buffer.dtype != like.dtype or buffer.device != like.device:
            buffer = self._workspace[key] = torch.empty(shape, dtype=like.dtype, device=like.device)
        return buffer

    def loss_and_grads(
        self, params: dict[str, Tensor], batch: Batch, loss_scale: float, need_grads: bool = True
    ) -> tuple[Tensor, dict[str, Tensor]]:
        W, b = params["W"], params["b"]
        n_inst, n, m = W.shape
        n_batch = batch.batch if isinstance(batch, SparseBatch) else batch.shape[-2]
        if need_grads and isinstance(batch, SparseBatch) and self._use_sparse(W, b):
            return self._sparse_loss_and_grads(W, b, batch, loss_scale)
        # the bias rides in the GEMMs: with h⁺ = [h, 1] and W⁺ = [W, b], pre = h⁺ W⁺ᵀ and the last row
        # of h⁺ᵀ g is Σ_B g = ∂b, which saves two passes over [inst, B, n] per step
        W_aug = self._buffer("W_aug", (n_inst, n, m + 1), W)
        W_aug[..., :m].copy_(W)
        W_aug[..., m].copy_(b)
        h_aug = self._encode_augmented(W, batch, n_batch)  # [inst, B, m + 1]
        y = torch.bmm(h_aug, W_aug.transpose(1, 2), out=self._buffer("y", (n_inst, n_batch, n), W)).relu_()
        numel = n_batch * n
        if isinstance(batch, SparseBatch):
            flat_idx = batch.sample_idx * n + batch.feature_idx  # positions of the active entries in [B·n]
            v = batch.values.to(y.dtype)
            y_flat = y.view(n_inst, numel)
            y_act = y_flat.index_select(1, flat_idx)  # [inst, K]
            sum_sq = torch.linalg.vector_norm(y, dim=(1, 2)).double().square()
            correction = ((y_act - v).square() - y_act.square()).sum(1, dtype=torch.float64)
            loss = (sum_sq + correction) / numel
            if not need_grads:
                return loss, {}
            # y becomes the masked residual (y − x)·1[pre > 0]: only the active entries change
            y_flat.index_copy_(1, flat_idx, torch.where(y_act > 0, y_act - v, torch.zeros_like(y_act)))
            residual = y
        else:
            active = y > 0
            diff = y.sub_(batch)  # y − x in place; x [B, n] shared or [inst, B, n]
            loss = torch.linalg.vector_norm(diff, dim=(1, 2)).double().square() / numel
            if not need_grads:
                return loss, {}
            residual = diff.mul_(active)
        coef = 2.0 * loss_scale / numel
        grads_t = torch.bmm(h_aug.transpose(1, 2), residual, out=self._buffer("gWt", (n_inst, m + 1, n), W))
        grad_W = grads_t[:, :m, :].transpose(1, 2).mul_(coef)  # decoder term gᵀh, [inst, n, m] (strided)
        grad_b = grads_t[:, m, :].mul_(coef)
        grad_h = torch.bmm(residual, W, out=self._buffer("gh", (n_inst, n_batch, m), W)).mul_(coef)
        if isinstance(batch, SparseBatch):
            rows = grad_h.index_select(1, batch.sample_idx).mul_(batch.values.to(W.dtype)[None, :, None])
            grad_W.index_add_(1, batch.feature_idx, rows)  # encoder term xᵀ(g W), K rows
        else:
            grad_W.add_(torch.matmul(batch.transpose(-1, -2), grad_h))
        return loss, {"W": grad_W, "b": grad_b}

    @staticmethod
    def _split_key(W: Tensor) -> tuple[int, tuple[int, ...]]:
        """A chunk's key: where its W lives and its shape (a reused address with another shape is a
        different chunk, never a sign vector of the wrong length)."""
        return W.data_ptr(), tuple(W.shape)

    def _use_sparse(self, W: Tensor, b: Tensor) -> bool:
        """The sparse backward runs on CPU tensors unless "dense" was asked for."""
        if self.backward == "dense" or W.device.type != "cpu":
            return False
        if self._split_key(W) not in self._signs:
            # first step: a column whose bias is positive is on for most samples (W·h starts small next to
            # the spread of b), so it starts in A
            self._signs[self._split_key(W)] = torch.where(b > 0, -1.0, 1.0).to(W.dtype)
        return True

    def _sparse_loss_and_grads(
        self, W: Tensor, b: Tensor, batch: SparseBatch, loss_scale: float
    ) -> tuple[Tensor, dict[str, Tensor]]:
        """The backward over the entries where it is non-zero plus a rank-(m+1) part; see kernels.py."""
        from superscale import kernels

        n_inst, n, m = W.shape
        n_batch = batch.batch
        sign = self._signs[self._split_key(W)]  # [inst, n]: +1 mostly off (S), −1 mostly on (A)
        W_aug = self._buffer("W_aug", (n_inst, n, m + 1), W)
        W_aug[..., :m].copy_(W)
        W_aug[..., m].copy_(b)
        h_aug = self._encode_augmented(W, batch, n_batch)  # [inst, B, m + 1]

        # the always-on columns A: their part of the residual is P_A = h⁺ W⁺_Aᵀ, rank m + 1
        W_A = W_aug * (sign < 0).to(W.dtype)[..., None]
        gram = torch.bmm(h_aug.transpose(1, 2), h_aug)  # h⁺ᵀh⁺ [inst, m+1, m+1]
        grad_dec = torch.bmm(W_A, gram)  # P_Aᵀ h⁺ = W⁺_A (h⁺ᵀh⁺) [inst, n, m+1]
        sum_sq_A = (grad_dec * W_A).sum((1, 2), dtype=torch.float64)  # Σ_{b, j∈A} P_bj²
        grad_h = torch.bmm(h_aug, torch.bmm(W_A.transpose(1, 2), W))  # P_A W [inst, B, m]

        # the forward GEMM with the signs folded into W⁺ gives s ⊙ P directly
        W_aug.mul_(sign[..., None])
        Q = torch.bmm(h_aug, W_aug.transpose(1, 2), out=self._buffer("y", (n_inst, n_batch, n), W))
        arrays = (Q.numpy(), h_aug.numpy(), W.detach().numpy(), sign.numpy())
        sum_sq_S, positives = kernels.scan_positive(*arrays, grad_dec.numpy(), grad_h.numpy())
        values = batch.values.to(W.dtype)
        cross = kernels.active_terms(
            *arrays,
            batch.sample_idx.numpy(),
            batch.feature_idx.numpy(),
            values.numpy(),
            grad_dec.numpy(),
            grad_h.numpy(),
        )
        numel = n_batch * n
        sum_sq_x = values.double().square().sum()
        loss = (torch.from_numpy(sum_sq_S) + sum_sq_A + sum_sq_x - 2 * torch.from_numpy(cross)) / numel

        on = torch.where(sign > 0, torch.from_numpy(positives), n_batch - torch.from_numpy(positives))
        sign.copy_(torch.where(2 * on > n_batch, -1.0, 1.0))  # next step's split
        coef = 2.0 * loss_scale / numel
        return loss, {"W": grad_dec[..., :m].mul_(coef), "b": grad_dec[..., m].mul_(coef)}

    def _encode_augmented(self, W: Tensor, batch: Batch, n_batch: int) -> Tensor:
        """h⁺ = [x W, 1] [inst, B, m + 1]; a sparse batch is a gather-sum of the active rows of W."""
        n_inst, _, m = W.shape
        h_aug = self._buffer("h_aug", (n_inst, n_batch, m + 1), W)
        h_aug[..., m] = 1.0
        if isinstance(batch, SparseBatch):
            rows = W.index_select(1, batch.feature_idx).mul_(batch.values.to(W.dtype)[None, :, None])
            h_aug[..., :m].zero_().index_add_(1, batch.sample_idx, rows)
        else:
            h_aug[..., :m].copy_(encode(W, batch))
        return h_aug


class AutogradArchitecture(Architecture):
    """Base for variants: implement `loss_one`; the gradients are its vmap-grad reference
    (`Architecture.reference_loss_and_grads`). Exact by construction; a training step took 1.5–2.9× as long
    as with the hand-written backwards this replaced (cross-entropy, importance, unit norm with τ; n = 512,
    batch 512, m = 8 and 32, one thread); the paper's model keeps its hand-written hot path."""


ARCHITECTURES: dict[str, Callable[..., Architecture]] = {"tied": TiedToyModel}

#: modules whose import registers more architectures (deep; cross_entropy, unit_norm, importance)
PLUGIN_MODULES = ("superscale.aspect.deep", "superscale.variants")


def register_architecture(name: str, factory: Callable[..., Architecture]) -> None:
    """Make `name` usable in ShardSpec.architecture and in sweep configs."""
    ARCHITECTURES[name] = factory


def get_architecture(name: str, n: int, m: int, n_layers: int = 1, **options: Any) -> Architecture:
    """Instantiate a registered architecture by name."""
    if name not in ARCHITECTURES:
        for module in PLUGIN_MODULES:
            importlib.import_module(module)
    if name not in ARCHITECTURES:
        raise ValueError(f"unknown architecture {name!r}; known: {sorted(ARCHITECTURES)}")
    return ARCHITECTURES[name](n, m, n_layers=n_layers, **options)
