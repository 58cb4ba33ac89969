"""Shared look of every figure: labels from the schema, colours, guides, paper marks, saving.

Axis labels and legend entries come from here and from the data's own values (γ, α, family, n), so a
figure never carries a hand-typed number and a renamed column changes every label at once.
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterable, Sequence

import matplotlib
import numpy as np
from matplotlib.axes import Axes
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Colormap, Normalize
from matplotlib.figure import Figure
from matplotlib.ticker import LogFormatterSciNotation

from superscale.plots.compose import caller_axes
from superscale.store import schema

PAPER_COLOR = "black"
LLM_COLOR = "0.55"
THEORY_COLOR = "0.25"
GAMMA_CMAP = "coolwarm"  # blue = strong superposition (γ < 0), red = weak (γ > 0)
ALPHA_CMAP = "viridis"
DENSITY_CMAP = "plasma"

# labels keyed by schema column: the one place the words on an axis are written
AXIS_LABELS: dict[str, str] = {
    schema.M_HIDDEN: "model dimension $m$",
    schema.N_FEATURES: "number of features $n$",
    schema.GAMMA: r"weight decay $\gamma$",
    schema.ALPHA: r"data exponent $\alpha$",
    schema.SCALE: r"exponential scale $\tau$",
    schema.DENSITY: "activation density $E$",
    schema.FINAL_LOSS: "final loss $L$ (summed over features)",
    schema.FINAL_LOSS_STD: "std of the final step losses",
    schema.HELDOUT_LOSS: "held-out loss (summed over features)",
    schema.PHI_HALF: r"fraction represented $\phi_{1/2}$",
    schema.PHI_ONE: r"fraction strongly represented $\phi_1$",
    schema.N_STRONG: r"rows with $\Vert W_i\Vert > 1$",
    schema.MEAN_NORM: r"mean row norm $\Vert W_i\Vert$",
    schema.MEAN_COS2_STRONG: r"mean $c_{ij}^2$, rows with $\Vert W_i\Vert > 1$",
    schema.MEAN_COS2_ALL: r"mean $c_{ij}^2$, all rows",
    schema.VAR_RATIO_STRONG: r"Var$(c_{ij}^2)$ / random-vector value, $\Vert W_i\Vert > 1$",
    schema.WELCH_KAPPA2_STRONG: r"Welch $\kappa^2$ ($\nu$ = rows with $\Vert W_i\Vert > 1$)",
    schema.PREDICTED_WEAK_LOSS: r"predicted loss $\frac{4}{3}\sum_{i > \phi_{1/2} n}\, p_i$",
    schema.AMBIGUITY: r"ambiguity $\Vert WW^T - B\Vert_2$",
    schema.EXPONENT: r"model exponent $\alpha_m$",
    schema.R2: r"$R^2$ of the log–log fit",
    schema.STEP: "optimiser step",
    schema.LOSS: "loss (summed over features)",
    "row_norm": r"row norm $\Vert W_i\Vert$",
    "rank": "frequency rank $i$",
    "prob": "feature probability $p_i$",
    "inv_m": "$1/m$",
    "mean_cos2": r"mean square overlap $\langle c_{ij}^2\rangle$",
    "loss_minus_offset": r"$L - L_{\backslash m}$ (nats/token)",
    "llm_loss": "eval loss (nats/token)",
    "n_params": "parameters $N$",
    "d_model": r"width $m$ ($d_\mathrm{model}$)",
    "token_count": "token count",
}

FAMILY_WORDS = {"power": "power", "exponential": "exponential", "linear": "linear", "custom": "custom"}


def axis_label(column: str) -> str:
    """The label for a schema column (its own name when the column has no entry yet)."""
    return AXIS_LABELS.get(column, column.replace("_", " "))


def fmt(value: float, digits: int = 3) -> str:
    """A short human number: 0.7778 → 0.778, −1.0 → −1, 10240 → 10240 (Unicode minus, as on the axes)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if float(value).is_integer() and abs(value) < 1e7:
        text = str(int(value))
    else:
        text = f"{value:.{digits}g}"
    return text.replace("-", "−")


