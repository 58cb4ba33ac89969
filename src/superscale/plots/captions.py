"""Captions computed from what a figure draws, kept apart from what the paper's figure shows.

A figure function attaches a `Caption` to the Figure it returns (`set_caption`): how many runs, fits or
points it drew and which γ, α, m and n, all counted from the rows it drew, so a caption can never say
"nine cases" over four points. The paper's description is a second field, `paper`, which the registry
fills from the function's docstring ("In the paper: …"); `FigureSpec.caption_for(fig)` returns both.

Where the store lacks the paper's setting (γ = −0.7778, m = 15, …) a figure draws the nearest value the
store has and says so: `Choice.note()` gives "γ = −1 in place of the paper's −0.778".
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from superscale.plots.data import MissingData, at, context_line, nearest, pick_gamma
from superscale.plots.style import fmt
from superscale.store import schema

CAPTION_ATTRIBUTE = "superscale_caption"  # where `set_caption` keeps the Caption on the Figure
LIST_LIMIT = 6  # list at most this many values; more are written as a range with their count

SYMBOLS = {
    schema.GAMMA: "γ",
    schema.ALPHA: "α",
    schema.M_HIDDEN: "m",
    schema.N_FEATURES: "n",
    schema.DENSITY: "E",
    schema.SCALE: "τ",
}


@dataclass(frozen=True)
class Caption:
    """`drawn`: what this figure draws, computed from its data; `paper`: what the paper's figure shows."""

    drawn: str
    paper: str = ""

    def text(self) -> str:
        """One paragraph: the drawn sentence, then "In the paper: …" when there is a paper note."""
        return f"{self.drawn} In the paper: {self.paper}" if self.paper else self.drawn


def set_caption(fig: Figure, drawn: str) -> Figure:
    """Attach the computed caption to `fig` (the registry adds the paper note); returns `fig`."""
    setattr(fig, CAPTION_ATTRIBUTE, Caption(drawn.strip()))
    return fig


def caption_of(fig: Figure) -> Caption | None:
    """The Caption a figure function attached, or None for a figure drawn elsewhere."""
    caption = getattr(fig, CAPTION_ATTRIBUTE, None)
    return caption if isinstance(caption, Caption) else None


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    """'1 run', '24 runs' ('1 (γ, α) case', '3 (γ, α) cases'; irregular plurals through `nouns`)."""
    return f"{count} {noun if count == 1 else nouns or noun + 's'}"


def values_text(column: str, values: Iterable[float], limit: int = LIST_LIMIT) -> str:
    """'γ = −1, −0.778' for the distinct finite values, or 'α = 0.125 … 2 (17 values)' past `limit`."""
    arr = np.unique(np.asarray([v for v in values if v is not None], dtype=float))
    arr = arr[np.isfinite(arr)]
    symbol = SYMBOLS.get(column, column)
    if arr.size == 0:
        return ""
    if arr.size <= limit:
        return f"{symbol} = " + ", ".join(fmt(v) for v in arr)
    return f"{symbol} = {fmt(arr[0])} … {fmt(arr[-1])} ({arr.size} values)"


def grid_text(frame: pd.DataFrame, columns: Iterable[str]) -> str:
    """'γ = −1, 0.111; α = 1, 2; m = 10, 15, 25' over the columns `frame` has values in."""
    parts = [values_text(c, frame[c]) for c in columns if c in frame and frame[c].notna().any()]
    return "; ".join(p for p in parts if p)


def where_text(frame: pd.DataFrame) -> str:
    """'n = 1000 · e2' (the population's n and experiment names), in parentheses when non-empty."""
    line = context_line(frame)
    return f" ({line})" if line else ""


@dataclass(frozen=True)
class Choice:
    """A setting a figure drew (`value`) for the one the paper's figure uses (`target`)."""

    column: str
    target: float
    value: float

    @property
    def exact(self) -> bool:
        """The store has the paper's value (to the grid's float round-off and 3 decimals of fmt)."""
        return math.isclose(self.value, self.target, rel_tol=1e-4, abs_tol=1e-3)

    def note(self) -> str:
        """'' when the paper's value is drawn; else 'γ = −1 in place of the paper's −0.778'."""
        if self.exact:
            return ""
        symbol = SYMBOLS.get(self.column, self.column)
        return f"{symbol} = {fmt(self.value)} in place of the paper's {fmt(self.target)}"


