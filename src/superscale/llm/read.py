"""Read one tensor of a checkpoint (the unembedding) without loading the rest of the model.

Safetensors files are read with plain seeks (`safetensors_header`: the header, then one tensor's rows), so
a 70B checkpoint costs one tensor's memory and a single file larger than RAM reads like any other; PyTorch
`.bin` files are opened with `torch.load(mmap=True)` so only the pages of the wanted tensor are touched;
GGUF files through the `gguf` package (`gguf_file`), dequantising only that tensor. Sharded checkpoints
are read through their index JSON and only the shard holding the tensor is opened (or downloaded, for a
hub id: see `hub.py`).
"""

from __future__ import annotations

import json
import logging
import pickle
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

import torch

from superscale._checks import read_text
from superscale.llm.gguf_read import gguf_index, read_gguf_tensor
from superscale.llm.safetensors_header import header_shapes, read_rows
from superscale.store.safetensors_check import check_safetensors

log = logging.getLogger(__name__)

SAFETENSORS_INDEX = "model.safetensors.index.json"
SAFETENSORS_SINGLE = "model.safetensors"
BIN_INDEX = "pytorch_model.bin.index.json"
BIN_SINGLE = "pytorch_model.bin"
CONFIG_FILE = "config.json"

Shape = tuple[int, ...]


@dataclass
class Checkpoint:
    """The tensor names of a checkpoint, the file holding each, and how to get that file locally.

    `shapes` maps name -> shape, or None where only an index was read (the shard was not opened yet).
    `fetch(file)` returns a local path: the file itself when local, a (cached) download for a hub id.
    """

    label: str
    files: dict[str, str]
    shapes: dict[str, Shape | None]
    config: dict[str, Any] = field(default_factory=dict)
    fetch: Callable[[str], Path] = Path
    tokenizer_size: int | None = None


def read_json(path: Path) -> dict[str, Any]:
    """A JSON object from `path`; ValueError naming the file when it is not UTF-8, not JSON, or not an
    object (a checkpoint's config.json, index, vocab.json)."""
    try:
        data = json.loads(read_text(path))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{str(path)!r} is not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise ValueError(f"{str(path)!r} is not a JSON object (it holds a {type(data).__name__})")
    return data


# the JSON files transformers reads from a model or tokenizer folder
MODEL_JSON_FILES = (
    CONFIG_FILE, "generation_config.json", "tokenizer.json", "tokenizer_config.json",
    "special_tokens_map.json", "vocab.json", "added_tokens.json",
)  # fmt: skip


def check_json_files(folder: Path) -> None:
    """Read every JSON file transformers will read from `folder`, so a damaged one is named (transformers
    reports "Expecting value: line 1 column 1" without saying which file)."""
    for name in MODEL_JSON_FILES:
        if (Path(folder) / name).is_file():
            read_json(Path(folder) / name)


def contained_name(name: Any, where: Path | str) -> str:
    """`name` when it names a file inside the checkpoint's folder (relative, no `..`); ValueError naming
    `where` (the index that listed it) otherwise, so an index cannot make us open `/etc/passwd`."""
    text = name if isinstance(name, str) else ""
    parts = PurePosixPath(text.replace("\\", "/")).parts
    if not text or PurePosixPath(text).is_absolute() or PureWindowsPath(text).is_absolute() or ".." in parts:
        raise ValueError(
            f"{where} lists the weights file {name!r}, which is not a file inside the checkpoint"
        )
    return text


def safetensors_shapes(path: Path) -> dict[str, Shape]:
    """Names and shapes from a safetensors header (the data is not read); a damaged file is named."""
    check_safetensors(path)
    return header_shapes(path)


