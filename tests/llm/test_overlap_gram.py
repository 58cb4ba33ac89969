"""Exact ⟨cos²⟩ through the Gram identity, mean-row centring, duplicate rows and the verdict against 1/m."""

from __future__ import annotations

import pytest
import torch

from superscale.analysis import metrics
from superscale.llm.geometry import duplicate_rows, measure_geometry, verdict_vs_inv_m
from superscale.llm.source import Unembedding

CPU = torch.device("cpu")


def _pairs_cos2(W: torch.Tensor, eps: float = 1e-9) -> float:
    """Independent reference: every pair i < j of the float64 rows, the n × n matrix formed outright."""
    U = W.double() / (W.double().norm(dim=1, keepdim=True) + eps)
    n = U.shape[0]
    return float(((U @ U.T)[torch.triu_indices(n, n, offset=1).unbind()] ** 2).mean())


def _emb(W: torch.Tensor) -> Unembedding:
    n, m = W.shape
    return Unembedding(
        W=W, model="planted", family="test", source="memory", tensor="W", tied=True, d_model=m,
        n_rows_stored=n, tokenizer_size=None, padded_rows=None, padded_rows_included=True, reason="test",
    )  # fmt: skip


@pytest.mark.parametrize(("block_size", "col_block"), [(8192, 1024), (317, 7)])
def test_gram_identity_equals_all_pairs(block_size: int, col_block: int) -> None:
    gen = torch.Generator().manual_seed(0)
    W = torch.randn(1200, 40, generator=gen, dtype=torch.float64) @ torch.randn(
        40, 40, generator=gen, dtype=torch.float64
    )
    W[7] = 0  # a padding row: cos 0 with everything, as with the paper's ε
    got = metrics.gram_mean_cos2(W, block_size=block_size, col_block=col_block, eps=1e-9)
    assert got.n_pairs == 1200 * 1199 // 2
    assert got.mean_cos2 == pytest.approx(_pairs_cos2(W), rel=1e-12)
    centred = metrics.gram_mean_cos2(W, block_size=block_size, col_block=col_block, eps=1e-9, center=True)
    assert centred.mean_cos2 == pytest.approx(_pairs_cos2(W - W.mean(dim=0)), rel=1e-12)


def test_gram_identity_on_half_precision_rows_is_float32_exact() -> None:
    W = torch.randn(900, 24, generator=torch.Generator().manual_seed(1)).to(torch.bfloat16)
    got = metrics.gram_mean_cos2(W, eps=1e-9).mean_cos2
    assert got == pytest.approx(_pairs_cos2(W.double()), rel=1e-5)


def test_a_shared_mean_row_is_reported_raw_and_centred() -> None:
    """Random directions plus one offset shared by every row (what LM heads have): raw ⟨cos²⟩·m is large,
    centred it is back to ≈ 1, and the verdict is taken on the centred rows and says so."""
    gen = torch.Generator().manual_seed(2)
    n, m = 2000, 32
    W = torch.randn(n, m, generator=gen, dtype=torch.float64) + 3.0 * torch.ones(m, dtype=torch.float64)
    W[-3:] = W[:3]  # three rows repeated: six rows equal another row
    row = measure_geometry(_emb(W), method="exact", device=CPU)
    assert row["cos2_times_m"] == pytest.approx(_pairs_cos2(W) * m, rel=1e-10)
    assert row["cos2_times_m_centered"] == pytest.approx(_pairs_cos2(W - W.mean(dim=0)) * m, rel=1e-10)
    assert row["cos2_times_m"] > 20 and 0.9 < row["cos2_times_m_centered"] < 1.2
    assert row["duplicate_rows"] == 6 and row["max_abs_cos"] == pytest.approx(1.0)
    assert row["verdict"].startswith("centred rows: ⟨cos²⟩ = ")
    assert "within 2× of random directions" in row["verdict"]
    raw_only = measure_geometry(_emb(W), method="exact", device=CPU, center=False)
    assert raw_only["verdict"].startswith("raw rows") and "above random directions" in raw_only["verdict"]


def test_verdict_and_duplicates_on_frozen_inputs() -> None:
    assert verdict_vs_inv_m(124.5, 6.1) == (
        "centred rows: ⟨cos²⟩ = 6.1/m, above random directions (1/m) by more than 2×"
    )
    assert verdict_vs_inv_m(0.3, float("nan")) == (
        "raw rows: ⟨cos²⟩ = 0.3/m, below random directions (1/m) by more than 2×"
    )
    W = torch.tensor([[1.0, 0], [0, 1], [1, 0], [1, 0], [0, 2]])
    assert duplicate_rows(W) == 3  # the three copies of [1, 0]
