"""Safetensors read by seeking: a header and one tensor's rows, even in a file larger than memory."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from superscale.llm import read as read_module
from superscale.llm.read import open_local_checkpoint, read_tensor
from superscale.llm.safetensors_header import header_shapes, read_rows


def _refuse_mmap(monkeypatch: pytest.MonkeyPatch) -> None:
    import safetensors

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("safe_open maps the whole file")

    monkeypatch.setattr(safetensors, "safe_open", refuse)
    monkeypatch.setattr(read_module, "safe_open", refuse, raising=False)


def test_rows_and_dtypes_match_the_reference_writer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    gen = torch.Generator().manual_seed(0)
    tensors = {
        "model.embed_tokens.weight": torch.randn(50, 8, generator=gen).to(torch.bfloat16),
        "lm_head.weight": torch.randn(50, 8, generator=gen),
        "norm.weight": torch.randn(8, generator=gen).half(),
    }
    path = tmp_path / "model.safetensors"
    save_file(tensors, str(path), metadata={"format": "pt"})
    _refuse_mmap(monkeypatch)
    assert header_shapes(path) == {name: tuple(t.shape) for name, t in tensors.items()}
    for name, tensor in tensors.items():
        got = read_rows(path, name)
        assert got.dtype == tensor.dtype and torch.equal(got, tensor)
    assert torch.equal(
        read_rows(path, "model.embed_tokens.weight", n_rows=7), tensors["model.embed_tokens.weight"][:7]
    )


def test_a_file_larger_than_memory_is_read_at_its_offset(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 40 GB (sparse) file: the head lies after a fake 40 GB tensor; only its own bytes are read."""
    folder = tmp_path / "big"
    folder.mkdir()
    head = torch.randn(30, 4, generator=torch.Generator().manual_seed(1))
    skip = 40 * 2**30
    header = {
        "__metadata__": {"format": "pt"},
        "model.layers.0.mlp.weight": {"dtype": "F32", "shape": [skip // 16, 4], "data_offsets": [0, skip]},
        "lm_head.weight": {"dtype": "F32", "shape": [30, 4], "data_offsets": [skip, skip + head.numel() * 4]},
    }
    raw = json.dumps(header).encode()
    path = folder / "model.safetensors"
    with path.open("wb") as handle:
        handle.write(struct.pack("<Q", len(raw)) + raw)
        handle.seek(8 + len(raw) + skip)
        handle.write(head.numpy().tobytes())
    (folder / "config.json").write_text(json.dumps({"tie_word_embeddings": False}))
    _refuse_mmap(monkeypatch)
    checkpoint = open_local_checkpoint(folder)
    assert checkpoint.shapes["model.layers.0.mlp.weight"] == (skip // 16, 4)
    assert torch.equal(read_tensor(checkpoint, "lm_head.weight"), head)


def test_broken_files_are_clear_errors(tmp_path: Path) -> None:
    short = tmp_path / "short.safetensors"
    short.write_bytes(b"\x01\x00")
    with pytest.raises(ValueError, match="not a safetensors file"):
        header_shapes(short)
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(struct.pack("<Q", 4) + b"nope")
    with pytest.raises(ValueError, match="header is not JSON"):
        header_shapes(bad)
    cut = tmp_path / "cut.safetensors"
    raw = json.dumps({"w": {"dtype": "F32", "shape": [4, 4], "data_offsets": [0, 64]}}).encode()
    cut.write_bytes(struct.pack("<Q", len(raw)) + raw + b"\x00" * 10)
    with pytest.raises(ValueError, match="truncated"):
        read_rows(cut, "w")
