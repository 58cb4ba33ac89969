"""Which tensor is the unembedding: every naming convention of the paper's models, from names alone."""

from __future__ import annotations

import pytest

from superscale.llm.catalog import load_catalog
from superscale.llm.locate import config_context_length, config_d_model, locate_unembedding

V, D = 100, 8


def _shapes(*names: str, rows: int = V) -> dict[str, tuple[int, int]]:
    return {name: (rows, D) for name in names} | {"other.dense.weight": (D, D)}


TIED, UNTIED = {"tie_word_embeddings": True}, {"tie_word_embeddings": False}
WTE, OPT_EMB, EMB = "transformer.wte.weight", "model.decoder.embed_tokens.weight", "model.embed_tokens.weight"
BERT_EMB, BERT_HEAD = "embeddings.word_embeddings.weight", "cls.predictions.decoder.weight"
VLM_EMB = "model.language_model.embed_tokens.weight"


@pytest.mark.parametrize(
    ("names", "config", "expected", "tied"),
    [
        ((WTE, "transformer.wpe.weight"), {"model_type": "gpt2"}, WTE, True),
        (("wte.weight", "wpe.weight"), {}, "wte.weight", True),
        (("gpt_neox.embed_in.weight", "embed_out.weight"), UNTIED, "embed_out.weight", False),
        ((OPT_EMB,), TIED, OPT_EMB, True),
        (("decoder.embed_tokens.weight",), {}, "decoder.embed_tokens.weight", True),
        ((OPT_EMB, "lm_head.weight"), TIED, "lm_head.weight", True),
        ((EMB,), TIED, EMB, True),
        ((EMB, "lm_head.weight"), UNTIED, "lm_head.weight", False),
        ((BERT_EMB,), {"model_type": "bert"}, BERT_EMB, True),
        (("bert." + BERT_EMB, BERT_HEAD), TIED, BERT_HEAD, True),
        ((VLM_EMB,), {"text_config": TIED}, VLM_EMB, True),
    ],
)
def test_known_layouts(names: tuple[str, ...], config: dict, expected: str, tied: bool) -> None:
    choice = locate_unembedding(_shapes(*names), config)
    assert (choice.name, choice.tied) == (expected, tied)


def test_catalogue_tensors_are_found_by_the_rules() -> None:
    """Each catalogue model's recorded tensor is what the rules pick among its usual tensor names."""
    for row in load_catalog().itertuples():
        embed = {
            "opt": "model.decoder.embed_tokens.weight",
            "qwen2.5": "model.embed_tokens.weight",
            "gpt2": "wte.weight",
            "pythia": "gpt_neox.embed_in.weight",
        }[row.family]
        names = {embed, row.lm_head_tensor}
        choice = locate_unembedding(_shapes(*names), {"tie_word_embeddings": bool(row.tied_head)})
        assert choice.name == row.lm_head_tensor, row.model


def test_untied_config_without_head_tensor_is_an_error() -> None:
    with pytest.raises(ValueError, match="untied"):
        locate_unembedding(_shapes("model.embed_tokens.weight"), {"tie_word_embeddings": False})


def test_explicit_tensor_exact_suffix_and_errors() -> None:
    shapes = _shapes("model.embed_tokens.weight", "lm_head.weight")
    assert (
        locate_unembedding(shapes, {}, tensor="model.embed_tokens.weight").name == "model.embed_tokens.weight"
    )
    assert locate_unembedding(shapes, {}, tensor="embed_tokens.weight").name == "model.embed_tokens.weight"
    with pytest.raises(ValueError, match="not in the checkpoint"):
        locate_unembedding(shapes, {}, tensor="nope.weight")
    both = _shapes("a.embed_tokens.weight", "b.embed_tokens.weight")
    with pytest.raises(ValueError, match="ambiguous"):
        locate_unembedding(both, {}, tensor="embed_tokens.weight")


def test_unknown_names_fall_back_to_the_only_vocab_sized_matrix() -> None:
    shapes = {"weird.tok_table": (V, D), "weird.proj": (D, D), "weird.bias": (V,)}
    assert locate_unembedding(shapes, {"vocab_size": V}).name == "weird.tok_table"
    with pytest.raises(ValueError, match="--tensor"):
        locate_unembedding(shapes | {"weird.second": (V, D)}, {"vocab_size": V})
    with pytest.raises(ValueError, match="--tensor"):
        locate_unembedding(shapes, {})


def test_config_readers_cover_the_families_spellings() -> None:
    assert config_d_model({"n_embd": 768}) == 768
    assert config_d_model({"hidden_size": 896}) == 896
    assert config_d_model({"text_config": {"hidden_size": 64}}) == 64
    assert config_context_length({"n_positions": 1024}) == 1024
    assert config_context_length({"max_position_embeddings": 2048}) == 2048
    assert config_context_length({}) is None
