"""End to end: `superscale run` of one shard of the paper's recipe from initialisation, its first 2000 steps,
against the authors' loop on the same models, side by side in one run.

The shard is paper-e2-full's (n = 1000, batch 2048, five γ of one (m, α) stream, lr 1e-2), trained for
2001 steps with 2000 warm-up steps: the first 2000 steps of the recipe are its warm-up, which does not depend
on the total, so they are exactly the recipe's. The run is a whole `superscale` process (start-up, planning,
sampling, training, writing the store); the authors' loop (bench/authors_loop.py) trains the same five
models, `--authors-steps` steps each, and its rate is per step, so the ratio compares model-steps per second.

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


def shard_config(m: int, alpha: float, steps: int) -> str:
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
    return "\n".join(lines) + "\n"


def time_cli(m: int, alpha: float, steps: int, threads: int) -> float:
    """Wall seconds of `superscale run` on the one-shard config, a fresh store each time."""
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp, "shard.toml")
        config.write_text(shard_config(m, alpha, steps))
        command = [sys.executable, "-c", "from superscale.cli import main; main()", "run", str(config)]
        command += ["--out", str(Path(tmp, "store")), "--quiet", "--threads", str(threads)]
        start = time.perf_counter()
        subprocess.run(command, check=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
        return time.perf_counter() - start


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
    wall = time_cli(args.m, args.alpha, args.steps, args.threads)
    engine = len(GAMMAS) * args.steps / wall
    authors = authors_rate(args.m, args.alpha, args.authors_steps, args.threads)
    print(f"load {load[0]:.2f}, {args.threads} threads, m = {args.m}, alpha = {args.alpha}")
    print(
        f"superscale run, {len(GAMMAS)} models × {args.steps} steps: {wall:.1f} s wall "
        f"= {engine:.1f} model-steps/s"
    )
    print(f"authors' loop: {authors:.2f} model-steps/s; ratio {engine / authors:.1f}×")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        record = {"load": load, **vars(args), "json": str(args.json), "wall_s": wall, "engine": engine}
        args.json.write_text(json.dumps({**record, "authors": authors, "ratio": engine / authors}, indent=2))


if __name__ == "__main__":
    main()
