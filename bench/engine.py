"""Engine throughput against the authors' loop, side by side in one run.

Measures model-steps per second on the paper's small-model grid shape (n = 1000, batch 2048,
m ∈ {10, 15, 25, 39, 63, 100}, ten γ values) for
  (a) the authors' loop as fast as they wrote it (bench/authors_loop.py: autograd through
      relu(x @ W @ W.T + b), mse_loss, dense data, their AdamW), one model at a time;
  (b) the engine with the dense backward (three GEMMs per model-step);
  (c) the whole-batch sparse backward (`backward = "sparse"`: the forward GEMM, then the backward over the
      entries where it is non-zero plus a low-rank part, with the bfloat16 screen once those are few);
  (d) the engine as it runs by default ("auto": the active-feature path, superscale.train.active, wherever
      its cost model beats the whole-batch paths, which at density 1 is every step),
both engines with the E2 shard shape: every γ × `--alphas` data exponents per m, data streams shared by
models of equal (α, seed). It prints the ratios per m and over the grid (harmonic mean of model-steps/s:
a grid has equally many models at every m), and the share of the old algorithm's floor, one forward GEMM
(a bmm of [B, m+1] × [m+1, n] per model, timed alone), that each model-step costs: below 100 %, the engine
does less than that GEMM's work.

The engines start from the paper's initialisation after `--burn-in` steps of training, or, with
`--from-store`, from a store's trained weights (converged models, the learning rate at its floor).

    python bench/engine.py --json bench/results/engine-cpu.json                        # from initialisation
    python bench/engine.py --store docs/results/paper-e2-recipe --from-store           # converged
    python bench/engine.py --device cuda                                               # on a GPU
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.authors_loop import train_authors

from superscale.train.data import power_law_probs
from superscale.train.engine import ModelSpec, ShardSpec, train_shard
from superscale.train.model import init_toy_params

M_GRID = [10, 15, 25, 39, 63, 100]
GAMMAS = torch.linspace(-1, 1, 10).tolist()
N, BATCH = 1000, 2048
PAPER_GRID_MODELS, PAPER_GRID_STEPS = 1620, 20000  # recipe §1.7: E2 17 α × 10 γ × 6 m, E3 9 E × 10 γ × 6 m


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def authors_model_steps_per_second(m: int, steps: int, gammas: list[float]) -> float:
    probs = power_law_probs(N, 1.0)
    W0, b0 = init_toy_params(N, m, [0])
    train_authors(W0[0], b0[0], probs, gammas[0], 1e-2, 2, 1, BATCH)  # warm up
    start = time.perf_counter()
    for gamma in gammas:
        train_authors(W0[0], b0[0], probs, gamma, 1e-2, steps, 2, BATCH)
    return len(gammas) * steps / (time.perf_counter() - start)


def forward_floor_seconds(m: int, device: str, repeats: int = 20) -> float:
    """Seconds per model-step of the one unavoidable GEMM, pre = h⁺ W⁺ᵀ [B, n]."""
    h = torch.randn(4, BATCH, m + 1, device=device)
    W = torch.randn(4, N, m + 1, device=device)
    out = torch.empty(4, BATCH, N, device=device)
    torch.bmm(h, W.transpose(1, 2), out=out)
    _sync(device)
    start = time.perf_counter()
    for _ in range(repeats):
        torch.bmm(h, W.transpose(1, 2), out=out)
    _sync(device)
    return (time.perf_counter() - start) / (4 * repeats)


def trained_models(store: Path, m: int) -> tuple[list[ModelSpec], dict[str, torch.Tensor]] | None:
    """The finished runs of width m in a (possibly still running) store, with their final weights."""
    import pandas as pd
    from safetensors.torch import load_file

    shards = sorted((store / "shards").glob(f"n{N}-m{m}-*.runs.parquet"))
    if not shards:
        return None
    models, params = [], {"W": [], "b": []}
    for file in shards:
        rows = pd.read_parquet(file)
        weights = load_file(store / "weights" / file.name.replace(".runs.parquet", ".safetensors"))
        for row in rows.itertuples():
            probs = power_law_probs(N, float(row.alpha))
            # at the end of the recipe the learning rate sits at its floor, 5 % of 1e-2
            lr = 5e-4
            models.append(ModelSpec(probs, float(row.gamma), lr, lr, int(row.seed), f"alpha={row.alpha}"))
            for name in params:
                params[name].append(weights[f"{row.run_id}/{name}"])
    return models, {name: torch.stack(values) for name, values in params.items()}


def engine_model_steps_per_second(
    m: int,
    steps: int,
    burn_in: int,
    alphas: list[float],
    device: str,
    backward: str,
    trained: tuple[list[ModelSpec], dict[str, torch.Tensor]] | None = None,
) -> float:
    """Model-steps/s over the timed steps (after `burn_in` steps of training from the paper's
    initialisation, or from `trained` weights)."""
    models = [
        ModelSpec(power_law_probs(N, a), gamma=g, lr_W=1e-2, lr_b=1e-2, seed=0, data_key=f"alpha={a}")
        for a in alphas
        for g in GAMMAS
    ]
    initial = None
    if trained is not None:
        models, initial = trained
    spec = ShardSpec(
        N,
        m,
        models,
        batch=BATCH,
        steps=burn_in + steps,
        warmup_steps=0 if trained is not None else 2,
        device=device,
        arch_options={"backward": backward},
        initial_params=initial,
    )
    marks: list[float] = []

    def on_step(step: int) -> None:
        if step + 1 in (burn_in, burn_in + steps):
            _sync(device)
            marks.append(time.perf_counter())

    train_shard(ShardSpec(N, m, models[:2], batch=BATCH, steps=2, warmup_steps=1, device=device))  # compile
    train_shard(spec, on_step=on_step)
    return len(models) * steps / (marks[1] - marks[0])


def active_fractions(store_path: Path, batches: int = 4) -> list[dict]:
    """Per trained run of a store: the fraction of entries of g = (y − x)·1[pre > 0] that the dense
    backward multiplies (pre > 0), and the fraction the sparse backward touches after its column split
    (min(on, off) per column), on fresh batches of the run's own data."""
    from superscale.store import open_store, schema
    from superscale.train.data import sample_sparse

    store = open_store(store_path)
    out = []
    generator = torch.Generator().manual_seed(0)
    for row in store.runs.itertuples():
        run_id = getattr(row, schema.RUN_ID)
        params = store.params(run_id)
        W, b = params["W"], params["b"]
        probs = store.feature_probs(run_id)
        on = torch.zeros(W.shape[0])
        total = 0
        for _ in range(batches):
            x = sample_sparse(probs, int(getattr(row, "batch", BATCH)), generator).to_dense()
            pre = x @ W @ W.T + b
            on += (pre > 0).sum(0)
            total += pre.shape[0]
        out.append(
            {
                "run_id": run_id,
                "m": int(getattr(row, schema.M_HIDDEN)),
                "alpha": float(getattr(row, schema.ALPHA)),
                "gamma": float(getattr(row, schema.GAMMA)),
                "dense_support": float(on.sum() / (total * W.shape[0])),
                "sparse_support": float(torch.minimum(on, total - on).sum() / (total * W.shape[0])),
            }
        )
    return out


