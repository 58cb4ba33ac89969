"""The hand-written backwards of the tied model (sparse + low-rank kernel, dense GEMMs) equal the float64
vmap-grad reference of its own `loss_one`, for any column split."""

from __future__ import annotations

import pytest
import torch

from superscale.train.architectures import Batch, TiedToyModel
from superscale.train.data import power_law_probs, sample_dense, sample_sparse

N, M, BATCH, INST = 60, 5, 96, 3


def _reference(params: dict[str, torch.Tensor], batch: Batch, loss_scale: float) -> tuple[torch.Tensor, dict]:
    """Loss and gradients of `loss_scale × loss` in float64, from `TiedToyModel.loss_one` by vmap(grad)."""
    params64 = {name: value.double() for name, value in params.items()}
    return TiedToyModel(N, M).reference_loss_and_grads(params64, batch, loss_scale)


def test_loss_one_is_the_papers_equation() -> None:
    """`loss_one` on one model is mean over batch and features of (ReLU(W Wᵀ x + b) − x)², written by hand."""
    params = _params(8)
    x = sample_dense(power_law_probs(N, 1.0, density=3.0), 7, torch.Generator().manual_seed(9)).double()
    W, b = params["W"][1].double(), params["b"][1].double()
    total = 0.0
    for row in x:
        y = torch.clamp(W @ (W.T @ row) + b, min=0)
        total += float(((y - row) ** 2).sum())
    loss = TiedToyModel(N, M).loss_one({"W": W, "b": b}, x)
    assert abs(float(loss) - total / (7 * N)) <= 1e-12 * total


def _params(seed: int) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    W = torch.randn(INST, N, M, generator=generator) / M**0.5
    b = torch.randn(INST, N, generator=generator) * 0.5
    return {"W": W, "b": b}


@pytest.mark.parametrize("split", ["from_bias", "all_on", "all_off", "random", "mixed"])
def test_sparse_backward_equals_autograd_for_any_split(split: str) -> None:
    params = _params(1)
    batch = sample_sparse(power_law_probs(N, 1.0, density=3.0), BATCH, torch.Generator().manual_seed(2))
    model = TiedToyModel(N, M, backward="sparse")
    model.loss_and_grads(params, batch, 1.0)  # the first step creates the split from the bias
    signs = model._signs[model._split_key(params["W"])]
    if split == "all_on":
        signs.fill_(-1.0)
    elif split == "all_off":
        signs.fill_(1.0)
    elif split in ("random", "mixed"):
        signs.copy_(torch.randint(0, 2, signs.shape, generator=torch.Generator().manual_seed(3)) * 2.0 - 1)
        if split == "mixed":  # instance 1 has no always-on column: its low-rank part is skipped alone
            signs[1] = 1.0
    if split != "from_bias":
        assert bool((signs == signs.flatten()[0]).all()) == (split in ("all_on", "all_off"))
    loss, grads = model.loss_and_grads(params, batch, 3.0)
    ref_loss, ref_grads = _reference(params, batch, 3.0)
    torch.testing.assert_close(loss, ref_loss, rtol=1e-5, atol=0)
    for name in ("W", "b"):
        torch.testing.assert_close(grads[name].double(), ref_grads[name], rtol=1e-4, atol=1e-7)


@pytest.mark.parametrize("split", ["from_bias", "random"])
def test_tiled_scan_equals_autograd_and_does_not_depend_on_the_tile(split: str) -> None:
    """The forward GEMM runs a tile of rows at a time (the last one shorter here: 100 = 6 × 16 + 4); the
    gradients equal the reference, and every bit equals the one-tile result (each instance's summation
    order is the tiles' order of rows, which is the batch's)."""
    params = _params(11)
    batch = sample_sparse(power_law_probs(N, 1.0, density=3.0), 100, torch.Generator().manual_seed(12))
    results = []
    for min_rows in (16, 4096):
        model = TiedToyModel(N, M, backward="sparse")
        model.TILE_BYTES, model.TILE_MIN_ROWS = 1, min_rows
        model.loss_and_grads(params, batch, 1.0)
        if split == "random":
            signs = model._signs[model._split_key(params["W"])]
            signs.copy_(
                torch.randint(0, 2, signs.shape, generator=torch.Generator().manual_seed(13)) * 2.0 - 1
            )
        loss, grads = model.loss_and_grads(params, batch, 2.0)
        results.append((loss, {k: v.clone() for k, v in grads.items()}))
    (tiled_loss, tiled), (whole_loss, whole) = results
    ref_loss, ref_grads = _reference(params, batch, 2.0)
    torch.testing.assert_close(tiled_loss, ref_loss, rtol=1e-5, atol=0)
    for name in ("W", "b"):
        torch.testing.assert_close(tiled[name].double(), ref_grads[name], rtol=1e-4, atol=1e-7)
        assert torch.equal(tiled[name], whole[name])
    assert torch.equal(tiled_loss, whole_loss)


