"""Token counting and the Zipf exponent (docs/recipe.md §2, §5.6)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from superscale.llm.frequencies import (
    count_tokens,
    fit_zipf,
    log_spaced_ranks,
    rank_frequency_frame,
    read_corpus,
    tokenizer_encoder,
    whitespace_encode,
    wordfreq_frequencies,
)


def test_planted_power_law_is_recovered_exactly() -> None:
    ranks = np.arange(1, 50_001)
    fit = fit_zipf(1e9 * ranks**-1.3)
    assert fit.alpha == pytest.approx(1.3, abs=1e-10)
    assert fit.r2 == pytest.approx(1.0)
    assert fit.n_types == 50_000


def test_order_and_zeros_do_not_matter() -> None:
    counts = 1e6 * np.arange(1, 2001) ** -0.8
    shuffled = np.random.default_rng(0).permutation(np.concatenate([counts, np.zeros(50)]))
    assert fit_zipf(shuffled).alpha == pytest.approx(fit_zipf(counts).alpha)


def test_log_spaced_ranks_are_unique_and_span_the_range() -> None:
    ranks = log_spaced_ranks(10_000, 1000)
    assert ranks[0] == 1 and ranks[-1] == 10_000
    assert np.all(np.diff(ranks) > 0)
    assert len(log_spaced_ranks(50, 1000)) == 50  # fewer types than points: every rank once
    with pytest.raises(ValueError, match="n_points"):
        log_spaced_ranks(10, 2)


def test_count_tokens_skips_empty_texts_and_stops_at_the_budget() -> None:
    texts = ["a b a", "", "   ", "c a", "d d d d", "never reached"]
    counts = count_tokens(texts, whitespace_encode, max_tokens=5)
    assert counts == Counter({"a": 3, "b": 1, "c": 1})
    assert sum(count_tokens(texts, whitespace_encode, max_tokens=None).values()) == 11
    with pytest.raises(ValueError, match="max_tokens"):
        count_tokens(texts, whitespace_encode, max_tokens=0)


def test_whitespace_encoder_splits_words_and_punctuation() -> None:
    assert whitespace_encode("The cat, the hat!") == ["the", "cat", ",", "the", "hat", "!"]


def test_transformers_tokenizer_counts_without_special_tokens(tmp_path: Path) -> None:
    pytest.importorskip("transformers")
    from tests.fixtures.tiny_llm import write_word_tokenizer

    write_word_tokenizer(tmp_path)
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("w5 w6 w5\n\nw7 w5\n")
    counts = count_tokens(read_corpus(corpus), tokenizer_encoder(str(tmp_path)))
    assert counts == Counter({5: 3, 6: 1, 7: 1})
    with pytest.raises(ValueError, match="cannot load tokenizer"):
        tokenizer_encoder(str(tmp_path / "missing"))


def test_wordfreq_english_is_zipfian() -> None:
    """Real word statistics (wordfreq's English list, offline): α ≈ 1.3, a straight line in log–log."""
    pytest.importorskip("wordfreq")
    freq = wordfreq_frequencies("en")
    assert freq.size > 100_000 and np.all(np.diff(freq) <= 0)
    fit = fit_zipf(freq)
    assert 1.1 < fit.alpha < 1.5 and fit.r2 > 0.95
    frame = rank_frequency_frame(freq, "wordfreq", "wordfreq-en")
    assert list(frame.columns) == ["tokenizer", "dataset", "rank", "count", "frequency"]
    assert frame["rank"].iloc[0] == 1
    with pytest.raises(ValueError, match="wordfreq"):
        wordfreq_frequencies("xx-not-a-language")


def test_a_corpus_that_is_not_utf8_is_refused_naming_its_line(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus.bin"
    corpus.write_bytes(b"fine words\nbad \xb6 byte\n")
    with pytest.raises(ValueError, match=r"corpus '.*corpus.bin' is not UTF-8 text \(byte 0xb6 on line 2\)"):
        list(read_corpus(corpus))
    corpus.write_bytes(b"ascii \x00\x01\x02 bytes\n")
    with pytest.raises(ValueError, match=r"is not text \(a NUL byte on line 1\)"):
        list(read_corpus(corpus))


def test_a_damaged_tokenizer_folder_is_named(tmp_path: Path) -> None:
    pytest.importorskip("transformers")
    (tmp_path / "tokenizer.json").write_text("garbage{")
    with pytest.raises(ValueError, match=r"tokenizer.json' is not valid JSON"):
        tokenizer_encoder(str(tmp_path))
