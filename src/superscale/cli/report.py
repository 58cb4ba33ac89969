"""CLI command: `superscale report DIR [--open]` writes DIR/report/index.html."""

from __future__ import annotations

import webbrowser
from pathlib import Path

import typer

from superscale.cli._common import console, escape, quiet_option, user_errors


@user_errors
def report(
    folder: Path = typer.Argument(
        ...,
        metavar="DIR",
        help="Result directory: a store, LLM tables, aspect-study or variants tables (any mix).",
    ),
    open_browser: bool = typer.Option(False, "--open", help="Open the report in a web browser."),
    quiet: bool = quiet_option(),
) -> None:
    """Write one self-contained HTML page of every figure the store supports, fits and verdicts."""
    from superscale.report import write_report

    index = write_report(folder, quiet=quiet)
    figures = escape(str(index.parent / "figures"))
    console.print(f"report written to [bold]{escape(str(index))}[/] (figures in {figures})")
    if open_browser:
        webbrowser.open(index.resolve().as_uri())


def register(app: typer.Typer) -> None:
    """Add this module's commands to the main app."""
    app.command("report")(report)
