"""Exact or sampled pairwise overlaps: decided from a measured rate of this machine, not a guessed constant.

Only ⟨|cos|⟩, max |cos| and var(cos²) need the n(n−1)/2 pairs (O(n² m)); ⟨cos²⟩ is always exact through
the Gram identity (`metrics.gram_mean_cos2`, O(n m²)). `auto` times the pairwise kernel on a small random
block of the same width and dtype, predicts the full run, and goes exact when that fits the budget.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Literal

import torch

from superscale.analysis import metrics

Method = Literal["exact", "sampled", "auto"]

EXACT_SECONDS_BUDGET = 60.0  # `auto` runs the exact pairs when they are predicted to take at most this
RATE_PROBE_ROWS = 2048  # rows of the timing probe: 2.1e6 pairs, a fraction of a second at any width


@dataclass(frozen=True)
class MethodChoice:
    """The pairwise method used, the prediction behind it (NaN when not `auto`) and a sentence saying why."""

    method: Literal["exact", "sampled"]
    predicted_seconds: float
    rate: float  # measured pair·m multiply-adds per second (NaN when not measured)
    reason: str


def measure_pair_rate(m: int, dtype: torch.dtype, device: torch.device, block_size: int = 1024) -> float:
    """Multiply-adds per second of `metrics.overlap_stats` (GEMM, |c|, c², c⁴, max) on this device."""
    gen = torch.Generator().manual_seed(0)
    probe = torch.randn(RATE_PROBE_ROWS, m, generator=gen).to(device=device, dtype=dtype)
    metrics.overlap_stats(probe[: block_size // 4], block_size=block_size, device=device)  # warm-up
    best = float("inf")
    for _ in range(2):
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        metrics.overlap_stats(probe, block_size=block_size, device=device)
        if device.type == "cuda":
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - start)
    pairs = RATE_PROBE_ROWS * (RATE_PROBE_ROWS - 1) / 2
    return pairs * m / max(best, 1e-9)


def choose_method(
    n_rows: int,
    m: int,
    method: Method,
    device: torch.device,
    dtype: torch.dtype = torch.float32,
    rate: float | None = None,
    budget_seconds: float = EXACT_SECONDS_BUDGET,
) -> MethodChoice:
    """`exact`/`sampled` as asked; `auto`: exact when pairs × m / rate ≤ `budget_seconds`.

    `rate` (multiply-adds per second) is measured on `device` when not given.
    """
    if method not in ("exact", "sampled", "auto"):
        raise ValueError(f"method must be 'exact', 'sampled' or 'auto', got {method!r}")
    nan = float("nan")
    if method != "auto":
        return MethodChoice(method, nan, nan, f"{method} pairs, as asked")
    if rate is None:
        rate = measure_pair_rate(m, dtype, device)
    work = n_rows * (n_rows - 1) / 2 * m
    seconds = work / rate
    chosen: Literal["exact", "sampled"] = "exact" if seconds <= budget_seconds else "sampled"
    verdict = "within" if chosen == "exact" else "over"
    reason = (
        f"auto chose {chosen} pairs: all {n_rows * (n_rows - 1) // 2:.3g} pairs × m = {work:.2g} "
        f"multiply-adds at the measured {rate:.2g}/s on {device.type} would take ~{_duration(seconds)}, "
        f"{verdict} the {budget_seconds:.0f} s budget"
    )
    return MethodChoice(chosen, seconds, rate, reason)


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def default_sampled_pairs(m: int) -> int:
    """Pairs for the sampled estimator: 10⁶ up to m = 2048, then fewer (≥ 10⁵) so the draw stays ~2·10⁹
    multiply-adds; 10⁵ pairs already pin ⟨|cos|⟩ of random directions to ±0.5 % (95 %)."""
    return int(min(1_000_000, max(100_000, 2e9 // max(m, 1))))
