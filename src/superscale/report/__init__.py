"""The HTML report: every figure a store supports, the fitted exponents beside the paper's, verdicts.

`write_report(DIR)` writes DIR/report/index.html (one self-contained page) and DIR/report/figures/
(PNG and PDF per figure). DIR may hold a toy-model store, LLM tables, an aspect study and a variant
comparison, side by side (see `superscale.report.extra_sections`). Other capabilities add sections with
`register_section`.
"""

from __future__ import annotations

from superscale.plots.load import (
    LazyRunArrays,
    NothingToReport,
    has_llm_tables,
    load_figure_data,
    load_llm_data,
)
from superscale.report import extra_sections  # noqa: F401 (registers the aspect and variants sections)
from superscale.report.build import (
    RESULT_FILES,
    SECTION_BUILDERS,
    RenderedFigure,
    ReportContext,
    ResultFiles,
    Section,
    build_report,
    register_section,
    render_page,
    write_report,
)
from superscale.report.tables import exponent_table

__all__ = [
    "RESULT_FILES",
    "SECTION_BUILDERS",
    "LazyRunArrays",
    "NothingToReport",
    "RenderedFigure",
    "ReportContext",
    "ResultFiles",
    "Section",
    "build_report",
    "exponent_table",
    "has_llm_tables",
    "load_figure_data",
    "load_llm_data",
    "register_section",
    "render_page",
    "write_report",
]
