"""The active-feature (Gram) step (superscale/train/active.py, active_torch.py) equals an independent float64
autograd of the tied model's loss, written here: both accumulation modes, the variants' options, edge cases
of the batch and the bias, and 1000 steps of training with signed AdamW."""

from __future__ import annotations

import math

import numba
import pytest
import torch

from superscale.train import active_torch
from superscale.train.active import MODES, ActiveStep, choose_modes, group_by_sample

N, BATCH, INST = 200, 256, 2


def draw(n: int, batch: int, alpha: float, density: float, seed: int) -> tuple[torch.Tensor, ...]:
    """The paper's data, x = Bernoulli(p)·U(0, 2) with p_i ∝ i^−α, Σp = E (clipped at 1), as its entries
    (sample, feature, value), values float64; and the dense x."""
    gen = torch.Generator().manual_seed(seed)
    p = torch.arange(1, n + 1, dtype=torch.float64) ** -alpha
    p = (p * density / p.sum()).clamp(max=1.0)
    x = (
        (torch.rand(batch, n, generator=gen, dtype=torch.float64) < p)
        * 2
        * torch.rand(batch, n, generator=gen, dtype=torch.float64)
    )
    sample, feature = x.nonzero(as_tuple=True)
    return sample, feature, x[sample, feature], x


def params(
    n: int, m: int, seed: int, bias: float = 0.0, inst: int = INST
) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    W = torch.randn(inst, n, m, generator=gen, dtype=torch.float64) / math.sqrt(m)
    return W, torch.randn(inst, n, generator=gen, dtype=torch.float64) + bias


def oracle(W, b, x, scale=1.0, importance=None, tau=None):  # type: ignore[no-untyped-def]
    """float64 autograd of mean(I ⊙ (relu(τ·x W Wᵀ + b) − x)²) per instance (instances are independent, so
    one backward of their sum gives each one's gradients)."""
    W = W.detach().double().requires_grad_()
    b = b.detach().double().requires_grad_()
    tau = torch.ones(W.shape[0], dtype=torch.float64) if tau is None else tau.detach().double()
    tau.requires_grad_()
    imp = 1.0 if importance is None else importance.double()
    pre = tau[:, None, None] * (x @ W @ W.transpose(1, 2)) + b[:, None, :]  # [I, B, n]
    loss = (imp * (torch.relu(pre) - x) ** 2).mean((1, 2))
    (scale * loss).sum().backward()
    return loss.detach(), {"W": W.grad, "b": b.grad, "tau": tau.grad}


def close(loss, grads, ref_loss, ref_grads, tol):  # type: ignore[no-untyped-def]
    """Loss within tol relative; each gradient within tol of its own largest entry."""
    torch.testing.assert_close(loss.double(), ref_loss, rtol=tol, atol=tol * float(ref_loss.abs().max()))
    for name, grad in grads.items():
        ref = ref_grads[name]
        scale = float(ref.abs().max()) + 1e-300
        torch.testing.assert_close(grad.double(), ref, rtol=0, atol=tol * scale, msg=name)


def run(W, b, entries, dtype, mode, scale=1.0, blocks=False, **options):  # type: ignore[no-untyped-def]
    sample, feature, values = entries
    batch = group_by_sample(sample, feature, values.to(dtype), BATCH, W.shape[1])
    step = ActiveStep()
    if blocks:  # blocks of 64 columns (the last one shorter)
        step.BLOCK_BYTES = 1
    kw = {k: (v.to(dtype) if isinstance(v, torch.Tensor) else v) for k, v in options.items()}
    return step.loss_and_grads(W.to(dtype), b.to(dtype), batch, scale, mode=mode, **kw)


