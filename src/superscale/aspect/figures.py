"""Figures of the aspect-ratio study: DataFrames in, matplotlib Figures out (no pyplot state).

Each function takes the table(s) written by `superscale.aspect.study` and returns a Figure.
"""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import NullFormatter

from superscale.aspect.calibrated import MEASURES
from superscale.aspect.compressed_sensing import critical_width, cs_min_width

__all__ = [
    "fig_features_per_layer",
    "fig_implied_sparsity",
    "fig_loss_vs_aspect",
    "fig_phase_transition",
    "fig_universality",
]


def _groups(runs: pd.DataFrame) -> list[tuple[tuple[int, str, float], pd.DataFrame]]:
    keys = ["params_budget", "data", "gamma"]
    return [(tuple(k), g) for k, g in runs.groupby(keys, sort=True)]  # type: ignore[misc]


def _kind(runs: pd.DataFrame, kind: str) -> pd.DataFrame:
    if "kind" not in runs:
        return runs if kind == "family" else runs.iloc[:0]
    return runs[runs["kind"] == kind]


def fig_loss_vs_aspect(runs: pd.DataFrame) -> Figure:
    """Loss vs aspect ratio m/L at fixed N (left) and vs width with the one-layer model of each width
    (right, dashed): mean ± std over seeds, one colour per (N, data, γ)."""
    fig = Figure(figsize=(11, 4.2), layout="constrained")
    ax, ax_m = fig.subplots(1, 2)
    baseline = _kind(runs, "width_baseline")
    for (budget, data, gamma), group in _groups(_kind(runs, "family")):
        keys = ["n_layers", "m", "aspect_ratio"]
        stats = group.groupby(keys)["final_loss"].agg(["mean", "std"]).reset_index()
        stats = stats.sort_values("aspect_ratio")
        label = f"N={budget}, {data}, γ={gamma:g}"
        line = ax.errorbar(
            stats["aspect_ratio"],
            stats["mean"],
            yerr=stats["std"].fillna(0),
            marker="o",
            capsize=3,
            label=label,
        )
        color = line[0].get_color()
        for _, row in stats.iterrows():
            ax.annotate(
                f"L={int(row['n_layers'])}",
                (row["aspect_ratio"], row["mean"]),
                fontsize=7,
                textcoords="offset points",
                xytext=(3, 3),
            )
        ax_m.errorbar(
            stats["m"],
            stats["mean"],
            yerr=stats["std"].fillna(0),
            marker="o",
            capsize=3,
            color=color,
            label=f"{label} (equal N)",
        )
        base = baseline[
            (baseline["params_budget"] == budget) & (baseline["data"] == data) & (baseline["gamma"] == gamma)
        ]
        one_layer = pd.concat([base, group[group["n_layers"] == 1]])
        if len(one_layer):
            ref = one_layer.groupby("m")["final_loss"].agg(["mean", "std"]).reset_index()
            ax_m.errorbar(
                ref["m"],
                ref["mean"],
                yerr=ref["std"].fillna(0),
                marker="s",
                mfc="none",
                ls="--",
                capsize=3,
                color=color,
                label=f"{label} (L = 1 at each m)",
            )
    for axis in (ax, ax_m):
        axis.set_xscale("log")
        axis.set_yscale("log")
        axis.xaxis.set_minor_formatter(NullFormatter())  # keep only decade labels legible
        axis.set_ylabel("final loss $L$ (summed over features)")
    ax.set_xlabel("aspect ratio $m/L$ (equal parameter count $N$)")
    ax_m.set_xlabel("width $m$")
    ax.legend(fontsize=7)
    ax_m.legend(fontsize=6)
    return fig


def fig_features_per_layer(layers: pd.DataFrame) -> Figure:
    """Represented features and superposition n_repr/m at each layer, per shape (mean over seeds)."""
    fig = Figure(figsize=(10, 3.8), layout="constrained")
    ax_count, ax_sup = fig.subplots(1, 2)
    for (data, gamma, n_layers, m), group in _kind(layers, "family").groupby(
        ["data", "gamma", "n_layers", "m"], sort=True
    ):
        stats = group.groupby("layer")[["n_represented", "superposition"]].mean()
        label = f"{data}, γ={gamma:g}, L={n_layers}, m={m}"
        ax_count.plot(stats.index, stats["n_represented"], marker="o", label=label)
        ax_sup.plot(stats.index, stats["superposition"], marker="o", label=label)
    ax_count.set_xlabel("layer $l$ (0 = encoder output)")
    ax_count.set_ylabel("represented features")
    ax_sup.set_xlabel("layer $l$ (0 = encoder output)")
    ax_sup.set_ylabel("degree of superposition $n_{repr}/m$")
    ax_sup.axhline(math.e, color="0.4", ls=":", lw=1)
    ax_sup.legend(fontsize=6, ncol=2)
    return fig


