"""Engine throughput vs the plain per-model loop, side by side in one run (issue: engine performance).

Measures model-steps per second on the paper's small-model grid shape (n = 1000, batch 2048,
m ∈ {10, 15, 25, 39, 63, 100}, ten γ values) for
  (a) the plain per-model loop with dense data, as the authors' scripts train (tests/oracle.py), and
  (b) the engine (superscale.engine.train_shard), with the E2 shard shape: every γ × `--alphas` data
      exponents in one shard per m, data streams shared by models of equal (α, seed).
It prints the ratio per m and overall, and the share of this machine's float32 GEMM throughput the engine
reaches (useful FLOPs: 3 GEMMs of 2·B·n·m per model-step on the sparse path).

    python bench/engine.py                 # CPU, a few minutes on 2 cores
    python bench/engine.py --device cuda   # also projects the full paper grid (E2 + E3) wall time
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.oracle import train_plain

from superscale.data import power_law_probs, sample_dense
from superscale.engine import ModelSpec, ShardSpec, train_shard
from superscale.model import init_toy_params

M_GRID = [10, 15, 25, 39, 63, 100]
GAMMAS = torch.linspace(-1, 1, 10).tolist()
N, BATCH = 1000, 2048
PAPER_GRID_MODELS, PAPER_GRID_STEPS = 1620, 20000  # spec §1.7: E2 (17 α × 10 γ × 6 m) + E3 (9 E × 10 γ × 6 m)


def gemm_flops_per_second(device: str, size: int = 2048, repeats: int = 10) -> float:
    a = torch.randn(size, size, device=device)
    b = torch.randn(size, size, device=device)
    torch.matmul(a, b)
    _sync(device)
    start = time.perf_counter()
    for _ in range(repeats):
        torch.matmul(a, b)
    _sync(device)
    return 2 * size**3 * repeats / (time.perf_counter() - start)


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def plain_model_steps_per_second(m: int, steps: int, gammas: list[float]) -> float:
    probs = power_law_probs(N, 1.0)
    W0, b0 = init_toy_params(N, m, [0])
    generator = torch.Generator().manual_seed(0)
    start = time.perf_counter()
    for gamma in gammas:
        train_plain(W0[0], b0[0], lambda: sample_dense(probs, BATCH, generator), gamma, 1e-2, 1e-2, steps, 2)
    return len(gammas) * steps / (time.perf_counter() - start)


def engine_model_steps_per_second(m: int, steps: int, alphas: list[float], device: str, share: bool) -> float:
    models = [
        ModelSpec(power_law_probs(N, a), gamma=g, lr_W=1e-2, lr_b=1e-2, seed=0, data_key=f"alpha={a}")
        for a in alphas
        for g in GAMMAS
    ]
    spec = ShardSpec(
        N, m, models, batch=BATCH, steps=steps, warmup_steps=2, device=device, share_batches=share
    )
    train_shard(ShardSpec(N, m, models[:2], batch=BATCH, steps=2, warmup_steps=1, device=device))  # warm up
    start = time.perf_counter()
    train_shard(spec)
    _sync(device)
    return len(models) * steps / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--plain-steps", type=int, default=4)
    parser.add_argument("--plain-gammas", type=int, default=2, help="γ values timed in the plain loop")
    parser.add_argument("--engine-steps", type=int, default=10)
    parser.add_argument("--alphas", type=int, default=2, help="data exponents per engine shard")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()

    torch.manual_seed(0)
    peak = gemm_flops_per_second(args.device)
    alphas = torch.linspace(0.5, 1.5, args.alphas).tolist()
    rows = []
    print(
        f"device {args.device}, torch {torch.__version__}, threads {torch.get_num_threads()}, "
        f"GEMM peak {peak / 1e9:.1f} GFLOP/s"
    )
    print(f"{'m':>5} {'plain/s':>10} {'engine/s':>10} {'ratio':>7} {'no-share/s':>11} {'GEMM share':>10}")
    for m in M_GRID:
        plain = (
            plain_model_steps_per_second(m, args.plain_steps, GAMMAS[: args.plain_gammas])
            if args.device == "cpu"
            else float("nan")
        )
        engine = engine_model_steps_per_second(m, args.engine_steps, alphas, args.device, share=True)
        unshared = engine_model_steps_per_second(m, args.engine_steps, alphas, args.device, share=False)
        share = engine * 3 * 2 * BATCH * N * m / peak
        rows.append(
            {"m": m, "plain": plain, "engine": engine, "engine_unshared": unshared, "gemm_share": share}
        )
        print(
            f"{m:>5} {plain:>10.2f} {engine:>10.2f} {engine / plain:>7.1f} {unshared:>11.2f} {share:>10.1%}"
        )

    # a grid has equally many models at every m, so its throughput is the harmonic mean over m
    def harmonic(key: str) -> float:
        return len(rows) / sum(1 / r[key] for r in rows)

    plain_mean, engine_mean = harmonic("plain"), harmonic("engine")
    print(
        f"grid  {plain_mean:>10.2f} {engine_mean:>10.2f} {engine_mean / plain_mean:>7.1f}   "
        "(harmonic mean over m: model-steps/s of the whole grid)"
    )
    projected = PAPER_GRID_MODELS * PAPER_GRID_STEPS / engine_mean
    print(
        f"projected full paper grid (E2+E3, {PAPER_GRID_MODELS} models × {PAPER_GRID_STEPS} steps) "
        f"on this device: {projected / 60:.1f} min"
    )
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "device": args.device,
                    "gemm_peak": peak,
                    "rows": rows,
                    "grid_plain": plain_mean,
                    "grid_engine": engine_mean,
                    "projected_paper_grid_s": projected,
                },
                indent=2,
            )
        )


if __name__ == "__main__":
    main()
