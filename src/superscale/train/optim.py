"""AdamW with the paper's *signed* decoupled weight decay, vectorised over instances (recipe §1.5–1.6).

For one parameter tensor p with weight decay γ and current learning rate η_t, each step does, in order:

    γ ≥ 0:  p ← p · (1 − η_t γ)                                   (standard decoupled decay)
    γ < 0:  p_i ← p_i + η_t γ (1 − 1/(‖p_i‖₂ + 1e-8)) p_i  per row  (pulls every row norm towards 1)
    Adam:   m ← β1 m + (1−β1) g;  v ← β2 v + (1−β2) g²
            p ← p − (η_t/(1−β1^t)) · m / (sqrt(v)/sqrt(1−β2^t) + eps)

Here every instance has its own γ and its own peak learning rate per parameter group, so one call updates
a whole shard of models. The bias is undecayed (its decay branch multiplies by 1).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

__all__ = ["ParamRule", "SignedAdamW", "lr_multiplier", "signed_decay_"]

ROW_NORM_EPS = 1e-8  # the authors' code adds this to the row norm (docs/recipe.md §1.5, §7 item 5)


def lr_multiplier(step: int, total_steps: int, warmup_steps: int, floor: float) -> float:
    """Warm-up then cosine decay to `floor` × peak, with the code's s = step + 1 indexing (recipe §1.6).

    s < warmup:  s / warmup
    otherwise:   (1 − floor) · ½ (1 + cos(π (s − warmup)/(total − warmup))) + floor
    """
    s = step + 1
    if s < warmup_steps:
        return s / warmup_steps
    span = max(total_steps - warmup_steps, 1)
    return (1.0 - floor) * 0.5 * (1.0 + math.cos(math.pi * (s - warmup_steps) / span)) + floor


@dataclass(frozen=True)
class ParamRule:
    """How the optimiser treats one named parameter: its learning-rate group and whether γ applies."""

    lr_group: str  # "W" or "b": which per-instance peak learning rate to use
    decay: bool  # apply the signed decay (rows = last dimension) with the instance's γ


def signed_decay_(p: Tensor, lr_gamma: Tensor) -> None:
    """Apply the signed decay in place; `lr_gamma` [inst] is η_t·γ per instance, p is [inst, ..., row]."""
    view = (-1,) + (1,) * (p.ndim - 1)
    lr_gamma = lr_gamma.to(p.dtype).view(view)
    shrink = 1 - lr_gamma  # γ ≥ 0
    if bool((lr_gamma < 0).any()):
        norms = torch.linalg.vector_norm(p, dim=-1, keepdim=True) + ROW_NORM_EPS
        pull = 1 + lr_gamma * (1 - 1 / norms)  # γ < 0, per row
        p.mul_(torch.where(lr_gamma >= 0, shrink, pull))
    else:
        p.mul_(shrink)


class SignedAdamW:
    """Vectorised AdamW state for a shard; `step` may update any contiguous slice of instances."""

    def __init__(
        self,
        params: dict[str, Tensor],
        rules: dict[str, ParamRule],
        gamma: Tensor,
        peak_lr: dict[str, Tensor],
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        fused: bool = True,
    ) -> None:
        missing = set(params) - set(rules)
        if missing:
            raise ValueError(f"no optimiser rule for parameters {sorted(missing)}")
        self.rules = rules
        self.gamma = gamma.to(torch.float64)
        self.peak_lr = {k: v.to(torch.float64) for k, v in peak_lr.items()}
        self.betas = betas
        self.eps = eps
        self.exp_avg = {k: torch.zeros_like(v) for k, v in params.items()}
        self.exp_avg_sq = {k: torch.zeros_like(v) for k, v in params.items()}
        #: one fused pass per parameter on a CPU (superscale.train.kernels.adamw_step); torch ops elsewhere
        self.fused = fused

    def step(
        self,
        params: dict[str, Tensor],
        grads: dict[str, Tensor],
        t: int,
        lr_mult: float,
        rows: slice = slice(None),
    ) -> None:
        """One AdamW step number `t` (1-based) for instances `rows`; params and grads are full/sliced."""
        beta1, beta2 = self.betas
        bias1 = 1 - beta1**t
        bias2_sqrt = math.sqrt(1 - beta2**t)
        for name, grad in grads.items():
            rule = self.rules[name]
            p = params[name][rows]
            lr = self.peak_lr[rule.lr_group][rows] * lr_mult  # [inst] float64
            exp_avg = self.exp_avg[name][rows]
            exp_avg_sq = self.exp_avg_sq[name][rows]
            if self.fused and _fusable(p, exp_avg, exp_avg_sq) and grad.dtype == p.dtype:
                from superscale.train.kernels import adamw_step

                p_rows, g_rows, m_rows, v_rows = (_as_rows(x).numpy() for x in (p, grad, exp_avg, exp_avg_sq))
                adamw_step(
                    p_rows,
                    g_rows,
                    m_rows,
                    v_rows,
                    lr.numpy(),
                    (lr * self.gamma[rows]).numpy(),
                    self.betas,
                    t,
                    self.eps,
                    rule.decay,
                )
                continue
            if rule.decay:
                signed_decay_(p, lr * self.gamma[rows])
            exp_avg.mul_(beta1).add_(grad, alpha=1 - beta1)
            exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
            denom = (exp_avg_sq.sqrt() / bias2_sqrt).add_(self.eps)
            step_size = (lr / bias1).to(p.dtype).view((-1,) + (1,) * (p.ndim - 1))
            p.sub_(exp_avg.div(denom).mul_(step_size))


def _fusable(*state: Tensor) -> bool:
    """The fused kernel updates contiguous float CPU tensors [inst, ...] in place (the gradient may be
    a strided view: the kernel reads it through its strides)."""
    first = state[0]
    return (
        first.ndim >= 2
        and first.device.type == "cpu"
        and first.dtype in (torch.float32, torch.float64)
        and all(t.is_contiguous() and t.dtype == first.dtype and not t.requires_grad for t in state)
    )


def _as_rows(t: Tensor) -> Tensor:
    """[inst, ..., row] as [inst, rows, row] without a copy for the state (contiguous) and 2-D/3-D grads."""
    if t.ndim == 3:
        return t
    if t.ndim == 2:
        return t.unsqueeze(1)
    return t.reshape(t.shape[0], -1, t.shape[-1])
