"""Report sections for the studies beyond the paper's toy grid: Katta's aspect-ratio argument and the model
variants (cross-entropy, unit-norm, importance-weighted).

Convention: a study's result files sit directly in the report's directory DIR, like the LLM tables,
beside a toy-model store or on their own (no file name clashes with the store's):

    DIR/aspect_runs.parquet, aspect_layers.parquet, aspect_pairs.parquet, phase_transition.parquet
        written by `superscale aspect run --out DIR` (or `aspect family --out DIR`, `aspect phase --out DIR`)
    DIR/variants.parquet, variants_fits.parquet, phase_diagram.parquet
        written by `superscale variants compare DIR` and `superscale variants phase DIR`

`superscale report DIR` then shows the "Aspect ratio" and "Model variants" sections. Importing this
module (`superscale.report` does) registers both.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from superscale import schema
from superscale.aspect.experiments import LAYERS_FILE, PAIRS_FILE, PHASE_FILE
from superscale.aspect.experiments import RUNS_FILE as ASPECT_RUNS_FILE
from superscale.report import html
from superscale.report.build import (
    RenderedFigure,
    ReportContext,
    ResultFiles,
    Section,
    register_section,
    rendered_html,
)
from superscale.variants.compare import (
    FITS_FILE,
    PHASE_DIAGRAM_FILE,
    VARIANT,
    exponent_table,
    fit_variant_exponents,
)
from superscale.variants.compare import RUNS_FILE as VARIANTS_RUNS_FILE

__all__ = ["aspect_files", "aspect_section", "variants_files", "variants_section"]

VARIANTS_INTRO = (
    "The paper measures α_m for the squared-error toy model only; its App. A.2 argues that a softmax "
    "read-out also gives L ∝ 1/m and its discussion that fixed representation norms (nGPT-like) favour "
    "superposition. These runs train the models on the same frequencies p_i ∝ i^-α, seeds and recipe and "
    "fit ln L = c − α_m ln m for each. Losses are each model's own (summed squared error or nats per "
    "sample): exponents compare across models, absolute values do not."
)


def aspect_files(folder: Path) -> list[str]:
    """The aspect study's tables present in `folder` (file names)."""
    names = (ASPECT_RUNS_FILE, LAYERS_FILE, PAIRS_FILE, PHASE_FILE)
    return [name for name in names if (folder / name).is_file()]


def variants_files(folder: Path) -> list[str]:
    """The variant comparison's tables present in `folder` (file names)."""
    names = (VARIANTS_RUNS_FILE, FITS_FILE, PHASE_DIAGRAM_FILE)
    return [name for name in names if (folder / name).is_file()]


def _aspect_present(folder: Path) -> bool:
    return bool({ASPECT_RUNS_FILE, PHASE_FILE} & set(aspect_files(folder)))  # what report_section draws


def _variants_present(folder: Path) -> bool:
    return bool({VARIANTS_RUNS_FILE, PHASE_DIAGRAM_FILE} & set(variants_files(folder)))


def _caption(fig: Figure) -> str:
    """A figure's own title (suptitle, else its first axes' title) as its caption."""
    title = fig.get_suptitle() or (fig.axes[0].get_title() if fig.axes else "")
    return title.replace("\n", " ").strip()


def aspect_section(ctx: ReportContext) -> Section | None:
    """Katta's aspect-ratio study: its introduction, the verdict from `aspect.summary` and its figures."""
    if ctx.folder is None or not _aspect_present(ctx.folder):
        return None
    from superscale.aspect.report import report_section

    title, fragment, figures = report_section(ctx.folder)
    if fragment is None:
        return None
    drawn = [
        ctx.add_figure(stem, f"Fig. A{index}", caption, fig)
        for index, (stem, caption, fig) in enumerate(figures, start=1)
    ]
    return Section("aspect", title, [], fragment + rendered_html(drawn))


def _exponents_html(fits: pd.DataFrame) -> str:
    """α_m ± se of each model's loss, three significant digits."""
    table = exponent_table(fits)
    if table.empty:
        return ""

    def sig(value: float) -> str:
        return "n/a" if value is None or math.isnan(value) else f"{value:.3g}"

    shown = pd.DataFrame(
        {
            "model": table[VARIANT],
            "γ": [sig(g) if not math.isnan(g) else "—" for g in table[schema.GAMMA].astype(float)],
            "α_m": [sig(v) for v in table[schema.EXPONENT].astype(float)],
            "± se": [sig(v) for v in table[schema.EXPONENT_SE].astype(float)],
            "R²": [f"{v:.3f}" for v in table[schema.R2].astype(float)],
            "widths": table[schema.N_POINTS],
        }
    )
    return html.table_html(shown)


def variants_section(ctx: ReportContext) -> Section | None:
    """The variant comparison: α_m of each model, the verdict from `variants_verdict`, its figures, and
    the importance-weighted phase diagram when `superscale variants phase` wrote one."""
    if ctx.folder is None or not _variants_present(ctx.folder):
        return None
    from superscale.variants.figures import phase_diagram_figure, variants_figures, variants_verdict

    verdicts: list[str] = []
    body = ""
    drawn: list[RenderedFigure] = []
    runs_path = ctx.folder / VARIANTS_RUNS_FILE
    if runs_path.is_file():
        runs = pd.read_parquet(runs_path)
        body += f"<p>{html.esc(VARIANTS_INTRO)}</p>"
        try:
            verdicts.append(variants_verdict(runs))
        except ValueError as bad:  # an empty or foreign table: say so instead of failing the whole report
            verdicts.append(f"{VARIANTS_RUNS_FILE}: {bad}")
        else:
            fits_path = ctx.folder / FITS_FILE
            fits = pd.read_parquet(fits_path) if fits_path.is_file() else fit_variant_exponents(runs)
            body += _exponents_html(fits)
            for index, fig in enumerate(variants_figures(runs), start=1):
                # file stems as `superscale variants compare` saves them beside its tables
                drawn.append(ctx.add_figure(f"variants-{index}", f"Fig. V{index}", _caption(fig), fig))
    phase_path = ctx.folder / PHASE_DIAGRAM_FILE
    if phase_path.is_file():
        fig = phase_diagram_figure(pd.read_parquet(phase_path))
        caption = _caption(fig) + f" over density × importance ({PHASE_DIAGRAM_FILE})"
        drawn.append(ctx.add_figure("variants-phase-diagram", "Fig. V-phase", caption, fig))
    return Section("variants", "Model variants: cross-entropy, unit norm, importance", verdicts,
                   body + rendered_html(drawn))  # fmt: skip


register_section(
    aspect_section,
    results=ResultFiles(
        f"no aspect study ({ASPECT_RUNS_FILE} or {PHASE_FILE}, from `superscale aspect run`)",
        _aspect_present,
    ),
)
register_section(
    variants_section,
    results=ResultFiles(
        f"no variant comparison ({VARIANTS_RUNS_FILE} or {PHASE_DIAGRAM_FILE}, from `superscale variants`)",
        _variants_present,
    ),
)
