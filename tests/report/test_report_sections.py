"""`superscale report DIR` on the studies beyond the paper's grid: an aspect study and a variant comparison
(stores whose analysis added their tables), LLM tables written by the real `superscale llm` commands;
each gets its section, figures and verdict."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pandas as pd
import pytest
from matplotlib.figure import Figure
from typer.testing import CliRunner

from superscale.aspect.summary import verdict
from superscale.cli import app
from superscale.pipeline.analyze import analyze_store
from superscale.plots import FigureData
from superscale.report import NothingToReport, ReportContext, load_llm_data, write_report
from superscale.report.aspect import load_tables
from superscale.store import schema
from superscale.store.atomic import write_parquet_atomic
from superscale.store.schema import PHASE_DIAGRAM_FILE
from superscale.sweep import run_sweep
from superscale.variants.figures import variants_verdict
from tests.aspect.test_experiments import TINY as ASPECT_TINY
from tests.fixtures.tiny_llm import build_tiny
from tests.report.test_report import _decode_png, _not_blank, _parse
from tests.variants.test_compare import TINY as VARIANTS_TINY

runner = CliRunner()


def _sections(index: Path) -> list[str]:
    return re.findall(r'<section id="([^"]+)">', index.read_text(encoding="utf-8"))


def _images_ok(index: Path, expected: int) -> None:
    page = _parse(index)
    assert len(page.images) == expected
    for src in page.images:
        image = _decode_png(src)
        assert image.width > 100 and image.height > 100 and _not_blank(image)


@pytest.fixture(scope="module")
def aspect_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("aspect")
    run_sweep(ASPECT_TINY, out, quiet=True)
    analyze_store(out, n_bootstrap=10)
    return out


def test_aspect_store_reports_its_section_through_the_cli(aspect_dir: Path) -> None:
    result = runner.invoke(app, ["report", str(aspect_dir)])
    assert result.exit_code == 0, result.output
    index = aspect_dir / schema.REPORT_DIR / "index.html"
    assert "aspect" in _sections(index) and "variants" not in _sections(index)
    names = ("aspect_loss", "aspect_implied_sparsity", "aspect_layers", "aspect_universality")
    for name in (*names, "aspect_phase_transition"):
        assert (index.parent / "figures" / f"{name}.png").read_bytes().startswith(b"\x89PNG"), name
        assert (index.parent / "figures" / f"{name}.pdf").read_bytes().startswith(b"%PDF"), name
    text = index.read_text(encoding="utf-8")
    tables = load_tables(aspect_dir)
    lines = verdict(tables["runs"], tables["pairs"], tables["phase"])
    assert lines and all(f"<li>{html.escape(line)}</li>" in text for line in lines)
    assert "Compressed sensing, toy" in text


def test_variants_store_reports_exponents_verdict_and_figures(tmp_path: Path) -> None:
    run_sweep(VARIANTS_TINY, tmp_path, quiet=True)
    analyze_store(tmp_path, n_bootstrap=10)
    runs = pd.read_parquet(tmp_path / schema.VARIANTS_FILE)
    phase = pd.DataFrame(
        {
            "density": [1.0, 1.0, 0.1, 0.1],
            "importance": [0.1, 2.0, 0.1, 2.0],
            "phase": ["not_represented", "dedicated", "not_represented", "superposition"],
            "last_norm": [0.01, 1.0, 0.02, 1.0],
        }
    )
    write_parquet_atomic(phase, tmp_path / PHASE_DIAGRAM_FILE)
    index = write_report(tmp_path, pdf=False)
    assert "variants" in _sections(index) and "aspect" not in _sections(index)
    text = index.read_text(encoding="utf-8")
    assert f"<li>{html.escape(variants_verdict(runs))}</li>" in text
    assert "<th>α_m</th>" in text and "<td>cross_entropy</td>" in text and "<td>unit_norm</td>" in text
    for name in ("variants-1", "variants-2", "variants-3", "variants-phase-diagram"):
        assert (index.parent / "figures" / f"{name}.png").is_file(), name
    assert not list((index.parent / "figures").glob("*.pdf"))


def test_llm_tables_from_the_real_commands_get_the_llm_section(tmp_path: Path) -> None:
    pytest.importorskip("transformers")
    model, _ = build_tiny("gpt2", tmp_path / "gpt2")
    out = tmp_path / "results"
    geometry = out / f"{schema.LLM_GEOMETRY_FILE}.parquet"
    hist = out / f"{schema.LLM_HISTOGRAM_FILE}.parquet"
    freq = out / f"{schema.TOKEN_FREQ_FILE}.parquet"
    result = runner.invoke(
        app, ["llm", "geometry", str(model), "--out", str(geometry), "--hist-out", str(hist), "--bins", "10"]
    )
    assert result.exit_code == 0, result.output
    for name, words in (("wiki", 60), ("books", 40), ("wiki", 50)):  # the second "wiki" replaces the first
        corpus = tmp_path / f"{name}.txt"
        corpus.write_text("\n".join(" ".join(f"w{r}" for r in range(1, k + 1)) for k in range(1, words)))
        result = runner.invoke(app, ["llm", "freq", str(corpus), "--points", "20", "--out", str(freq)])
        assert result.exit_code == 0, result.output
    counts = pd.read_parquet(freq)
    assert sorted(set(counts["dataset"])) == ["books", "wiki"]
    assert counts[counts["dataset"] == "wiki"]["rank"].max() == 49  # 49 word types in the last "wiki"
    index = write_report(out, pdf=False)
    assert _sections(index) == ["llm"]
    text = index.read_text(encoding="utf-8")
    # Figs. 19, 20 and 22 draw only from the measured tables: drawn means their columns were understood
    for name in ("fig6a", "fig19", "fig20", "fig22"):
        assert f'id="{name}"' in text, name
    # no figure of the section gave up (a caption may still name points it dropped)
    assert 'class="missing"' not in text


def test_a_directory_with_nothing_to_report_names_what_it_looked_for(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not a result")
    with pytest.raises(NothingToReport) as caught:
        write_report(tmp_path)
    message = str(caught.value)
    for expected in (schema.SWEEP_FILE, "llm_geometry.parquet", "aspect_runs.parquet", "variants.parquet"):
        assert expected in message, expected
    assert not (tmp_path / schema.REPORT_DIR).exists()


def test_add_figure_refuses_a_registered_figure_name() -> None:
    ctx = ReportContext(data=FigureData(), title="t", pdf=False)
    with pytest.raises(ValueError, match="registered figure"):
        ctx.add_figure("fig1d", "x", "y", Figure())


def test_llm_tables_without_family_or_width_are_read_sensibly(tmp_path: Path) -> None:
    # a local checkpoint without `model_type` gets family "", which CSV reads back as NaN
    pd.DataFrame(
        {"model": ["mine", "gpt2"], "family": ["", "gpt2"], "m": [32, 768], "mean_cos2": [0.03, 1e-3]}
    ).to_csv(tmp_path / f"{schema.LLM_GEOMETRY_FILE}.csv", index=False)
    # `llm eval` leaves m empty when the config does not say the width
    pd.DataFrame(
        {
            "family": ["gpt2", "x"],
            "model": ["a", "b"],
            "m": [768, None],
            "dataset": ["w", "w"],
            "loss": [3.0, 4.0],
        }
    ).to_csv(tmp_path / f"{schema.LLM_LOSSES_FILE}.csv", index=False)
    llm = load_llm_data(tmp_path)
    assert llm.geometry is not None and list(llm.geometry["family"]) == ["other", "gpt2"]
    assert llm.losses is not None and llm.losses_source == "measured" and list(llm.losses["model"]) == ["a"]
