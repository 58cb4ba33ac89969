"""Hugging Face hub access for `superscale llm geometry <hub id>`: offline-first, bounded, one shard.

Offline (HF_HUB_OFFLINE=1, read from the environment at call time) only the local cache is consulted and a
miss is a ValueError at once: no network, no hang. Online, each request has a short timeout and only the
config, the tokenizer files, the index and the one shard holding the unembedding are downloaded.
"""

from __future__ import annotations

import logging
import os
import re
import socket
from pathlib import Path
from urllib.parse import urlparse

from superscale.llm.read import (
    BIN_INDEX,
    BIN_SINGLE,
    CONFIG_FILE,
    SAFETENSORS_INDEX,
    SAFETENSORS_SINGLE,
    Checkpoint,
    Shape,
    _index_weight_map,
    bin_shapes,
    read_json,
    safetensors_shapes,
    tokenizer_size,
)

log = logging.getLogger(__name__)

HUB_TIMEOUT_S = 10.0
TOKENIZER_FILES = ("tokenizer.json", "vocab.json", "vocab.txt", "added_tokens.json")
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.\-]*(/[A-Za-z0-9][\w.\-]*)?$")


def hub_offline() -> bool:
    """True when HF_HUB_OFFLINE is set now (the env var, not just its value when huggingface_hub loaded)."""
    flag = os.environ.get("HF_HUB_OFFLINE", "").strip().lower()
    if flag in ("1", "true", "yes", "on"):
        return True
    try:
        from huggingface_hub import constants
    except ImportError:  # pragma: no cover - huggingface_hub is an `llm` extra
        return True
    return bool(constants.HF_HUB_OFFLINE) and flag not in ("0", "false", "no", "off")


def hub_reachable(timeout: float) -> bool:
    """One TCP connection to the hub's endpoint, so an unplugged machine fails in `timeout` seconds instead of
    sitting through huggingface_hub's retries. Behind an HTTPS proxy we cannot tell; assume reachable."""
    if any(os.environ.get(var) for var in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")):
        return True
    from huggingface_hub import constants

    parsed = urlparse(constants.ENDPOINT)
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        with socket.create_connection((parsed.hostname or "huggingface.co", port), timeout=timeout):
            return True
    except OSError:
        return False


def looks_like_hub_id(source: str) -> bool:
    """`name` or `org/name` with hub-legal characters, and not a file name."""
    if source.endswith((".safetensors", ".bin", ".json", ".pt", ".pth")) or source.startswith(
        (".", "~", "/")
    ):
        return False
    return bool(_HUB_ID.match(source))


class _Fetcher:
    """Download (or find in the cache) files of one hub repo; misses become None or a clear ValueError."""

    def __init__(self, repo_id: str, revision: str | None, cache_dir: Path | None, timeout: float) -> None:
        self.repo_id, self.revision, self.cache_dir, self.timeout = repo_id, revision, cache_dir, timeout
        self.offline = hub_offline()
        if not self.offline and not hub_reachable(min(timeout, 5.0)):
            log.warning("the hub is unreachable; looking for %s in the local cache only", repo_id)
            self.offline = True

    def optional(self, filename: str) -> Path | None:
        from huggingface_hub import errors, hf_hub_download

        try:
            path = hf_hub_download(
                self.repo_id,
                filename,
                revision=self.revision,
                cache_dir=self.cache_dir,
                local_files_only=self.offline,
                etag_timeout=self.timeout,
            )
        except (errors.EntryNotFoundError, errors.LocalEntryNotFoundError):
            return None
        except (errors.RepositoryNotFoundError, errors.RevisionNotFoundError, errors.GatedRepoError) as exc:
            raise ValueError(f"hub repo {self.repo_id!r} is not available: {exc}") from None
        except (errors.HfHubHTTPError, OSError) as exc:
            raise ValueError(f"could not reach the Hugging Face hub for {self.repo_id!r}: {exc}") from None
        return Path(str(path))

    def required(self, filename: str) -> Path:
        path = self.optional(filename)
        if path is None:
            where = (
                "in the local Hugging Face cache (HF_HUB_OFFLINE is set)" if self.offline else "on the hub"
            )
            raise ValueError(f"{filename!r} of {self.repo_id!r} was not found {where}")
        return path


def fetch_config(fetcher: _Fetcher) -> Path:
    """The repo's config.json, or the one error message `geometry` and `eval` both give, at once: an offline
    or unplugged machine is told so without sitting through the hub client's retries."""
    config_path = fetcher.optional(CONFIG_FILE)
    if config_path is not None:
        return config_path
    repo_id = fetcher.repo_id
    if fetcher.offline:
        offline_set = "HF_HUB_OFFLINE is set (unset it to download)"
        why = offline_set if hub_offline() else "the hub is out of reach"
        raise ValueError(
            f"{repo_id!r} is not a local path, nor a model in the local Hugging Face cache, and {why}"
        )
    raise ValueError(
        f"{CONFIG_FILE} of {repo_id!r} was found neither on the hub nor in the local cache "
        f"(is the id right, is it a transformers model, is the machine online?)"
    )


def hub_model_offline(
    repo_id: str, revision: str | None = None, cache_dir: Path | None = None, timeout: float = HUB_TIMEOUT_S
) -> bool:
    """Check `repo_id` is reachable or cached (a clear ValueError if neither); True when only the cache is."""
    fetcher = _Fetcher(repo_id, revision, cache_dir, timeout)
    fetch_config(fetcher)
    return fetcher.offline


def open_hub_checkpoint(
    repo_id: str,
    revision: str | None = None,
    cache_dir: Path | None = None,
    timeout: float = HUB_TIMEOUT_S,
) -> Checkpoint:
    """Index a hub checkpoint, fetching only small files now; the weight shard is fetched when read."""
    fetcher = _Fetcher(repo_id, revision, cache_dir, timeout)
    config_path = fetch_config(fetcher)
    config = read_json(config_path)
    snapshot = config_path.parent
    for name in TOKENIZER_FILES:
        fetcher.optional(name)

    files: dict[str, str] = {}
    shapes: dict[str, Shape | None] = {}
    # safetensors before .bin; an index before a single file (only the shard holding the head is fetched)
    for filename in (SAFETENSORS_INDEX, SAFETENSORS_SINGLE, BIN_INDEX, BIN_SINGLE):
        if (path := fetcher.optional(filename)) is None:
            continue
        if filename.endswith(".json"):
            files = _index_weight_map(read_json(path), path)
            shapes = dict.fromkeys(files)  # names suffice to locate; shapes come with the shard we read
        else:
            shapes = dict(safetensors_shapes(path) if filename == SAFETENSORS_SINGLE else bin_shapes(path))
            files = dict.fromkeys(shapes, filename)
        break
    else:
        raise ValueError(f"no safetensors or pytorch_model.bin weights found for {repo_id!r}")
    log.info("indexed %s: %d tensors in %d files", repo_id, len(files), len(set(files.values())))
    return Checkpoint(
        label=repo_id,
        files=files,
        shapes=shapes,
        config=config,
        fetch=fetcher.required,
        tokenizer_size=tokenizer_size(snapshot),
    )
