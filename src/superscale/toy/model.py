"""`ToyModel`: one model of the paper, y = ReLU(W Wᵀ x + b), to train, measure, plot, save and load.

    model = superscale.ToyModel(n=1000, m=50, alpha=1.0, gamma=-1.0)  # or frequencies=my_p (any array)
    model.fit(steps=2000)        # the engine of every sweep; a bar with the loss, or timestamped lines
    model.phi_half, model.loss() # φ½ by the store's own metric; the loss on fresh batches
    model.save("m.safetensors"); superscale.ToyModel.load("m.safetensors")

A fit is a one-run sweep without a store: the arguments become a sweep config, expanded by
superscale.config.grid and built into the engine's ShardSpec by `shard_spec`, exactly as `superscale run`
does, so a ToyModel equals the same run of any sweep (same run id, same numbers). Like scikit-learn's
`fit`, each call trains from the seed's initialisation (a second call with more steps is a longer run,
not a continuation). Every measurement calls superscale.analysis.metrics, the functions behind
metrics.parquet.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import Tensor

from superscale._checks import check_finite, check_positive_int
from superscale.analysis import metrics
from superscale.config import parse_config
from superscale.config.grid import RunParams, expand_runs, shard_spec
from superscale.progress import Reporter
from superscale.train.architectures import get_architecture
from superscale.train.data import custom_probs, derive_seed

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["ToyModel"]

#: the fit recipe's defaults: experiment E2's (batch 2048, peak lr 1e-2, 10 % warm-up, cosine to 5 %)
#: with 2000 steps instead of 20 000, so a fit takes seconds to a minute on a CPU
FIT_DEFAULTS: dict[str, Any] = {
    "steps": 2000,
    "batch": 2048,
    "lr": 1e-2,
    "lr_b": None,
    "warmup_fraction": 0.1,
    "lr_floor": 0.05,
}


def check_frequencies(frequencies: Any, n: int, density: float | None) -> np.ndarray:
    """The user's feature frequencies as float64 [n]; ValueError naming `frequencies` and the bad value."""
    try:
        values = np.asarray(frequencies.detach().cpu() if isinstance(frequencies, Tensor) else frequencies)
        values = values.astype(np.float64).ravel()
    except (TypeError, ValueError):
        raise ValueError(f"frequencies must be an array of numbers, got {frequencies!r:.80}") from None
    if values.size != n:
        raise ValueError(f"frequencies must have n = {n} entries (one per feature), got {values.size}")
    for bad, what in ((~np.isfinite(values), "finite"), (values < 0, "≥ 0")):
        if bad.any():
            i = int(np.argmax(bad))
            raise ValueError(f"frequencies must be {what}, got {float(values[i])!r} at index {i}")
    if values.sum() <= 0:
        raise ValueError("frequencies sum to 0: every input would be zero; give some p_i > 0")
    if density is None and values.max() > 1:
        i = int(np.argmax(values))
        raise ValueError(
            f"frequencies are probabilities of a feature being active and must be ≤ 1, got "
            f"{float(values[i])!r} at index {i}; pass density=E to rescale them to sum to E"
        )
    if density is not None and values.max() / values.sum() * density > 1 + 1e-12:
        raise ValueError(
            f"density={density!r} rescales frequencies to a probability "
            f"{values.max() / values.sum() * density:.4g} > 1 (a feature active in more than every "
            f"sample); the largest density these frequencies allow is {values.sum() / values.max():.4g}"
        )
    return values


def check_recipe(
    steps: int, batch: int, lr: float, lr_b: float | None, warmup_fraction: float, lr_floor: float
) -> None:
    """The fit's arguments, each error naming the argument (before any config is built)."""
    check_positive_int("steps", steps)
    check_positive_int("batch", batch)
    for name, value in (("lr", lr), ("lr_b", lr_b)):
        if value is not None:
            check_finite(name, value)
            if value <= 0:
                raise ValueError(f"{name} (a peak learning rate) must be > 0, got {value!r}")
    check_finite("warmup_fraction", warmup_fraction)
    if not 0 <= warmup_fraction < 1:
        raise ValueError(f"warmup_fraction must lie in [0, 1), got {warmup_fraction!r}")
    check_finite("lr_floor", lr_floor)
    if not 0 <= lr_floor <= 1:
        raise ValueError(
            f"lr_floor (the cosine's end, a fraction of the peak) must lie in [0, 1], got {lr_floor!r}"
        )


