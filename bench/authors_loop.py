"""The baseline the engine is timed against: the authors' training loop, as fast as they wrote it.

This restates what the authors' small-model script does for one (γ, α) task (Liu, Liu & Gore 2025,
their `exp-10.py` with `adamw.py`): dense data drawn with two `torch.rand` calls,
`relu(x @ W @ W.T + b)`, `mse_loss`, autograd, and a `torch.optim.Optimizer` subclass applying the signed
weight decay before a standard Adam update. Nothing is vectorised across models: each model is its own
loop, which is how the paper's grid was trained (one CPU process per task, the six widths in sequence).

`tests/oracle.py` is the same recipe written for exactness checks (python floats, explicit state); it is
slower, so it is not the competitor.
"""

from __future__ import annotations

import math

import torch
from tests.oracle import paper_lr
from torch import Tensor


class AuthorsAdamW(torch.optim.Optimizer):
    """AdamW with the signed decoupled decay (γ < 0 pulls each row norm towards 1), per param group."""

    def __init__(self, params, lr: float = 1e-2, betas=(0.9, 0.999), eps: float = 1e-8, weight_decay=0.0):
        super().__init__(params, {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay})

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            lr, wd = group["lr"], group["weight_decay"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if not state:
                    state["step"] = 0
                    state["exp_avg"] = torch.zeros_like(p)
                    state["exp_avg_sq"] = torch.zeros_like(p)
                state["step"] += 1
                if wd >= 0:
                    p.mul_(1 - lr * wd)
                else:
                    norm = p.norm(dim=-1, keepdim=True) + 1e-8
                    p.add_(lr * wd * (1 - 1 / norm) * p)
                exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
                exp_avg.lerp_(p.grad, 1 - beta1)
                exp_avg_sq.mul_(beta2).addcmul_(p.grad, p.grad, value=1 - beta2)
                bias1 = 1 - beta1 ** state["step"]
                bias2 = 1 - beta2 ** state["step"]
                denom = (exp_avg_sq.sqrt() / math.sqrt(bias2)).add_(group["eps"])
                p.addcdiv_(exp_avg, denom, value=-lr / bias1)


def train_authors(
    W0: Tensor, b0: Tensor, probs: Tensor, gamma: float, lr0: float, steps: int, warmup: int, batch: int
) -> list[float]:
    """One model, the authors' way; returns the per-step losses (mean over batch and features)."""
    n = probs.numel()
    p = probs.float()
    W = torch.nn.Parameter(W0.clone())
    b = torch.nn.Parameter(b0.clone())
    optimiser = AuthorsAdamW(
        [{"params": [W], "weight_decay": gamma}, {"params": [b], "weight_decay": 0.0}], lr=lr0
    )
    losses = []
    for step in range(steps):
        lr = paper_lr(step, lr0, steps, warmup)  # their get_lr, restated once in tests/oracle.py
        for group in optimiser.param_groups:
            group["lr"] = lr
        x = (torch.rand(batch, n) < p).float() * torch.rand(batch, n) * 2
        y = torch.relu(x @ W @ W.T + b)
        loss = torch.nn.functional.mse_loss(y, x)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        losses.append(loss.item())
    return losses
