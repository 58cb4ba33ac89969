"""Assemble the report: a list of section builders, each turning the loaded data into one section.

A capability adds a section ("aspect ratio", "model variants") by writing one builder and calling
`register_section`; the page, the navigation and the figure files follow. A builder that draws its own
matplotlib figures passes them through `ReportContext.add_figure` (PNG embedded, PNG + PDF written). A
section whose results can stand alone registers `ResultFiles` too, so `superscale report DIR` accepts a
directory holding only those results (no toy-model store, no LLM tables).
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from matplotlib.figure import Figure

from superscale._version import __version__
from superscale.plots import (
    ALPHA_SCAN,
    DENSITY,
    FIGURES,
    FIGURES_BY_NAME,
    LARGE,
    LLM,
    FigureData,
    MissingData,
)
from superscale.plots.style import figure_bytes
from superscale.progress import Bar, progress_bar
from superscale.report import html
from superscale.report.comparison import VERDICT_RULES, fit_warnings
from superscale.report.recipe import recipe_verdicts
from superscale.report.tables import exponent_table
from superscale.report.verdicts import (
    LLM_NOT_MEASURED,
    alpha_scan_verdicts,
    density_verdicts,
    large_model_verdicts,
    llm_provenance,
    llm_verdicts,
    run_summary,
)
from superscale.store import schema

log = logging.getLogger(__name__)

PNG_DPI = 120
FIGURES_DIR = "figures"
INDEX_FILE = "index.html"


@dataclass
class RenderedFigure:
    """A drawn figure: its PNG (embedded and written) and PDF (written) bytes."""

    name: str
    label: str
    caption: str
    png: bytes
    pdf: bytes


@dataclass
class ReportContext:
    """What section builders read: the data, the raw config text, the result directory (None for a report
    built from data in memory), and a cache of rendered figures."""

    data: FigureData
    title: str
    config_text: str = ""
    manifest: dict = field(default_factory=dict)
    pdf: bool = True  # also render each figure as PDF (for papers and slides)
    rendered: dict[str, RenderedFigure | MissingData] = field(default_factory=dict)
    folder: Path | None = None
    progress: Bar | None = None  # advanced once per registered figure drawn (or found missing)

    def figure(self, name: str) -> RenderedFigure | MissingData:
        """Draw (once) and render a registered figure, or the MissingData it gave."""
        if name not in self.rendered:
            spec = FIGURES_BY_NAME[name]
            try:
                fig = spec.draw(self.data)
            except MissingData as missing:
                self.rendered[name] = missing
            else:
                # the caption the figure computed from what it drew, then the paper's description
                self.rendered[name] = self._render(fig, spec.name, spec.label, spec.caption_for(fig).text())
            if self.progress is not None:
                self.progress.advance(description=f"report: {spec.label}")
        return self.rendered[name]

    def add_figure(self, name: str, label: str, caption: str, fig: Figure) -> RenderedFigure:
        """Render a figure a section drew itself; it is embedded and written like the registered ones.

        `name` is the file stem under figures/ and must not clash with another figure of the page.
        """
        if name in FIGURES_BY_NAME:
            raise ValueError(f"name must not be a registered figure's, got {name!r}")
        # a figure without a layout engine may put titles or legends past its edges: crop to what is drawn
        rendered = self._render(fig, name, label, caption, tight=fig.get_layout_engine() is None)
        self.rendered[name] = rendered
        return rendered

    def _render(
        self, fig: Figure, name: str, label: str, caption: str, tight: bool = False
    ) -> RenderedFigure:
        if tight:
            png, pdf = (_tight_bytes(fig, "png"), _tight_bytes(fig, "pdf") if self.pdf else b"")
            return RenderedFigure(name, label, caption, png, pdf)
        png = figure_bytes(fig, "png", PNG_DPI)
        fig.set_layout_engine("none")  # keep the layout the PNG computed: the PDF costs half as much
        pdf = figure_bytes(fig, "pdf") if self.pdf else b""
        return RenderedFigure(name, label, caption, png, pdf)


def _tight_bytes(fig: Figure, fmt_name: str) -> bytes:
    """The figure cropped to its drawn content (as `superscale variants` saves its own figures)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format=fmt_name, dpi=PNG_DPI, bbox_inches="tight")
    return buffer.getvalue()


@dataclass(frozen=True)
class ResultFiles:
    """How a section recognises its results in a directory that may hold nothing else."""

    what: str  # for the "nothing to report" message, e.g. "no aspect study (aspect_runs.parquet)"
    present: Callable[[Path], bool]


