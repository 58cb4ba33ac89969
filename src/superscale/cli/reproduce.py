"""`superscale reproduce`: the quick paper reproduction (train → analyse → report) in one command."""

from __future__ import annotations

from pathlib import Path

import typer

from superscale.cli._common import (
    console,
    device_option,
    out_option,
    preset_option,
    quiet_option,
    user_errors,
)


def register(app: typer.Typer) -> None:
    """Add the `reproduce` command."""

    @app.command("reproduce")
    @user_errors
    def reproduce_command(
        preset: str = preset_option("paper-e2-alpha-quick"),
        out: Path = out_option(Path("runs/paper-e2-alpha-quick"), "Store directory (resumable)."),
        device: str = device_option(),
        quiet: bool = quiet_option(),
    ) -> None:
        """Train a quick paper preset, analyse it and write its HTML report; prints the report's path."""
        from superscale.cli.analysis import exponent_table
        from superscale.cli.sweep import progress_for
        from superscale.pipeline.reproduce import reproduce

        _, analysis, report = reproduce(preset, out, device=device, quiet=quiet, progress=progress_for(quiet))
        if not quiet:
            console.print(exponent_table(analysis.fits))
        console.print(f"report: {report}", markup=False, highlight=False, soft_wrap=True)
