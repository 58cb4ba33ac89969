"""Micro-benchmark: one training step's loss + gradients (no optimiser) of the active-feature (Gram) step
(superscale/train/active.py) against the current engine's `TiedToyModel.loss_and_grads` (sparse + low-rank
backward with the bfloat16 screen, "auto") and its dense backward ("dense").

A chunk of `--inst` instances, n = 1000, B = 2048, E = 1, α ∈ {1, 2}, m ∈ {10, 25, 63, 100}, on
  init:      the paper's initialisation (W ~ N(0, 1/m), b ~ N(0, 1));
  converged: the trained weights of docs/results/paper-e2-recipe (5 γ per (α, m), repeated to fill a chunk).
Each timing is the median over `--repeats` batches, the engines run round-robin (after two warm-up steps,
so their per-chunk state, e.g. the old screen and the new cost model, is current); ratios of the minima
are printed beside, as the machine is shared; the new step includes grouping the batch by
sample (shared by every chunk of a stream in the engine, so this overstates it). It also times both forced
accumulation modes, to check the cost model's choice. The CPU is shared: numbers are indicative.

    PYTHONPATH=src:. python bench/active_step.py [--threads 2] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from superscale.train.active import ActiveStep, group_by_sample
from superscale.train.architectures import TiedToyModel
from superscale.train.data import power_law_probs, sample_sparse

N, BATCH = 1000, 2048
RECIPE = Path("/work/main/docs/results/paper-e2-recipe")


def converged_weights(alpha: float, m: int, n_inst: int) -> tuple[torch.Tensor, torch.Tensor] | None:
    import pandas as pd
    from safetensors.torch import load_file

    runs = pd.read_parquet(RECIPE / "runs.parquet")
    runs = runs[(runs.alpha == alpha) & (runs.m == m)]
    if runs.empty:
        return None
    Ws, bs = [], []
    for shard, group in runs.groupby("shard_id"):
        tensors = load_file(RECIPE / "weights" / f"{shard}.safetensors")
        for run_id in group.run_id:
            Ws.append(tensors[f"{run_id}/W"])
            bs.append(tensors[f"{run_id}/b"])
    reps = math.ceil(n_inst / len(Ws))
    return torch.stack((Ws * reps)[:n_inst]), torch.stack((bs * reps)[:n_inst])


def init_weights(m: int, n_inst: int) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    W = torch.randn(n_inst, N, m, generator=generator) / math.sqrt(m)
    return W, torch.randn(n_inst, N, generator=generator)


CLOCK = time.perf_counter


def interleaved_ms(steps: dict, batches: list, repeats: int) -> dict[str, tuple[float, float]]:  # type: ignore[type-arg]
    """(median, min) ms per call of each step, run round-robin on the same batches so that a change of the
    machine's load hits them alike; two warm-up calls each first (per-chunk state, compilation)."""
    for step in steps.values():
        for batch in batches[:2]:
            step(batch)
    times: dict[str, list[float]] = {name: [] for name in steps}
    for k in range(repeats):
        batch = batches[2 + k % (len(batches) - 2)]
        for name, step in steps.items():
            start = CLOCK()
            step(batch)
            times[name].append(CLOCK() - start)
    return {name: (1e3 * statistics.median(t), 1e3 * min(t)) for name, t in times.items()}


def time_config(alpha: float, m: int, init: str, batches: list, args: argparse.Namespace) -> dict | None:  # type: ignore[type-arg]
    """One (α, m, init): ms per instance and step of each engine (median and min over the repeats)."""
    weights = init_weights(m, args.inst) if init == "init" else converged_weights(alpha, m, args.inst)
    if weights is None:
        return None
    W, b = weights
    params = {"W": W, "b": b}
    steps = {}
    for name, backward in [("old_auto", "sparse"), ("old_dense", "dense")]:
        model = TiedToyModel(N, m, backward=backward)
        steps[name] = lambda x, model=model: model.loss_and_grads(params, x, 1.0)
    engines = {mode: ActiveStep() for mode in ["auto", "scatter", "delta"]}
    for mode, engine in engines.items():

        def new_step(x, engine=engine, mode=mode):  # type: ignore[no-untyped-def]
            grouped = group_by_sample(x.sample_idx, x.feature_idx, x.values, BATCH, N)
            return engine.loss_and_grads(W, b, grouped, 1.0, mode=mode)

        steps[f"new_{mode}"] = new_step
    result: dict = {"alpha": alpha, "m": m, "init": init}  # type: ignore[type-arg]
    for name, (median, best) in interleaved_ms(steps, batches, args.repeats).items():
        result[name], result[name + "_min"] = median / args.inst, best / args.inst
    auto = engines["auto"]
    result["on"] = float(auto._on_fraction[(W.data_ptr(), tuple(W.shape))].mean())
    result["modes"] = "".join("sd"[k - 1] for k in auto.last_modes.tolist())
    return result