RESULT_FILES: dict[str, ResultFiles] = {}  # section builder name → its stand-alone results


@dataclass
class Section:
    """One block of the page."""

    anchor: str
    title: str
    verdicts: list[str] = field(default_factory=list)
    body: str = ""
    warnings: list[str] = field(default_factory=list)  # shown above the verdicts, in orange


SectionBuilder = Callable[[ReportContext], Section | None]


def rendered_html(figures: list[RenderedFigure]) -> str:
    """Drawn figures side by side, each with its caption and file links."""
    items = "".join(html.figure_html(f.label, f.caption, f.png, f.name, bool(f.pdf)) for f in figures)
    return f'<div class="figures">{items}</div>'


def figures_block(ctx: ReportContext, section: str) -> tuple[str, int]:
    """Every registered figure of `section`: drawn ones embedded, missing ones listed with their reason."""
    drawn: list[RenderedFigure] = []
    missing: list[str] = []
    for spec in FIGURES:
        if spec.section != section:
            continue
        result = ctx.figure(spec.name)
        if isinstance(result, RenderedFigure):
            drawn.append(result)
        else:
            missing.append(html.missing_html(spec.label, str(result)))
    body = rendered_html(drawn)
    if missing:
        summary = f"<summary>{len(missing)} figure(s) this store cannot draw</summary>"
        body += f"<details>{summary}<ul>{''.join(missing)}</ul></details>"
    return body, len(drawn)


def _has_store(ctx: ReportContext) -> bool:
    """A toy-model store (or its data in memory) stands behind the report; not so for a directory
    holding only LLM tables or other studies' results."""
    return not ctx.data.runs.empty or bool(ctx.config_text) or ctx.folder is None


def overview_section(ctx: ReportContext) -> Section | None:
    """Config and run summary."""
    if not _has_store(ctx):
        return None
    planned = ctx.manifest.get("n_runs") if isinstance(ctx.manifest.get("n_runs"), int) else None
    body = html.pairs_html(run_summary(ctx.data, planned))
    if ctx.config_text:
        summary = f"<summary>Configuration ({schema.SWEEP_FILE})</summary>"
        body += f"<details>{summary}<pre>{html.esc(ctx.config_text)}</pre></details>"
    return Section("overview", "Overview", [], body)


def recipe_section(ctx: ReportContext) -> Section | None:
    """How the store's training recipe differs from the paper's, quantity by quantity (from the runs)."""
    if not _has_store(ctx) or ctx.data.runs.empty:
        return None
    verdicts, table = recipe_verdicts(ctx.data.runs, ctx.data.config)
    body = html.table_html(table) if not table.empty else ""
    return Section("recipe", "Recipe: this store against the paper", verdicts, body)


def exponents_section(ctx: ReportContext) -> Section | None:
    """All α_m fits beside theory and paper, each comparison with its computed verdict."""
    if not _has_store(ctx):
        return None
    table = exponent_table(ctx.data)
    if table.empty:
        return Section(
            "exponents", "Fitted exponents", ["no α_m fits in this store (run `superscale analyze`)"], ""
        )
    body = f"<p>{html.esc(VERDICT_RULES)}</p>" + html.table_html(table)
    if len(table) > 40:
        body = f"<details><summary>{len(table)} fits (click to show)</summary>{body}</details>"
    return Section("exponents", "Fitted exponents", [], body, fit_warnings(ctx.data))


def _figure_section(
    anchor: str, title: str, section: str, verdicts: Callable[[FigureData], list[str]]
) -> SectionBuilder:
    def build(ctx: ReportContext) -> Section | None:
        body, n_drawn = figures_block(ctx, section)
        lines = verdicts(ctx.data)
        if n_drawn == 0 and not lines:
            # an LLM-only directory has no toy sections, a toy store no LLM one; otherwise say what is missing
            return None if section == LLM or ctx.data.runs.empty else Section(anchor, title, [], body)
        return Section(anchor, title, lines, body)

    build.__name__ = f"{anchor}_section"
    return build


def llm_section(ctx: ReportContext) -> Section | None:
    """LLM figures and verdicts; the title says when nothing of it was measured here."""
    title = "Large language models"
    if ctx.data.llm is not None and not llm_provenance(ctx.data.llm)[0]:
        title += f" ({LLM_NOT_MEASURED})"
    return _figure_section("llm", title, LLM, llm_verdicts)(ctx)


