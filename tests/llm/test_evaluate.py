"""The paper's loss protocol (recipe §5.4) on a tiny random GPT-2, checked against a direct computation."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from superscale.llm.evaluate import collate, evaluate_file, evaluate_sequences, segment_text
from tests.fixtures.tiny_llm import build_tiny, word_text, write_word_tokenizer

pytest.importorskip("transformers")


def test_segment_words_joins_lines_until_enough_words() -> None:
    text = "a b c\n\nd e\nf g h i\nj\n"
    assert segment_text(text, min_words=4) == ["a b c d e ", "f g h i ", "j "]
    assert segment_text(text, min_words=100) == ["a b c d e f g h i j "]
    assert segment_text(text, mode="documents") == ["a b c", "d e\nf g h i\nj"]
    with pytest.raises(ValueError, match="mode"):
        segment_text(text, mode="pages")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="min_words"):
        segment_text(text, min_words=0)


def test_collate_pads_with_zero_mask_zero_and_ignored_labels() -> None:
    batch = collate([[5, 6, 7], [8]])
    assert batch["input_ids"].tolist() == [[5, 6, 7], [8, 0, 0]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1], [1, 0, 0]]
    assert batch["labels"].tolist() == [[5, 6, 7], [8, -100, -100]]


@pytest.fixture(scope="module")
def tiny_gpt2(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, torch.nn.Module]:
    from transformers import GPT2LMHeadModel

    folder, _ = build_tiny("gpt2", tmp_path_factory.mktemp("gpt2"))
    write_word_tokenizer(folder)
    model = GPT2LMHeadModel.from_pretrained(folder, dtype=torch.float32).eval()
    return folder, model


def _direct(model: torch.nn.Module, sequences: list[list[int]]) -> tuple[float, float]:
    """Per sequence, alone and unpadded: the paper's weights (length L) and the exact per-token mean."""
    weighted = ce_sum = 0.0
    weights = predicted = 0
    with torch.no_grad():
        for seq in sequences:
            ids = torch.tensor([seq])
            logits = model(input_ids=ids).logits[0, :-1]
            ce = F.cross_entropy(logits, ids[0, 1:], reduction="sum")
            weighted += float(ce) / (len(seq) - 1) * len(seq)
            weights += len(seq)
            ce_sum += float(ce)
            predicted += len(seq) - 1
    return weighted / weights, ce_sum / predicted


def test_protocol_matches_direct_computation_for_any_batch_size(
    tiny_gpt2: tuple[Path, torch.nn.Module],
) -> None:
    _, model = tiny_gpt2
    gen = torch.Generator().manual_seed(0)
    sequences = [torch.randint(0, 96, (n,), generator=gen).tolist() for n in (7, 12, 3, 20, 9)]
    paper, exact = _direct(model, sequences)
    one = evaluate_sequences(model, sequences, batch_size=1)
    assert one.loss == pytest.approx(paper, rel=1e-5)
    assert one.loss_per_predicted_token == pytest.approx(exact, rel=1e-5)
    assert (one.n_label_tokens, one.n_predicted_tokens, one.n_samples) == (51, 46, 5)
    assert one.perplexity == pytest.approx(math.exp(one.loss))
    # padded batches: the per-token mean is unchanged; the paper's batch weighting is a batch-level mean
    batched = evaluate_sequences(model, sequences, batch_size=2)
    assert batched.loss_per_predicted_token == pytest.approx(exact, rel=1e-5)
    assert batched.n_label_tokens == 51


def test_a_random_model_is_near_uniform_log_vocab(tiny_gpt2: tuple[Path, torch.nn.Module]) -> None:
    _, model = tiny_gpt2
    seqs = [
        torch.randint(0, 96, (30,), generator=torch.Generator().manual_seed(s)).tolist() for s in range(3)
    ]
    assert evaluate_sequences(model, seqs).loss_per_predicted_token == pytest.approx(math.log(96), rel=0.05)


def test_evaluate_file_end_to_end(tiny_gpt2: tuple[Path, torch.nn.Module], tmp_path: Path) -> None:
    folder, model = tiny_gpt2
    text = tmp_path / "wiki.txt"
    text.write_text(word_text(n_lines=12, words_per_line=10))
    row = evaluate_file(str(folder), text, dtype="float32", min_words=40, device="cpu")
    assert (row["dataset"], row["m"], row["max_length"], row["n_samples"]) == ("wiki", 32, 64, 3)
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(folder)
    samples = segment_text(text.read_text(), min_words=40)
    sequences = [tokenizer(s, truncation=True, max_length=64)["input_ids"] for s in samples]
    assert all(len(s) == 40 for s in sequences)
    assert row["loss"] == pytest.approx(_direct(model, sequences)[0], rel=1e-5)
    short = evaluate_file(
        str(folder), text, dtype="float32", min_words=40, max_length=16, max_samples=2, device="cpu"
    )
    assert (short["n_samples"], short["n_label_tokens"]) == (2, 32)


def test_bad_requests_are_value_errors(tiny_gpt2: tuple[Path, torch.nn.Module], tmp_path: Path) -> None:
    folder, model = tiny_gpt2
    text = tmp_path / "t.txt"
    text.write_text("w3 w4 w5\n")
    with pytest.raises(ValueError, match="dtype"):
        evaluate_file(str(folder), text, dtype="int8")
    with pytest.raises(ValueError, match="quantization"):
        evaluate_file(str(folder), text, quantization="3bit")
    with pytest.raises(FileNotFoundError):
        evaluate_file(str(folder), tmp_path / "missing.txt")
    with pytest.raises(ValueError, match="2 or more tokens"):
        evaluate_sequences(model, [[5]])
