"""End to end: `superscale run` of one shard of the paper's recipe from initialisation, its first 2000 steps,
against the authors' loop on the same models, side by side in one run.

The shard is paper-e2-full's (n = 1000, batch 2048, five γ of one (m, α) stream, lr 1e-2), trained for
2001 steps with 2000 warm-up steps: the first 2000 steps of the recipe are its warm-up, which does not depend
on the total, so they are exactly the recipe's. Each run is a whole `superscale` process (start-up, planning,
sampling, training, writing the store), once as it runs by default and once with the whole-batch sparse
path forced (`[model] options = {backward = "sparse"}`: the engine before the active-feature path), with
the peak resident memory of each; the authors' loop (bench/authors_loop.py) trains the same five models,
`--authors-steps` steps each, and its rate is per step, so the ratios compare model-steps per second.

    python bench/e2e_shard.py --m 39 --alpha 1.0 --json bench/results/e2e-shard.json
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.authors_loop import train_authors

from superscale.config.presets import preset_text
from superscale.train.data import power_law_probs
from superscale.train.model import init_toy_params

GAMMAS = [-1.0, -0.7777777777777778, -0.5555555555555556, -0.33333333333333337, -0.11111111111111116]


def shard_config(m: int, alpha: float, steps: int, backward: str = "auto") -> str:
    """paper-e2-full narrowed to one shard: one m, one α, the five γ < 0, `steps` steps."""
    text = preset_text("paper-e2-full")
    lines = []
    for line in text.splitlines():
        if line.startswith("m = "):
            line = f"m = [{m}]"
        elif line.startswith("gamma = "):
            line = f"gamma = {GAMMAS}"
        elif line.startswith("alpha = "):
            line = f"alpha = [{alpha}]"
        elif line.startswith("steps = "):
            line = f"steps = {steps}"
        elif line.startswith("name = "):
            line = 'name = "e2e-shard"'
        lines.append(line)
    if backward != "auto":
        lines += ["", "[model]", f'options = {{backward = "{backward}"}}']
    return "\n".join(lines) + "\n"


def time_cli(m: int, alpha: float, steps: int, threads: int, backward: str) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of `superscale run` on the one-shard config, in a fresh store."""
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp, "shard.toml")
        config.write_text(shard_config(m, alpha, steps, backward))
        command = [sys.executable, "-c", "from superscale.cli import main; main()", "run", str(config)]
        command += ["--out", str(Path(tmp, "store")), "--quiet", "--threads", str(threads)]
        wrapped = [sys.executable, "-c", _MEASURE, *command]  # its own child: a peak RSS of its own
        start = time.perf_counter()
        out = subprocess.run(wrapped, check=True, capture_output=True, text=True, env=dict(os.environ))
        return time.perf_counter() - start, float(out.stdout.strip().splitlines()[-1])


_MEASURE = (
    "import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True); "
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)"
)


def authors_rate(m: int, alpha: float, steps: int, threads: int) -> float:
    """Model-steps per second of the authors' loop on the shard's five models (their recipe, warm-up)."""
    torch.set_num_threads(threads)
    probs = power_law_probs(1000, alpha)
    W0, b0 = init_toy_params(1000, m, [0])
    train_authors(W0[0], b0[0], probs, GAMMAS[0], 1e-2, 3, 2000, 2048)  # warm up
    start = time.perf_counter()
    for gamma in GAMMAS:
        train_authors(W0[0], b0[0], probs, gamma, 1e-2, steps, 2000, 2048)
    return len(GAMMAS) * steps / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--m", type=int, default=39)
    parser.add_argument("--alpha", type=float, default=1.0)
    parser.add_argument("--steps", type=int, default=2001, help="training steps of the shard (≥ 2001)")
    parser.add_argument("--authors-steps", type=int, default=100, help="steps per model of the authors' loop")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    load = os.getloadavg()
    runs = {name: time_cli(args.m, args.alpha, args.steps, args.threads, name) for name in ("auto", "sparse")}
    authors = authors_rate(args.m, args.alpha, args.authors_steps, args.threads)
    print(f"load {load[0]:.2f}, {args.threads} threads, m = {args.m}, alpha = {args.alpha}")
    record: dict = {"load": load, **{k: str(v) for k, v in vars(args).items()}, "authors": authors}  # type: ignore[type-arg]
    for name, (wall, rss) in runs.items():
        rate = len(GAMMAS) * args.steps / wall
        label = "engine (default)" if name == "auto" else "engine, whole-batch sparse path"
        print(
            f"superscale run, {label}: {len(GAMMAS)} models × {args.steps} steps in {wall:.1f} s wall "
            f"= {rate:.1f} model-steps/s = {rate / authors:.1f}× the authors' loop; peak RSS {rss:.0f} MB"
        )
        record[name] = {
            "wall_s": wall,
            "model_steps_per_s": rate,
            "peak_rss_mb": rss,
            "vs_authors": rate / authors,
        }
    print(f"authors' loop: {authors:.2f} model-steps/s")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(record, indent=2))


if __name__ == "__main__":
    main()
