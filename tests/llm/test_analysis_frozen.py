"""Frozen numbers of the LLM analysis on the shipped data (issue 13: each computation in one place).

The width fit, the parameter-vs-width slopes and the Zipf exponent moved from the report loader and the
figures into `superscale.llm.widthfit` / `superscale.analysis.fit`; these values were recorded from the
code before
the move (digitised losses, the shipped model table, Chinchilla Table A9) and must not change.
"""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from superscale.analysis.fit import fit_shared_log_slope
from superscale.cli import app
from superscale.llm.catalog import load_catalog
from superscale.llm.frequencies import fit_zipf
from superscale.llm.widthfit import (
    chinchilla_cross_check,
    chinchilla_slope,
    group_label,
    loss_minus_offset,
    open_families_slope,
)
from superscale.plots import FIGURES_BY_NAME, llm_scaling
from superscale.plots.captions import caption_of
from superscale.plots.data import FigureData, LLMData
from superscale.plots.load import load_llm_data
from superscale.report.verdicts import llm_verdicts

VERDICTS = [
    "Drawn from the paper's figures, not measured here: eval losses (Figs. 6b, 21), overlaps (Fig. 6a) "
    "digitised from the paper; model sizes (Fig. 23a) and Chinchilla shapes (Fig. 23b) are published tables "
    "shipped with superscale. Measure them with `superscale llm geometry|eval|freq --out DIR`.",
    "LLM width exponent (digitised from Liu et al. 2025, approximate): α_m = 0.946 ± 0.030 vs 0.91 ± 0.04 "
    "(Fig. 6b): agrees within the combined error (0.7σ) (a fit of points read off the paper's figure: "
    "checks the digitisation, measures nothing)",
    "open LLM families (4 families, 27 models): N ∝ m^2.318 ± 0.065 (one exponent, a coefficient per "
    "family) vs 2.51 (Fig. 23a): differs by 2.9σ (N here counts every parameter, embeddings included; the "
    "paper does not say which N it fits)",
    "Chinchilla: N ∝ m^2.523 ± 0.026 vs 2.52 ± 0.03 (Fig. 23b): agrees within the combined error (0.1σ); "
    "with α_N = 0.35 ± 0.02 (Besiroglu et al. 2024, as the paper quotes it): α_m = 0.88 ± 0.06 vs "
    "0.88 ± 0.06 (the paper's Chinchilla estimate): agrees within the combined error (0.0σ) "
    "(quadrature error ± 0.05)",
]

CAPTIONS = {
    "fig6b": "L − L\\m against m for 95 (model, dataset) points: 4 families × 4 datasets (16 groups), "
    "m = 512–9216 (digitised from Liu et al. 2025, approximate); line: the shared fit, α_m = 0.946 ± 0.030; "
    "boxed: the paper's 0.91 ± 0.04 (Fig. 6b). 1 point at or below its fitted offset not drawn (log axis).",
    "fig23a": "N against m for 27 models in 4 families (gpt2, opt, pythia, qwen2.5); shared log–log slope "
    "2.318 ± 0.065 with one coefficient per family; boxed: the paper's 2.51 (Fig. 23a).",
    "fig23b": "N against d_model for 50 Chinchilla models, d_model = 512–5120; OLS slope 2.523 ± 0.026; "
    "inset: that slope beside the paper's 2.52 ± 0.03 (Fig. 23b).",
}


@pytest.fixture(scope="module")
def paper_data(tmp_path_factory: pytest.TempPathFactory) -> FigureData:
    return FigureData(llm=load_llm_data(tmp_path_factory.mktemp("empty")))


def test_llm_verdicts_on_the_shipped_tables_are_frozen(paper_data: FigureData) -> None:
    assert llm_verdicts(paper_data) == VERDICTS


def test_report_width_fit_of_the_digitised_losses_is_frozen(paper_data: FigureData) -> None:
    assert paper_data.llm is not None and paper_data.llm.width_fit is not None
    fit = paper_data.llm.width_fit
    assert fit.exponent == pytest.approx(0.9458990816546106, rel=1e-9)
    assert fit.exponent_se == pytest.approx(0.03008784866791774, rel=1e-7)
    assert pytest.approx(585.7689758412665, rel=1e-7) == fit.C
    assert len(fit.offsets) == 16
    assert fit.offsets["Qwen/bookcorpus"] == pytest.approx(1.9597533486929122, rel=1e-8)
    assert fit.offsets["pythia/wikitext"] == pytest.approx(2.1706082864409932, rel=1e-8)


@pytest.mark.parametrize("name", sorted(CAPTIONS))
def test_llm_figure_captions_are_frozen(paper_data: FigureData, name: str) -> None:
    caption = caption_of(FIGURES_BY_NAME[name].func(paper_data))
    assert caption is not None and caption.drawn == CAPTIONS[name]


