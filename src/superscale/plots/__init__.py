"""One function per figure of the paper (docs/recipe.md §4): loaded data in, matplotlib Figure out.

Every function takes a `FigureData` and returns a Figure (drawn into the caller's axes with `ax=`,
`plots.compose`), or raises `MissingData` saying which runs it lacks. `FIGURES` lists them all, in paper
order, with the report section each belongs to; the report iterates it, so a new figure is one entry here.

Captions: each function attaches a caption computed from the data it drew (`captions.set_caption`); the
first paragraph of its docstring is a static fallback that states nothing the data could contradict, and its
"In the paper: …" paragraph is the paper's description. `FigureSpec.caption_for(fig)` returns both as a
`Caption` (`.drawn`, `.paper`, `.text()`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from matplotlib.figure import Figure

from superscale.plots.captions import Caption, caption_of, set_caption
from superscale.plots.compose import FigureFunction, accepts_ax
from superscale.plots.data import FigureData, LLMData, MissingData, WidthFit
from superscale.plots.density import fig14a, fig14b, fig15
from superscale.plots.exponent_grids import fig9a, fig9b, fig10
from superscale.plots.exponents import fig4b, fig5e, fig18
from superscale.plots.fractions import fig3b, fig8a, fig8c, fig13, fig16
from superscale.plots.llm import fig6a, fig19, fig20
from superscale.plots.llm_scaling import fig6b, fig21, fig22, fig23a, fig23b
from superscale.plots.loss import fig1b, fig1d, fig4a, fig8b
from superscale.plots.norms import fig3a, fig5a, fig5b, fig7
from superscale.plots.overlaps import fig5c, fig5d, fig8d, fig17
from superscale.plots.style import figure_bytes
from superscale.plots.training import loss_curves

# report sections (the keys the report's section builders ask for)
LARGE = "large"  # E1: frequency families × {strong, weak} (Figs. 1, 7, 8, 9a)
ALPHA_SCAN = "alpha_scan"  # E2/E4: α × γ × m (Figs. 3, 4, 5, 9b, 10, 13, 16, 17, 18)
DENSITY = "density"  # E3: activation density (Figs. 14, 15)
LLM = "llm"  # Figs. 6, 19–23

#: the quick preset whose store draws a section's figures, named in every "cannot draw" message (the LLM
#: figures' own messages name the `superscale llm` commands)
SECTION_PRESETS = {
    LARGE: "paper-e1-large-quick",
    ALPHA_SCAN: "paper-e2-alpha-quick",
    DENSITY: "paper-e3-density-quick",
}


@dataclass(frozen=True)
class FigureSpec:
    """A registered figure: its file stem, paper label, report section and drawing function."""

    name: str  # "fig1d": file stem in report/figures/
    label: str  # "Fig. 1d"
    section: str
    caption: str  # static fallback: the first paragraph of the function's docstring (data-free)
    func: FigureFunction  # draws from FigureData, on a new Figure or into `ax=`
    paper_note: str = ""  # the docstring's "In the paper: …" paragraph, without that prefix

    def draw(self, data: FigureData, ax: Any = None) -> Figure:
        """The figure (into `ax` when given); MissingData says what is missing and what would draw it."""
        try:
            return self.func(data, ax=ax)
        except MissingData as missing:
            preset = SECTION_PRESETS.get(self.section)
            if preset is None:
                raise
            raise MissingData(
                f"{str(missing).rstrip('.')}; the preset {preset} draws it "
                f"(`superscale run {preset} --out DIR`, then `superscale analyze DIR`)."
            ) from None

    def caption_for(self, fig: Figure) -> Caption:
        """The caption of a figure this spec drew: the one computed from its data (the static one for a
        figure that attached none) with the paper note."""
        attached = caption_of(fig)
        return Caption(attached.drawn if attached is not None else self.caption, self.paper_note)


PAPER_NOTE_PREFIX = "In the paper:"


def _paper_note(doc: str) -> str:
    """The paragraph of `doc` starting with 'In the paper:', joined into one line, prefix removed."""
    for paragraph in doc.split("\n\n"):
        text = " ".join(line.strip() for line in paragraph.strip().splitlines())
        if text.startswith(PAPER_NOTE_PREFIX):
            return text.removeprefix(PAPER_NOTE_PREFIX).strip()
    return ""


def _spec(func: FigureFunction, section: str, label: str | None = None) -> FigureSpec:
    name = func.__name__
    label = label or "Fig. " + name.removeprefix("fig")
    full = (func.__doc__ or "").strip()
    doc = " ".join(line.strip() for line in full.split("\n\n")[0].splitlines())
    caption = doc.split(":", 1)[1].strip() if doc.startswith(label + ":") else doc
    return FigureSpec(
        name=name, label=label, section=section, caption=caption, func=func, paper_note=_paper_note(full)
    )


FIGURES: list[FigureSpec] = [
    _spec(fig1b, LARGE),
    _spec(fig1d, LARGE),
    _spec(fig7, LARGE),
    _spec(fig8a, LARGE),
    _spec(fig8b, LARGE),
    _spec(fig8c, LARGE),
    _spec(fig8d, LARGE),
    _spec(fig9a, LARGE),
    _spec(fig3a, ALPHA_SCAN),
    _spec(fig3b, ALPHA_SCAN),
    _spec(fig13, ALPHA_SCAN),
    _spec(fig4a, ALPHA_SCAN),
    _spec(fig4b, ALPHA_SCAN),
    _spec(fig5a, ALPHA_SCAN),
    _spec(fig5b, ALPHA_SCAN),
    _spec(fig5c, ALPHA_SCAN),
    _spec(fig5d, ALPHA_SCAN),
    _spec(fig5e, ALPHA_SCAN),
    _spec(fig9b, ALPHA_SCAN),
    _spec(fig10, ALPHA_SCAN),
    _spec(fig16, ALPHA_SCAN),
    _spec(fig17, ALPHA_SCAN),
    _spec(fig18, ALPHA_SCAN),
    _spec(loss_curves, ALPHA_SCAN, label="Loss curves"),
    _spec(fig14a, DENSITY),
    _spec(fig14b, DENSITY),
    _spec(fig15, DENSITY),
    _spec(fig6a, LLM),
    _spec(fig6b, LLM),
    _spec(fig19, LLM),
    _spec(fig20, LLM),
    _spec(fig21, LLM),
    _spec(fig22, LLM),
    _spec(fig23a, LLM),
    _spec(fig23b, LLM),
]
FIGURES_BY_NAME: dict[str, FigureSpec] = {spec.name: spec for spec in FIGURES}


def draw(name: str, data: FigureData, ax: Any = None) -> Figure | MissingData:
    """Draw one registered figure (into `ax` when given); a MissingData result instead of an exception."""
    if name not in FIGURES_BY_NAME:
        raise ValueError(f"name must be one of {sorted(FIGURES_BY_NAME)}, got {name!r}")
    try:
        return FIGURES_BY_NAME[name].draw(data, ax=ax)
    except MissingData as missing:
        return missing


__all__ = [
    "ALPHA_SCAN",
    "DENSITY",
    "FIGURES",
    "FIGURES_BY_NAME",
    "LARGE",
    "LLM",
    "SECTION_PRESETS",
    "Caption",
    "FigureData",
    "FigureFunction",
    "FigureSpec",
    "LLMData",
    "MissingData",
    "WidthFit",
    "accepts_ax",
    "caption_of",
    "draw",
    "fig1b",
    "fig1d",
    "fig3a",
    "fig3b",
    "fig4a",
    "fig4b",
    "fig5a",
    "fig5b",
    "fig5c",
    "fig5d",
    "fig5e",
    "fig6a",
    "fig6b",
    "fig7",
    "fig8a",
    "fig8b",
    "fig8c",
    "fig8d",
    "fig9a",
    "fig9b",
    "fig10",
    "fig13",
    "fig14a",
    "fig14b",
    "fig15",
    "fig16",
    "fig17",
    "fig18",
    "fig19",
    "fig20",
    "fig21",
    "fig22",
    "fig23a",
    "fig23b",
    "figure_bytes",
    "loss_curves",
    "set_caption",
]
