"""The fused CPU AdamW kernel equals the torch-op path of SignedAdamW (γ < 0, γ = 0, γ > 0, b undecayed)."""

from __future__ import annotations

import pytest
import torch

from superscale.train.architectures import TiedToyModel
from superscale.train.optim import SignedAdamW


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_fused_step_equals_torch_ops(dtype: torch.dtype) -> None:
    generator = torch.Generator().manual_seed(0)
    n_inst, n, m = 4, 30, 5
    params = {"W": torch.randn(n_inst, n, m, generator=generator, dtype=dtype)}
    params["b"] = torch.randn(n_inst, n, generator=generator, dtype=dtype)
    gamma = torch.tensor([-1.0, -0.3, 0.0, 0.7], dtype=torch.float64)
    peak = {"W": torch.tensor([1e-2, 2e-2, 3e-2, 1e-3]), "b": torch.tensor([5e-3, 1e-2, 2e-2, 1e-2])}
    copies = {k: v.clone() for k, v in params.items()}
    fused = SignedAdamW(params, TiedToyModel.rules, gamma, peak, fused=True)
    plain = SignedAdamW(copies, TiedToyModel.rules, gamma, peak, fused=False)
    for t in range(1, 6):
        grads = {k: torch.randn(v.shape, generator=generator, dtype=dtype) for k, v in params.items()}
        # a strided gradient, as the tied model's backward returns for W
        grads["W"] = torch.randn(n_inst, m, n, generator=generator, dtype=dtype).transpose(1, 2)
        fused.step(params, grads, t, lr_mult=0.5 + 0.1 * t)
        plain.step(copies, grads, t, lr_mult=0.5 + 0.1 * t)
    tol = {"rtol": 1e-5, "atol": 1e-6} if dtype == torch.float32 else {"rtol": 1e-12, "atol": 1e-13}
    for name in params:
        torch.testing.assert_close(params[name], copies[name], **tol)
        torch.testing.assert_close(fused.exp_avg_sq[name], plain.exp_avg_sq[name], **tol)


def test_signed_decay_with_negative_gamma_pulls_each_row_norm_towards_one() -> None:
    """γ < 0: p_i ← p_i + ηγ(1 − 1/(‖p_i‖ + 1e-8)) p_i, so a row of norm r gets norm r + ηγ(r − 1)
    (up to the 1e-8): longer rows shrink, shorter rows grow, a unit row stays (recipe §1.5)."""
    from superscale.train.optim import signed_decay_

    rows = torch.tensor([[[3.0, 4.0], [0.3, 0.4], [0.6, 0.8]]], dtype=torch.float64)  # norms 5, 0.5, 1
    lr_gamma = torch.tensor([0.1 * -0.5], dtype=torch.float64)  # η = 0.1, γ = −0.5
    signed_decay_(rows, lr_gamma)
    norms = rows.norm(dim=-1)[0]
    expected = torch.tensor([5 - 0.05 * 4, 0.5 + 0.05 * 0.5, 1.0], dtype=torch.float64)
    torch.testing.assert_close(norms, expected, rtol=0, atol=1e-8)
    # directions are kept
    torch.testing.assert_close(rows[0, 0] / norms[0], torch.tensor([0.6, 0.8], dtype=torch.float64))


def test_signed_decay_with_positive_gamma_is_plain_decoupled_decay() -> None:
    from superscale.train.optim import signed_decay_

    rows = torch.tensor([[[3.0, 4.0]], [[1.0, 0.0]]])
    signed_decay_(rows, torch.tensor([0.01 * 0.5, 0.0], dtype=torch.float64))
    torch.testing.assert_close(
        rows, torch.tensor([[[3.0, 4.0]], [[1.0, 0.0]]]) * torch.tensor([0.995, 1.0])[:, None, None]
    )
