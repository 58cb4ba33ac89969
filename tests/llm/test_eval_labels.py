"""`llm eval`: float64 loss sums, the geometry label, a key with every setting, offline failure at once."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest
import torch
from typer.testing import CliRunner

from superscale.cli import app
from superscale.llm.evaluate import evaluate_file, evaluate_sequences
from superscale.llm.frequencies import count_tokens, read_corpus
from superscale.llm.source import load_unembedding
from tests.fixtures.tiny_llm import build_tiny, word_text, write_word_tokenizer

pytest.importorskip("transformers")


class _FixedLogits(torch.nn.Module):
    """A 'model' whose logits are given: the per-token loss is then known in float64 independently."""

    def __init__(self, logits: torch.Tensor) -> None:
        super().__init__()
        self.logits = logits  # [batch, seq, vocab] float32
        self.dummy = torch.nn.Parameter(torch.zeros(1))

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, labels: torch.Tensor) -> object:
        logits = self.logits[: input_ids.shape[0], : input_ids.shape[1]]
        loss = torch.nn.functional.cross_entropy(logits[:, :-1].transpose(1, 2), labels[:, 1:])
        return SimpleNamespace(loss=loss, logits=logits)


def test_loss_per_predicted_token_is_accumulated_in_float64() -> None:
    gen = torch.Generator().manual_seed(0)
    seq, vocab = 20_000, 50
    logits = 30 * torch.randn(1, seq, vocab, generator=gen)  # large logits: float32 sums drift
    ids = torch.randint(0, vocab, (seq,), generator=gen)
    result = evaluate_sequences(_FixedLogits(logits), [ids.tolist()])
    log_p = torch.log_softmax(logits[0, :-1].double(), dim=-1)
    expected = float(-log_p[torch.arange(seq - 1), ids[1:]].mean())
    assert result.loss_per_predicted_token == pytest.approx(expected, rel=1e-13)


def test_eval_and_geometry_share_the_label(tmp_path: Path) -> None:
    folder, _ = build_tiny("gpt2", tmp_path / "my-gpt2")
    write_word_tokenizer(folder)
    text = tmp_path / "wiki.txt"
    text.write_text(word_text(n_lines=3, words_per_line=10))
    row = evaluate_file(str(folder), text, dtype="float32", min_words=20, device="cpu")
    assert row["model"] == load_unembedding(folder).model == "my-gpt2"


def test_eval_out_keeps_a_row_per_dtype(tmp_path: Path) -> None:
    folder, _ = build_tiny("gpt2", tmp_path / "gpt2")
    write_word_tokenizer(folder)
    text = tmp_path / "wiki.txt"
    text.write_text(word_text(n_lines=3, words_per_line=10))
    losses = tmp_path / "losses.csv"
    base = ["llm", "eval", str(folder), "--text", str(text), "--min-words", "20", "--device", "cpu"]
    for dtype in ("float32", "bfloat16", "float32"):  # the re-run of float32 replaces its own row only
        result = CliRunner().invoke(app, [*base, "--dtype", dtype, "--out", str(losses)])
        assert result.exit_code == 0, result.output
    table = pd.read_csv(losses)
    assert sorted(table["dtype"]) == ["bfloat16", "float32"]


def test_eval_offline_hub_id_fails_at_once_with_the_geometry_message(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import transformers

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("transformers was asked to resolve the hub id (slow retries when unplugged)")

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setattr(transformers.AutoTokenizer, "from_pretrained", refuse)
    text = tmp_path / "t.txt"
    text.write_text("w3 w4 w5\n")
    with pytest.raises(ValueError, match="not a local path, nor a model in the local Hugging Face cache"):
        evaluate_file("made-up-org/no-such-model-xyz", text)


def test_corpus_lines_lose_their_line_ends(tmp_path: Path) -> None:
    """A byte-level tokenizer encodes "\\n" as a token (Ċ); the streamed rows the paper counted have none."""
    corpus = tmp_path / "c.txt"
    corpus.write_bytes(b"ab\ncd\r\n\nef")
    assert list(read_corpus(corpus)) == ["ab", "cd", "", "ef"]
    counts = count_tokens(read_corpus(corpus), list, max_tokens=None)  # a character-level "tokenizer"
    assert counts == {"a": 1, "b": 1, "c": 1, "d": 1, "e": 1, "f": 1}
