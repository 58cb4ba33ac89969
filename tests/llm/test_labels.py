"""Labels come from the source a user named (plus @revision), never from the config's `_name_or_path`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from superscale.llm.source import load_unembedding, source_label, training_step
from tests.fixtures.tiny_llm import build_tiny

pytest.importorskip("transformers")


def test_fine_tuned_checkpoint_is_labelled_by_its_directory(tmp_path: Path) -> None:
    """all-MiniLM-L6-v2's config names its base model; two fine-tunes of one base must not merge."""
    for name in ("tuned-a", "tuned-b"):
        folder, _ = build_tiny("gpt2", tmp_path / name)
        config = json.loads((folder / "config.json").read_text())
        config["_name_or_path"] = "org/the-base-model"
        (folder / "config.json").write_text(json.dumps(config))
    assert load_unembedding(tmp_path / "tuned-a").model == "tuned-a"
    assert load_unembedding(tmp_path / "tuned-b" / "model.safetensors").model == "tuned-b"


def test_source_labels(tmp_path: Path) -> None:
    (tmp_path / "pkg" / "model").mkdir(parents=True)
    (tmp_path / "pkg" / "model" / "model.safetensors").touch()
    (tmp_path / "SmolLM2-135M.Q4_1.gguf").touch()
    snapshot = tmp_path / "hub" / "models--EleutherAI--pythia-70m" / "snapshots" / ("a" * 40)
    snapshot.mkdir(parents=True)
    assert source_label(tmp_path / "pkg" / "model") == "pkg/model"
    assert source_label(tmp_path / "pkg" / "model" / "model.safetensors") == "pkg/model"
    assert source_label(tmp_path / "SmolLM2-135M.Q4_1.gguf") == "SmolLM2-135M.Q4_1"
    assert source_label(snapshot) == "EleutherAI/pythia-70m"
    assert source_label("EleutherAI/pythia-70m", "step1000") == "pythia-70m@step1000"  # catalogue name
    assert source_label("someone/new-model", "main") == "someone/new-model@main"


def test_training_steps_from_revisions_and_directories() -> None:
    assert training_step("step143000") == 143000
    assert training_step("runs/checkpoint-500") == 500
    assert training_step("ckpt_20") == 20
    assert training_step("main") is None


def test_a_revision_is_refused_for_a_local_path(tmp_path: Path) -> None:
    folder, _ = build_tiny("gpt2", tmp_path / "g")
    with pytest.raises(ValueError, match="revision='step1000' applies to hub ids"):
        load_unembedding(folder, revision="step1000")
