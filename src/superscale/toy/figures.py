"""The two pictures of one toy model: its overlaps W Wᵀ and its row norms, features by frequency rank.

Each draws into the caller's Axes (`ax=`) or a new bare Figure (no pyplot state) and returns the Figure,
as the report's figure functions do.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from superscale._checks import check_positive_int
from superscale.analysis import metrics

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from superscale.toy.model import ToyModel


def _axes(ax: Any, width: float, height: float) -> tuple[Figure, Axes]:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    if ax is None:
        fig = Figure(figsize=(width, height), layout="constrained")
        return fig, fig.subplots()
    if not isinstance(ax, Axes):
        raise ValueError(f"ax must be a matplotlib Axes, got {type(ax).__name__}")
    root = ax.figure
    while not isinstance(root, Figure):  # a SubFigure's parent, up to the Figure
        root = root.figure  # type: ignore[assignment]
    return root, ax


def frequency_order(model: ToyModel) -> torch.Tensor:
    """Feature indices from the most to the least frequent (stable: ties keep their index order)."""
    return torch.argsort(-model.frequencies, stable=True)


#: features a Gram heatmap shows by default: more pixels than a screen has say nothing more, and
#: n = 10 240 would be an 800 MB matrix
GRAM_DEFAULT_TOP = 1000


def plot_gram(model: ToyModel, ax: Any = None, top: int | None = None) -> Figure:
    """W Wᵀ of the `top` most frequent features (default: all, up to `GRAM_DEFAULT_TOP`): the diagonal is
    ‖W_i‖², off it the overlaps W_i·W_j."""
    if top is not None:
        check_positive_int("top", top)
    order = frequency_order(model)[: top or GRAM_DEFAULT_TOP]
    W = model.W.double()[order]
    gram = (W @ W.T).numpy()
    fig, ax = _axes(ax, 5.0, 4.2)
    limit = float(np.abs(gram).max()) or 1.0
    k = len(order)
    image = ax.imshow(
        gram,
        cmap="RdBu_r",
        vmin=-limit,
        vmax=limit,
        interpolation="nearest",
        extent=(0.5, k + 0.5, k + 0.5, 0.5),  # ranks from 1, as in plot_norms
    )
    fig.colorbar(image, ax=ax, label="$W_i \\cdot W_j$")
    shown = f"the {k} most frequent of n = {model.n}" if k < model.n else f"n = {model.n}"
    ax.set(
        xlabel="feature rank j",
        ylabel="feature rank i (most frequent first)",
        title=f"$W W^T$: {shown}, m = {model.m}, γ = {model.gamma:+.3g}",
    )
    return fig


def plot_norms(model: ToyModel, ax: Any = None) -> Figure:
    """‖W_i‖ against frequency rank, with the thresholds 1/2 (φ½) and 1 (φ₁) and both fractions."""
    order = frequency_order(model)
    norms = metrics.row_norms(model.W)[order].numpy()
    fig, ax = _axes(ax, 6.0, 3.5)
    rank = np.arange(1, model.n + 1)
    ax.bar(rank, norms, width=1.0, color="tab:blue", linewidth=0)
    for threshold, name, value in ((0.5, "φ½", model.phi_half), (1.0, "φ₁", model.phi_one)):
        ax.axhline(threshold, color="0.4", linestyle="--", linewidth=0.8)
        ax.annotate(
            f"{name} = {value:.3g}",
            (1.0, threshold),
            xycoords=("axes fraction", "data"),
            ha="right",
            va="bottom",
            fontsize=8,
            bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.8, "pad": 1},
        )
    ax.set(
        xlabel="feature rank i (most frequent first)",
        ylabel="$\\|W_i\\|$",
        xlim=(0.5, model.n + 0.5),
        title=f"row norms (n = {model.n}, m = {model.m}, γ = {model.gamma:+.3g})",
    )
    return fig