def test_chinchilla_command_output_is_frozen() -> None:
    out = CliRunner().invoke(app, ["llm", "chinchilla"], env={"COLUMNS": "200"})
    assert out.exit_code == 0, out.output
    assert "N ∝ d_model^2.523 ± 0.026 over 50 models (Table A9)" in out.output
    assert "α_m = 2.523 × 0.35 = 0.883 ± 0.059 (linear error sum, as the paper) or ± 0.051" in out.output
    epoch_args = ["llm", "chinchilla", "--alpha-n", "0.34781", "--alpha-n-se", "0.0154"]
    epoch = CliRunner().invoke(app, epoch_args, env={"COLUMNS": "200"})
    assert "α_m = 2.523 × 0.34781 = 0.877 ± 0.048 (linear error sum, as the paper) or ± 0.040" in epoch.output


@pytest.mark.parametrize(
    ("n_types", "alpha"),
    [
        (5, 1.192857840197751),
        (37, 1.0844653953337977),
        (999, 1.0714158525357074),
        (1000, 1.0713149840513565),
        (1500, 1.0663649027809559),
        (50000, 1.0660323256583497),
    ],
)
def test_zipf_exponent_of_fig22_is_frozen(n_types: int, alpha: float) -> None:
    """Fig. 22 fitted its own α (geomspace ranks) before it called `fit_zipf`: these are its values."""
    rng = np.random.default_rng(n_types)
    counts = np.floor(1e6 * np.arange(1, n_types + 1) ** -1.07 * (1 + 0.3 * rng.random(n_types))) + 1
    assert fit_zipf(counts, n_points=llm_scaling.TOKEN_FIT_POINTS).alpha == pytest.approx(alpha, rel=1e-12)
    table = pd.DataFrame(
        {"tokenizer": "t", "dataset": "d", "rank": np.arange(1, n_types + 1), "count": counts}
    )
    caption = caption_of(llm_scaling.fig22(FigureData(llm=LLMData(token_freq=table))))
    assert caption is not None and f"fitted α from {alpha:.2f} to {alpha:.2f}" in caption.drawn


def test_parameter_width_slopes_are_frozen_and_shared_by_report_and_figures() -> None:
    line = chinchilla_slope()
    assert (line.slope, line.slope_se, line.n_points) == (
        pytest.approx(2.5226, abs=5e-4),  # docs/recipe.md §5.7: 2.52 ± 0.03
        pytest.approx(0.0258, abs=5e-4),
        50,
    )
    shared = open_families_slope(load_catalog())
    assert shared.slope == pytest.approx(2.318, abs=5e-4) and shared.slope_se == pytest.approx(
        0.065, abs=5e-4
    )
    assert sorted(shared.coefficients) == ["gpt2", "opt", "pythia", "qwen2.5"]
    check = chinchilla_cross_check(0.35, 0.02)
    # α_m = s α_N; linear error s_se α_N + s α_N_se (the paper's ± 0.06), quadrature beside it
    assert check.alpha_m == pytest.approx(line.slope * 0.35)
    assert check.alpha_m_se_linear == pytest.approx(line.slope_se * 0.35 + line.slope * 0.02)
    assert check.alpha_m_se_quadrature == pytest.approx(math.hypot(line.slope_se * 0.35, line.slope * 0.02))


def test_shared_log_slope_recovers_a_planted_exponent_and_coefficients() -> None:
    x = np.array([1.0, 2, 4, 8, 1, 2, 4, 8])
    y = np.r_[3 * x[:4] ** 2.5, 7 * x[4:] ** 2.5] * (1 + 1e-9 * x)
    fit = fit_shared_log_slope(x, y, np.r_[[0] * 4, [1] * 4])
    assert fit.slope == pytest.approx(2.5) and fit.n_points == 8
    assert fit.coefficients["0"] == pytest.approx(3) and fit.coefficients["1"] == pytest.approx(7)
    with pytest.raises(ValueError, match="needs > 3 points"):
        fit_shared_log_slope(x[:3], y[:3], [0, 1, 1])
    with pytest.raises(ValueError, match="label every point"):
        fit_shared_log_slope(x, y, [0, 1])


def test_zipf_and_offsets_on_planted_data() -> None:
    counts = 1e7 / np.arange(1, 100_001) ** 1.1
    assert fit_zipf(counts, n_points=llm_scaling.TOKEN_FIT_POINTS).alpha == pytest.approx(1.1, abs=1e-6)
    table = loss_minus_offset(
        pd.DataFrame({"family": ["a", "b"], "dataset": ["x", "x"], "m": [10.0, 20.0], "loss": [3.0, 2.0]}),
        {group_label("a", "x"): 2.5},
    )
    assert table["loss_minus_offset"].tolist() == [pytest.approx(0.5)]  # b/x has no offset: dropped


def test_analysis_modules_load_neither_figures_nor_report() -> None:
    analysis = (
        "superscale.analysis.selection, superscale.analysis.fit, superscale.llm.widthfit, "
        "superscale.llm.frequencies"
    )
    code = (
        f"import sys, {analysis}; "
        "heavy = ('superscale.plots', 'superscale.report', 'matplotlib'); "
        "print(','.join(m for m in heavy if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    assert out.stdout.strip() == ""