def fig_universality(scores: pd.DataFrame, layer: str = "last") -> Figure:
    """Calibrated universality (0 = chance, 1 = identical up to rotation) at `layer`: one panel per measure,
    bars per (regime, data) across seeds (same shape) and across shapes (equal N), ± standard error
    (`superscale.aspect.katta.score_summary`)."""
    at = scores[scores["layer"] == layer]
    arms = sorted({(r, d) for r, d in zip(at["regime"], at["data"], strict=True)})
    fig = Figure(figsize=(11, 3.8), layout="constrained")
    axes = fig.subplots(1, len(MEASURES), sharey=True)
    width = 0.38
    for ax, measure in zip(axes, MEASURES, strict=True):
        for offset, (kind, color) in enumerate((("seed", "tab:blue"), ("shape", "tab:orange"))):
            rows = at[at["kind"] == kind].set_index(["regime", "data"])
            means = [
                float(rows.loc[arm, f"{measure}_mean"]) if arm in rows.index else math.nan for arm in arms
            ]
            errs = [float(rows.loc[arm, f"{measure}_se"]) if arm in rows.index else 0.0 for arm in arms]
            ax.bar(
                np.arange(len(arms)) + (offset - 0.5) * width,
                means,
                width,
                yerr=np.nan_to_num(errs),
                color=color,
                capsize=3,
                label=f"across {kind}s",
            )
        ax.axhline(0, color="0.3", lw=1)
        ax.axhline(1, color="0.3", ls=":", lw=1)
        ax.set_xticks(range(len(arms)), [f"{r}\n{d}" for r, d in arms], fontsize=7)
        ax.set_title(f"{measure} ({layer} layer)", fontsize=9)
    axes[0].set_ylabel("calibrated score (value − null)/(ceiling − null)")
    axes[0].legend(fontsize=7)
    return fig


def fig_implied_sparsity(runs: pd.DataFrame) -> Figure:
    """Sparsity implied by each model's last layer (n_repr/m through the bound) vs width, and the data's."""
    fig = Figure(figsize=(6.4, 4.2), layout="constrained")
    ax = fig.add_subplot()
    for (budget, data, gamma), group in _groups(_kind(runs, "family")):
        stats = group.groupby("m")["implied_sparsity_last"].agg(["mean", "std"]).reset_index()
        line = ax.errorbar(
            stats["m"],
            stats["mean"],
            yerr=stats["std"].fillna(0),
            marker="o",
            capsize=3,
            label=f"implied, N={budget}, {data}, γ={gamma:g}",
        )
        actual = float(group["data_sparsity"].iloc[0])
        ax.axhline(actual, ls="--", color=line[0].get_color(), lw=1)
    ax.set_xlabel("width $m$ (deeper models are narrower)")
    ax.set_ylabel("sparsity $S$ (dashed: the data's $1 - E/n$)")
    ax.legend(fontsize=7)
    return fig


def fig_phase_transition(phase: pd.DataFrame, tol: float = 0.1) -> Figure:
    """Smallest width reconstructing x to relative error `tol`: toy, deep toy and L1, against the bound."""
    fig = Figure(figsize=(10, 4), layout="constrained")
    ax_crit, ax_err = fig.subplots(1, 2)
    crit = critical_width(phase, tol=tol)
    n = int(phase["n"].iloc[0])
    grid = np.linspace(phase["sparsity"].min(), phase["sparsity"].max(), 100)
    ax_crit.plot(grid, [cs_min_width(n, s) for s in grid], color="k", label=r"bound $-n(1-S)\ln(1-S)$")
    for method, group in crit.groupby("method"):
        ax_crit.plot(group["sparsity"], group["critical_m"], marker="o", label=str(method))
    ax_crit.set_xlabel("sparsity $S$")
    ax_crit.set_ylabel(f"smallest $m$ with relative error ≤ {tol:g}")
    ax_crit.set_yscale("log")
    ax_crit.legend(fontsize=8)
    for (method, sparsity), group in phase.groupby(["method", "sparsity"], sort=True):
        stats = group.groupby("m")["rel_error"].mean()
        ax_err.plot(stats.index, stats.to_numpy(), marker=".", label=f"{method}, S={sparsity:g}")
    ax_err.axhline(tol, color="0.4", ls=":")
    ax_err.set_xscale("log")
    ax_err.set_yscale("log")
    ax_err.set_ylim(bottom=1e-4)  # exact L1 recovery reaches 1e-30: clip so the transition is visible
    ax_err.xaxis.set_minor_formatter(NullFormatter())
    ax_err.set_xlabel("width $m$")
    ax_err.set_ylabel(r"relative error $E\|\hat x - x\|^2 / E\|x\|^2$")
    ax_err.legend(fontsize=6, ncol=3)
    return fig
