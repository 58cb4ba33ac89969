"""Built-in sizes of the aspect-ratio study (`superscale aspect run --preset quick|full`).

They live in code, not in src/superscale/presets/*.toml: a sweep config has one `n_layers` for the whole
sweep and crosses `m` with everything else, while an equal-N family pairs each depth with its own width.

quick: minutes on a 2-core CPU (n = 100, N = 4100, L ∈ {1, 2, 4, 8} → m ∈ {40, 31, 23, 18}; 3 seeds;
       compressed sensing at n = 64, three sparsities).
full:  the same questions at n = 400 with 5 seeds, three data exponents, both superposition regimes and
       longer training; hours on a CPU, minutes on a GPU (`device = "auto"`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from superscale.aspect.compressed_sensing import l1_phase_transition
from superscale.aspect.experiments import (
    LAYERS_FILE,
    PAIRS_FILE,
    PHASE_FILE,
    RUNS_FILE,
    AspectConfig,
    PhaseConfig,
    model_phase_transition,
    run_aspect_family,
)
from superscale.atomic import write_parquet_atomic

__all__ = ["PRESETS", "AspectPreset", "StudyResult", "get_preset", "run_study"]


@dataclass
class StudyResult:
    """The four tables of a study (see `superscale.aspect.experiments` for their rows)."""

    runs: pd.DataFrame
    layers: pd.DataFrame
    pairs: pd.DataFrame
    phase: pd.DataFrame


@dataclass(frozen=True)
class AspectPreset:
    name: str
    description: str
    families: tuple[AspectConfig, ...]
    phase: PhaseConfig


QUICK = AspectPreset(
    name="quick",
    description="n = 100, N = 4100, L ∈ {1,2,4,8}, α = 1 and S = 0.95, γ = −1, 3 seeds; CS at n = 64",
    families=(
        AspectConfig(
            n=100,
            params=4100,
            depths=(1, 2, 4, 8),
            alphas=(1.0,),
            sparsities=(0.95,),
            gammas=(-1.0,),
            seeds=(0, 1, 2),
            steps=2000,
            batch=256,
        ),
    ),
    phase=PhaseConfig(
        n=64,
        sparsities=(0.8, 0.9, 0.95),
        widths=(4, 8, 12, 16, 24, 32, 48),
        deep_layers=2,
        seeds=(0,),
        steps=1000,
        batch=256,
        l1_trials=20,
    ),
)

FULL = AspectPreset(
    name="full",
    description="n = 400, two budgets, L ∈ {1,2,3,4,6,8,12}, α ∈ {0.5,1,1.5} and S = 0.98, γ ∈ {−1, 0.1}, "
    "5 seeds; CS at n = 128, five sparsities, 3 seeds",
    families=tuple(
        AspectConfig(
            n=400,
            params=budget,
            depths=(1, 2, 3, 4, 6, 8, 12),
            alphas=(0.5, 1.0, 1.5),
            sparsities=(0.98,),
            gammas=(-1.0, 0.1),
            seeds=(0, 1, 2, 3, 4),
            steps=10000,
            batch=1024,
            device="auto",
        )
        for budget in (16400, 40400)  # L = 1: m = 40 and m = 100
    ),
    phase=PhaseConfig(
        n=128,
        sparsities=(0.7, 0.8, 0.9, 0.95, 0.98),
        widths=(4, 8, 12, 16, 24, 32, 48, 64, 96),
        deep_layers=3,
        seeds=(0, 1, 2),
        steps=5000,
        batch=1024,
        l1_trials=50,
        device="auto",
    ),
)

PRESETS: dict[str, AspectPreset] = {p.name: p for p in (QUICK, FULL)}


def get_preset(name: str) -> AspectPreset:
    if name not in PRESETS:
        raise ValueError(f"unknown aspect preset {name!r}; known: {', '.join(PRESETS)}")
    return PRESETS[name]


def run_study(preset: AspectPreset, out_dir: str | Path) -> StudyResult:
    """Train every family and the compressed-sensing transition of `preset`; write the four parquet
    tables into `out_dir` (atomically) and return them."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    runs, layers, pairs = [], [], []
    offset = 0
    for index, family in enumerate(preset.families):
        result = run_aspect_family(family)
        for table, columns in (
            (result.runs, ["run"]),
            (result.layers, ["run"]),
            (result.pairs, ["run_a", "run_b"]),
        ):
            for column in columns:
                table[column] += offset
            table.insert(0, "family", index)
        offset += len(result.runs)
        runs.append(result.runs)
        layers.append(result.layers)
        pairs.append(result.pairs)
    phase = pd.concat(
        [
            model_phase_transition(preset.phase),
            l1_phase_transition(
                preset.phase.n,
                preset.phase.sparsities,
                preset.phase.widths,
                preset.phase.l1_trials,
                tol=preset.phase.tol,
            ),
        ],
        ignore_index=True,
    )
    study = StudyResult(
        pd.concat(runs, ignore_index=True),
        pd.concat(layers, ignore_index=True),
        pd.concat(pairs, ignore_index=True),
        phase,
    )
    write_parquet_atomic(study.runs, out / RUNS_FILE)
    write_parquet_atomic(study.layers, out / LAYERS_FILE)
    write_parquet_atomic(study.pairs, out / PAIRS_FILE)
    write_parquet_atomic(study.phase, out / PHASE_FILE)
    return study
