"""The `superscale` command line: thin typer commands over the library, no science in here.

Each sub-module owns one group of commands and exposes `register(app)`; this file only assembles them,
so two people can add commands without touching the same lines.
"""

from __future__ import annotations

import typer

from superscale.cli import analysis, aspect, fit, llm, report, reproduce, sweep, variants

app = typer.Typer(
    name="superscale",
    help="Superposition and neural scaling laws: train toy-model grids, analyse, fit, report.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

for _module in (reproduce, sweep, analysis, report, llm, aspect, variants, fit):
    _module.register(app)


def main() -> None:
    """Console-script entry point."""
    app()
