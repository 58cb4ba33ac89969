"""Loss against width and against prediction: Figs. 1b, 1d, 4a and 8b."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from superscale.analysis import theory
from superscale.plots import paper_settings as ps
from superscale.plots import paper_values as pv
from superscale.plots.captions import (
    Choice,
    flags_text,
    grid_text,
    plural,
    set_caption,
    stand_in_text,
    where_text,
)
from superscale.plots.compose import accepts_ax
from superscale.plots.data import (
    FigureData,
    MissingData,
    at,
    context_line,
    distributions,
    done_runs,
    fit_for,
    loglog_fits,
    main_population,
    mean_over_seeds,
    of_distribution,
    pick_gamma,
    power_scan,
    require_columns,
    unit_density,
)
from superscale.plots.lines import draw_fit_line, draw_width_series
from superscale.plots.style import (
    LLM_COLOR,
    axis_label,
    distribution_label,
    fmt,
    fmt_pm,
    gamma_palette,
    geometric_anchor,
    guide_line,
    identity_line,
    new_figure,
    note,
    set_loglog,
    value_label,
)
from superscale.store import schema

WEAK_GAMMA = ps.LARGE_WEAK_GAMMA  # the paper's weak-regime γ for the large models (Fig. 1b)
STRONG_GAMMA = ps.LARGE_STRONG_GAMMA  # the paper's strong-regime γ (Fig. 1d)
PREDICTED_EQ14 = "predicted_eq14"  # Fig. 4a's x: (4/3) T(φ_{1/2}), eq. 14's integral estimate
EQ14_LABEL = r"predicted loss $\frac{4}{3}\,T(\phi_{1/2})$ (eq. 14)"


def regime_choice(regime: str, gamma: float) -> Choice:
    """The γ drawn for `regime` beside the paper's (0.1 weak, −1 strong: the large models' settings)."""
    return Choice(schema.GAMMA, WEAK_GAMMA if regime == "weak" else STRONG_GAMMA, gamma)


def regime_runs(
    data: FigureData, regime: str, figure: str, min_widths: int = 2
) -> tuple[pd.DataFrame, float]:
    """Unit-density runs of one regime at the γ closest to the paper's, with ≥ `min_widths` values of m."""
    runs = unit_density(done_runs(data))
    if runs.empty:
        raise MissingData(f"{figure} needs trained runs; this store has none.")
    runs = main_population(runs, [schema.FAMILY])
    gamma = pick_gamma(runs, regime, WEAK_GAMMA if regime == "weak" else STRONG_GAMMA, figure)
    chosen = at(runs, schema.GAMMA, gamma)
    if chosen[schema.M_HIDDEN].nunique() < min_widths:
        raise MissingData(
            f"{figure} needs {regime}-regime runs at ≥ {min_widths} values of m; "
            f"this store has {chosen[schema.M_HIDDEN].nunique()} at γ = {fmt(gamma)}."
        )
    return chosen, gamma


LARGE_N = 10240  # E1's n: the paper's exponential scale τ = 400 is quoted at this n


def is_large_family(dist: tuple[str, float, float], n: float) -> bool:
    """`dist` is one of the paper's E1 distributions: power α = 1.2, linear, or exponential with the
    paper's shape τ/n = 400/10240 (the quick preset shrinks n to 1024 and τ to 40 with it)."""
    family, alpha, scale = dist
    if family == "power":
        return bool(np.isclose(alpha, pv.LARGE_POWER_ALPHA))
    if family == "exponential":
        shape = pv.LARGE_EXPONENTIAL_SCALE / LARGE_N
        return bool(np.isfinite(scale) and np.isfinite(n) and np.isclose(scale / n, shape, rtol=0.05))
    return family == "linear"


def _paper_exponent(dist: tuple[str, float, float], n: float) -> pv.PaperValue | None:
    """Fig. 1d's published α_m for the large-model family matching `dist` (see `is_large_family`)."""
    return pv.STRONG_LARGE_EXPONENT.get(dist[0]) if is_large_family(dist, n) else None


