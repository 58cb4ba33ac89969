"""Report sections for the studies beyond the paper's toy grid: Katta's aspect-ratio argument and the model
variants (cross-entropy, unit-norm, importance-weighted).

Both studies are ordinary sweeps: their tables are the store's own, added by `superscale analyze` when
the runs call for them (superscale.aspect.study, superscale.variants.compare) and read here through
`Store.table` with the names in superscale.store.schema:

    aspect_runs, aspect_layers, aspect_pairs, phase_transition   deep toy models (`superscale aspect run`)
    variants, variants_fits      several architectures (`superscale variants compare`, preset variants-*)

The importance-weighted phase diagram (`superscale variants phase DIR`) is no sweep: its
phase_diagram.parquet sits directly in DIR.

`superscale report DIR` then shows the "Aspect ratio" and "Model variants" sections. Importing this
module (`superscale.report` does) registers both.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from superscale.report import html
from superscale.report.build import (
    RenderedFigure,
    ReportContext,
    ResultFiles,
    Section,
    register_section,
    rendered_html,
)
from superscale.store import Store, open_store, schema
from superscale.store.schema import (
    ASPECT_LAYERS_FILE,
    ASPECT_PAIRS_FILE,
    ASPECT_RUNS_FILE,
    PHASE_DIAGRAM_FILE,
    PHASE_TRANSITION_FILE,
)
from superscale.store.schema import VARIANTS_FILE as VARIANTS_RUNS_FILE
from superscale.store.schema import VARIANTS_FITS_FILE as FITS_FILE
from superscale.variants.compare import VARIANT, exponent_table, fit_variant_exponents

__all__ = ["aspect_files", "aspect_section", "variants_files", "variants_section"]

VARIANTS_INTRO = (
    "The paper measures α_m for the squared-error toy model only; its App. A.2 argues that a softmax "
    "read-out also gives L ∝ 1/m and its discussion that fixed representation norms (nGPT-like) favour "
    "superposition. These runs train the models on the same frequencies p_i ∝ i^-α, seeds and recipe and "
    "fit ln L = c − α_m ln m for each. Losses are each model's own (summed squared error or nats per "
    "sample): exponents compare across models, absolute values do not."
)


def _store(folder: Path) -> Store | None:
    try:
        return open_store(folder)
    except FileNotFoundError:
        return None


def _store_tables(folder: Path, names: tuple[str, ...]) -> list[str]:
    store = _store(folder)
    return [] if store is None else [name for name in names if store.table(name) is not None]


def aspect_files(folder: Path) -> list[str]:
    """The aspect study's tables the store in `folder` holds (file names)."""
    return _store_tables(
        folder, (ASPECT_RUNS_FILE, ASPECT_LAYERS_FILE, ASPECT_PAIRS_FILE, PHASE_TRANSITION_FILE)
    )


def variants_files(folder: Path) -> list[str]:
    """The variant comparison's tables the store in `folder` holds, and a phase diagram beside it."""
    found = _store_tables(folder, (VARIANTS_RUNS_FILE, FITS_FILE))
    return [*found, PHASE_DIAGRAM_FILE] if (folder / PHASE_DIAGRAM_FILE).is_file() else found


def _aspect_present(folder: Path) -> bool:
    return bool(
        {ASPECT_RUNS_FILE, PHASE_TRANSITION_FILE} & set(aspect_files(folder))
    )  # what report_section draws


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
    from superscale.report.aspect import report_section

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
    store = _store(ctx.folder)
    runs = None if store is None else store.table(VARIANTS_RUNS_FILE)
    if runs is not None and store is not None:
        body += f"<p>{html.esc(VARIANTS_INTRO)}</p>"
        try:
            verdicts.append(variants_verdict(runs))
        except ValueError as bad:  # an empty or foreign table: say so instead of failing the whole report
            verdicts.append(f"{VARIANTS_RUNS_FILE}: {bad}")
        else:
            stored_fits = store.table(FITS_FILE)
            fits = fit_variant_exponents(runs) if stored_fits is None else stored_fits
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
        f"no aspect study ({ASPECT_RUNS_FILE} or {PHASE_TRANSITION_FILE} in a store, from `superscale "
        "aspect run` or `superscale analyze` of deep toy models)",
        _aspect_present,
    ),
)
register_section(
    variants_section,
    results=ResultFiles(
        f"no variant comparison ({VARIANTS_RUNS_FILE} in a store or {PHASE_DIAGRAM_FILE}, from "
        "`superscale variants`)",
        _variants_present,
    ),
)