TOL = {torch.float64: 1e-12, torch.float32: 2e-5}


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("mode", ["scatter", "delta"])
@pytest.mark.parametrize("m", [10, 100])
@pytest.mark.parametrize("density", [0.5, 1.0, 10.0])
@pytest.mark.parametrize("alpha", [0.5, 1.0, 2.0])
def test_equals_autograd(alpha: float, density: float, m: int, mode: str, dtype: torch.dtype) -> None:
    *entries, x = draw(N, BATCH, alpha, density, seed=1)
    W, b = params(N, m, seed=2, bias=-0.3)
    values = entries[2].to(dtype).double()  # the oracle reads the values the kernel reads
    ref = oracle(W.to(dtype), b.to(dtype), x.masked_scatter(x != 0, values), scale=3.0)
    loss, grads = run(W, b, entries, dtype, mode, scale=3.0)
    assert grads["W"].dtype == dtype and loss.dtype == torch.float64
    close(loss, grads, ref[0], ref[1], TOL[dtype])


@pytest.mark.parametrize("blocks", [False, True])
@pytest.mark.parametrize("mode", ["scatter", "delta", ["delta", "scatter", "scatter"]])
def test_importance_and_temperature(mode: str | list[str], blocks: bool) -> None:
    *entries, x = draw(N, BATCH, 1.0, 2.0, seed=3)
    W, b = params(N, 10, seed=4, inst=3)
    importance = 0.7 ** torch.arange(N, dtype=torch.float64) * 2
    tau = torch.tensor([0.5, 1.0, 1.7], dtype=torch.float64)
    ref = oracle(W, b, x, scale=2.0, importance=importance, tau=tau)
    options = {"scale": 2.0, "blocks": blocks, "importance": importance, "tau": tau}
    loss, grads = run(W, b, entries, torch.float64, mode, **options)
    assert set(grads) == {"W", "b", "tau"}
    close(loss, grads, ref[0], ref[1], 1e-12)
    loss32, grads32 = run(W, b, entries, torch.float32, mode, **options)
    close(loss32, grads32, ref[0], ref[1], 2e-5)


def edge_cases() -> dict[str, tuple]:  # type: ignore[type-arg]
    """Batches and biases at the edges: (sample, feature, value, x), bias shift."""
    x = draw(N, BATCH, 1.0, 1.0, seed=5)[3]
    empty = torch.zeros(BATCH, N, dtype=torch.float64)
    crowded = x.clone()
    crowded[7] = torch.rand(N, generator=torch.Generator().manual_seed(6), dtype=torch.float64) * 2  # all on
    everywhere = x.clone()
    everywhere[:, 3] = (
        torch.rand(BATCH, generator=torch.Generator().manual_seed(7), dtype=torch.float64) + 0.5
    )
    one = torch.zeros(BATCH, N, dtype=torch.float64)
    one[11, 5] = 1.25
    cases = {"empty": (empty, 0.0), "crowded": (crowded, -0.2), "everywhere": (everywhere, -0.2)}
    cases |= {"one_entry": (one, 0.0), "b_negative": (x, -20.0), "b_positive": (x, 20.0)}
    return {k: (*xd.nonzero(as_tuple=True), xd[xd != 0], xd, shift) for k, (xd, shift) in cases.items()}


@pytest.mark.parametrize("mode", ["scatter", "delta"])
@pytest.mark.parametrize("case", list(edge_cases()))
def test_edge_cases(case: str, mode: str) -> None:
    sample, feature, values, x, shift = edge_cases()[case]
    W, b = params(N, 10, seed=8, bias=shift)
    ref = oracle(W, b, x)
    loss, grads = run(W, b, (sample, feature, values), torch.float64, mode)
    close(loss, grads, ref[0], ref[1], 1e-12)
    torch_loss, torch_grads = active_torch.loss_and_grads(W, b, sample, feature, values, BATCH, 1.0)
    close(torch_loss, torch_grads, ref[0], ref[1], 1e-12)


