"""The paper's tied toy model with its hand-written backward (the hot path of every sweep)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import torch
from torch import Tensor

from superscale.train import active_torch
from superscale.train.active import ActiveBatch, ActiveStep, group_by_sample
from superscale.train.architectures.base import Architecture, Batch
from superscale.train.data import SparseBatch
from superscale.train.model import encode, init_toy_params
from superscale.train.optim import ParamRule
from superscale.train.paths import prefer_active

__all__ = ["TiedToyModel"]

log = logging.getLogger(__name__)

#: h⁺, W, signs, ∂decoder, ∂h of a chunk as numpy views, in the order the kernels take them
_Arrays = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]


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

    #: "active": loss and gradients at a cost set by the batch's distinct active features (superscale.train.
    #: active: numba on a CPU, active_torch elsewhere); "sparse": the forward GEMM, then the backward over
    #: the entries where it is non-zero plus a low-rank part (superscale.train.kernels, CPU only); "dense":
    #: three GEMMs over [inst, B, n]. "auto" picks per step from the batch (`active.prefer_active`: the
    #: active path when its cost model beats one forward GEMM; else sparse on a CPU, dense on a GPU). Every
    #: path is exact: the choice changes the numbers only at float round-off.
    BACKWARDS = ("auto", "active", "sparse", "dense")

    def __init__(
        self, n: int, m: int, n_layers: int = 1, backward: str = "auto", screen: bool = True, **options: Any
    ) -> None:
        super().__init__(n, m, n_layers, **options)
        if backward not in self.BACKWARDS:
            raise ValueError(f"backward must be one of {self.BACKWARDS}, got {backward!r}")
        if not isinstance(screen, bool):
            raise ValueError(f"screen must be true or false, got {screen!r}")
        self.backward = backward
        #: the sparse backward finds the positive entries through a bfloat16 screen once they are few (exact
        #: either way; `_screened_scan`); False keeps the float32 GEMM throughout (bench/engine.py compares)
        self.screen = screen
        self._workspace: dict[tuple[str, tuple[int, ...]], Tensor] = {}
        # per chunk of instances (keyed by the data pointer of its W, stable across steps): the column
        # split of the sparse backward, chosen from each instance's own previous step, so a run's numbers
        # do not depend on the other runs of its chunk
        self._signs: dict[tuple[int, tuple[int, ...]], Tensor] = {}
        self._positive_fraction: dict[tuple[int, tuple[int, ...]], float] = {}  # previous step's, per chunk
        self.screen_candidates = 0  # the last screened step's candidates (the tests check them)
        self._active: ActiveStep | None = None  # the active path's per-chunk state (its mode history)
        self._grouped: tuple[SparseBatch, ActiveBatch] | None = None  # the last batch, grouped once
        self._choice: tuple[SparseBatch, bool] | None = None  # the last batch and the path it takes
        self._logged_fallback = False
        self.last_path = ""  # the path the last call took (the bench and the tests read it)
        self.importance: Tensor | None = None  # per-feature weights of the squared error (a subclass's)

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
        if isinstance(batch, SparseBatch) and self._use_active(W, batch):
            self.last_path = "active"
            return self._active_loss_and_grads(W, b, batch, loss_scale, need_grads, params.get("tau"))
        if self.importance is not None or "tau" in params:  # variants the hand-written paths do not cover
            self.last_path = "reference"
            return self.reference_loss_and_grads(params, batch, loss_scale, need_grads)
        if need_grads and isinstance(batch, SparseBatch) and self._use_sparse(W, b):
            self.last_path = "sparse"
            return self._sparse_loss_and_grads(W, b, batch, loss_scale)
        self.last_path = "dense"
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

    def _use_active(self, W: Tensor, batch: SparseBatch) -> bool:
        """ "active" always; "auto" when the cost model (superscale.train.paths) finds the batch's active
        features cheaper than a pass over the whole batch; decided once per batch, for every chunk."""
        if self.backward != "auto":
            return self.backward == "active"
        if self._choice is None or self._choice[0] is not batch:
            _, n, m = W.shape
            distinct = int(torch.unique(batch.feature_idx).numel())
            use = prefer_active(n, m, batch.batch, distinct, batch.n_active, W.device.type)
            self._choice = (batch, use)
            if not use and not self._logged_fallback:
                log.debug(
                    "batch of %d entries over %d features: the whole-batch path is cheaper",
                    batch.n_active,
                    distinct,
                )
                self._logged_fallback = True
        return self._choice[1]

    def _active_loss_and_grads(
        self,
        W: Tensor,
        b: Tensor,
        batch: SparseBatch,
        loss_scale: float,
        need_grads: bool,
        tau: Tensor | None,
    ) -> tuple[Tensor, dict[str, Tensor]]:
        """The active-feature path: numba on a CPU (the batch grouped once for every chunk), the same
        identity in torch ops elsewhere."""
        if W.device.type != "cpu":
            return active_torch.loss_and_grads(
                W, b, batch.sample_idx, batch.feature_idx, batch.values, batch.batch, loss_scale, need_grads,
                self.importance, tau,
            )  # fmt: skip
        if self._grouped is None or self._grouped[0] is not batch:
            grouped = group_by_sample(batch.sample_idx, batch.feature_idx, batch.values, batch.batch, batch.n)
            self._grouped = (batch, grouped)
        if self._active is None:
            self._active = ActiveStep()
        return self._active.loss_and_grads(
            W, b, self._grouped[1], loss_scale, need_grads, importance=self.importance, tau=tau
        )

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
        from superscale.train import kernels

        n_inst, n, m = W.shape
        n_batch = batch.batch
        sign = self._signs[self._split_key(W)]  # [inst, n]: +1 mostly off (S), −1 mostly on (A)
        W_aug = self._buffer("W_aug", (n_inst, n, m + 1), W)
        W_aug[..., :m].copy_(W)
        W_aug[..., m].copy_(b)
        h_aug = self._encode_augmented(W, batch, n_batch)  # [inst, B, m + 1]
        grad_dec = self._buffer("grad_dec", (n_inst, n, m + 1), W)
        grad_h = self._buffer("grad_h", (n_inst, n_batch, m), W)
        sum_sq_A = self._low_rank_part(W_aug, h_aug, sign, grad_dec, grad_h)

        # the forward GEMM with the signs folded into W⁺ gives s ⊙ P directly
        W_aug.mul_(sign[..., None])
        arrays: _Arrays = (h_aug.numpy(), W.detach().numpy(), sign.numpy(), grad_dec.numpy(), grad_h.numpy())
        sumsq = np.zeros(n_inst, dtype=np.float64)
        positives = np.zeros((n_inst, n), dtype=np.int64)
        key = self._split_key(W)
        if self.screen and self._positive_fraction.get(key, 1.0) <= self.SCREEN_MAX_FRACTION:
            act_b, act_j, values, pre_act = self._screened_scan(W_aug, h_aug, batch, arrays, sumsq, positives)
        else:
            act_b, act_j, values, pre_act = self._tiled_scan(W_aug, h_aug, batch, arrays, sumsq, positives)
        self._positive_fraction[key] = float(positives.sum()) / (n_inst * n_batch * n)
        cross = kernels.active_terms(
            pre_act.numpy(), arrays[0], arrays[1], act_b.numpy(), act_j.numpy(), values.numpy(), *arrays[3:]
        )
        numel = n_batch * n
        sum_sq_x = values.double().square().sum()
        loss = (torch.from_numpy(sumsq) + sum_sq_A + sum_sq_x - 2 * torch.from_numpy(cross)) / numel

        on = torch.where(sign > 0, torch.from_numpy(positives), n_batch - torch.from_numpy(positives))
        sign.copy_(torch.where(2 * on > n_batch, -1.0, 1.0))  # next step's split
        coef = 2.0 * loss_scale / numel
        return loss, {"W": grad_dec[..., :m].mul_(coef), "b": grad_dec[..., m].mul_(coef)}

    def _tiled_scan(
        self,
        W_sign: Tensor,
        h_aug: Tensor,
        batch: SparseBatch,
        arrays: _Arrays,
        sumsq: np.ndarray,
        positives: np.ndarray,
    ) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """The exact scan: s ⊙ P by float32 GEMMs a tile of rows at a time, each tile scanned while it is
        still in cache (written whole, [inst, B, n] went to memory and came back: measured, that round trip
        was as long as the scan itself at small m). Returns the active entries in sample order with P there.
        """
        from superscale.train import kernels

        n_inst, n_batch, _ = h_aug.shape
        n = W_sign.shape[1]
        order = torch.argsort(batch.sample_idx, stable=True)  # so each tile reads P at its own ones
        act_b, act_j = batch.sample_idx[order], batch.feature_idx[order]
        values = batch.values.to(h_aug.dtype)[order]
        pre_act = torch.empty(n_inst, values.numel(), dtype=h_aug.dtype)
        rows = self._tile_rows(n_inst, n)
        starts = list(range(0, n_batch, rows))
        bounds = torch.searchsorted(act_b, torch.tensor([*starts[1:], n_batch])).tolist()
        lo = 0
        for start, hi in zip(starts, bounds, strict=True):
            stop = min(start + rows, n_batch)
            Q = self._buffer("Q", (n_inst, stop - start, n), h_aug)
            torch.bmm(h_aug[:, start:stop], W_sign.transpose(1, 2), out=Q)
            tile_active = (act_b.numpy(), act_j.numpy(), lo, hi, pre_act.numpy())
            kernels.scan_positive(Q.numpy(), start, *arrays, sumsq, positives, tile_active)
            lo = hi
        return act_b, act_j, values, pre_act

    def _screened_scan(
        self,
        W_sign: Tensor,
        h_aug: Tensor,
        batch: SparseBatch,
        arrays: _Arrays,
        sumsq: np.ndarray,
        positives: np.ndarray,
    ) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """The screened scan: s ⊙ P in bfloat16 (twice the GEMM throughput and half the bytes on a CPU with
        AVX512-BF16), then every entry that the rounding bound cannot rule out as ≤ 0 is recomputed exactly
        in float32 (superscale.train.kernels.screen_limits). Exact: no positive entry can hide below the
        bound; the
        candidates are a few times the positives, which is why it runs only once those are few."""
        from superscale.train import kernels

        n_inst, n_batch, _ = h_aug.shape
        n = W_sign.shape[1]
        # the screen multiplies by unit columns Ŵ⁺_j = W⁺_j / ‖W⁺_j‖: s ⊙ P / ‖W⁺_j‖ has the sign of s ⊙ P and
        # its rounding bound is the same for every column, SCREEN_BOUND · ‖h⁺_b‖ (one limit per row)
        h_norm = torch.linalg.vector_norm(h_aug, dim=2)
        w_norm = torch.linalg.vector_norm(W_sign, dim=2, keepdim=True)
        limit = kernels.screen_limits(h_norm.numpy())
        h16 = h_aug.to(torch.bfloat16)
        W16_t = (W_sign / w_norm.clamp_min(torch.finfo(W_sign.dtype).tiny)).to(torch.bfloat16).transpose(1, 2)
        W_sign_np = W_sign.numpy()
        candidates = np.zeros(n_inst, dtype=np.int64)
        rows = self._tile_rows(n_inst, n)
        for start in range(0, n_batch, rows):
            stop = min(start + rows, n_batch)
            Q16 = self._buffer("Q16", (n_inst, stop - start, n), h16)
            torch.bmm(h16[:, start:stop], W16_t, out=Q16)
            bits = Q16.view(torch.int16).numpy().view(np.uint16)
            kernels.screen_positive(
                bits, start, limit, arrays[0], W_sign_np, *arrays[1:], sumsq, positives, candidates
            )
        values = batch.values.to(h_aug.dtype)
        act_b, act_j = batch.sample_idx, batch.feature_idx
        pre_act = kernels.active_products(arrays[0], W_sign_np, arrays[2], act_b.numpy(), act_j.numpy())
        self.screen_candidates = int(candidates.sum())
        return act_b, act_j, values, torch.from_numpy(pre_act)

    #: bytes of one tile of s ⊙ P [inst, rows, n], so the scan reads what the GEMM just wrote from cache
    #: (L3 is 32 MiB on the bench machine); at least TILE_MIN_ROWS rows, where the GEMM stays efficient
    TILE_BYTES = 8 * 2**20
    TILE_MIN_ROWS = 128
    #: the screened scan runs on a chunk whose previous step had at most this fraction of positive entries
    #: (early training is denser: there the candidates would cost more than the bfloat16 GEMM saves)
    SCREEN_MAX_FRACTION = 0.02

    def _tile_rows(self, n_inst: int, n: int) -> int:
        return max(self.TILE_MIN_ROWS, self.TILE_BYTES // (4 * n_inst * n) // 16 * 16)

    def _low_rank_part(
        self, W_aug: Tensor, h_aug: Tensor, sign: Tensor, grad_dec: Tensor, grad_h: Tensor
    ) -> Tensor:
        """Write the always-on columns' part into grad_dec (P_Aᵀ h⁺) and grad_h (P_A W); return Σ P_A² [I].

        P_A = h⁺ W⁺_Aᵀ has rank m + 1, so everything goes through two (m+1)² matrices, the Gram matrix
        G = h⁺ᵀh⁺ and C = W⁺_Aᵀ W⁺_A: P_Aᵀh⁺ = W⁺_A G, P_A W = h⁺ C[:, :m], Σ P_A² = Σ C ⊙ G. In strong
        superposition A is usually empty (every output is filtered by its bias): such instances get exact
        zeros without any product, and only the others go through the GEMMs.
        """
        n_inst, _, m1 = W_aug.shape
        on = (sign < 0).to(W_aug.dtype)
        has_on = on.any(1)
        grad_dec.zero_()
        grad_h.zero_()
        sum_sq = torch.zeros(n_inst, dtype=torch.float64)
        if not bool(has_on.any()):
            return sum_sq
        rows = torch.nonzero(has_on).flatten() if not bool(has_on.all()) else None
        if rows is not None:
            W_aug, h_aug, on = W_aug[rows], h_aug[rows], on[rows]
        W_A = W_aug.mul_(on[..., None]) if rows is not None else W_aug * on[..., None]
        gram = torch.bmm(h_aug.transpose(1, 2), h_aug)
        cross = torch.bmm(W_A.transpose(1, 2), W_A)
        dec = torch.bmm(W_A, gram)
        ph = torch.bmm(h_aug, cross[..., : m1 - 1].contiguous())  # a strided operand took MKL's slow path
        part = (cross * gram).sum((1, 2), dtype=torch.float64)
        if rows is None:
            grad_dec.copy_(dec)
            grad_h.copy_(ph)
            return part
        grad_dec.index_copy_(0, rows, dec)
        grad_h.index_copy_(0, rows, ph)
        return sum_sq.index_copy_(0, rows, part)

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
