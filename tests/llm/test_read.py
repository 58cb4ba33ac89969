"""Reading only the unembedding from real checkpoint layouts, built from tiny random models."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import pytest
import torch

from superscale.llm import read as read_module
from superscale.llm.read import open_local_checkpoint, read_tensor
from superscale.llm.safetensors_header import read_rows
from superscale.llm.source import load_unembedding
from tests.fixtures.tiny_llm import VOCAB, VOCAB_ROWS, build_tiny, write_vocab

pytest.importorskip("transformers")

CASES = [
    ("gpt2", "safetensors", False, None, "transformer.wte.weight", True),
    ("pythia", "safetensors", True, None, "embed_out.weight", False),
    ("opt", "safetensors", False, None, "model.decoder.embed_tokens.weight", True),
    ("opt", "bin", False, None, "model.decoder.embed_tokens.weight", True),
    ("opt", "bin", True, None, "model.decoder.embed_tokens.weight", True),
    ("qwen", "safetensors", False, False, "lm_head.weight", False),
    ("qwen", "safetensors", True, True, "model.embed_tokens.weight", True),
    ("llama", "bin", False, False, "lm_head.weight", False),
]


@pytest.mark.parametrize(("kind", "fmt", "shard", "tied_cfg", "tensor", "tied"), CASES)
def test_tiny_checkpoints_give_back_the_models_own_head(
    tmp_path: Path, kind: str, fmt: str, shard: bool, tied_cfg: bool | None, tensor: str, tied: bool
) -> None:
    folder, head = build_tiny(kind, tmp_path / "ckpt", fmt=fmt, shard=shard, tied=tied_cfg)
    emb = load_unembedding(folder)
    assert (emb.tensor, emb.tied) == (tensor, tied)
    assert emb.W.dtype == head.dtype
    assert torch.equal(emb.W, head)
    if kind == "opt":  # the projected head: 16 wide although d_model is 32 (like opt-350m's 512 vs 1024)
        assert (emb.m, emb.d_model) == (16, 32)


def test_sharded_safetensors_by_index_and_by_single_shard(tmp_path: Path) -> None:
    folder, head = build_tiny("pythia", tmp_path / "p", shard=True)
    index = folder / "model.safetensors.index.json"
    shard = json.loads(index.read_text())["weight_map"]["embed_out.weight"]
    assert torch.equal(load_unembedding(index).W, head)
    # a shard alone: the head is found among that shard's tensors
    assert torch.equal(load_unembedding(folder / shard).W, head)


def test_only_the_shard_holding_the_head_is_needed(tmp_path: Path) -> None:
    """Like the paper reading lm_head from the last of OPT-66b's shards: the other shards may be absent."""
    folder, head = build_tiny("pythia", tmp_path / "p", shard=True)
    shard = json.loads((folder / "model.safetensors.index.json").read_text())["weight_map"][
        "embed_out.weight"
    ]
    for other in folder.glob("model-*.safetensors"):
        if other.name != shard:
            other.unlink()
    assert torch.equal(load_unembedding(folder).W, head)


