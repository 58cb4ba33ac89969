"""Damaged weight files get one error naming the file: store weights and LLM checkpoints alike."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from superscale.llm.read import open_local_checkpoint, read_tensor
from superscale.store.safetensors_check import check_safetensors


def _good(path: Path) -> Path:
    save_file({"lm_head.weight": torch.ones(4, 3), "b": torch.zeros(4)}, str(path))
    return path


def _with_header(path: Path, header: dict, data: bytes) -> Path:
    blob = json.dumps(header).encode()
    path.write_bytes(len(blob).to_bytes(8, "little") + blob + data)
    return path


def test_a_good_file_gives_its_shapes(tmp_path: Path) -> None:
    assert check_safetensors(_good(tmp_path / "m.safetensors")) == {"lm_head.weight": (4, 3), "b": (4,)}


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        ("empty", "0 bytes, shorter than the 8-byte header length"),
        ("truncated", "truncated: tensor"),
        ("huge header", "header length 18,446,744,073,709,551,615 bytes"),
        ("bad json", "its header is not JSON"),
        ("shape overflow", "does not fit its 48 bytes"),
    ],
)
def test_each_damage_is_one_error_naming_the_file(tmp_path: Path, damage: str, reason: str) -> None:
    path = tmp_path / "model.safetensors"
    if damage == "empty":
        path.write_bytes(b"")
    elif damage == "truncated":
        data = _good(path).read_bytes()
        path.write_bytes(data[:-5])
    elif damage == "huge header":
        path.write_bytes(b"\xff" * 8 + b"{}")
    elif damage == "bad json":
        path.write_bytes((5).to_bytes(8, "little") + b"{nope")
    else:
        entry = {"dtype": "F32", "shape": [2**62, 2**62], "data_offsets": [0, 48]}
        _with_header(path, {"lm_head.weight": entry}, bytes(48))
    with pytest.raises(ValueError, match="not a readable safetensors file") as info:
        open_local_checkpoint(path)
    message = str(info.value)
    assert message.startswith(f"{str(path)!r} is not a readable safetensors file") and reason in message
    assert "\n" not in message


def test_a_tensor_without_rows_is_refused_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "model.safetensors"
    save_file({"lm_head.weight": torch.ones(0, 3)}, str(path))
    with pytest.raises(ValueError, match=rf"'lm_head.weight' in {str(path)!r} has shape \[0, 3\]"):
        read_tensor(open_local_checkpoint(path), "lm_head.weight")


def test_a_pickle_with_code_is_refused_without_suggesting_to_run_it(tmp_path: Path) -> None:
    class Payload:
        def __reduce__(self) -> tuple:
            return (os.getcwd, ())

    path = tmp_path / "pytorch_model.bin"
    torch.save({"lm_head.weight": torch.ones(2, 2), "x": Payload()}, str(path))
    with pytest.raises(ValueError) as info:
        open_local_checkpoint(path)
    message = str(info.value)
    assert message.startswith(f"{str(path)!r} cannot be loaded safely: it holds Python objects")
    assert "safetensors" in message and "weights_only" not in message
