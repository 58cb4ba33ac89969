"""Which exact path computes a training step: the active-feature path or one over the whole batch.

Every path gives the same loss and gradients (to float round-off); they differ in cost. Per model-step,
with B samples, K active entries, S distinct active features and B' samples with a feature (n columns):

- the whole-batch paths (the sparse backward on a CPU, three GEMMs on a GPU) pay a GEMM of B × n × (m+1)
  for the pre-activations and a pass over the B × n entries: cost ≈ n·B·(c₀ + c₁ m);
- the active path pays the Gram GEMM S × n × m (and while many outputs fire, Δ_S's two GEMMs of the same
  size) and a fused pass that touches the n columns once per active entry and once per non-empty sample:
  cost ≈ n·(S·(a₀ + a₁ m) + e·(K + B')).

So it wins when few distinct features are active (S ≪ B: the paper's E = 1 at any α, ×1.4–8 measured) and
loses at high density (K ≫ B: E ≈ 10 with S ≈ n, below m ≈ 450). The constants are fitted to one run of
bench/active_step.py (both engines, round-robin, initialisation weights: the active path's dearest case),
in its units (only their ratios matter). The choice is a function of the batch's counts alone: the same
data take the same path in every run, so a run's numbers never depend on timing.
"""

from __future__ import annotations

__all__ = ["active_cost", "prefer_active", "whole_batch_cost"]

#: the active path, per distinct feature and column: Gram row, Δ_S row and their GEMMs' share (a₀ + a₁ m)
SLOT, SLOT_PER_M = 1.5, 0.076
#: the active path, per column of the fused pass per entry and per non-empty sample (e)
ENTRY = 0.35
#: the whole-batch path, per sample and column: the forward GEMM's share and the scan (c₀ + c₁ m)
SAMPLE, SAMPLE_PER_M = 1.5, 0.044
#: on a GPU the whole-batch GEMMs run near peak while the active path's gathers and index_adds over
#: [K, n] are memory-bound: it is taken there only when S is this many times smaller than B and K ≤ 2B
#: (a guess, not a measurement: no GPU was at hand; bench/gpu_check.sh times both paths on one)
GPU_MARGIN = 4.0


def active_cost(n: int, m: int, batch: int, distinct: int, entries: int) -> float:
    """The active path's estimated cost of one model-step (bench units)."""
    rows = min(batch, entries)
    return n * (distinct * (SLOT + SLOT_PER_M * m) + ENTRY * (entries + rows))


def whole_batch_cost(n: int, m: int, batch: int) -> float:
    """The whole-batch path's estimated cost of one model-step (bench units)."""
    return n * batch * (SAMPLE + SAMPLE_PER_M * m)


def prefer_active(n: int, m: int, batch: int, distinct: int, entries: int, device: str = "cpu") -> bool:
    """Whether the active path is estimated cheaper for a batch of `batch` samples with `entries` active
    entries of `distinct` features."""
    if entries == 0:
        return True  # nothing is active: every output is ReLU(b), computed once
    if device != "cpu":
        return GPU_MARGIN * distinct < batch and entries <= 2 * batch
    return active_cost(n, m, batch, distinct, entries) < whole_batch_cost(n, m, batch)