def stand_in_text(choices: Iterable[Choice]) -> str:
    """The stand-in notes of `choices` as one sentence ('' when every paper value is drawn).

    Several paper values drawn by one store value are named together: 'γ = −0.5 in place of the paper's
    −0.556 and −0.333'.
    """
    merged: dict[tuple[str, float], list[float]] = {}
    for choice in choices:
        if not choice.exact:
            targets = merged.setdefault((choice.column, choice.value), [])
            if not any(math.isclose(t, choice.target) for t in targets):
                targets.append(choice.target)
    notes = [
        Choice(col, targets[0], value).note() + "".join(f" and {fmt(t)}" for t in targets[1:])
        for (col, value), targets in merged.items()
    ]
    return ("The store lacks the paper's value: " + "; ".join(notes) + ".") if notes else ""


def choose_value(frame: pd.DataFrame, column: str, target: float) -> Choice:
    """The value of `column` nearest the paper's `target`."""
    return Choice(column, target, nearest(frame[column], target))


def choose_gamma(frame: pd.DataFrame, regime: str, target: float, figure: str) -> Choice:
    """The γ of `regime` ('weak' γ > 0, 'strong' γ < 0) nearest the paper's `target`."""
    return Choice(schema.GAMMA, target, pick_gamma(frame, regime, target, figure))


def choose_paper_run(
    frame: pd.DataFrame, targets: Mapping[str, float], figure: str
) -> tuple[pd.Series, list[Choice]]:
    """One run nearest the paper's settings, matching the columns of `targets` in order, with the choices."""
    choices = []
    for column, target in targets.items():
        if frame.empty:
            break
        choice = choose_value(frame, column, target)
        choices.append(choice)
        frame = at(frame, column, choice.value)
    if frame.empty:
        raise MissingData(f"{figure} needs a run near the paper's settings; this store has none.")
    return frame.sort_values(schema.RUN_ID).iloc[0], choices


def histogram_peaks(values: np.ndarray, bins: np.ndarray, prominence: float = 0.15) -> list[float]:
    """Centres of the peaks of the histogram of `values` over `bins` (the bins the figure draws).

    Counts are smoothed with a (1, 2, 1)/4 kernel and padded with zeros, so a peak in the first or last
    bin counts; a peak must rise `prominence` × the highest smoothed count above its surroundings.
    """
    from scipy.signal import find_peaks

    counts, edges = np.histogram(np.asarray(values, dtype=float), bins=bins)
    smooth = np.convolve(counts.astype(float), np.array([1.0, 2.0, 1.0]) / 4.0, mode="same")
    if smooth.max() <= 0:
        return []
    peaks, _ = find_peaks(np.r_[0.0, smooth, 0.0], prominence=prominence * smooth.max())
    centres = (edges[:-1] + edges[1:]) / 2
    return [float(centres[p - 1]) for p in peaks]


def flags_text(fits: pd.DataFrame) -> str:
    """' 2 of the 12 fits drawn carry flags in fits.parquet: negative exponent; …' ('' when none do).

    The analysis writes `flags` on every fit ("" when fine); tables written before it have no column.
    """
    if fits.empty or schema.FIT_FLAGS not in fits:
        return ""
    flags = fits[schema.FIT_FLAGS].fillna("").astype(str).str.strip()
    flagged = flags[flags != ""]
    if flagged.empty:
        return ""
    kinds = sorted({part.strip() for text in flagged for part in text.split(";") if part.strip()})
    listed = "; ".join(kinds[:3]) + (f"; and {len(kinds) - 3} more" if len(kinds) > 3 else "")
    return f" {len(flagged)} of the {plural(len(fits), 'fit')} drawn carry flags in fits.parquet: {listed}."