def _load_bin(path: Path) -> dict[str, torch.Tensor]:
    """A PyTorch state dict, memory-mapped when the file is in the zip format (torch >= 1.6)."""
    try:
        try:
            state = torch.load(str(path), map_location="cpu", mmap=True, weights_only=True)
        except RuntimeError:  # legacy (pre-zip) serialisation cannot be mmapped
            log.warning("%s is a legacy torch file; loading it whole to read one tensor", path)
            state = torch.load(str(path), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        # torch's own message advises weights_only=False, i.e. running the file's code: never repeat that
        reason = next((line for line in str(exc).splitlines() if "GLOBAL" in line), "").strip()
        raise ValueError(
            f"{str(path)!r} cannot be loaded safely: it holds Python objects, not only tensors"
            f"{f' ({reason})' if reason else ''}; use a .safetensors copy of the checkpoint (most hub models "
            "ship one) or have its publisher convert it"
        ) from None
    except (RuntimeError, EOFError, OSError) as exc:
        raise ValueError(f"{str(path)!r} is not a readable PyTorch checkpoint ({exc})") from None
    if not isinstance(state, dict):
        raise ValueError(f"{path} does not hold a state dict (got {type(state).__name__})")
    return {k: v for k, v in state.items() if isinstance(v, torch.Tensor)}


def bin_shapes(path: Path) -> dict[str, Shape]:
    return {name: tuple(t.shape) for name, t in _load_bin(path).items()}


def tokenizer_size(folder: Path) -> int | None:
    """Number of tokens the tokenizer can emit (base vocabulary plus added tokens), or None if no tokenizer.

    Rows of the unembedding at or beyond this index are padding (e.g. Pythia's 50 304 rows vs 50 277 tokens).
    """
    if (folder / "tokenizer.json").is_file():
        from tokenizers import Tokenizer  # shipped with transformers; imported only when a tokenizer exists

        file = folder / "tokenizer.json"
        try:
            return int(Tokenizer.from_file(str(file)).get_vocab_size(with_added_tokens=True))
        except Exception as exc:  # the tokenizers library raises a bare Exception for a malformed file
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise ValueError(
                f"{str(file)!r} is not a readable tokenizer ({first}); fix or remove it, or pass --vocab-size"
            ) from None
    base: set[str] = set()
    if (folder / "vocab.json").is_file():
        base = set(read_json(folder / "vocab.json"))
    elif (folder / "vocab.txt").is_file():
        base = set(read_text(folder / "vocab.txt").splitlines())
    else:
        return None
    added = read_json(folder / "added_tokens.json") if (folder / "added_tokens.json").is_file() else {}
    return len(base | set(added))


def _index_weight_map(index: dict[str, Any], where: Path | str) -> dict[str, str]:
    weight_map = index.get("weight_map")
    if not isinstance(weight_map, dict) or not weight_map:
        raise ValueError(f"{where} is not a checkpoint index (no weight_map)")
    return {str(k): contained_name(v, where) for k, v in weight_map.items()}


def open_local_checkpoint(path: Path) -> Checkpoint:
    """Index a local checkpoint: a model directory, a `.safetensors` file, an index JSON, or a `.bin` file."""
    path = Path(path).expanduser()
    if not path.exists():
        raise FileNotFoundError(f"checkpoint path {str(path)!r} does not exist")
    ggufs = sorted(path.glob("*.gguf")) if path.is_dir() else []
    if path.suffix == ".gguf" or (len(ggufs) == 1 and not any(path.glob("*.safetensors"))):
        return open_gguf_checkpoint(path if path.suffix == ".gguf" else ggufs[0])
    folder = path if path.is_dir() else path.parent
    config = read_json(folder / CONFIG_FILE) if (folder / CONFIG_FILE).is_file() else {}

    def local(name: str) -> Path:
        return folder / name

    files: dict[str, str]
    shapes: dict[str, Shape | None]
    if path.is_dir():
        shards = sorted(p.name for p in path.glob("*.safetensors"))
        if (path / SAFETENSORS_INDEX).is_file():
            files = _index_weight_map(read_json(path / SAFETENSORS_INDEX), path / SAFETENSORS_INDEX)
            shapes = _shapes_of(files, local, safetensors_shapes)
        elif shards:
            files, shapes = _scan(shards, local, safetensors_shapes)
        elif (path / BIN_INDEX).is_file():
            files = _index_weight_map(read_json(path / BIN_INDEX), path / BIN_INDEX)
            shapes = dict.fromkeys(files)  # shapes come when the one needed shard is opened
        elif bins := sorted(p.name for p in path.glob("*.bin") if p.name != "training_args.bin"):
            files, shapes = _scan(bins, local, bin_shapes)
        else:
            raise FileNotFoundError(f"no .safetensors, .bin or .gguf weights in directory {str(path)!r}")
    elif path.name.endswith(".json"):
        files = _index_weight_map(read_json(path), path)
        is_bin = any(f.endswith(".bin") for f in files.values())
        shapes = dict.fromkeys(files) if is_bin else _shapes_of(files, local, safetensors_shapes)
    elif path.suffix == ".safetensors":
        files, shapes = _scan([path.name], local, safetensors_shapes)
    elif path.suffix in (".bin", ".pt", ".pth"):
        files, shapes = _scan([path.name], local, bin_shapes)
    else:
        raise ValueError(
            f"source {str(path)!r} is not a model directory, .safetensors, .bin, .gguf or index .json file"
        )
    return Checkpoint(
        label=path.name if path.is_dir() else folder.name,
        files=files,
        shapes=shapes,
        config=config,
        fetch=local,
        tokenizer_size=tokenizer_size(folder),
    )


def open_gguf_checkpoint(path: Path) -> Checkpoint:
    """Index a GGUF file: names and shapes from its tensor table, the config from its metadata."""
    shapes, config, n_tokens = gguf_index(path)
    return Checkpoint(
        label=path.name,
        files=dict.fromkeys(shapes, path.name),
        shapes=dict(shapes),
        config=config,
        fetch=lambda name: path.parent / name,
        tokenizer_size=n_tokens,
    )


def _scan(
    names: list[str], fetch: Callable[[str], Path], reader: Callable[[Path], dict[str, Shape]]
) -> tuple[dict[str, str], dict[str, Shape | None]]:
    files: dict[str, str] = {}
    shapes: dict[str, Shape | None] = {}
    for name in names:
        for tensor, shape in reader(fetch(name)).items():
            files[tensor] = name
            shapes[tensor] = shape
    return files, shapes


def _shapes_of(
    files: dict[str, str], fetch: Callable[[str], Path], reader: Callable[[Path], dict[str, Shape]]
) -> dict[str, Shape | None]:
    """Shapes of every indexed tensor, reading each local shard's header once (headers are small)."""
    shapes: dict[str, Shape | None] = dict.fromkeys(files)
    present = [shard for shard in sorted(set(files.values())) if fetch(shard).is_file()]
    if not present:
        raise FileNotFoundError(f"none of the shards listed in the index exist next to it ({fetch('')})")
    if len(present) < len(set(files.values())):
        # e.g. only the last shard was downloaded because it holds lm_head (as the paper did for OPT-66b)
        log.info(
            "index lists %d shards, %d present; reading names from the index",
            len(set(files.values())),
            len(present),
        )
    for shard in present:
        for tensor, shape in reader(fetch(shard)).items():
            if tensor in shapes:
                shapes[tensor] = shape
    return shapes


def read_tensor(checkpoint: Checkpoint, name: str, n_rows: int | None = None) -> torch.Tensor:
    """Read tensor `name` (its first `n_rows` rows when given) in its stored dtype, touching nothing else."""
    if name not in checkpoint.files:
        raise ValueError(f"tensor {name!r} is not in checkpoint {checkpoint.label!r}")
    path = checkpoint.fetch(checkpoint.files[name])
    if not path.is_file():
        raise FileNotFoundError(f"{checkpoint.files[name]!r}, which holds {name!r}, is missing at {path}")
    if path.suffix == ".safetensors":
        check_safetensors(path)  # a damaged file is named in one line before any byte of data is read
        shape = header_shapes(path).get(name)
        if shape is not None:
            _check_rows(path, name, tuple(shape))
        return read_rows(path, name, n_rows)  # only these rows' bytes are read
    if path.suffix == ".gguf":
        return read_gguf_tensor(path, name, n_rows)
    state = _load_bin(path)
    if name not in state:
        raise ValueError(f"tensor {name!r} is not in {path.name}, although the index says so")
    _check_rows(path, name, tuple(state[name].shape))
    tensor = state[name] if n_rows is None else state[name][:n_rows]
    return tensor.clone()  # detach from the mapped file before the state dict goes


def _check_rows(path: Path, name: str, shape: Shape) -> None:
    """An unembedding is a matrix with rows and columns: an empty one has no geometry to measure."""
    if len(shape) != 2 or 0 in shape:
        raise ValueError(f"tensor {name!r} in {str(path)!r} has shape {list(shape)}: not a [vocab, d] matrix")