def print_active_fractions(rows: list[dict]) -> None:
    print(
        "\nactive fraction of g per regime (mean over runs; dense: pre > 0, sparse: after the column split)"
    )
    regimes = {
        "strong (γ < 0)": [r for r in rows if r["gamma"] < 0],
        "weak (γ > 0)": [r for r in rows if r["gamma"] > 0],
    }
    for name, part in regimes.items():
        for m in sorted({r["m"] for r in part}):
            at = [r for r in part if r["m"] == m]
            dense = sum(r["dense_support"] for r in at) / len(at)
            sparse = sum(r["sparse_support"] for r in at) / len(at)
            print(f"  {name:>15} m = {m:>4}: dense {dense:6.1%}  sparse {sparse:6.1%}  ({len(at)} runs)")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--authors-steps", type=int, default=20)
    parser.add_argument("--authors-gammas", type=int, default=2, help="γ values timed in the authors' loop")
    parser.add_argument("--engine-steps", type=int, default=20)
    parser.add_argument("--burn-in", type=int, default=30, help="engine steps trained before timing")
    parser.add_argument("--alphas", type=int, default=2, help="data exponents per engine shard")
    parser.add_argument("--widths", type=int, nargs="*", default=M_GRID)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--store", type=Path, help="also measure the active fraction of g on a trained store")
    parser.add_argument("--fractions-only", action="store_true", help="with --store: skip the timings")
    parser.add_argument(
        "--from-store",
        action="store_true",
        help="with --store: time the engines from that store's trained weights (converged models)",
    )
    args = parser.parse_args()
    if args.fractions_only:
        print_active_fractions(active_fractions(args.store))
        return

    torch.manual_seed(0)
    cpu = args.device == "cpu"
    alphas = torch.linspace(0.5, 1.5, args.alphas).tolist()
    hardware = platform.processor() or platform.machine()
    if not cpu:
        hardware = torch.cuda.get_device_name(torch.device(args.device))
    print(f"device {args.device} ({hardware}), torch {torch.__version__}, threads {torch.get_num_threads()}")
    header = (
        f"{'m':>5} {'authors/s':>10} {'dense/s':>9} {'sparse/s':>9} {'engine/s':>9} {'vs authors':>10} "
        f"{'vs dense':>9} {'vs sparse':>9}"
    )
    print(header + f" {'of floor':>10}")
    rows = []
    for m in args.widths:
        trained = trained_models(args.store, m) if args.from_store else None
        if args.from_store and trained is None:
            continue
        authors = (
            authors_model_steps_per_second(m, args.authors_steps, GAMMAS[: args.authors_gammas])
            if cpu
            else float("nan")
        )
        timing = (m, args.engine_steps, args.burn_in, alphas, args.device)
        dense = engine_model_steps_per_second(*timing, "dense", trained)
        sparse = engine_model_steps_per_second(*timing, "sparse", trained) if cpu else float("nan")
        engine = engine_model_steps_per_second(*timing, "auto", trained)
        floor = forward_floor_seconds(m, args.device)
        row = {
            "m": m,
            "authors": authors,
            "dense": dense,
            "sparse": sparse,
            "engine": engine,
            "floor_share": floor * engine,  # a model-step's time as a share of the forward GEMM's: below 1
        }
        rows.append(row)
        print(
            f"{m:>5} {authors:>10.2f} {dense:>9.2f} {sparse:>9.2f} {engine:>9.2f} {engine / authors:>9.1f}× "
            f"{engine / dense:>8.1f}× {engine / sparse:>8.1f}× {1 / row['floor_share']:>10.0%}"
        )

    def harmonic(key: str) -> float:
        return len(rows) / sum(1 / r[key] for r in rows)

    grid = {key: harmonic(key) for key in ("authors", "dense", "sparse", "engine")}
    floor_grid = len(rows) / sum(1 / (r["engine"] / r["floor_share"]) for r in rows) if rows else float("nan")
    rates = " ".join(
        f"{grid[k]:>{w}.2f}" for k, w in (("authors", 10), ("dense", 9), ("sparse", 9), ("engine", 9))
    )
    ratios = " ".join(
        f"{grid['engine'] / grid[k]:>{w}.1f}×" for k, w in (("authors", 9), ("dense", 8), ("sparse", 8))
    )
    print(f"grid  {rates} {ratios} {floor_grid / grid['engine']:>10.0%}   (harmonic means over m)")
    projected = PAPER_GRID_MODELS * PAPER_GRID_STEPS / grid["engine"]
    print(
        f"projected full paper grid (E2+E3, {PAPER_GRID_MODELS} models × {PAPER_GRID_STEPS} steps) "
        f"on this device: {projected / 3600:.1f} h"
    )
    fractions = active_fractions(args.store) if args.store else []
    if fractions:
        print_active_fractions(fractions)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        record = {
            "device": args.device,
            "hardware": hardware,
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
            "args": {k: str(v) for k, v in vars(args).items()},
            "rows": rows,
            "grid": grid,
            "projected_paper_grid_s": projected,
            "active_fractions": fractions,
        }
        args.json.write_text(json.dumps(record, indent=2))


if __name__ == "__main__":
    main()