def fmt_pm(value: float, err: float | None, significant: int = 2) -> str:
    """`value ± err` to the precision of the error's leading `significant` digits (at most 4 decimals)."""
    if err is None or not np.isfinite(err) or err < 0:
        return fmt(value)
    decimals = 3 if err == 0 else max(0, significant - 1 - math.floor(math.log10(err)))
    decimals = min(decimals, 4)
    return f"{value:.{decimals}f} ± {err:.{decimals}f}".replace("-", "−")


def distribution_label(family: str, alpha: float = math.nan, scale: float = math.nan) -> str:
    """Legend entry of a frequency family with its parameter, e.g. 'power α = 1.2', 'exponential τ = 400'."""
    word = FAMILY_WORDS.get(str(family), str(family))
    if family == "power" and np.isfinite(alpha):
        return f"{word} α = {fmt(alpha)}"
    if family == "exponential" and np.isfinite(scale):
        return f"{word} τ = {fmt(scale)}"
    return word


def value_label(column: str, value: float) -> str:
    """Legend entry `γ = −0.556` for a grid column and one of its values."""
    symbols = {
        schema.GAMMA: "γ",
        schema.ALPHA: "α",
        schema.DENSITY: "E",
        schema.M_HIDDEN: "m",
        schema.N_FEATURES: "n",
    }
    return f"{symbols.get(column, column)} = {fmt(value)}"


