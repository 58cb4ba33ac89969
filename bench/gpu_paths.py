"""Model-steps per second of the engine's paths on one device, for E1- and E2-shaped shards.

E2: n = 1000, batch 2048, α = 1 and 2, ten γ per shard, m ∈ {10, 39, 100}. E1: n = 10 240, batch 2048,
the power-1.2 family, two γ, m ∈ {8, 128, 1024}. Each shard starts from the paper's initialisation and is
timed over `--steps` steps after `--burn-in`, with the whole-batch dense path, the active-feature path and
"auto" (whichever `superscale.train.paths` picks), so the cost model's GPU rule can be checked against
measurements. Made for bench/gpu_check.sh; runs on a CPU too (slowly).

    python bench/gpu_paths.py --device cuda --json results/gpu-paths.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from superscale.train.data import power_law_probs
from superscale.train.engine import ModelSpec, ShardSpec, train_shard

SHAPES = {
    "E2": {
        "n": 1000,
        "alphas": [1.0, 2.0],
        "gammas": torch.linspace(-1, 1, 10).tolist(),
        "ms": [10, 39, 100],
    },
    "E1": {"n": 10240, "alphas": [1.2], "gammas": [-1.0, 0.1], "ms": [8, 128, 1024]},
}


def rate(n: int, m: int, alpha: float, gammas: list[float], backward: str, args: argparse.Namespace) -> float:
    probs = power_law_probs(n, alpha)
    models = [ModelSpec(probs, gamma=g, lr_W=1e-2, lr_b=1e-2, seed=0, data_key=str(alpha)) for g in gammas]
    marks: list[float] = []
    steps = args.burn_in + args.steps

    def on_step(step: int) -> None:
        if step + 1 in (args.burn_in, steps):
            if args.device.startswith("cuda"):
                torch.cuda.synchronize()
            marks.append(time.perf_counter())

    spec = ShardSpec(
        n, m, models, batch=2048, steps=steps, warmup_steps=1, sparse=True, device=args.device,
        arch_options={"backward": backward},
    )  # fmt: skip
    train_shard(spec, on_step=on_step)
    return len(models) * args.steps / (marks[1] - marks[0])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--burn-in", type=int, default=20)
    parser.add_argument("--shapes", nargs="+", default=list(SHAPES))
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    name = torch.cuda.get_device_name() if args.device.startswith("cuda") else "cpu"
    print(f"device {args.device} ({name}), torch {torch.__version__}")
    rows = []
    for shape in args.shapes:
        info = SHAPES[shape]
        for alpha in info["alphas"]:
            for m in info["ms"]:
                row = {"shape": shape, "n": info["n"], "alpha": alpha, "m": m}
                for backward in ("dense", "active", "auto"):
                    row[backward] = rate(info["n"], m, alpha, info["gammas"], backward, args)
                rows.append(row)
                print(
                    f"{shape} n={info['n']} alpha={alpha:g} m={m:5d}: model-steps/s "
                    f"dense {row['dense']:9.1f} "
                    f"active {row['active']:9.1f} auto {row['auto']:9.1f}",
                    flush=True,
                )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"device": name, "torch": torch.__version__, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
