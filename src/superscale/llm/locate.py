"""Find the unembedding (LM-head) tensor of a checkpoint from its config and its tensor names.

The paper (recipe §5.1, §7.18) reads the output matrix when the checkpoint has one (`lm_head`, Pythia's
`embed_out`) and the token embedding when the head is tied to it (GPT-2 `wte`, OPT/Qwen `embed_tokens`).
This module is pure: it sees names, shapes and the config dict, never a file, so every naming
convention is testable without weights.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

# Output matrices (untied heads, or heads saved next to a tied embedding, like OPT-66b), most specific first.
HEAD_NAMES: tuple[str, ...] = (
    "lm_head.weight",  # Llama, Qwen, Mistral, OPT-66b, GPT-2 LM-head checkpoints that save it
    "embed_out.weight",  # GPT-NeoX / Pythia
    "cls.predictions.decoder.weight",  # BERT masked-LM head (tied to word_embeddings)
    "output.weight",  # original Llama / Mistral layouts, and GGUF
    "lm_head.decoder.weight",  # RoBERTa-style masked-LM head
)
# Token embeddings, read when the head is tied to them.
EMBED_NAMES: tuple[str, ...] = (
    "model.decoder.embed_tokens.weight",  # OPT (512 wide for opt-350m: the projected head)
    "decoder.embed_tokens.weight",  # OPT saved without the `model.` prefix
    "model.embed_tokens.weight",  # Llama / Qwen / Mistral
    "transformer.wte.weight",  # GPT-2 saved from GPT2LMHeadModel
    "wte.weight",  # GPT-2 saved from GPT2Model (the hub's openai-community/gpt2)
    "gpt_neox.embed_in.weight",  # Pythia input embedding (its head is embed_out)
    "embeddings.word_embeddings.weight",  # BERT-style encoders (BertModel)
    "transformer.word_embeddings.weight",  # BLOOM
    "tok_embeddings.weight",  # original Llama layout
    "token_embd.weight",  # GGUF (llama.cpp); its head is output.weight unless tied
    "embed_tokens.weight",  # any prefix ending in embed_tokens
    "word_embeddings.weight",  # any prefix ending in word_embeddings
)


@dataclass(frozen=True)
class TensorChoice:
    """Which tensor holds the unembedding, whether the head is tied to the input embedding, and why."""

    name: str
    tied: bool
    reason: str


def config_value(config: Mapping[str, Any], *keys: str) -> Any:
    """First present key of `keys` in `config` or in its nested `text_config` (multimodal wrappers)."""
    for scope in (config, config.get("text_config") or {}):
        for key in keys:
            if key in scope and scope[key] is not None:
                return scope[key]
    return None


def config_tied(config: Mapping[str, Any]) -> bool | None:
    """The config's `tie_word_embeddings` (None when the config does not say)."""
    value = config_value(config, "tie_word_embeddings")
    return None if value is None else bool(value)


def config_d_model(config: Mapping[str, Any]) -> int | None:
    """Hidden size under its various names (hidden_size, n_embd, d_model, dim)."""
    value = config_value(config, "hidden_size", "n_embd", "d_model", "dim")
    return None if value is None else int(value)


def config_vocab_size(config: Mapping[str, Any]) -> int | None:
    value = config_value(config, "vocab_size")
    return None if value is None else int(value)


def config_context_length(config: Mapping[str, Any]) -> int | None:
    """The model's own context length (max_position_embeddings, n_positions, n_ctx, seq_length)."""
    value = config_value(config, "max_position_embeddings", "n_positions", "n_ctx", "seq_length")
    return None if value is None else int(value)


def _matches(pattern: str, names: Sequence[str]) -> list[str]:
    """Names equal to `pattern` or ending in `.pattern` (any wrapper prefix)."""
    return [name for name in names if name == pattern or name.endswith("." + pattern)]


def _first_match(patterns: Sequence[str], names: Sequence[str]) -> str | None:
    for pattern in patterns:
        hits = _matches(pattern, names)
        if hits:
            return min(hits, key=len)  # the least-wrapped spelling when several prefixes exist
    return None


def locate_unembedding(
    shapes: Mapping[str, Sequence[int] | None],
    config: Mapping[str, Any] | None = None,
    tensor: str | None = None,
) -> TensorChoice:
    """Choose the unembedding tensor among `shapes` (name -> shape, or None where the shape is unknown).

    Order: an explicit `tensor` (exact name or a unique suffix); a head tensor (`lm_head`, `embed_out`, ...);
    the token embedding when the head is tied; finally the only 2-D tensor with `vocab_size` rows.
    """
    config = config or {}
    names = sorted(shapes)
    tied_cfg = config_tied(config)
    if tensor is not None:
        hits = [tensor] if tensor in shapes else _matches(tensor, names)
        if len(hits) != 1:
            stem = tensor.removesuffix(".weight").rsplit(".", 1)[-1]
            close = [n for n in names if stem in n][:10] or names[:10]
            problem = f"is ambiguous (matches {', '.join(hits)})" if hits else "is not in the checkpoint"
            raise ValueError(f"tensor={tensor!r} {problem}; names like it: {', '.join(close)}")
        name = hits[0]
        is_head = _first_match(HEAD_NAMES, [name]) is not None
        tied = tied_cfg if tied_cfg is not None else not is_head
        return TensorChoice(name, tied=tied, reason="given with --tensor")

    head = _first_match(HEAD_NAMES, names)
    embed = _first_match(EMBED_NAMES, names)
    if head is not None:
        # A head saved next to a tied embedding (OPT-66b) is the same matrix; the config says which it is.
        tied = bool(tied_cfg) if tied_cfg is not None else False
        return TensorChoice(head, tied=tied, reason=f"output matrix {head!r}")
    if embed is not None:
        if tied_cfg is False:
            raise ValueError(
                f"the config says the LM head is untied (tie_word_embeddings=false) but no head tensor "
                f"({', '.join(HEAD_NAMES[:2])}) is in these files; give the whole checkpoint or its index "
                f"JSON, or name the tensor with --tensor"
            )
        return TensorChoice(embed, tied=True, reason=f"tied head: token embedding {embed!r}")

    vocab = config_vocab_size(config)
    matrices = {n: s for n, s in shapes.items() if s is not None and len(s) == 2}
    candidates = [n for n, s in matrices.items() if vocab is not None and int(s[0]) == vocab]
    if len(candidates) == 1:
        log.warning("no known unembedding name; using the only [vocab_size, *] matrix %s", candidates[0])
        return TensorChoice(candidates[0], tied=bool(tied_cfg), reason="only matrix with vocab_size rows")
    listed = candidates or sorted(matrices, key=lambda n: -int(matrices[n][0]))[:10]
    raise ValueError(
        f"cannot tell which tensor is the unembedding (no lm_head / embed_out / embed_tokens / wte / "
        f"word_embeddings); pass --tensor, e.g. one of: {', '.join(listed) or 'none found'}"
    )
