"""The HTML report: every figure a store supports, the fitted exponents beside the paper's, verdicts.

`write_report(DIR)` writes DIR/report/index.html (one self-contained page) and DIR/report/figures/
(PNG and PDF per figure). Other capabilities add sections with `register_section`.
"""

from __future__ import annotations

from superscale.report.build import (
    SECTION_BUILDERS,
    RenderedFigure,
    ReportContext,
    Section,
    build_report,
    register_section,
    render_page,
    write_report,
)
from superscale.report.load import LazyRunArrays, fit_llm_widths, load_figure_data, load_llm_data
from superscale.report.tables import exponent_table

__all__ = [
    "SECTION_BUILDERS",
    "LazyRunArrays",
    "RenderedFigure",
    "ReportContext",
    "Section",
    "build_report",
    "exponent_table",
    "fit_llm_widths",
    "load_figure_data",
    "load_llm_data",
    "register_section",
    "render_page",
    "write_report",
]