class ToyModel:
    """One toy model: n features of frequencies p_i (given, or p_i ∝ i^-α), width m, signed decay γ.

    `frequencies` is any array of n probabilities (kept as given, or rescaled to sum to `density`: then
    any non-negative weights, e.g. counts); the equivalent sweep has family "custom" with
    `values = model.frequencies`;
    without it p_i ∝ i^-`alpha` (α = 1 by default) summed to `density` (E = 1 by default). γ < 0 gives
    strong superposition, γ > 0 weak. Before `fit`, `W` and `b` are the seed's initialisation.
    """

    def __init__(
        self,
        n: int,
        m: int,
        frequencies: Sequence[float] | np.ndarray | Tensor | None = None,
        *,
        alpha: float | None = None,
        density: float | None = None,
        gamma: float = -1.0,
        seed: int = 0,
    ) -> None:
        check_positive_int("n", n)
        check_positive_int("m", m)
        check_finite("gamma", gamma)
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise ValueError(f"seed must be an integer ≥ 0, got {seed!r}")
        if density is not None:
            check_finite("density", density)
            if density <= 0:
                raise ValueError(
                    f"density (E = Σ p_i, active features per sample) must be > 0, got {density!r}"
                )
        if frequencies is not None and alpha is not None:
            raise ValueError("give either frequencies (any array) or alpha (p_i ∝ i^-alpha), not both")
        self.n, self.m, self.gamma, self.seed = n, m, float(gamma), seed
        self.density = None if density is None else float(density)
        self.values: np.ndarray | None = None  # the user's frequencies, as given (before any rescaling)
        self.alpha: float | None = None
        self.frequencies: Tensor  # p_i [n] float64, what the engine samples
        if frequencies is not None:
            self.values = check_frequencies(frequencies, n, self.density)
            weights = torch.from_numpy(self.values)
            if self.density is not None:  # any weights (counts too): first to probabilities, then to E
                weights = weights / weights.sum()
            self.frequencies = custom_probs(weights, self.density)
        else:
            self.alpha = 1.0 if alpha is None else float(alpha)
            check_finite("alpha", self.alpha)
            self.frequencies = self._run(FIT_DEFAULTS).probs()
        initial = get_architecture("tied", n, m).init_params([seed])
        self.W: Tensor = initial["W"][0]  # [n, m]
        self.b: Tensor = initial["b"][0]  # [n]
        self.trained: dict[str, Any] | None = None  # the fit's recipe, final loss, run id, device, time
        self.step_loss: Tensor | None = None  # [steps] float32, each step's pre-update loss (summed scale)

    # --- training ------------------------------------------------------------------------------------
    def _config(self, recipe: dict[str, Any]) -> dict[str, Any]:
        """The one-run sweep config of this model and `recipe` (the fit's arguments)."""
        if self.values is not None:  # the probabilities themselves (a sweep's values must lie in [0, 1])
            data: dict[str, Any] = {"family": "custom", "values": self.frequencies.tolist()}
        else:
            data = {"family": "power", "alpha": self.alpha}
            if self.density is not None:
                data["density"] = self.density
        lr_b = recipe["lr_b"] if recipe["lr_b"] is not None else recipe["lr"]
        return {
            "name": "toy-model",
            "n": self.n,
            "m": self.m,
            "gamma": self.gamma,
            "seeds": [self.seed],
            "data": data,
            "lr": {"W": {"base": recipe["lr"]}, "b": {"base": lr_b}},
            "train": {
                "batch": recipe["batch"],
                "steps": recipe["steps"],
                "warmup_fraction": recipe["warmup_fraction"],
                "lr_floor": recipe["lr_floor"],
            },
        }

    def _run(self, recipe: dict[str, Any]) -> RunParams:
        (run,) = expand_runs(parse_config(self._config(recipe), source="ToyModel arguments"))
        return run

    def fit(
        self,
        steps: int = FIT_DEFAULTS["steps"],
        batch: int = FIT_DEFAULTS["batch"],
        lr: float = FIT_DEFAULTS["lr"],
        *,
        lr_b: float | None = FIT_DEFAULTS["lr_b"],
        warmup_fraction: float = FIT_DEFAULTS["warmup_fraction"],
        lr_floor: float = FIT_DEFAULTS["lr_floor"],
        on_step: Callable[[int, float], None] | None = None,
        device: str = "auto",
        quiet: bool = False,
    ) -> ToyModel:
        """Train from the seed's initialisation with the paper's schedule (warm-up, cosine to `lr_floor`).

        `lr` is the peak learning rate of W (and of b unless `lr_b`). `on_step(step, loss)` sees every
        step's pre-update loss on the paper's summed scale (a float: on CUDA each call waits for the GPU).
        Progress: a bar with the loss in a terminal, timestamped lines elsewhere, nothing when `quiet`.
        Returns the model, so `ToyModel(...).fit()` reads as one line.
        """
        from superscale.train.engine import resolve_device, train_shard

        check_recipe(steps, batch, lr, lr_b, warmup_fraction, lr_floor)
        recipe = {"steps": steps, "batch": batch, "lr": lr, "lr_b": lr_b}
        recipe |= {"warmup_fraction": warmup_fraction, "lr_floor": lr_floor}
        run = self._run(recipe)
        spec = shard_spec([run], resolve_device(device))
        reporter = Reporter(self._label(), run.steps, unit="steps", quiet=quiet)

        def show_loss(step: int, losses: Tensor) -> None:
            reporter.set_loss(lambda: float(losses[0]))
            if on_step is not None:
                on_step(step, float(losses[0]))

        with reporter:
            result = train_shard(spec, lambda step: reporter.advance(), show_loss)
        self.W, self.b = result.params["W"][0], result.params["b"][0]
        self.step_loss = result.step_loss_summed[0]
        self.trained = {
            **recipe,
            "final_loss": float(result.final_loss[0]),
            "final_loss_std": float(result.final_loss_std[0]),
            "run_id": run.run_id,
            "device": result.device,
            "seconds": round(result.seconds, 3),
        }
        return self

    @property
    def final_loss(self) -> float:
        """The paper's final loss: mean of the last 100 step losses, summed over features (NaN untrained)."""
        return math.nan if self.trained is None else float(self.trained["final_loss"])

    def loss(self, batches: int = 10, batch: int = 2048, seed: int | None = None) -> float:
        """The loss of the current W, b on `batches` fresh batches (summed over features, as the paper).

        Drawn from a stream of its own (`seed`, default the model's), never the training batches, by the
        same sampler and loss the engine trains with."""
        check_positive_int("batches", batches)
        check_positive_int("batch", batch)
        arch = get_architecture("tied", self.n, self.m)
        generator = torch.Generator().manual_seed(
            derive_seed(self.seed if seed is None else seed, "toy-loss")
        )
        params = {"W": self.W[None], "b": self.b[None]}
        sparse = self._run(FIT_DEFAULTS).sparse  # the sampler a sweep would pick for these frequencies
        total = 0.0
        for _ in range(batches):
            x = arch.sample(self.frequencies, batch, generator, sparse)
            loss, _ = arch.loss_and_grads(params, x, 1.0, need_grads=False)
            total += float(loss[0])
        return total / batches * arch.report_factor()

    # --- measurements (superscale.analysis.metrics, as in metrics.parquet) ----------------------------
    @property
    def row_norms(self) -> Tensor:
        """‖W_i‖ [n] float64."""
        return metrics.row_norms(self.W)

    @property
    def phi_half(self) -> float:
        """φ½: the fraction of features with ‖W_i‖ > 1/2 (≈ m/n weak, ≈ 1 strong superposition)."""
        return metrics.phi_half(self.W)

    @property
    def phi_one(self) -> float:
        """φ₁: the fraction with ‖W_i‖ > 1 (strongly represented)."""
        return metrics.phi_one(self.W)

    def feature_dimensionality(self) -> Tensor:
        """D_i = ‖W_i‖⁴ / Σ_j (W_i·W_j)² [n]: 1 for a feature with its own dimension, 1/k for k sharing."""
        return metrics.feature_dimensionality(self.W)

    def metrics(self) -> dict[str, float]:
        """Every value `superscale analyze` stores in metrics.parquet for this model."""
        from superscale.analysis.analyze import run_metrics

        return run_metrics(self.W, self.frequencies)

    def gram(self) -> Tensor:
        """W Wᵀ [n, n] float64 (the overlaps W_i·W_j); n² entries, so for n up to a few thousand."""
        W = self.W.double()
        return W @ W.T

    # --- figures, saving, repr ------------------------------------------------------------------------
    def plot_gram(self, ax: Any = None, top: int | None = None) -> Figure:
        """Heatmap of W Wᵀ over the `top` most frequent features (default all, up to 1000), most frequent
        first."""
        from superscale.toy.figures import plot_gram

        return plot_gram(self, ax, top)

    def plot_norms(self, ax: Any = None) -> Figure:
        """Bars of ‖W_i‖ against frequency rank, with the 1/2 and 1 thresholds of φ½ and φ₁."""
        from superscale.toy.figures import plot_norms

        return plot_norms(self, ax)

    def save(self, path: str | Path) -> Path:
        """One safetensors file: W, b (and the step losses) plus this model's config as JSON; atomic."""
        from superscale.toy.saved import save_model

        return save_model(self, Path(path))

    @classmethod
    def load(cls, path: str | Path) -> ToyModel:
        """A model written by `save`; ValueError naming the file when it is not one, or too new."""
        from superscale.toy.saved import load_model

        return load_model(Path(path))

    def _label(self) -> str:
        return f"ToyModel n={self.n} m={self.m} γ={self.gamma:+.3g}"

    def _data_text(self) -> str:
        if self.values is not None:
            data = f"frequencies given (E = {float(self.frequencies.sum()):.3g})"
        else:
            data = f"α={self.alpha:g}" + (f", E={self.density:g}" if self.density is not None else "")
        return data

    def __repr__(self) -> str:
        head = (
            f"ToyModel(n={self.n}, m={self.m}, gamma={self.gamma:+.4g}, {self._data_text()}, seed={self.seed}"
        )
        if self.trained is None:
            return head + ", untrained)"
        return head + f", trained {self.trained['steps']} steps, final loss {self.final_loss:.4g})"
