"""Turn a SOURCE (local path, catalogue name, or hub id) into the unembedding matrix and what it is.

Resolution order: an existing local path; a name from the shipped 27-model table (looked up on the hub
by its id, cache first); any other `org/name` hub id, at an optional revision (a branch, tag or commit such
as Pythia's `step1000`). The returned `Unembedding` records which tensor was read, whether the head is
tied, and whether padded vocabulary rows are in the matrix.

Labels come from the source itself (`source_label`): the directory or file a user named, the hub id, the
catalogue name, each with `@revision`; never from the config's `_name_or_path`, which names the *base*
model a checkpoint was fine-tuned from (all-MiniLM-L6-v2 says "nreimers/MiniLM-L6-H384-uncased").
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

import torch

from superscale.llm.catalog import CatalogEntry, find_model
from superscale.llm.hub import HUB_TIMEOUT_S, looks_like_hub_id, open_hub_checkpoint
from superscale.llm.locate import config_d_model, config_value, locate_unembedding
from superscale.llm.read import Checkpoint, open_local_checkpoint, read_tensor

log = logging.getLogger(__name__)


@dataclass
class Unembedding:
    """The LM-head matrix W [vocab, d] in its stored dtype, plus where it came from."""

    W: torch.Tensor
    model: str
    family: str
    source: str
    tensor: str
    tied: bool
    d_model: int | None
    n_rows_stored: int  # rows in the checkpoint, padded rows included
    tokenizer_size: int | None  # None when no tokenizer was found
    padded_rows: int | None  # stored rows beyond the tokenizer (None when unknown)
    padded_rows_included: bool  # False only when padded rows were dropped or there are none
    reason: str
    revision: str | None = None  # hub branch, tag or commit (None: the default branch, or a local path)

    @property
    def step(self) -> int | None:
        """Training step named by the revision or the directory (`step1000`, `checkpoint-500`), if any."""
        return training_step(self.revision or "") or training_step(self.model)

    @property
    def n_rows(self) -> int:
        return int(self.W.shape[0])

    @property
    def m(self) -> int:
        """Width of the matrix (512 for OPT-350m, whose head is projected; docs/recipe.md §5.1)."""
        return int(self.W.shape[1])


_STEP = re.compile(r"(?:step|checkpoint|ckpt|iter)[-_=]?(\d+)", re.IGNORECASE)
_GENERIC_FILES = re.compile(r"^(model|pytorch_model|consolidated)([-.].*)?$")
_GENERIC_DIRS = re.compile(r"^(model|models|weights|checkpoint|snapshot|[0-9a-f]{40})$")


def training_step(text: str) -> int | None:
    """The step in `step143000`, `checkpoint-500`, `run/ckpt_20`; None when the text names none."""
    hits = _STEP.findall(text)
    return int(hits[-1]) if hits else None


def source_label(source: str | Path, revision: str | None = None) -> str:
    """The label of a checkpoint in every table, from what the user named (plus `@revision`).

    A directory gives its name (with its parent's when the name is generic, like `…/pkg/model`); a file its
    stem, or its directory's label for generic names (`model.safetensors`); a catalogue name its short name;
    a hub cache snapshot its repo id; anything else is the hub id as given.
    """
    text = str(source)
    path = Path(text).expanduser()
    if path.exists():
        path = path.resolve()
        if path.is_file() and not _GENERIC_FILES.match(path.name):
            label = path.name.removesuffix(path.suffix)
        else:
            folder = path if path.is_dir() else path.parent
            cache = [p.name for p in folder.parents if p.name.startswith("models--")]
            if folder.parent.name == "snapshots" and cache:
                label = cache[0].removeprefix("models--").replace("--", "/")
            elif _GENERIC_DIRS.match(folder.name):
                label = f"{folder.parent.name}/{folder.name}"
            else:
                label = folder.name
    else:
        entry = find_model(text)
        label = entry.model if entry is not None else text
    return f"{label}@{revision}" if revision else label


def open_checkpoint(
    source: str | Path,
    cache_dir: Path | None = None,
    timeout: float = HUB_TIMEOUT_S,
    revision: str | None = None,
) -> tuple[Checkpoint, CatalogEntry | None]:
    """Index SOURCE (at `revision`, for a hub id) without reading weights; also return its catalogue row."""
    text = str(source)
    path = Path(text).expanduser()
    if path.exists():
        if revision is not None:
            raise ValueError(f"revision={revision!r} applies to hub ids, but {text!r} is a local path")
        checkpoint = open_local_checkpoint(path)
        name_or_path = str(checkpoint.config.get("_name_or_path", ""))
        return checkpoint, find_model(name_or_path) if name_or_path else None
    entry = find_model(text)
    repo_id = entry.hf_id if entry is not None else text
    if entry is None and not looks_like_hub_id(text):
        raise FileNotFoundError(f"source {text!r} is not an existing path, a catalogue name, or a hub id")
    return open_hub_checkpoint(repo_id, revision=revision, cache_dir=cache_dir, timeout=timeout), entry


def load_unembedding(
    source: str | Path,
    tensor: str | None = None,
    drop_padded: bool = False,
    vocab_size: int | None = None,
    cache_dir: Path | None = None,
    timeout: float = HUB_TIMEOUT_S,
    revision: str | None = None,
) -> Unembedding:
    """Read only the unembedding of SOURCE.

    `tensor` overrides the automatic choice; `drop_padded` keeps the first `vocab_size` rows (default: the
    tokenizer's size), which the paper does not do (docs/recipe.md §7.17: padded rows are included).
    """
    if vocab_size is not None and vocab_size <= 0:
        raise ValueError(f"vocab_size must be positive, got {vocab_size}")
    checkpoint, entry = open_checkpoint(source, cache_dir=cache_dir, timeout=timeout, revision=revision)
    if entry is not None and tensor is None and entry.lm_head_tensor in checkpoint.files:
        # The catalogue records the tensor the paper read (e.g. lm_head from OPT-66b's last shard).
        choice = locate_unembedding(checkpoint.shapes, checkpoint.config, entry.lm_head_tensor)
        reason = f"catalogue: {entry.lm_head_tensor}"
    else:
        choice = locate_unembedding(checkpoint.shapes, checkpoint.config, tensor)
        reason = choice.reason
    token_count = vocab_size if vocab_size is not None else checkpoint.tokenizer_size
    if drop_padded and token_count is None:
        raise ValueError(
            f"cannot drop padded rows of {checkpoint.label!r}: no tokenizer found; pass vocab_size"
        )
    W = read_tensor(checkpoint, choice.name)  # full rows first: we need the stored count either way
    if W.ndim != 2:
        raise ValueError(f"tensor {choice.name!r} has shape {tuple(W.shape)}; the unembedding must be 2-D")
    stored = int(W.shape[0])
    padded = None if token_count is None else max(stored - token_count, 0)
    if drop_padded and padded:
        W = W[:token_count].contiguous()
    included = not (drop_padded or padded == 0)
    family = entry.family if entry is not None else str(config_value(checkpoint.config, "model_type") or "")
    model = source_label(source, revision)
    log.info("%s: read %s %s (%s)", model, choice.name, tuple(W.shape), reason)
    return Unembedding(
        W=W,
        model=model,
        family=family,
        source=str(source),
        tensor=choice.name,
        tied=choice.tied,
        d_model=config_d_model(checkpoint.config),
        n_rows_stored=stored,
        tokenizer_size=token_count,
        padded_rows=padded,
        padded_rows_included=included,
        reason=reason,
        revision=revision,
    )
