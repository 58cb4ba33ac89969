"""Token frequencies of a corpus and their Zipf exponent (docs/recipe.md §2 "token frequency exponent", §5.6).

Counting follows the authors' `token-freq-0.py`: skip empty texts, encode without special tokens, stop once
≥ `max_tokens` tokens were counted. The exponent: sort counts by rank, sample `n_points` ranks uniformly in
log10(rank), fit a line in log–log (superscale.analysis.fit), α = −slope. For an offline real-data demo the
`wordfreq` package's English word list stands in for a tokenised corpus.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from superscale.analysis.fit import fit_log_slope

log = logging.getLogger(__name__)

PAPER_MAX_TOKENS = 1_000_000
PAPER_N_POINTS = 1000
_WORD = re.compile(r"\w+|[^\w\s]")

Encoder = Callable[[str], Sequence[Hashable]]


def whitespace_encode(text: str) -> list[str]:
    """A tokenizer-free fallback: words and single punctuation marks (lower-cased)."""
    return _WORD.findall(text.lower())


def tokenizer_encoder(name_or_path: str) -> Encoder:
    """`tokenizer.encode(text, add_special_tokens=False)` of any transformers tokenizer (local or cached)."""
    from transformers import AutoTokenizer

    from superscale.llm.read import check_json_files

    if Path(name_or_path).is_dir():
        check_json_files(Path(name_or_path))  # a damaged file is named, not "Expecting value: line 1"
    try:
        tokenizer = AutoTokenizer.from_pretrained(name_or_path)
    except Exception as exc:  # OSError, a JSON error, or the tokenizers library's bare Exception
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise ValueError(f"cannot load tokenizer {name_or_path!r}: {first}") from None

    def encode(text: str) -> Sequence[Hashable]:
        return list(tokenizer.encode(text, add_special_tokens=False))

    return encode


def count_tokens(texts: Iterable[str], encode: Encoder, max_tokens: int | None = PAPER_MAX_TOKENS) -> Counter:
    """Token counts over `texts`, stopping after the text that brings the total to ≥ `max_tokens`."""
    if max_tokens is not None and max_tokens < 1:
        raise ValueError(f"max_tokens must be >= 1 or None, got {max_tokens}")
    counts: Counter = Counter()
    total = 0
    for text in texts:
        if not text or not text.strip():
            continue
        tokens = encode(text)
        counts.update(tokens)
        total += len(tokens)
        if max_tokens is not None and total >= max_tokens:
            break
    return counts


def read_corpus(path: str | Path) -> Iterable[str]:
    """Lines of a text file (a corpus with one text per line, like the streamed datasets' rows), without
    their line ends: a byte-level tokenizer would count each "\n" as a token the streamed rows never had."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"corpus file {str(path)!r} does not exist")
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:  # strict: the counts of a binary file or another encoding would be fitted as if words
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise ValueError(
                    f"corpus {str(path)!r} is not UTF-8 text (byte {raw[exc.start]:#04x} on line {number}); "
                    "give a text file, one text per line"
                ) from None
            if "\x00" in line:  # valid UTF-8, but no text holds NUL bytes: a binary file
                raise ValueError(
                    f"corpus {str(path)!r} is not text (a NUL byte on line {number}); give a text file, one "
                    "text per line"
                )
            yield line.rstrip("\r\n")


@dataclass(frozen=True)
class ZipfFit:
    """f(rank) ∝ rank^−alpha fitted on log-spaced ranks; alpha_se is the OLS slope error."""

    alpha: float
    alpha_se: float
    r2: float
    n_types: int
    n_tokens: float
    n_points: int


def rank_frequency(counts: Counter | Iterable[float] | np.ndarray) -> np.ndarray:
    """Counts sorted in decreasing order (index 0 is rank 1), zeros dropped."""
    values = np.fromiter(counts.values(), dtype=np.float64) if isinstance(counts, Counter) else counts
    arr = np.sort(np.asarray(values, dtype=np.float64))[::-1]
    return arr[arr > 0]


def log_spaced_ranks(n_types: int, n_points: int = PAPER_N_POINTS) -> np.ndarray:
    """`n_points` ranks uniform in log10(rank) over [1, n_types], rounded and de-duplicated (1-based)."""
    if n_points < 3:
        raise ValueError(f"n_points must be >= 3, got {n_points}")
    ranks = np.unique(np.rint(np.logspace(0, np.log10(n_types), n_points)).astype(np.int64))
    return ranks[(ranks >= 1) & (ranks <= n_types)]


def fit_zipf(counts: Counter | Iterable[float] | np.ndarray, n_points: int = PAPER_N_POINTS) -> ZipfFit:
    """Zipf exponent α = −slope of log count vs log rank on log-spaced ranks (docs/recipe.md §2)."""
    freq = rank_frequency(counts)
    if freq.size < 3:
        raise ValueError(f"a Zipf fit needs >= 3 distinct tokens, got {freq.size}")
    ranks = log_spaced_ranks(freq.size, n_points)
    line = fit_log_slope(ranks, freq[ranks - 1])
    return ZipfFit(
        alpha=-line.slope,
        alpha_se=line.slope_se,
        r2=line.r2,
        n_types=int(freq.size),
        n_tokens=float(freq.sum()),
        n_points=int(ranks.size),
    )


def wordfreq_frequencies(lang: str = "en", wordlist: str = "best") -> np.ndarray:
    """Word frequencies of the `wordfreq` package (real text statistics shipped offline), by rank."""
    try:
        import wordfreq
    except ImportError:  # pragma: no cover - an `llm` extra
        raise ValueError("the wordfreq package is not installed (pip install 'superscale[llm]')") from None
    try:
        table: dict[str, float] = wordfreq.get_frequency_dict(lang, wordlist=wordlist)
    except (LookupError, ValueError) as exc:
        raise ValueError(f"wordfreq has no {wordlist!r} list for lang={lang!r}: {exc}") from None
    return rank_frequency(np.fromiter(table.values(), dtype=np.float64))


RANK_FREQUENCY_COLUMNS = ["tokenizer", "dataset", "rank", "count", "frequency"]


def rank_frequency_frame(
    counts: Any, tokenizer: str, dataset: str, n_points: int | None = PAPER_N_POINTS
) -> pd.DataFrame:
    """Tidy rank-frequency table on log-spaced ranks (all ranks when n_points is None), for the plots."""
    freq = rank_frequency(counts)
    ranks = np.arange(1, freq.size + 1) if n_points is None else log_spaced_ranks(freq.size, n_points)
    chosen = freq[ranks - 1]
    return pd.DataFrame(
        {
            "tokenizer": tokenizer,
            "dataset": dataset,
            "rank": ranks,
            "count": chosen,
            "frequency": chosen / freq.sum(),
        },
        columns=RANK_FREQUENCY_COLUMNS,
    )
