"""GGUF checkpoints (llama.cpp's format) through the `gguf` package: index the tensors, dequantise one.

GGUF stores shapes innermost-first ([d_model, vocab] for the token embedding); `gguf.quants.dequantize`
returns the row-major [vocab, d_model] array, which is what the rest of superscale reads. The config the
locator needs (width, vocab size, whether the head is tied) comes from the file's metadata: a tied head
is a file without `output.weight` (llama.cpp then reads `token_embd.weight` for both).
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import numpy as np
import torch

HEAD = "output.weight"


@functools.lru_cache(maxsize=4)
def _reader(path: str) -> Any:
    try:
        import gguf
    except ImportError:  # pragma: no cover - an `llm` extra
        raise ValueError(f"reading {path} needs the gguf package (pip install 'superscale[llm]')") from None
    return gguf.GGUFReader(path)


def _field(reader: Any, key: str) -> Any:
    field = reader.fields.get(key)
    return None if field is None else field.contents()


def gguf_index(path: Path) -> tuple[dict[str, tuple[int, ...]], dict[str, Any], int | None]:
    """(name → row-major shape, a config dict in transformers' vocabulary, the tokenizer's size)."""
    reader = _reader(str(path))
    shapes = {t.name: tuple(int(d) for d in reversed(t.shape.tolist())) for t in reader.tensors}
    arch = _field(reader, "general.architecture") or ""
    tokens = _field(reader, "tokenizer.ggml.tokens")
    config: dict[str, Any] = {
        "model_type": arch,
        "name": _field(reader, "general.name"),
        "hidden_size": _field(reader, f"{arch}.embedding_length"),
        "max_position_embeddings": _field(reader, f"{arch}.context_length"),
        "vocab_size": _field(reader, f"{arch}.vocab_size") or (len(tokens) if tokens else None),
        "tie_word_embeddings": HEAD not in shapes,
    }
    return shapes, {k: v for k, v in config.items() if v is not None}, len(tokens) if tokens else None


def read_gguf_tensor(path: Path, name: str, n_rows: int | None = None) -> torch.Tensor:
    """Tensor `name` dequantised to float32 (its first `n_rows` rows when given); no other tensor is read."""
    import gguf

    reader = _reader(str(path))
    hits = [t for t in reader.tensors if t.name == name]
    if not hits:
        raise ValueError(f"tensor {name!r} is not in {Path(path).name}")
    tensor = hits[0]
    data = tensor.data if n_rows is None else tensor.data[:n_rows]  # quantised rows are whole blocks
    values = np.asarray(gguf.quants.dequantize(data, tensor.tensor_type), dtype=np.float32)
    shape = tuple(int(d) for d in reversed(tensor.shape.tolist()))
    rows = shape[0] if n_rows is None else min(n_rows, shape[0])
    return torch.from_numpy(values.reshape((rows, *shape[1:])).copy())
