"""The two pictures of a ToyModel draw what the model holds, most frequent feature first, into a new
Figure or the caller's axes."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure

from superscale import ToyModel


@pytest.fixture(scope="module")
def model() -> ToyModel:
    p = np.array([0.05, 0.4, 0.1, 0.3, 0.15])  # not sorted: the pictures sort by frequency
    toy = ToyModel(5, 2, p, seed=2)
    toy.W = torch.tensor([[0.1, 0.0], [1.2, 0.0], [0.0, 0.6], [0.0, 1.0], [0.3, 0.3]])
    return toy


def test_gram_is_w_wt_in_frequency_order(model: ToyModel) -> None:
    fig = model.plot_gram()
    assert isinstance(fig, Figure)
    shown = fig.axes[0].get_images()[0].get_array()
    order = [1, 3, 4, 2, 0]  # by falling frequency
    W = model.W.double()[order]
    np.testing.assert_allclose(np.asarray(shown), (W @ W.T).numpy())
    top = model.plot_gram(top=2).axes[0].get_images()[0].get_array()
    assert np.asarray(top).shape == (2, 2) and np.asarray(top)[0, 0] == pytest.approx(1.44)
    big = ToyModel(1200, 2).plot_gram().axes[0].get_images()[0].get_array()
    assert np.asarray(big).shape == (1000, 1000)  # the 1000 most frequent by default
    with pytest.raises(ValueError, match="top must be a positive integer, got 0"):
        model.plot_gram(top=0)


def test_norm_bars_in_frequency_order_with_both_fractions(model: ToyModel) -> None:
    fig = model.plot_norms()
    ax = fig.axes[0]
    heights = [patch.get_height() for patch in ax.patches]
    np.testing.assert_allclose(heights, [1.2, 1.0, 0.3 * 2**0.5, 0.6, 0.1], rtol=1e-6)
    labels = [text.get_text() for text in ax.texts]
    assert labels == [f"φ½ = {model.phi_half:.3g}", f"φ₁ = {model.phi_one:.3g}"] == ["φ½ = 0.6", "φ₁ = 0.2"]


def test_both_draw_into_given_axes() -> None:
    own = Figure()
    left, right = own.subplots(1, 2)
    toy = ToyModel(6, 2)
    assert toy.plot_gram(ax=left) is own and toy.plot_norms(ax=right) is own
    assert left.get_images() and right.patches
    with pytest.raises(ValueError, match="ax must be a matplotlib Axes, got str"):
        toy.plot_norms(ax="left")