@pytest.mark.parametrize("split", ["from_bias", "random", "mixed"])
def test_screened_scan_equals_autograd_and_the_exact_scan(split: str) -> None:
    """The bfloat16 screen with exact recomputation gives the reference gradients, and the exact scan's to
    float32 round-off, whatever the split; it found candidates and never fewer than the positives."""
    params = _params(21)
    batch = sample_sparse(power_law_probs(N, 1.0, density=3.0), BATCH, torch.Generator().manual_seed(22))
    results = {}
    for screen in (True, False):
        model = TiedToyModel(N, M, backward="sparse")
        model.SCREEN_MAX_FRACTION = 1.0 if screen else 0.0
        model.loss_and_grads(params, batch, 1.0)  # the first step is always exact: it measures the fraction
        signs = model._signs[model._split_key(params["W"])]
        if split != "from_bias":
            signs.copy_(
                torch.randint(0, 2, signs.shape, generator=torch.Generator().manual_seed(23)) * 2.0 - 1
            )
            if split == "mixed":
                signs[0] = 1.0
        model.screen_candidates = 0
        loss, grads = model.loss_and_grads(params, batch, 2.0)
        positives = model._positive_fraction[model._split_key(params["W"])] * INST * BATCH * N
        assert (model.screen_candidates >= round(positives) > 0) == screen
        results[screen] = (loss, {k: v.clone() for k, v in grads.items()})
    ref_loss, ref_grads = _reference(params, batch, 2.0)
    torch.testing.assert_close(results[True][0], ref_loss, rtol=1e-5, atol=0)
    torch.testing.assert_close(results[True][0], results[False][0], rtol=1e-6, atol=0)
    for name in ("W", "b"):
        torch.testing.assert_close(results[True][1][name].double(), ref_grads[name], rtol=1e-4, atol=1e-7)
        torch.testing.assert_close(results[True][1][name], results[False][1][name], rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("m1", [2, 11, 101, 1001])
def test_bfloat16_product_stays_inside_the_screen_bound(m1: int) -> None:
    """The screen is exact only if |Q̃ − Q| ≤ SCREEN_BOUND · ‖h‖ · ‖w‖ for torch's bfloat16 bmm on this
    machine (it would fail on a library that accumulates in bfloat16): adversarial rows, whose products
    all have one sign and equal size (the worst case of Cauchy–Schwarz), and random ones with cancellation."""
    from superscale.train.kernels import SCREEN_BOUND

    generator = torch.Generator().manual_seed(m1)
    aligned = torch.rand(1, 64, m1, generator=generator) + 0.5
    h = torch.cat([aligned, torch.randn(1, 64, m1, generator=generator) * 3.0], 1)
    W = torch.cat([aligned[:, :32], torch.randn(1, 96, m1, generator=generator)], 1)
    W = W / torch.linalg.vector_norm(W, dim=2, keepdim=True)  # unit rows, as the screen uses
    exact = torch.bmm(h.double(), W.double().transpose(1, 2))
    screened = torch.bmm(h.bfloat16(), W.bfloat16().transpose(1, 2)).double()
    bound = SCREEN_BOUND * torch.linalg.vector_norm(h.double(), dim=2, keepdim=True)
    assert bool(((screened - exact).abs() <= bound).all())
    # and the bound is not vacuous: the rounding error reaches a visible share of it
    assert float(((screened - exact).abs() / bound).max()) > 0.02


def test_screen_limits_select_exactly_the_values_above_minus_tau() -> None:
    """Every bfloat16 value, as bits: each value > −τ (and ±0) is below the limit, and nothing much below −τ
    is (a NaN may go either way: it is never positive, so neither scan counts it)."""
    import numpy as np

    from superscale.train.kernels import SCREEN_BOUND, screen_limits

    values = torch.arange(0, 2**16, dtype=torch.int32).to(torch.int16).view(torch.bfloat16).float()
    h_norm = np.array([[3.0, 0.0, 1e-3]], dtype=np.float32)
    limits = screen_limits(h_norm)
    bits = np.arange(2**16, dtype=np.uint32)
    for col, norm in enumerate(h_norm[0]):
        tau = SCREEN_BOUND * float(norm)
        selected = bits < int(limits[0, col])
        wanted = (values > -tau) | (values == 0)
        assert bool((torch.from_numpy(selected) >= wanted).all())  # never misses one
        # and takes at most the few bfloat16 steps of slack above τ
        extra = torch.from_numpy(selected) & ~wanted & ~values.isnan()
        assert bool((values[extra].abs() <= tau * 1.05 + 1e-29).all())


@pytest.mark.parametrize("sparse_batch", [True, False])
def test_dense_backward_equals_the_reference(sparse_batch: bool) -> None:
    """The dense GEMM backward, on a sparse batch (the scatter) and on a dense one."""
    params = _params(6)
    probs = power_law_probs(N, 1.0, density=3.0)
    generator = torch.Generator().manual_seed(7)
    batch = sample_sparse(probs, BATCH, generator) if sparse_batch else sample_dense(probs, BATCH, generator)
    loss, grads = TiedToyModel(N, M, backward="dense").loss_and_grads(params, batch, 3.0)
    ref_loss, ref_grads = _reference(params, batch, 3.0)
    torch.testing.assert_close(loss, ref_loss, rtol=1e-5, atol=0)
    for name in ("W", "b"):
        torch.testing.assert_close(grads[name].double(), ref_grads[name], rtol=1e-4, atol=1e-7)
    no_grads, nothing = TiedToyModel(N, M, backward="dense").loss_and_grads(params, batch, 3.0, False)
    assert nothing == {}
    torch.testing.assert_close(no_grads, ref_loss, rtol=1e-5, atol=0)


def test_split_follows_the_on_fractions() -> None:
    """After a step, a column that fired for most samples is in A (sign −1), one that rarely fired in S."""
    params = _params(4)
    params["b"][:, :10] = 5.0  # always on
    params["b"][:, 10:20] = -5.0  # always off
    batch = sample_sparse(power_law_probs(N, 1.0), BATCH, torch.Generator().manual_seed(5))
    model = TiedToyModel(N, M, backward="sparse")
    model._signs[model._split_key(params["W"])] = torch.ones(INST, N)  # start from the wrong split
    model.loss_and_grads(params, batch, 1.0)
    signs = model._signs[model._split_key(params["W"])]
    assert bool((signs[:, :10] == -1).all())
    assert bool((signs[:, 10:20] == 1).all())


def test_unknown_backward_is_refused() -> None:
    with pytest.raises(ValueError, match="backward must be one of"):
        TiedToyModel(N, M, backward="fast")


def test_warm_start_continues_from_given_parameters() -> None:
    """initial_params replaces the seed's initialisation (in `models` order, whatever the stream order)."""
    from superscale.train.engine import ModelSpec, ShardSpec, train_shard

    models = [
        ModelSpec(power_law_probs(N, a), gamma=-0.5, lr_W=0.01, lr_b=0.01, seed=s, data_key=f"a={a}")
        for a, s in ((1.0, 0), (0.5, 1), (1.0, 2))
    ]
    start = _params(7)
    zero_lr = [ModelSpec(m.probs, m.gamma, 0.0, 0.0, m.seed, m.data_key) for m in models]
    spec = ShardSpec(N, M, zero_lr, batch=16, steps=3, warmup_steps=1, initial_params=start)
    result = train_shard(spec)
    torch.testing.assert_close(result.params["W"], start["W"], rtol=0, atol=0)
    torch.testing.assert_close(result.params["b"], start["b"], rtol=0, atol=0)
    with pytest.raises(ValueError, match=r"initial_params\['W'\] must have shape"):
        train_shard(
            ShardSpec(N, M, zero_lr, batch=16, steps=3, warmup_steps=1, initial_params={"b": start["b"]})
        )