def loss_vs_width(data: FigureData, regime: str, figure: str) -> Figure:
    """Final loss vs m per frequency family at one γ, with fitted α_m, theory guides and paper values."""
    runs, gamma = regime_runs(data, regime, figure)
    fits = loglog_fits(data)
    fig, axes = new_figure(width=6.4, height=4.6)
    ax = axes[0, 0]
    paper_lines = []
    fitted = []
    fit_rows = []
    dists = distributions(runs)
    for index, dist in enumerate(dists):
        sub = of_distribution(runs, dist)
        agg = mean_over_seeds(sub, [schema.M_HIDDEN], schema.FINAL_LOSS)
        fit = fit_for(fits, sub.iloc[0].to_dict())
        color = f"C{index}"
        label = distribution_label(*dist)
        if fit is not None:
            label += f": α_m = {fmt_pm(fit[schema.EXPONENT], fit.get(schema.EXPONENT_SE))}"
            draw_fit_line(ax, agg[schema.M_HIDDEN], agg["value"], fit.to_dict(), color)
            fitted.append(label + _window_text(fit))
            fit_rows.append(fit)
        draw_width_series(ax, agg[schema.M_HIDDEN], agg["value"], agg["spread"], label, color)
        paper = _paper_exponent(dist, float(sub[schema.N_FEATURES].max()))
        if regime == "strong" and paper is not None:
            paper_lines.append(f"{distribution_label(*dist)}: {paper.text()}")
        if regime == "weak" and dist[0] == "power" and dist[1] > 1:
            anchor = geometric_anchor(agg[schema.M_HIDDEN].to_numpy(), agg["value"].to_numpy())
            guide_line(
                ax, agg[schema.M_HIDDEN], -(dist[1] - 1), anchor, f"slope −(α − 1) = {fmt(1 - dist[1])}", "--"
            )
    drawn = pd.concat([of_distribution(runs, d) for d in dists])
    ms = runs[schema.M_HIDDEN].to_numpy(dtype=float)
    llm_points = 0
    boxed = ""
    if regime == "strong":
        losses = runs[schema.FINAL_LOSS].to_numpy(dtype=float)
        guide_line(ax, ms, -1.0, geometric_anchor(ms, losses), "slope −1 (theory)")
        llm_points = _draw_llm_points(ax, data)
        if paper_lines:
            note(ax, "paper α_m, n = 10240:\n" + "\n".join(paper_lines))
            families = plural(len(paper_lines), "family", "families")
            boxed = f" Boxed: the paper's α_m for the {families} matching its own."
    set_loglog(ax)
    ax.set_xlabel(axis_label(schema.M_HIDDEN))
    ax.set_ylabel(axis_label(schema.FINAL_LOSS))
    word = "weak" if regime == "weak" else "strong"
    ax.set_title(
        f"{figure}: {word} superposition, {value_label(schema.GAMMA, gamma)} ({context_line(runs)})",
        fontsize=9,
    )
    ax.legend(fontsize=7, loc="upper right")
    text = (
        f"Final loss against m in {word} superposition at {value_label(schema.GAMMA, gamma)}: "
        f"{plural(len(drawn), 'run')} of {plural(len(dists), 'frequency family', 'frequency families')} "
        f"({', '.join(distribution_label(*d) for d in dists)}); "
        f"{grid_text(drawn, [schema.M_HIDDEN])}{where_text(drawn)}. "
    )
    text += (
        f"Log–log fits drawn for {len(fitted)}: {'; '.join(fitted)}."
        if fitted
        else "No α_m fit of these groups in fits.parquet."
    )
    if llm_points and data.llm is not None:
        text += f" Grey: {plural(llm_points, 'LLM point')} (L − L\\m, {data.llm.losses_source})."
    stand_in = stand_in_text([regime_choice(regime, gamma)])
    flags = flags_text(pd.DataFrame(fit_rows))
    set_caption(fig, f"{text}{boxed}{flags} {stand_in}")
    return fig


def _window_text(fit: pd.Series) -> str:
    """' (widths: skip_first=2)' when the stored fit used a window of the widths, else ''."""
    window = fit.get(schema.FIT_WINDOW)
    return f" (widths: {window})" if isinstance(window, str) and window and window != "all" else ""