def check_modes(alpha: float, m: int, batches: list, args: argparse.Namespace) -> None:  # type: ignore[type-arg]
    """The cost model's choice (per instance) against both modes forced, on converged weights with the bias
    raised (more outputs on, as between initialisation and convergence): auto should beat both."""
    weights = converged_weights(alpha, m, args.inst)
    if weights is None:
        return
    W, b0 = weights
    for shift in (0.0, 0.05, 0.1, 0.2, 0.3, 0.5):
        b = b0 + shift
        probe = ActiveStep()
        grouped = group_by_sample(batches[0].sample_idx, batches[0].feature_idx, batches[0].values, BATCH, N)
        probe.loss_and_grads(W, b, grouped, 1.0)
        probe.loss_and_grads(W, b, grouped, 1.0)  # the second step chooses from the first one's count
        on = float(probe._on_fraction[(W.data_ptr(), tuple(W.shape))].mean())
        engines = {mode: ActiveStep() for mode in ("scatter", "delta", "auto")}
        steps = {
            mode: lambda x, e=engine, mode=mode, b=b: e.loss_and_grads(
                W, b, group_by_sample(x.sample_idx, x.feature_idx, x.values, BATCH, N), 1.0, mode=mode
            )
            for mode, engine in engines.items()
        }
        timed = interleaved_ms(steps, batches, args.repeats)
        chosen = "".join("sd"[k - 1] for k in probe.last_modes.tolist())
        scatter, delta, auto = (timed[mode][0] / args.inst for mode in ("scatter", "delta", "auto"))
        print(f"α={alpha:g} m={m:3d} b+{shift:.2f} on={on:.4f}: ms/instance scatter {scatter:6.3f}", end="")
        print(f" delta {delta:6.3f} auto {auto:6.3f} (chose {chosen})", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--alphas", type=float, nargs="+", default=[1.0, 2.0])
    parser.add_argument("--ms", type=int, nargs="+", default=[10, 25, 63, 100])
    parser.add_argument("--inits", nargs="+", default=["init", "converged"])
    parser.add_argument("--inst", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--check-modes", action="store_true", help="time both modes as the bias is raised")
    parser.add_argument("--cpu-time", action="store_true", help="the process's CPU time, not wall time: on a")
    args = (
        parser.parse_args()
    )  # loaded machine with --threads 1 it leaves out the time spent waiting for a core
    if args.cpu_time:
        global CLOCK
        CLOCK = time.process_time
    torch.set_num_threads(args.threads)
    clock = "CPU time" if args.cpu_time else "wall time"
    print(f"load {os.getloadavg()}, {args.threads} threads, {clock}, {args.inst} instances, n {N}, B {BATCH}")
    rows = []
    for alpha in args.alphas:
        generator = torch.Generator().manual_seed(1)
        batches = [
            sample_sparse(power_law_probs(N, alpha), BATCH, generator) for _ in range(2 + args.repeats)
        ]
        x = batches[0]
        n_distinct = group_by_sample(x.sample_idx, x.feature_idx, x.values, BATCH, N).feat.numel()
        for m in args.ms:
            if args.check_modes:
                check_modes(alpha, m, batches, args)
                continue
            for init in args.inits:
                r = time_config(alpha, m, init, batches, args)
                if r is None:
                    continue
                rows.append(r)
                print(
                    f"α={alpha:g} m={m:3d} {init:9s} |S|={n_distinct:3d} on={r['on']:.4f}  old auto "
                    f"{r['old_auto']:6.3f} dense {r['old_dense']:6.3f}  new {r['new_auto']:6.3f} (scatter "
                    f"{r['new_scatter']:6.3f} delta {r['new_delta']:6.3f}, chose {r['modes']})  "
                    f"×{r['old_auto'] / r['new_auto']:.2f} auto ×{r['old_dense'] / r['new_auto']:.2f} dense "
                    f"(minima ×{r['old_auto_min'] / r['new_auto_min']:.2f} "
                    f"×{r['old_dense_min'] / r['new_auto_min']:.2f}) ms/instance",
                    flush=True,
                )
    for init in args.inits:  # over a grid, models are equally many at every point: ratio of summed times
        part = [r for r in rows if r["init"] == init]
        if part:
            new = sum(r["new_auto"] for r in part)
            auto, dense = (sum(r[k] for r in part) / new for k in ("old_auto", "old_dense"))
            print(f"{init}: over the grid ×{auto:.2f} the old auto engine, ×{dense:.2f} the old dense one")
    print(f"load {os.getloadavg()}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