def test_read_tensor_slices_only_the_requested_tensor(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder, head = build_tiny("qwen", tmp_path / "q", tied=False)
    checkpoint = open_local_checkpoint(folder)
    sliced: list[tuple[str, int | None]] = []

    def spy(path: Path, name: str, n_rows: int | None = None) -> torch.Tensor:
        sliced.append((name, n_rows))
        return read_rows(path, name, n_rows)

    monkeypatch.setattr(read_module, "read_rows", spy)
    assert torch.equal(read_tensor(checkpoint, "lm_head.weight"), head)
    assert torch.equal(read_tensor(checkpoint, "lm_head.weight", n_rows=10), head[:10])
    assert sliced == [("lm_head.weight", None), ("lm_head.weight", 10)]


def test_padded_rows_are_reported_and_can_be_dropped(tmp_path: Path) -> None:
    folder, head = build_tiny("pythia", tmp_path / "p")  # 128 rows, tokenizer of 96 tokens
    kept = load_unembedding(folder)
    assert (kept.n_rows, kept.tokenizer_size, kept.padded_rows, kept.padded_rows_included) == (
        VOCAB_ROWS,
        VOCAB,
        VOCAB_ROWS - VOCAB,
        True,
    )
    dropped = load_unembedding(folder, drop_padded=True)
    assert torch.equal(dropped.W, head[:VOCAB])
    assert (dropped.n_rows_stored, dropped.padded_rows_included) == (VOCAB_ROWS, False)
    assert load_unembedding(folder, drop_padded=True, vocab_size=100).n_rows == 100


def test_drop_padded_without_tokenizer_is_a_clear_error(tmp_path: Path) -> None:
    folder, _ = build_tiny("pythia", tmp_path / "p")
    (folder / "vocab.json").unlink()
    emb = load_unembedding(folder)
    assert emb.tokenizer_size is None and emb.padded_rows is None and emb.padded_rows_included
    with pytest.raises(ValueError, match="no tokenizer"):
        load_unembedding(folder, drop_padded=True)


def test_missing_paths_and_directories_without_weights(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load_unembedding(tmp_path / "nope.safetensors")
    write_vocab(tmp_path / "empty")
    with pytest.raises(FileNotFoundError, match=r"no \.safetensors, \.bin or \.gguf"):
        load_unembedding(tmp_path / "empty")


def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def test_offline_unknown_hub_id_fails_fast_without_network(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    _no_network(monkeypatch)
    start = time.perf_counter()
    with pytest.raises(ValueError, match="HF_HUB_OFFLINE"):
        load_unembedding("made-up-org/no-such-model-xyz", cache_dir=tmp_path / "hub", timeout=1.0)
    assert time.perf_counter() - start < 5.0


def test_unreachable_hub_falls_back_to_the_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Online mode on an unplugged machine: one refused connection, then cache only, then a clear error."""
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    for var in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(var, raising=False)

    def unplugged(*args: object, **kwargs: object) -> None:
        raise OSError("network is unreachable")

    monkeypatch.setattr(socket, "create_connection", unplugged)
    monkeypatch.setattr(socket.socket, "connect", unplugged)
    start = time.perf_counter()
    with pytest.raises(ValueError, match="out of reach"):
        load_unembedding("made-up-org/no-such-model-xyz", cache_dir=tmp_path / "hub", timeout=1.0)
    assert time.perf_counter() - start < 5.0


def test_offline_hub_id_is_read_from_the_local_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A hub id found in the Hugging Face cache layout (refs/main -> snapshots/<rev>/) is read offline."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    _no_network(monkeypatch)
    revision = "0123456789abcdef0123456789abcdef01234567"
    repo = tmp_path / "hub" / "models--tiny-org--tiny-pythia"
    snapshot = repo / "snapshots" / revision
    _, head = build_tiny("pythia", snapshot, shard=True)
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(revision)
    emb = load_unembedding("tiny-org/tiny-pythia", cache_dir=tmp_path / "hub")
    assert emb.tensor == "embed_out.weight" and torch.equal(emb.W, head)
    assert (emb.tokenizer_size, emb.padded_rows) == (VOCAB, VOCAB_ROWS - VOCAB)


def test_not_a_path_nor_a_hub_id(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="not an existing path"):
        load_unembedding(str(tmp_path / "missing" / "model.safetensors.index.json"))


@pytest.mark.parametrize(
    "name", ["../x.safetensors", "/etc/passwd", "a/../../b", "..\\x.bin", "C:\\x", "", 3]
)
def test_an_index_entry_outside_the_checkpoint_is_refused(tmp_path: Path, name: object) -> None:
    index = tmp_path / "model.safetensors.index.json"
    index.write_text(json.dumps({"weight_map": {"lm_head.weight": name}}))
    with pytest.raises(ValueError, match="which is not a file inside the checkpoint"):
        open_local_checkpoint(tmp_path)
    assert read_module.contained_name("sub/model-00001.safetensors", index) == "sub/model-00001.safetensors"


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("config.json", b"\xff\xfe{", "config.json' is not UTF-8 text (byte 0xff at offset 0)"),
        ("config.json", b"[1, 2]", "config.json' is not a JSON object (it holds a list)"),
        ("vocab.json", b'{"a": 1,', "vocab.json' is not valid JSON"),
        ("tokenizer.json", b"garbage{", "tokenizer.json' is not a readable tokenizer"),
        ("vocab.txt", b"\xb6", "vocab.txt' is not UTF-8 text"),
    ],
)
def test_a_damaged_side_file_is_named(tmp_path: Path, name: str, content: bytes, message: str) -> None:
    from safetensors.torch import save_file

    save_file({"lm_head.weight": torch.randn(10, 4)}, str(tmp_path / "model.safetensors"))
    (tmp_path / name).write_bytes(content)
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        open_local_checkpoint(tmp_path)