def _draw_llm_points(ax, data: FigureData) -> int:
    """Fig. 1d's grey LLM points: L − L_\\m against m from the shared-exponent width fit; how many."""
    llm = data.llm
    if llm is None or llm.losses is None or llm.width_fit is None:
        return 0
    from superscale.llm.widthfit import loss_minus_offset

    table = loss_minus_offset(llm.losses, llm.width_fit.offsets)
    keep = table["loss_minus_offset"] > 0
    ax.scatter(
        table.loc[keep, "m"],
        table.loc[keep, "loss_minus_offset"],
        s=10,
        color=LLM_COLOR,
        label=f"LLMs, L − L\\m ({llm.losses_source})",
    )
    return int(keep.sum())


@accepts_ax
def fig1b(data: FigureData) -> Figure:
    """Fig. 1b: weak-regime (γ > 0) final loss against m per frequency family, log–log, with the fits.

    In the paper: γ = 0.1, n = 10240, m = 8–1024 for linear, power (α = 1.2) and exponential (τ = 400)
    frequencies; the losses stay within about 0.3–1.3 and are not power laws in general (the power-law
    case is non-monotone at small m).
    """
    return loss_vs_width(data, "weak", "Fig. 1b")


@accepts_ax
def fig1d(data: FigureData) -> Figure:
    """Fig. 1d: strong-regime (γ < 0) final loss against m per frequency family, log–log, with the fits,
    a slope −1 guide and the LLM points in grey.

    In the paper: γ = −1, n = 10240, m = 8–1024; α_m = 1.01 ± 0.05 (exponential, all widths),
    1.0 ± 0.1 (power, from the 3rd width) and 0.89 ± 0.05 (linear, from the 3rd width); the LLMs'
    L − L_\\m falls with slope 0.91 ± 0.04.
    """
    return loss_vs_width(data, "strong", "Fig. 1d")


def eq14_prediction(frame: pd.DataFrame) -> np.ndarray:
    """Fig. 4a's x for each run: (4/3) T(φ_{1/2}), the integral estimate of eq. 14 (App. D.5) at the run's
    measured φ_{1/2}, n and α; NaN where it is undefined (φ_{1/2} = 0, where T diverges, or no α)."""
    out = np.full(len(frame), np.nan)
    for i, (phi, n, alpha) in enumerate(
        zip(frame[schema.PHI_HALF], frame[schema.N_FEATURES], frame[schema.ALPHA], strict=True)
    ):
        if np.isfinite(phi) and 0 < phi <= 1 and np.isfinite(alpha) and n >= 2:
            out[i] = theory.predicted_weak_loss_integral(float(phi), int(n), float(alpha))
    return out


def _median_ratio(frame: pd.DataFrame, x: str) -> str:
    """'median L / prediction = 1.02 over the 12 runs at γ > 0' (the regime the prediction is for)."""
    weak = frame[frame[schema.GAMMA] > 0]
    weak = weak[weak[x] > 0]
    if weak.empty:
        return "No run at γ > 0, the regime the prediction is for."
    ratio = float(np.median(weak[schema.FINAL_LOSS] / weak[x]))
    return f"Median L / prediction over the {plural(len(weak), 'run')} at γ > 0: {fmt(ratio)}."