def new_figure(
    nrows: int = 1, ncols: int = 1, width: float = 6.0, height: float = 4.2, **kwargs: object
) -> tuple[Figure, np.ndarray]:
    """A bare Figure (no global state) and its axes as a 2-D array; constrained layout for small grids only,
    since its cost grows with every tick of every panel (a 6 × 8 histogram grid takes seconds). Inside a
    figure function called with `ax=`, the caller's axes and their Figure instead (plots.compose)."""
    given = caller_axes(nrows, ncols)
    if given is not None:
        return given
    grid = nrows * ncols > 6
    fig = Figure(figsize=(width, height), layout=None if grid else "constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False, **kwargs)  # type: ignore[call-overload]
    if grid:
        fig.subplots_adjust(left=0.08, right=0.97, bottom=0.08, top=0.9, wspace=0.35, hspace=0.55)
    return fig, axes


def colormap(name: str) -> Colormap:
    """A registered colormap by name."""
    return matplotlib.colormaps[name]


def value_colors(values: Iterable[float], cmap: str) -> tuple[Normalize, Colormap]:
    """Norm and colormap spanning `values` (a single value gets a small range so it still has a colour)."""
    arr = np.asarray(list(values), dtype=float)
    lo, hi = (float(np.nanmin(arr)), float(np.nanmax(arr))) if arr.size else (0.0, 1.0)
    if hi <= lo:
        lo, hi = lo - 0.5, hi + 0.5
    return Normalize(lo, hi), colormap(cmap)


def gamma_palette(gammas: Iterable[float]) -> dict[float, tuple[float, float, float, float]]:
    """One distinct colour per γ present: blues for γ < 0 (darker = more negative), reds for γ > 0
    (darker = larger), grey for γ = 0, so the regimes read apart and every γ has its own legend entry."""
    values = sorted({float(g) for g in gammas if np.isfinite(g)})
    negative = sorted((g for g in values if g < 0), reverse=True)
    positive = [g for g in values if g > 0]
    colors: dict[float, tuple[float, float, float, float]] = {}
    for group, cmap in ((negative, colormap("Blues")), (positive, colormap("Reds"))):
        shades = np.linspace(0.45, 0.95, len(group)) if len(group) > 1 else np.full(len(group), 0.75)
        colors.update({g: cmap(float(s)) for g, s in zip(group, shades, strict=True)})
    if 0.0 in values:
        colors[0.0] = (0.5, 0.5, 0.5, 1.0)
    return colors


def discrete_colors(values: Iterable[float], cmap: str) -> dict[float, tuple[float, float, float, float]]:
    """One colour per distinct value, evenly spaced through `cmap` in sorted order (m, α legends)."""
    ordered = sorted({float(v) for v in values if np.isfinite(v)})
    shades = np.linspace(0.0, 0.9, len(ordered)) if len(ordered) > 1 else np.full(len(ordered), 0.4)
    return {v: colormap(cmap)(float(s)) for v, s in zip(ordered, shades, strict=True)}


def add_colorbar(
    fig: Figure, axes: Axes | Sequence[Axes], norm: Normalize, cmap: Colormap, column: str
) -> None:
    """Colour bar for a value mapped to colour, labelled from the schema."""
    mappable = ScalarMappable(norm=norm, cmap=cmap)
    fig.colorbar(mappable, ax=axes, label=axis_label(column))


def set_loglog(ax: Axes, x: bool = True, y: bool = True) -> None:
    """Log scales where the paper uses them; minor ticks labelled only on short axes (they collide)."""
    if x:
        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(
            LogFormatterSciNotation(labelOnlyBase=False, minor_thresholds=(0.6, 0.3))
        )
    if y:
        ax.set_yscale("log")
        ax.yaxis.set_minor_formatter(
            LogFormatterSciNotation(labelOnlyBase=False, minor_thresholds=(0.6, 0.3))
        )


def guide_line(
    ax: Axes, x: np.ndarray, slope: float, anchor: tuple[float, float], label: str, style: str = ":"
) -> None:
    """A power-law guide y ∝ x^slope through `anchor`, drawn over the x range of `x`."""
    xs = np.geomspace(float(np.min(x)), float(np.max(x)), 50)
    ys = anchor[1] * (xs / anchor[0]) ** slope
    ax.plot(xs, ys, style, color=THEORY_COLOR, lw=1.2, label=label)


def geometric_anchor(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """The point (geo-mean x, geo-mean y) of positive data, where a guide line should pass."""
    keep = (np.asarray(x) > 0) & (np.asarray(y) > 0)
    return float(np.exp(np.mean(np.log(np.asarray(x)[keep])))), float(
        np.exp(np.mean(np.log(np.asarray(y)[keep])))
    )


def identity_line(ax: Axes, values: np.ndarray, label: str = "$y = x$") -> None:
    """The y = x line over the range of `values`."""
    finite = np.asarray(values, dtype=float)
    finite = finite[np.isfinite(finite)]
    lo, hi = float(finite.min()), float(finite.max())
    ax.plot([lo, hi], [lo, hi], "--", color=THEORY_COLOR, lw=1.0, label=label)


def mark_paper(
    ax: Axes, x: Sequence[float], y: Sequence[float], yerr: Sequence[float] | None, label: str
) -> None:
    """The paper's published numbers: black open diamonds (with its error bars where it gives them)."""
    ax.errorbar(
        x,
        y,
        yerr=yerr,
        fmt="D",
        mfc="none",
        mec=PAPER_COLOR,
        ecolor=PAPER_COLOR,
        ms=7,
        capsize=3,
        zorder=5,
        label=label,
    )


def note(ax: Axes, text: str, loc: str = "lower left") -> None:
    """A small boxed note inside the axes (paper numbers, selections)."""
    positions = {
        "lower left": (0.02, 0.02, "left", "bottom"),
        "upper left": (0.02, 0.98, "left", "top"),
        "upper right": (0.98, 0.98, "right", "top"),
        "lower right": (0.98, 0.02, "right", "bottom"),
    }
    x, y, ha, va = positions[loc]
    ax.text(
        x,
        y,
        text,
        transform=ax.transAxes,
        ha=ha,
        va=va,
        fontsize=7.5,
        bbox={"boxstyle": "round", "fc": "white", "ec": "0.7", "alpha": 0.9},
    )


def figure_bytes(fig: Figure, fmt_name: str = "png", dpi: int = 110) -> bytes:
    """The rendered figure as bytes (PNG for the page, PDF for papers and slides)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format=fmt_name, dpi=dpi)
    return buffer.getvalue()