@pytest.mark.parametrize("alpha", [0.5, 2.0])
def test_torch_path_equals_numba_path(alpha: float) -> None:
    sample, feature, values, _ = draw(N, BATCH, alpha, 3.0, seed=9)
    W, b = params(N, 25, seed=10, inst=5)
    importance, tau = torch.rand(N, dtype=torch.float64) + 0.5, torch.rand(5, dtype=torch.float64) + 0.5
    numba_out = run(
        W, b, (sample, feature, values), torch.float64, "scatter", 1.5, importance=importance, tau=tau
    )
    for chunk in [2**30, 1]:  # one chunk, and one instance at a time
        torch_out = active_torch.loss_and_grads(
            W, b, sample, feature, values, BATCH, 1.5, importance=importance, tau=tau, max_elements=chunk
        )
        close(*torch_out, *numba_out, 1e-12)
        assert (
            active_torch.loss_and_grads(W, b, sample, feature, values, BATCH, 1.5, need_grads=False)[1] == {}
        )


def test_loss_only_order_and_threads_do_not_change_bits() -> None:
    """Without gradients the loss is the same bits; so are shuffled entries and 1 or 2 threads."""
    sample, feature, values, _ = draw(N, BATCH, 1.0, 2.0, seed=11)
    W, b = params(N, 10, seed=12, inst=4)
    reference = run(W, b, (sample, feature, values), torch.float32, "scatter")
    batch = group_by_sample(sample, feature, values.float(), BATCH, N)
    for mode in ["scatter", "delta"]:
        loss_only, nothing = ActiveStep().loss_and_grads(W.float(), b.float(), batch, 1.0, False, mode=mode)
        assert nothing == {}
        assert torch.equal(loss_only, run(W, b, (sample, feature, values), torch.float32, mode)[0])
    perm = torch.randperm(sample.numel(), generator=torch.Generator().manual_seed(13))
    threads = torch.get_num_threads()
    try:
        for n_threads in [1, 2]:
            torch.set_num_threads(n_threads)
            shuffled = run(W, b, (sample[perm], feature[perm], values[perm]), torch.float32, "scatter")
            assert torch.equal(shuffled[0], reference[0])
            assert all(torch.equal(shuffled[1][k], reference[1][k]) for k in ("W", "b"))
    finally:
        torch.set_num_threads(threads)
    assert numba.config.THREADING_LAYER == "workqueue"


def test_cost_model_follows_the_positive_fraction() -> None:
    """Sparse δ (a converged model: few outputs on) scatters, dense δ (early training) runs the GEMMs; the
    first step estimates the fraction from the bias, later steps use the previous step's count."""
    sample, feature, values, _ = draw(1000, 2048, 1.0, 1.0, seed=14)
    batch = group_by_sample(sample, feature, values.float(), 2048, 1000)
    modes = choose_modes(torch.tensor([0.001, 0.5]), batch, 100)
    assert modes.tolist() == [MODES["scatter"], MODES["delta"]]
    W, b = params(1000, 100, seed=15)
    b[0] = -5.0  # instance 0: every output off; instance 1: the paper's init, about half on
    step = ActiveStep()
    W32, b32 = W.float(), b.float()
    step.loss_and_grads(W32, b32, batch, 1.0)
    assert step.last_modes.tolist() == [MODES["scatter"], MODES["delta"]]
    b32[1] = -5.0  # in place, as the optimiser does: the next step counts the fraction of the last
    step.loss_and_grads(W32, b32, batch, 1.0)
    assert step.last_modes.tolist() == [MODES["scatter"], MODES["delta"]]
    step.loss_and_grads(W32, b32, batch, 1.0)
    assert step.last_modes.tolist() == [MODES["scatter"], MODES["scatter"]]


