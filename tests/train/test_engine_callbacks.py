"""The engine's callbacks: `on_loss` hands each step's losses in the order of `spec.models` (the engine
reorders models by data stream internally), on the reported scale, just before `on_step`."""

from __future__ import annotations

import torch

from superscale.train.data import power_law_probs
from superscale.train.engine import ModelSpec, ShardSpec, train_shard


def test_on_loss_gives_each_step_losses_in_spec_order_before_on_step() -> None:
    n = 30
    # seeds 0, 1, 0: the engine groups the two seed-0 models (one data stream) ahead of the seed-1 one
    models = [
        ModelSpec(power_law_probs(n, 1.0), gamma=g, lr_W=0.02, lr_b=0.02, seed=s, data_key="a")
        for g, s in ((-1.0, 0), (0.5, 1), (0.2, 0))
    ]
    spec = ShardSpec(n, 3, models, batch=16, steps=12, warmup_steps=2, chunk_size=1)
    events: list[tuple[str, int]] = []
    seen: list[torch.Tensor] = []

    def on_loss(step: int, losses: torch.Tensor) -> None:
        events.append(("loss", step))
        seen.append(losses.clone())

    result = train_shard(spec, lambda step: events.append(("step", step)), on_loss)
    assert events == [(kind, step) for step in range(12) for kind in ("loss", "step")]
    torch.testing.assert_close(torch.stack(seen, 1), result.step_loss_summed, rtol=0, atol=0)
