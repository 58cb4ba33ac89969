"""Superposition forming during training: LM-head geometry along a series of checkpoints.

A series is Pythia-style hub revisions (`step1000` … `step143000`) of one repo, or local directories
(`run/checkpoint-500`, …). Each checkpoint is measured by `geometry.measure_geometry`; the step comes from
the revision or the directory name (`source.training_step`). The table has one row per checkpoint, sorted
by step; the plot shows ⟨cos²⟩·m (raw and centred; 1 for random directions), φ_1/2, φ_1 and the mean norm.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from superscale.store.atomic import write_bytes_atomic

TRAJECTORY_COLUMNS = [
    "step", "model", "revision", "n_rows", "m", "cos2_times_m", "cos2_times_m_centered", "phi_half",
    "phi_one", "mean_norm", "std_norm", "mean_abs_cos", "duplicate_rows", "method",
]  # fmt: skip


def series(sources: Sequence[str], revisions: Sequence[str] | None) -> list[tuple[str, str | None]]:
    """(source, revision) per checkpoint: every revision of one hub id, or every source as it is."""
    if not sources:
        raise ValueError("give at least one SOURCE (a hub id with --revision, or checkpoint directories)")
    if revisions:
        if len(sources) != 1:
            raise ValueError(f"--revision applies to one hub id, got {len(sources)} sources")
        return [(sources[0], revision) for revision in revisions]
    return [(source, None) for source in sources]


def trajectory_frame(rows: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """Geometry rows as a training trajectory, sorted by step; every checkpoint must name its step."""
    frame = pd.DataFrame(list(rows))
    if frame.empty:
        raise ValueError("no checkpoints to tabulate")
    unnamed = frame.loc[frame["step"].isna(), "model"].tolist()
    if unnamed:
        raise ValueError(
            f"no training step in {', '.join(map(str, unnamed))}: name checkpoints like step1000 or "
            "checkpoint-500 (revision or directory)"
        )
    frame = frame[TRAJECTORY_COLUMNS].astype({"step": "int64"})
    unmeasured = frame.loc[~np.isfinite(frame["cos2_times_m"].astype(float)), "model"].tolist()
    if unmeasured:  # a NaN row would be plotted as a gap and written as if measured
        raise ValueError(f"⟨cos²⟩·m is not finite for {', '.join(map(str, unmeasured))}: nothing is written")
    if frame["step"].duplicated().any():
        raise ValueError(f"two checkpoints share a step: {sorted(frame['step'][frame['step'].duplicated()])}")
    return frame.sort_values("step").reset_index(drop=True)


def plot_trajectory(frame: pd.DataFrame, path: str | Path) -> None:
    """Three panels against training step, written atomically as PNG, PDF or SVG (by suffix)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    if path.suffix not in (".png", ".pdf", ".svg"):
        raise ValueError(f"plot path must end in .png, .pdf or .svg, got {str(path)!r}")
    step = frame["step"]
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.6), constrained_layout=True)
    ax = axes[0]
    ax.plot(step, frame["cos2_times_m"], "o-", label="raw rows")
    if frame["cos2_times_m_centered"].notna().any():
        ax.plot(step, frame["cos2_times_m_centered"], "s-", label="mean row subtracted")
    ax.axhline(1.0, color="grey", ls="--", lw=1, label="random directions (1/m)")
    ax.set(ylabel="⟨cos²⟩ · m", yscale="log")
    ax.legend(fontsize=8)
    axes[1].plot(step, frame["phi_half"], "o-", label="φ_1/2")
    axes[1].plot(step, frame["phi_one"], "s-", label="φ_1")
    axes[1].set(ylabel="fraction of rows with norm > t", ylim=(-0.02, 1.02))
    axes[1].legend(fontsize=8)
    axes[2].errorbar(step, frame["mean_norm"], yerr=frame["std_norm"], fmt="o-", capsize=2)
    axes[2].set(ylabel="row norm (mean ± std)")
    for ax in axes:
        ax.set_xlabel("training step")
        if (step > 0).all() and step.max() / step.min() > 20:
            ax.set_xscale("log")
    fig.suptitle(f"LM-head geometry over training: {frame['model'].iloc[0].split('@')[0]}", fontsize=10)
    buffer = io.BytesIO()
    fig.savefig(buffer, format=path.suffix[1:], dpi=120)
    plt.close(fig)
    write_bytes_atomic(buffer.getvalue(), path)
