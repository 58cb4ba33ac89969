"""`superscale llm …` end to end through the CLI (typer's CliRunner), on tiny checkpoints and shipped data."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from superscale.cli import app
from superscale.llm.geometry import GEOMETRY_COLUMNS
from tests.fixtures.tiny_llm import build_tiny, word_text, write_word_tokenizer

runner = CliRunner()


def _ok(*args: str) -> str:
    result = runner.invoke(app, ["llm", *args], env={"COLUMNS": "250"})  # wide: no folded table cells
    assert result.exit_code == 0, result.output
    return result.output


def test_models_lists_the_catalogue() -> None:
    out = _ok("models", "--family", "pythia")
    assert "pythia-12b" in out and "opt-66b" not in out
    assert runner.invoke(app, ["llm", "models", "--family", "bloom"]).exit_code == 2


def test_geometry_appends_rows_and_histograms(tmp_path: Path) -> None:
    pytest.importorskip("transformers")
    pythia, _ = build_tiny("pythia", tmp_path / "pythia", shard=True)
    gpt2, _ = build_tiny("gpt2", tmp_path / "gpt2")
    table, hist = tmp_path / "geometry.csv", tmp_path / "norms.parquet"
    _ok("geometry", str(pythia), "--out", str(table), "--hist-out", str(hist), "--bins", "10")
    _ok("geometry", str(pythia), str(gpt2), "--out", str(table), "--hist-out", str(hist), "--bins", "10")
    rows = pd.read_csv(table)
    assert list(rows.columns) == GEOMETRY_COLUMNS
    assert len(rows) == 2  # the re-run of pythia replaced its row
    assert set(rows["tensor"]) == {"embed_out.weight", "transformer.wte.weight"}
    assert rows.set_index("tensor").loc["embed_out.weight", "padded_rows"] == 32
    assert len(pd.read_parquet(hist)) == 20
    out = _ok("geometry", str(pythia), "--drop-padded", "--method", "sampled", "--pairs", "5000")
    assert "not included" in out


def test_geometry_offline_unknown_hub_id_is_one_red_line(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        ["llm", "geometry", "made-up-org/no-such-model"],
        env={"HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path)},
    )
    assert result.exit_code == 2
    assert "HF_HUB_OFFLINE" in result.output and "Traceback" not in result.output


def test_fit_demo_and_a_user_table(tmp_path: Path) -> None:
    out = _ok("fit", "--demo", "--bootstrap", "20", "--out", str(tmp_path / "points.parquet"))
    assert "approximate" in out and "α = 0.9" in out
    assert len(pd.read_parquet(tmp_path / "points.parquet")) == 96
    table = pd.DataFrame(
        [
            {"family": f, "dataset": d, "m": m, "loss": 400 * m**-0.7 + b + 0.1 * (f == "q")}
            for f in ("p", "q")
            for d, b in (("x", 2.0), ("y", 1.0))
            for m in (128, 256, 512, 1024, 2048)
        ]
    )
    table.to_csv(tmp_path / "losses.csv", index=False)
    assert "α = 0.7000" in _ok("fit", str(tmp_path / "losses.csv"), "--bootstrap", "10")
    assert runner.invoke(app, ["llm", "fit"]).exit_code == 2


def test_chinchilla() -> None:
    out = _ok("chinchilla")
    assert "2.523" in out and "0.883" in out


def test_freq_on_a_corpus_and_on_wordfreq(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(" ".join(f"w{r}" for r in range(1, k + 1)) for k in range(1, 60)))
    assert "α = " in _ok("freq", str(corpus))
    pytest.importorskip("wordfreq")
    out = _ok("freq", "--wordfreq", "en", "--out", str(tmp_path / "freq.csv"))
    assert "wordfreq on wordfreq-en" in out
    assert pd.read_csv(tmp_path / "freq.csv")["rank"].iloc[0] == 1
    assert runner.invoke(app, ["llm", "freq"]).exit_code == 2


def test_eval_appends_to_a_loss_table(tmp_path: Path) -> None:
    pytest.importorskip("transformers")
    folder, _ = build_tiny("gpt2", tmp_path / "gpt2")
    write_word_tokenizer(folder)
    text = tmp_path / "wiki.txt"
    text.write_text(word_text(n_lines=6, words_per_line=10))
    losses = tmp_path / "losses.csv"
    args = [
        "eval",
        str(folder),
        "--text",
        str(text),
        "--dtype",
        "float32",
        "--min-words",
        "20",
        "--device",
        "cpu",
    ]
    _ok(*args, "--out", str(losses))
    _ok(*args, "--dataset", "other", "--out", str(losses))
    table = pd.read_csv(losses)
    assert sorted(table["dataset"]) == ["other", "wiki"] and (table["m"] == 32).all()
    assert table["loss"].between(3.5, 5.5).all()  # a random model: near ln(96) = 4.56
