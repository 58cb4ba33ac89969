"""Drawing pieces shared by toy and LLM figures: loss against width, theory lines, histograms, heatmaps.

The LLM figures reuse these where the geometry is the same (Fig. 6b draws like Fig. 1d, Fig. 19 like
Fig. 5a, Fig. 6a like Fig. 17), so the two halves of the paper look alike.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.colors import Normalize, TwoSlopeNorm
from matplotlib.figure import Figure

from superscale.plots import _theory as theory
from superscale.plots.style import THEORY_COLOR, axis_label, fmt
from superscale.store import schema


def draw_width_series(
    ax: Axes,
    m: np.ndarray,
    value: np.ndarray,
    err: np.ndarray | None,
    label: str,
    color: object = None,
    marker: str = "o",
) -> None:
    """One series against width on log–log axes (non-positive values dropped: they have no log)."""
    keep = (np.asarray(m) > 0) & (np.asarray(value) > 0) & np.isfinite(value)
    yerr = None if err is None else np.asarray(err)[keep]
    ax.errorbar(
        np.asarray(m)[keep],
        np.asarray(value)[keep],
        yerr=yerr,
        fmt=f"{marker}-",
        ms=4,
        lw=1.2,
        capsize=2,
        color=color,
        label=label,
    )


def draw_fit_line(ax: Axes, m: np.ndarray, value: np.ndarray, fit: Mapping[str, Any], color: object) -> None:
    """The fitted power law L = C m^-α_m over the fitted widths (the stored intercept where there is one;
    otherwise anchored at the data's geometric mean, the OLS centre)."""
    exponent = float(fit[schema.EXPONENT])
    keep = (np.asarray(m) > 0) & (np.asarray(value) > 0)
    if keep.sum() < 2 or not np.isfinite(exponent):
        return
    ms, vs = np.asarray(m, dtype=float)[keep], np.asarray(value, dtype=float)[keep]
    lo, hi = float(fit.get("m_min", np.nan)), float(fit.get("m_max", np.nan))
    if not (np.isfinite(lo) and np.isfinite(hi) and hi > lo):
        lo, hi = ms.min(), ms.max()
    intercept = float(fit.get("intercept", np.nan))
    if not np.isfinite(intercept) and float(fit.get("coefficient", np.nan)) > 0:
        intercept = float(np.log(fit["coefficient"]))  # the store keeps C of L = C m^-α_m
    if not np.isfinite(intercept):
        intercept = np.log(vs).mean() + exponent * np.log(ms).mean()
    xs = np.geomspace(lo, hi, 20)
    ax.plot(xs, np.exp(intercept - exponent * np.log(xs)), "-", color=color, lw=0.8, alpha=0.6)


def draw_exponent_lines(ax: Axes, alphas: np.ndarray, which: Sequence[str]) -> None:
    """Theory lines of α_m against α: 'weak' α − 1, 'strong' 1, 'skewed' 2(α − 1) (docs/recipe.md §3)."""
    xs = np.linspace(float(np.min(alphas)), float(np.max(alphas)), 50)
    curves = {
        "weak": (theory.weak_exponent(xs), "--", r"$\alpha_m = \alpha - 1$ (weak)"),
        "strong": (np.full_like(xs, theory.strong_exponent()), "-.", r"$\alpha_m = 1$ (strong)"),
        "skewed": (theory.skewed_exponent(xs), ":", r"$\alpha_m = 2(\alpha - 1)$ (skewed)"),
    }
    for key in which:
        ys, style, label = curves[key]
        ax.plot(xs, ys, style, color=THEORY_COLOR, lw=1.1, label=label)


def draw_capacity_lines(ax: Axes, m: np.ndarray, n: int, strong: bool = True) -> None:
    """φ references: m/n (weak, one feature per dimension) and min{1, m²/2n} (ETF-like capacity)."""
    lo, hi = int(np.min(m)), int(np.max(m))
    ms = np.arange(lo, hi + 1) if hi - lo <= 2000 else np.unique(np.geomspace(lo, hi, 400).round())
    ax.plot(ms, theory.weak_fraction(ms, n), "--", color=THEORY_COLOR, lw=1.0, label=f"$m/n$ (n = {n})")
    if strong:
        ax.plot(
            ms, theory.strong_fraction(ms, n), ":", color=THEORY_COLOR, lw=1.2, label=r"$\min\{1, m^2/2n\}$"
        )


def draw_inverse_m(ax: Axes, m: np.ndarray, label: str = "$1/m$") -> None:
    """The random-vector mean square overlap 1/m."""
    ms = np.geomspace(float(np.min(m)), float(np.max(m)), 50)
    ax.plot(ms, theory.random_cos2_mean(ms), "--", color=THEORY_COLOR, lw=1.0, label=label)


def norm_bins(values: np.ndarray, count: int = 40) -> np.ndarray:
    """The bin edges of a row-norm histogram: `count` bins from 0 to max(1.5, 1.05 × the largest norm)."""
    hi = max(1.5, float(np.max(values)) * 1.05) if np.size(values) else 1.5
    return np.linspace(0.0, hi, count + 1)


def draw_norm_histogram(ax: Axes, norms: np.ndarray, title: str, thresholds: bool = True) -> None:
    """Histogram of row norms ‖W_i‖ with the thresholds 1/2 (φ_{1/2}) and 1 (φ_1) (Figs. 5a, 7, 19)."""
    values = np.asarray(norms, dtype=float)
    values = values[np.isfinite(values)]
    ax.hist(values, bins=list(norm_bins(values)), color="tab:blue", alpha=0.8)
    if thresholds:
        for x, style in ((0.5, ":"), (1.0, "--")):
            ax.axvline(x, ls=style, color=THEORY_COLOR, lw=0.9)
    ax.set_title(title, fontsize=8)


def draw_heatmap(
    fig: Figure,
    ax: Axes,
    table: pd.DataFrame,
    column: str,
    cmap: str = "viridis",
    center: float | None = None,
    annotate: bool = True,
) -> None:
    """A (row value × column value) grid of `column` with its colour bar; NaN cells left blank."""
    values = table.to_numpy(dtype=float)
    finite = values[np.isfinite(values)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    if center is not None and lo < center < hi:
        norm: Normalize = TwoSlopeNorm(vcenter=center, vmin=lo, vmax=hi)
    else:
        norm = Normalize(lo, hi if hi > lo else lo + 1.0)
    image = ax.imshow(np.ma.masked_invalid(values), origin="lower", aspect="auto", cmap=cmap, norm=norm)
    ax.set_xticks(range(len(table.columns)), [fmt(c) for c in table.columns], fontsize=7, rotation=45)
    ax.set_yticks(range(len(table.index)), [fmt(r) for r in table.index], fontsize=7)
    ax.set_xlabel(axis_label(str(table.columns.name)))
    ax.set_ylabel(axis_label(str(table.index.name)))
    if annotate and values.size <= 200:
        colours = image.cmap
        for (i, j), v in np.ndenumerate(values):
            if np.isfinite(v):
                red, green, blue, _ = colours(norm(v))
                ink = "black" if 0.299 * red + 0.587 * green + 0.114 * blue > 0.5 else "white"
                ax.text(j, i, f"{v:.2g}", ha="center", va="center", fontsize=6, color=ink)
    fig.colorbar(image, ax=ax, label=axis_label(column))


def grid_table(frame: pd.DataFrame, index: str, columns: str, value: str) -> pd.DataFrame:
    """Mean of `value` on the (index × columns) grid, sorted, with the schema names on both axes."""
    table = frame.pivot_table(index=index, columns=columns, values=value, aggfunc="mean")
    table = table.sort_index().sort_index(axis=1)
    table.index.name, table.columns.name = index, columns
    return table


def default_n(frame: pd.DataFrame) -> int:
    """The number of features of these runs (the largest if they differ)."""
    return int(frame[schema.N_FEATURES].max())