SECTION_BUILDERS: list[SectionBuilder] = [
    overview_section,
    recipe_section,
    exponents_section,
    _figure_section("large", "Weak vs strong superposition: frequency families", LARGE, large_model_verdicts),
    _figure_section("alpha-scan", "Data exponent × weight decay", ALPHA_SCAN, alpha_scan_verdicts),
    _figure_section("density", "Activation density", DENSITY, density_verdicts),
    llm_section,
]


def register_section(
    builder: SectionBuilder, before: str | None = None, results: ResultFiles | None = None
) -> None:
    """Add a section builder (at the end, or before the builder named `before`, e.g. 'llm_section').

    A builder with a registered builder's name replaces it (in its place, or before `before` if given).
    `results`: how to recognise the section's own result files, for a section that can be the whole report.
    """
    names = [b.__name__ for b in SECTION_BUILDERS]
    if before is not None and before not in names:
        raise ValueError(f"before must name a registered section builder ({names}), got {before!r}")
    if results is not None:
        RESULT_FILES[builder.__name__] = results
    if builder.__name__ in names:
        index = names.index(builder.__name__)
        if before is None or before == builder.__name__:
            SECTION_BUILDERS[index] = builder
            return
        del SECTION_BUILDERS[index]
        names.pop(index)
    if before is None:
        SECTION_BUILDERS.append(builder)
    else:
        SECTION_BUILDERS.insert(names.index(before), builder)


def render_page(ctx: ReportContext, quiet: bool = True) -> str:
    """Run every section builder and lay the page out (a bar over the registered figures unless `quiet`)."""

    sections = []
    with progress_bar("report: figures", total=len(FIGURES), quiet=quiet) as bar:
        ctx.progress = bar
        for builder in SECTION_BUILDERS:
            section = builder(ctx)
            if section is None:
                continue
            sections.append(
                (
                    section.anchor,
                    section.title,
                    html.section_html(
                        section.anchor, section.title, section.verdicts, section.body, section.warnings
                    ),
                )
            )
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return html.page_html(ctx.title, f"superscale {__version__} · generated {stamp}", sections)


def build_report(ctx: ReportContext, out_dir: Path, quiet: bool = True) -> Path:
    """Write out_dir/index.html and out_dir/figures/<name>.png|.pdf; returns the index path."""
    from superscale.store.atomic import write_bytes_atomic

    page = render_page(ctx, quiet=quiet)
    for item in ctx.rendered.values():
        if isinstance(item, RenderedFigure):
            write_bytes_atomic(item.png, out_dir / FIGURES_DIR / f"{item.name}.png")
            if item.pdf:
                write_bytes_atomic(item.pdf, out_dir / FIGURES_DIR / f"{item.name}.pdf")
    index = out_dir / INDEX_FILE
    write_bytes_atomic(page.encode("utf-8"), index)
    drawn = sum(isinstance(r, RenderedFigure) for r in ctx.rendered.values())
    log.info("report: %d figures drawn, %d missing, written to %s", drawn, len(ctx.rendered) - drawn, index)
    return index


def write_report(folder: str | Path, pdf: bool = True, quiet: bool = False) -> Path:
    """`superscale report DIR`: load DIR, write DIR/report/index.html with its figure files.

    DIR is a toy-model store, a directory of LLM tables, a directory of results registered with
    `ResultFiles` (aspect study, model variants), or any mix of these side by side. A progress bar over
    the report's sections shows in a terminal or notebook unless `quiet`.
    """
    from superscale.plots.load import NothingToReport, load_figure_data

    folder = Path(folder)
    try:
        data = load_figure_data(folder)
    except NothingToReport as nothing:
        if not any(files.present(folder) for files in RESULT_FILES.values()):
            found = [str(nothing), *(files.what for files in RESULT_FILES.values())]
            raise NothingToReport(", ".join(found)) from None
        data = FigureData()
    config_file = folder / schema.SWEEP_FILE
    manifest_file = folder / schema.MANIFEST_FILE
    name = str(data.config.get("name", "")) if data.config else ""
    ctx = ReportContext(
        data=data,
        title=f"superscale report: {name or folder.resolve().name}",
        config_text=config_file.read_text() if config_file.is_file() else "",
        manifest=_manifest(manifest_file),
        pdf=pdf,
        folder=folder,
    )
    return build_report(ctx, folder / schema.REPORT_DIR, quiet=quiet)


def _manifest(file: Path) -> dict:
    """The store's manifest, {} when absent or damaged (the report then counts the runs it finds)."""
    try:
        manifest = json.loads(file.read_text()) if file.is_file() else {}
    except (OSError, ValueError):
        return {}
    return manifest if isinstance(manifest, dict) else {}