@accepts_ax
def fig4a(data: FigureData) -> Figure:
    """Fig. 4a: final loss of the α-scan runs against the weak-superposition prediction (4/3) T(φ_{1/2})
    of eq. 14, on linear axes with the y = x line, one colour per γ.

    In the paper: all small models (n = 1000, 17 α × 10 γ × 6 m) coloured by γ; the x-axis is eq. 14's
    (4/3) T(φ_{1/2}), reaching about 1.3; the points follow y = x for γ > 0 (weak superposition).
    """
    scan = power_scan(done_runs(data), "Fig. 4a")
    require_columns(scan, [schema.PHI_HALF], "Fig. 4a", "metrics.parquet (run `superscale analyze`)")
    scan = scan.assign(**{PREDICTED_EQ14: eq14_prediction(scan)})
    frame = scan[np.isfinite(scan[PREDICTED_EQ14]) & np.isfinite(scan[schema.FINAL_LOSS])]
    if frame.empty:
        raise MissingData("Fig. 4a needs runs with φ_{1/2} > 0 (eq. 14 diverges at 0); this store has none.")
    fig, axes = new_figure(width=5.8, height=4.6)
    ax = axes[0, 0]
    colors = gamma_palette(frame[schema.GAMMA])
    for gamma, sub in frame.groupby(schema.GAMMA):
        ax.scatter(
            sub[PREDICTED_EQ14],
            sub[schema.FINAL_LOSS],
            s=12,
            color=colors[float(gamma)],
            label=f"{value_label(schema.GAMMA, float(gamma))} ({len(sub)})",
        )
    top = float(np.nanmax(np.r_[frame[PREDICTED_EQ14], frame[schema.FINAL_LOSS]]))
    identity_line(ax, np.array([0.0, top]))
    ax.set_xlim(left=0)
    ax.set_ylim(bottom=0)
    ax.set_xlabel(EQ14_LABEL)
    ax.set_ylabel(axis_label(schema.FINAL_LOSS))
    ax.set_title(f"Fig. 4a: actual vs weak-superposition prediction ({context_line(frame)})", fontsize=9)
    ax.legend(fontsize=6, ncol=2 if frame[schema.GAMMA].nunique() > 5 else 1, loc="upper left")
    dropped = len(scan) - len(frame)
    text = (
        f"Final loss L against (4/3) T(φ_{{1/2}}) of eq. 14 for {plural(len(frame), 'run')}: "
        f"{grid_text(frame, [schema.GAMMA, schema.ALPHA, schema.M_HIDDEN])}{where_text(frame)}; "
        f"one colour per γ, dashed y = x. {_median_ratio(frame, PREDICTED_EQ14)}"
    )
    if dropped:
        text += f" Left out: {plural(dropped, 'run')} with φ_{{1/2}} = 0, where eq. 14 diverges."
    return set_caption(fig, text)


@accepts_ax
def fig8b(data: FigureData) -> Figure:
    """Fig. 8b: weak-regime final loss against the exact-sum prediction (4/3) Σ_{i ≥ φn} p_i per
    frequency family, log–log, with the y = x line.

    In the paper: the large models (n = 10240) at γ = 0.1, with the exact discrete sum; qualitative
    agreement.
    """
    runs, gamma = regime_runs(data, "weak", "Fig. 8b", min_widths=1)
    figure = "Fig. 8b"
    require_columns(runs, [schema.PREDICTED_WEAK_LOSS], figure, "metrics.parquet (run `superscale analyze`)")
    frame = runs[(runs[schema.PREDICTED_WEAK_LOSS] > 0) & (runs[schema.FINAL_LOSS] > 0)]
    if frame.empty:
        raise MissingData(f"{figure} needs runs with a positive predicted loss; this store has none.")
    fig, axes = new_figure(width=5.6, height=4.6)
    ax = axes[0, 0]
    dists = distributions(frame)
    for index, dist in enumerate(dists):
        sub = of_distribution(frame, dist)
        ax.scatter(
            sub[schema.PREDICTED_WEAK_LOSS],
            sub[schema.FINAL_LOSS],
            s=16,
            color=f"C{index}",
            label=distribution_label(*dist),
        )
    identity_line(ax, np.concatenate([frame[schema.PREDICTED_WEAK_LOSS], frame[schema.FINAL_LOSS]]))
    set_loglog(ax)
    ax.set_xlabel(axis_label(schema.PREDICTED_WEAK_LOSS))
    ax.set_ylabel(axis_label(schema.FINAL_LOSS))
    ax.set_title(f"{figure}: actual vs weak-superposition prediction ({context_line(frame)})", fontsize=9)
    ax.legend(fontsize=7)
    drawn = pd.concat([of_distribution(frame, d) for d in dists])
    text = (
        f"Final loss L against the exact sum (4/3) Σ_{{i ≥ φn}} p_i for {plural(len(drawn), 'run')} at "
        f"{value_label(schema.GAMMA, gamma)}: {', '.join(distribution_label(*d) for d in dists)}; "
        f"{grid_text(drawn, [schema.M_HIDDEN])}{where_text(drawn)}; dashed y = x. "
    )
    ratio = float(np.median(drawn[schema.FINAL_LOSS] / drawn[schema.PREDICTED_WEAK_LOSS]))
    text += f"Median L / prediction: {fmt(ratio)}."
    return set_caption(fig, f"{text} {stand_in_text([regime_choice('weak', gamma)])}")
