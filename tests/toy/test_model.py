"""ToyModel: the same model a sweep trains (run id, weights, metrics.parquet values), any frequency
array, the loss on fresh data against the equation written out, and a one-line error for bad input."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

import superscale
from superscale import ToyModel
from superscale.store import schema
from superscale.train.data import derive_seed, sample_dense, sample_sparse

RECIPE = {"steps": 40, "batch": 32, "lr": 3e-2, "device": "cpu", "quiet": True}


@pytest.fixture(scope="module")
def trained() -> ToyModel:
    return ToyModel(20, 4, alpha=1.2, gamma=-1.0, seed=3).fit(**RECIPE)


def test_equals_the_same_run_of_a_sweep_and_its_stored_metrics(trained: ToyModel, tmp_path: Path) -> None:
    sweep = {
        "name": "one",
        "n": 20,
        "m": 4,
        "gamma": -1.0,
        "seeds": [3],
        "data": {"family": "power", "alpha": 1.2},
        "lr": {"W": {"base": 3e-2}},
        "train": {"batch": 32, "steps": 40},
    }
    store = superscale.run_sweep(sweep, tmp_path / "s", device="cpu", quiet=True)
    superscale.analyze_store(store, n_bootstrap=10, quiet=True)
    run = store.runs().iloc[0]
    assert trained.trained is not None and trained.trained["run_id"] == run[schema.RUN_ID]
    params = store.params(run[schema.RUN_ID])
    assert torch.equal(trained.W, params["W"]) and torch.equal(trained.b, params["b"])
    assert trained.final_loss == run[schema.FINAL_LOSS]
    stored = store.metrics().set_index(schema.RUN_ID).loc[run[schema.RUN_ID]]
    assert trained.phi_half == stored[schema.PHI_HALF] and trained.phi_one == stored[schema.PHI_ONE]
    assert float(trained.feature_dimensionality().mean()) == pytest.approx(stored[schema.DIMENSIONALITY_MEAN])
    assert trained.metrics()[schema.MEAN_COS2_ALL] == pytest.approx(stored[schema.MEAN_COS2_ALL])


def test_equals_train_toy_models_and_fit_restarts_from_the_seed() -> None:
    grid = superscale.train_toy_models(
        m=5, gamma=0.1, alpha=1.0, n=30, seeds=[1], steps=30, batch=16, quiet=True
    )
    model = ToyModel(30, 5, gamma=0.1, seed=1)
    model.fit(steps=30, batch=16, device="cpu", quiet=True)
    assert torch.equal(model.W, grid.W(0)) and torch.equal(model.b, grid.b(0))
    first = model.W.clone()
    model.fit(steps=30, batch=16, device="cpu", quiet=True)  # scikit-learn's semantics: a fresh run
    assert torch.equal(model.W, first)


def test_measurements_follow_their_definitions(trained: ToyModel) -> None:
    norms = torch.linalg.vector_norm(trained.W.double(), dim=1)
    torch.testing.assert_close(trained.row_norms, norms)
    assert trained.phi_half == float((norms > 0.5).double().mean())
    assert trained.phi_one == float((norms > 1).double().mean())
    W = trained.W.double()
    overlaps = (W / norms[:, None] @ W.T) ** 2  # (Ŵ_i · W_j)²
    torch.testing.assert_close(trained.feature_dimensionality(), norms**2 / overlaps.sum(1))
    torch.testing.assert_close(trained.gram(), W @ W.T)


def test_on_step_sees_every_step_loss_and_they_make_the_final_loss(trained: ToyModel) -> None:
    seen: list[tuple[int, float]] = []
    model = ToyModel(20, 4, alpha=1.2, gamma=-1.0, seed=3).fit(
        **RECIPE, on_step=lambda s, x: seen.append((s, x))
    )
    assert [s for s, _ in seen] == list(range(40))
    assert model.step_loss is not None
    np.testing.assert_array_equal([x for _, x in seen], model.step_loss.numpy().astype(np.float64))
    assert model.final_loss == pytest.approx(float(model.step_loss[-40:].double().mean()))  # window = steps


def test_loss_on_fresh_data_is_the_paper_loss_written_out(trained: ToyModel) -> None:
    # the sparse sampler (E = 1 ≤ 5 % of n = 20, as a sweep picks), then Σ_i (ReLU(W Wᵀ x + b) − x)_i²
    generator = torch.Generator().manual_seed(derive_seed(7, "toy-loss"))
    x = sample_sparse(trained.frequencies, 64, generator).to_dense().double()
    W, b = trained.W.double(), trained.b.double()
    expected = ((torch.relu(x @ W @ W.T + b) - x) ** 2).sum(1).mean()
    assert trained.loss(batches=1, batch=64, seed=7) == pytest.approx(float(expected), rel=1e-5)
    assert trained.loss() == trained.loss()  # deterministic by default
    dense = ToyModel(40, 3, alpha=1.0, density=3.0, seed=1)  # E = 3 > 5 % of n: the dense sampler
    generator = torch.Generator().manual_seed(derive_seed(1, "toy-loss"))
    x = sample_dense(dense.frequencies, 64, generator).double()
    W, b = dense.W.double(), dense.b.double()
    expected = ((torch.relu(x @ W @ W.T + b) - x) ** 2).sum(1).mean()
    assert dense.loss(batches=1, batch=64) == pytest.approx(float(expected), rel=1e-5)
    assert trained.loss(seed=1) != trained.loss(seed=2)


def test_any_frequency_array_as_given_or_rescaled() -> None:
    p = np.linspace(0.3, 0.01, 12)
    kept = ToyModel(12, 3, p)
    np.testing.assert_array_equal(kept.frequencies.numpy(), p)
    scaled = ToyModel(12, 3, torch.tensor(p), density=2.0)
    assert float(scaled.frequencies.sum()) == pytest.approx(2.0)
    torch.testing.assert_close(scaled.frequencies, torch.tensor(p) / p.sum() * 2.0)
    counts = ToyModel(4, 2, [40, 30, 20, 10], density=1.0)  # counts, not probabilities: rescaled
    assert counts.frequencies.tolist() == pytest.approx([0.4, 0.3, 0.2, 0.1])
    assert ToyModel(10, 2, alpha=0.0).frequencies.tolist() == pytest.approx([0.1] * 10)


def test_repr_says_what_it_is(trained: ToyModel) -> None:
    assert repr(ToyModel(10, 2, gamma=0.5)) == "ToyModel(n=10, m=2, gamma=+0.5, α=1, seed=0, untrained)"
    assert repr(trained) == (
        f"ToyModel(n=20, m=4, gamma=-1, α=1.2, seed=3, trained 40 steps, final loss {trained.final_loss:.4g})"
    )
    assert "frequencies given (E = 0.6)" in repr(ToyModel(3, 1, [0.3, 0.2, 0.1]))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n": 0, "m": 2}, "n must be a positive integer, got 0"),
        ({"n": 10, "m": 0}, "m must be a positive integer, got 0"),
        ({"n": 10, "m": 2.5}, "m must be a positive integer, got 2.5"),
        ({"n": 3, "m": 1, "frequencies": [0.5, -0.1, 0.2]}, "frequencies must be ≥ 0, got -0.1 at index 1"),
        ({"n": 3, "m": 1, "frequencies": [0.5, 0.2]}, "frequencies must have n = 3 entries .*, got 2"),
        ({"n": 2, "m": 1, "frequencies": [0.5, math.nan]}, "frequencies must be finite, got nan at index 1"),
        ({"n": 2, "m": 1, "frequencies": [0.0, 0.0]}, "frequencies sum to 0"),
        ({"n": 2, "m": 1, "frequencies": [3.0, 1.0]}, "must be ≤ 1, got 3.0 at index 0; pass density=E"),
        (
            {"n": 2, "m": 1, "frequencies": [0.6, 0.4], "density": 2.0},
            "the largest density .* allow is 1.667",
        ),
        ({"n": 2, "m": 1, "frequencies": ["a", "b"]}, "frequencies must be an array of numbers"),
        ({"n": 2, "m": 1, "frequencies": [0.5, 0.5], "alpha": 1.0}, "either frequencies .* or alpha"),
        ({"n": 10, "m": 2, "density": -1.0}, "density .* must be > 0, got -1.0"),
        ({"n": 10, "m": 2, "gamma": math.inf}, "gamma must be a finite number, got inf"),
        ({"n": 10, "m": 2, "seed": -1}, "seed must be an integer ≥ 0, got -1"),
        ({"n": 10, "m": 2, "density": 20.0}, "density 20.0 gives p_1 = .* > 1"),
    ],
)
def test_bad_arguments_get_one_line_naming_them(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message) as info:
        ToyModel(**kwargs)
    assert "\n" not in str(info.value)


def test_bad_fit_arguments_name_the_field() -> None:
    model = ToyModel(10, 2)
    for kwargs, message in [
        ({"steps": 0}, "steps must be a positive integer, got 0"),
        ({"batch": -2}, "batch must be a positive integer, got -2"),
        ({"lr": 0.0}, "lr .* must be > 0, got 0.0"),
        ({"lr_b": math.nan}, "lr_b must be a finite number, got nan"),
        ({"warmup_fraction": 1.0}, r"warmup_fraction must lie in \[0, 1\), got 1.0"),
        ({"lr_floor": 2.0}, r"lr_floor .* must lie in \[0, 1\], got 2.0"),
    ]:
        with pytest.raises(ValueError, match=message) as info:
            model.fit(**kwargs, quiet=True)
        assert "\n" not in str(info.value)
    with pytest.raises(ValueError, match="device"):
        model.fit(steps=2, device="tpu", quiet=True)
    assert model.trained is None  # nothing changed by a refused fit
