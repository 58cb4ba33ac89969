"""Report section for the variant comparison: figures and a one-paragraph verdict from the runs table.

Input is the variants.parquet table `superscale analyze` adds to a store (superscale.variants.compare).
The figures are plain `matplotlib.figure.Figure` objects (no pyplot state), so the report can save them
wherever it likes.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from superscale.store import schema
from superscale.variants.compare import (
    CE_EXACT,
    CE_SPEC_WIDTH,
    CE_WIDTH,
    OFFSET,
    QUANTITY,
    VARIANT,
    fit_variant_exponents,
)

__all__ = ["phase_diagram_figure", "variants_figures", "variants_verdict"]

_REQUIRED = (VARIANT, schema.GAMMA, schema.M_HIDDEN, schema.FINAL_LOSS)


def _check(df: pd.DataFrame) -> None:
    missing = [c for c in _REQUIRED if c not in df.columns]
    if missing or df.empty:
        raise ValueError(f"the variants table needs rows with columns {list(_REQUIRED)}; missing {missing}")


def _label(variant: str, gamma: float) -> str:
    return (
        variant
        if gamma is None or (isinstance(gamma, float) and math.isnan(gamma))
        else f"{variant} (γ={gamma:g})"
    )


def _groups(df: pd.DataFrame) -> list[tuple[str, float, pd.DataFrame]]:
    return [
        (str(v), float(g), grp)
        for (v, g), grp in df.groupby([VARIANT, schema.GAMMA], dropna=False, sort=False)
    ]


def _m_ticks(ax: Axes, ms: np.ndarray) -> None:
    """Label the trained widths themselves on a log x-axis (not 2×10¹)."""
    ax.set_xticks(ms, [f"{m:g}" for m in ms])
    ax.minorticks_off()


def _norm_growth(df: pd.DataFrame, variant: str) -> tuple[float, float] | None:
    """Mean row norm at the smallest and the largest width of `variant`."""
    if schema.MEAN_NORM not in df.columns:
        return None
    by_m = df[df[VARIANT] == variant].groupby(schema.M_HIDDEN)[schema.MEAN_NORM].mean()
    return None if by_m.empty else (float(by_m.iloc[0]), float(by_m.iloc[-1]))


def _fit_row(
    fits: pd.DataFrame, variant: str, gamma: float, quantity: str, kind: str = "loglog"
) -> pd.Series | None:
    if fits.empty:
        return None
    same_gamma = fits[schema.GAMMA].isna() if math.isnan(gamma) else fits[schema.GAMMA] == gamma
    chosen = (fits[VARIANT] == variant) & same_gamma & (fits[QUANTITY] == quantity)
    row = fits[chosen & (fits[schema.FIT_KIND] == kind)]
    return None if row.empty else row.iloc[0]


def _exponent(fits: pd.DataFrame, variant: str, gamma: float, quantity: str) -> tuple[float, float] | None:
    """(α_m, se) of the log-log fit, or None when that group has no fit."""
    row = _fit_row(fits, variant, gamma, quantity)
    return None if row is None else (float(row[schema.EXPONENT]), float(row[schema.EXPONENT_SE]))


def variants_figures(df: pd.DataFrame) -> list[Figure]:
    """(1) loss relative to the smallest width vs m for every model, with fitted α_m and a 1/m guide;
    (2) the cross-entropy §3.6 terms vs m (when the table has the cross-entropy model);
    (3) geometry: mean squared cosine of rows and mean row norm vs m."""
    _check(df)
    fits = fit_variant_exponents(df)
    figures = []

    fig = Figure(figsize=(6.4, 4.6))
    ax = fig.add_subplot()
    for variant, gamma, grp in _groups(df):
        mean = grp.groupby(schema.M_HIDDEN)[schema.FINAL_LOSS].mean()
        rel = mean / mean.iloc[0]
        fit = _exponent(fits, variant, gamma, schema.FINAL_LOSS)
        extra = "" if fit is None else f": α_m = {fit[0]:.2f} ± {fit[1]:.2f}"
        ax.loglog(rel.index, rel.to_numpy(), "o-", label=_label(variant, gamma) + extra)
    ms = np.array(sorted(df[schema.M_HIDDEN].unique()), dtype=float)
    ax.loglog(ms, ms[0] / ms, "k--", lw=1, label="∝ 1/m")
    _m_ticks(ax, ms)
    ax.set_xlabel("width m")
    ax.set_ylabel("final loss / loss at the smallest m")
    ax.set_title("Loss vs width: MSE, cross-entropy and unit-norm toy models")
    ax.legend(fontsize=8)
    figures.append(fig)

    ce_groups = _groups(df[df[CE_WIDTH].notna()]) if CE_WIDTH in df.columns else []
    if ce_groups:
        fig = Figure(figsize=(5.6 * len(ce_groups), 4.6))
        axes = fig.subplots(1, len(ce_groups), sharey=True, squeeze=False)[0]
        curves = (
            (schema.FINAL_LOSS, "measured cross-entropy"),
            (CE_EXACT, "exact expected loss at v = 1 (trained W, b)"),
            (CE_WIDTH, "width term ½Σ a_ij o_ij² (toy read-out)"),
            (CE_SPEC_WIDTH, "paper's L_m = ½Σ c'² e^{−‖W_i‖} (App. A.2)"),
        )
        for ax, (variant, gamma, grp) in zip(axes, ce_groups, strict=True):
            for column, name in curves:
                mean = grp.groupby(schema.M_HIDDEN)[column].mean()
                mean = mean[mean > 0]
                if len(mean):
                    ax.loglog(mean.index, mean.to_numpy(), "o-", label=name)
            _m_ticks(ax, ms)
            ax.set_xlabel("width m")
            ax.set_title(_label(variant, gamma), fontsize=9)
        axes[0].set_ylabel("nats per sample")
        axes[0].legend(fontsize=7)
        fig.suptitle("Cross-entropy toy model: §3.6 decomposition vs measured loss")
        figures.append(fig)

    if schema.MEAN_COS2_ALL in df.columns and schema.MEAN_NORM in df.columns:
        fig = Figure(figsize=(9.6, 4.0))
        left, right = fig.subplots(1, 2)
        for variant, gamma, grp in _groups(df):
            by_m = grp.groupby(schema.M_HIDDEN)[[schema.MEAN_COS2_ALL, schema.MEAN_NORM]].mean()
            left.loglog(by_m.index, by_m[schema.MEAN_COS2_ALL], "o-", label=_label(variant, gamma))
            right.semilogx(by_m.index, by_m[schema.MEAN_NORM], "o-", label=_label(variant, gamma))
        left.loglog(ms, 1 / ms, "k--", lw=1, label="1/m (random)")
        _m_ticks(left, ms)
        _m_ticks(right, ms)
        left.set_xlabel("width m")
        left.set_ylabel("mean cos² over all row pairs")
        right.set_xlabel("width m")
        right.set_ylabel("mean row norm ‖W_i‖")
        left.legend(fontsize=7)
        fig.suptitle("Geometry of the learned representations")
        figures.append(fig)
    return figures


def variants_verdict(df: pd.DataFrame) -> str:
    """One paragraph: each model's α_m, whether cross-entropy and unit norms keep the MSE model's exponent,
    and how the §3.6 width term scales."""
    _check(df)
    fits = fit_variant_exponents(df)
    parts = []
    for variant, gamma, _ in _groups(df):
        row = _fit_row(fits, variant, gamma, schema.FINAL_LOSS)
        if row is None:
            continue
        part = f"{_label(variant, gamma)} α_m = {row[schema.EXPONENT]:.2f} ± {row[schema.EXPONENT_SE]:.2f}"
        part += f" (R² {row[schema.R2]:.3f}"
        offset = _fit_row(fits, variant, gamma, schema.FINAL_LOSS, "offset")
        if offset is not None and offset[OFFSET] > 0.05 * float(df[schema.FINAL_LOSS].min()):
            part += f"; with an offset L0 = {offset[OFFSET]:.3g}: α = {offset[schema.EXPONENT]:.2f}"
        parts.append(part + ")")
    if not parts:
        return "No variant has losses at 3 or more widths, so no exponent could be fitted."
    text = "Model exponents from OLS of ln L on ln m: " + "; ".join(parts) + "."
    reference = next((g for v, g, _ in _groups(df) if v == "mse"), None)
    base = None if reference is None else _exponent(fits, "mse", reference, schema.FINAL_LOSS)
    for variant, gamma, _ in _groups(df):
        fit = _exponent(fits, variant, gamma, schema.FINAL_LOSS)
        if base is None or fit is None or variant == "mse":
            continue
        diff = fit[0] - base[0]
        se = math.hypot(fit[1], base[1])
        verdict = (
            "consistent with" if abs(diff) <= 2 * se else ("steeper than" if diff > 0 else "shallower than")
        )
        text += f" {_label(variant, gamma)} is {verdict} the MSE model ({diff:+.2f} ± {se:.2f})."
    ce_rows = df[df[CE_SPEC_WIDTH].notna()] if CE_SPEC_WIDTH in df.columns else df.iloc[0:0]
    for variant, gamma, _ in _groups(ce_rows):
        width = _exponent(fits, variant, gamma, CE_SPEC_WIDTH)
        if width is not None:
            text += (
                f" The paper's width term L_m (App. A.2) of the trained {_label(variant, gamma)} scales as "
                f"m^-{width[0]:.2f} ± {width[1]:.2f}; the paper's argument predicts m^-1."
            )
        loss = _exponent(fits, variant, gamma, schema.FINAL_LOSS)
        if width is None or loss is None or abs(loss[0] - width[0]) <= 2 * math.hypot(loss[1], width[1]):
            continue
        growth = _norm_growth(ce_rows[ce_rows[schema.GAMMA] == gamma], variant)
        if loss[0] > width[0] and growth is not None and growth[1] > 1.1 * growth[0]:
            text += (
                f" Its measured loss falls faster than L_m while its mean row norm grows with width"
                f" ({growth[0]:.2f} → {growth[1]:.2f}); §3.6 assumes norms independent of m (capped by the"
                " data's intrinsic uncertainty, which one-token samples with v = 1 lack)."
            )
        offset = _fit_row(fits, variant, gamma, schema.FINAL_LOSS, "offset")
        if loss[0] < width[0] and offset is not None and offset[OFFSET] > 0:
            text += (
                f" Its measured loss falls slower than L_m: it has an irreducible part (offset fit L0 ="
                f" {offset[OFFSET]:.3g}, e.g. tokens with small v cannot be told apart), and above it"
                f" α = {offset[schema.EXPONENT]:.2f}."
            )
    return text


def phase_diagram_figure(table: pd.DataFrame) -> Figure:
    """Anthropic-style phase diagram from `phase_diagram`'s table: phase of the last feature per cell."""
    from superscale.variants.phase import PHASES

    for column in ("density", "importance", "phase", "last_norm"):
        if column not in table.columns:
            raise ValueError(
                f"the phase table needs column {column!r} (from superscale.variants.phase.phase_diagram)"
            )
    codes = {phase: i for i, phase in enumerate(PHASES)}
    grid = table.pivot(index="density", columns="importance", values="phase").sort_index(ascending=False)
    values = grid.map(codes.__getitem__).to_numpy(dtype=float)
    fig = Figure(figsize=(5.6, 4.4))
    ax = fig.add_subplot()
    image = ax.imshow(values, cmap="viridis", vmin=0, vmax=len(PHASES) - 1, aspect="auto")
    ax.set_xticks(range(grid.shape[1]), [f"{x:g}" for x in grid.columns])
    ax.set_yticks(range(grid.shape[0]), [f"{x:g}" for x in grid.index])
    ax.set_xlabel("relative importance of the last feature")
    ax.set_ylabel("feature density p = 1 − S")
    bar = fig.colorbar(image, ax=ax, ticks=range(len(PHASES)))
    bar.ax.set_yticklabels([p.replace("_", " ") for p in PHASES])
    ax.set_title("Phase of the last feature (importance-weighted toy model)")
    return fig
