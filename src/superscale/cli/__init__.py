"""The `superscale` command line: thin typer commands over the library, no science in here.

Each sub-module owns one group of commands and exposes `register(app)`; this file only assembles them,
so two people can add commands without touching the same lines. The modules import nothing of the
library at the top: each command loads what it needs when it runs, so `--help` and `--version` are instant.
Help is plain text (click's), so it reads the same in a terminal, a pipe or a log.
"""

from __future__ import annotations

import typer

from superscale._version import __version__
from superscale.cli import analysis, aspect, fit, llm, report, reproduce, sweep, variants, weights

app = typer.Typer(
    name="superscale",
    help="Superposition and neural scaling laws: train toy-model grids, analyse, fit, report.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
    epilog="Every command and flag: docs/cli.md; the recipe it implements: docs/recipe.md.",
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"superscale {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", "-V", help="Print the version and exit.", callback=_print_version, is_eager=True
    ),
) -> None:
    """Superposition and neural scaling laws: train toy-model grids, analyse, fit, report."""


for _module in (reproduce, sweep, analysis, report, llm, aspect, variants, fit, weights):
    _module.register(app)


def main() -> None:
    """Console-script entry point."""
    app()
