"""The shipped LLM tables: the 27-model catalogue, digitised figures, Chinchilla shapes."""

from __future__ import annotations

from superscale.llm.catalog import (
    find_model,
    load_catalog,
    load_chinchilla_shapes,
    load_digitized_losses,
    load_digitized_overlaps,
)


def test_catalog_has_the_27_models_of_four_families() -> None:
    table = load_catalog()
    assert len(table) == 27
    assert table.groupby("family").size().to_dict() == {"gpt2": 4, "opt": 8, "pythia": 8, "qwen2.5": 7}
    assert table["tied_head"].dtype == bool


def test_find_model_by_name_or_hub_id_case_insensitively() -> None:
    by_name = find_model("Pythia-70M")
    by_id = find_model("EleutherAI/pythia-70m")
    assert by_name == by_id
    assert by_name is not None
    assert (by_name.lm_head_tensor, by_name.d_model, by_name.vocab_rows) == ("embed_out.weight", 512, 50304)
    assert find_model("no-such-model") is None


def test_opt_350m_head_is_512_wide_while_d_model_is_1024() -> None:
    entry = find_model("opt-350m")
    assert entry is not None
    assert (entry.d_model, entry.lm_head_width) == (1024, 512)


def test_digitized_tables_drop_hidden_rows_when_asked() -> None:
    all_losses = load_digitized_losses(usable_only=False)
    usable = load_digitized_losses()
    assert len(all_losses) == 27 * 4
    assert usable["loss"].notna().all()
    assert len(usable) == int(all_losses["loss_digitized"].notna().sum())
    overlaps = load_digitized_overlaps()
    assert overlaps["mean_square_overlap_digitized"].notna().all()
    assert (overlaps["inv_m"] * overlaps["m_lm_head"]).round(12).eq(1).all()


def test_chinchilla_table_a9_has_50_shapes() -> None:
    shapes = load_chinchilla_shapes()
    assert len(shapes) == 50
    assert shapes["d_model"].min() == 512 and shapes["d_model"].max() == 5120
