"""The plain, readable per-model loop of the paper's recipe: the engine's oracle.

This is what the authors' scripts do for one model (exp-10.py / adamw.py, docs/recipe.md §1), written with
torch.autograd and python floats, no vectorisation. Tests and bench/engine.py compare the engine to it.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor


def paper_lr(step: int, lr0: float, total: int, warmup: int, floor_fraction: float = 0.05) -> float:
    """get_lr of the authors' scripts, with s = step + 1 (docs/recipe.md §1.6)."""
    s = step + 1
    if s < warmup:
        return lr0 * s / warmup
    lr_min = floor_fraction * lr0
    return (lr0 - lr_min) * 0.5 * (1 + math.cos(math.pi * (s - warmup) / (total - warmup))) + lr_min


class PaperAdamW:
    """Single-model AdamW with the signed weight decay, as docs/recipe.md §1.5 (one tensor per group)."""

    def __init__(self, groups: list[dict], betas=(0.9, 0.999), eps=1e-8) -> None:
        self.groups = groups  # each: {"params": [tensor], "lr": float, "weight_decay": float}
        self.betas, self.eps, self.t = betas, eps, 0
        self.state = {id(p): (torch.zeros_like(p), torch.zeros_like(p)) for g in groups for p in g["params"]}

    @torch.no_grad()
    def step(self) -> None:
        self.t += 1
        beta1, beta2 = self.betas
        for group in self.groups:
            lr, wd = group["lr"], group["weight_decay"]
            for p in group["params"]:
                if wd >= 0:
                    p.mul_(1 - lr * wd)
                else:
                    norms = p.norm(dim=-1, keepdim=True) + 1e-8
                    p.add_(lr * wd * (1 - 1 / norms) * p)
                m, v = self.state[id(p)]
                m.mul_(beta1).add_(p.grad, alpha=1 - beta1)
                v.mul_(beta2).addcmul_(p.grad, p.grad, value=1 - beta2)
                denom = (v.sqrt() / math.sqrt(1 - beta2**self.t)).add_(self.eps)
                p.addcdiv_(m, denom, value=-lr / (1 - beta1**self.t))


def train_plain(
    W0: Tensor,
    b0: Tensor,
    next_batch: Callable[[], Tensor],
    gamma: float,
    lr_W: float,
    lr_b: float,
    steps: int,
    warmup: int,
    floor: float = 0.05,
    loss_scale: float = 1.0,
) -> tuple[Tensor, Tensor, list[float]]:
    """Train one model on dense batches from `next_batch`; returns final W, b and per-step losses."""
    W = W0.clone().requires_grad_(True)
    b = b0.clone().requires_grad_(True)
    optimiser = PaperAdamW(
        [{"params": [W], "lr": lr_W, "weight_decay": gamma}, {"params": [b], "lr": lr_b, "weight_decay": 0.0}]
    )
    losses = []
    for step in range(steps):
        mult = paper_lr(step, 1.0, steps, warmup, floor)
        optimiser.groups[0]["lr"] = lr_W * mult
        optimiser.groups[1]["lr"] = lr_b * mult
        x = next_batch()
        y = torch.relu(x @ W @ W.T + b)
        loss = torch.nn.functional.mse_loss(y, x)
        W.grad = b.grad = None
        (loss * loss_scale).backward()
        optimiser.step()
        losses.append(loss.item())
    return W.detach(), b.detach(), losses