def adamw_(p, g, state, lr, gamma, decay, t, betas=(0.9, 0.999), eps=1e-8):  # type: ignore[no-untyped-def]
    """The paper's signed AdamW (superscale's optim, written again): γ ≥ 0 shrinks, γ < 0 pulls rows to 1."""
    view = (-1,) + (1,) * (p.ndim - 1)
    lr = lr.view(view)
    if decay:
        lg = lr * gamma.view(view)
        pull = 1 + lg * (1 - 1 / (torch.linalg.vector_norm(p, dim=-1, keepdim=True) + 1e-8))
        p.mul_(torch.where(lg >= 0, 1 - lg, pull))
    m, v = state
    m.mul_(betas[0]).add_(g, alpha=1 - betas[0])
    v.mul_(betas[1]).addcmul_(g, g, value=1 - betas[1])
    p.sub_(lr * m / (1 - betas[0] ** t) / ((v / (1 - betas[1] ** t)).sqrt() + eps))


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_training_follows_the_float64_oracle(dtype: torch.dtype) -> None:
    """1000 steps (warm-up, cosine decay, signed decay γ ∈ {−1, 0, 0.5}) with the kernel's own mode choice,
    against autograd in float64 on the same batches: per-step losses and final weights within 1e-5
    relative (float32 too: 4e-6 and 2e-6 measured); the modes switch as the models sparsify."""
    n, m, batch, steps = 60, 5, 64, 1000
    gamma = torch.tensor([-1.0, 0.0, 0.5], dtype=torch.float64)
    W0, b0 = params(n, m, seed=16, inst=3)
    runs = {"kernel": [W0.to(dtype), b0.to(dtype)], "oracle": [W0.clone(), b0.clone()]}
    states = {name: [[torch.zeros_like(t), torch.zeros_like(t)] for t in runs[name]] for name in runs}
    engine, seen, losses = ActiveStep(), set(), {"kernel": [], "oracle": []}
    gen = torch.Generator().manual_seed(17)
    p = torch.arange(1, n + 1, dtype=torch.float64) ** -1.0
    p /= p.sum()
    for t in range(1, steps + 1):
        x = (torch.rand(batch, n, generator=gen, dtype=torch.float64) < p) * 2
        x = (x * torch.rand(batch, n, generator=gen, dtype=torch.float64)).to(dtype).double()
        s, f = x.nonzero(as_tuple=True)
        lr = 0.01 * (
            t / 100 if t < 100 else 0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * (t - 100) / (steps - 100)))
        )
        lr = torch.full((3,), lr, dtype=torch.float64)
        W, b = runs["kernel"]
        loss, grads = engine.loss_and_grads(W, b, group_by_sample(s, f, x[s, f].to(dtype), batch, n), 1.0)
        seen.update(engine.last_modes.tolist())
        ref_loss, ref_grads = oracle(*runs["oracle"], x)
        for name, (l, g) in {"kernel": (loss, grads), "oracle": (ref_loss, ref_grads)}.items():
            losses[name].append(l)
            for k, (param, key) in enumerate(zip(runs[name], ("W", "b"), strict=True)):
                adamw_(
                    param, g[key], states[name][k], lr.to(param.dtype), gamma.to(param.dtype), key == "W", t
                )
    torch.testing.assert_close(
        torch.stack(losses["kernel"]), torch.stack(losses["oracle"]), rtol=1e-5, atol=0
    )
    for mine, ref in zip(runs["kernel"], runs["oracle"], strict=True):
        torch.testing.assert_close(mine.double(), ref, rtol=1e-5, atol=1e-5 * float(ref.abs().max()))
    assert seen == {MODES["scatter"], MODES["delta"]}


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_torch_path_on_cuda(dtype: torch.dtype) -> None:
    """On a GPU (TF32 off: the GEMMs in float32) the torch path equals the float64 oracle."""
    sample, feature, values, x = draw(N, BATCH, 1.0, 3.0, seed=18)
    W, b = params(N, 25, seed=19, inst=3)
    tau = torch.tensor([0.8, 1.0, 1.3], dtype=torch.float64)
    ref = oracle(W.to(dtype), b.to(dtype), x.masked_scatter(x != 0, values.to(dtype).double()), 2.0, tau=tau)
    tf32 = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = False
    try:
        cuda = [t.to("cuda", dtype) for t in (W, b, values, tau)]
        out = active_torch.loss_and_grads(cuda[0], cuda[1], sample, feature, cuda[2], BATCH, 2.0, tau=cuda[3])
    finally:
        torch.backends.cuda.matmul.allow_tf32 = tf32
    assert out[1]["W"].device.type == "cuda"
    close(out[0].cpu(), {k: v.cpu() for k, v in out[1].items()}, ref[0], ref[1], TOL[dtype])
