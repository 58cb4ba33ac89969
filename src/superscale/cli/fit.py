"""`superscale fit …`: scaling laws fitted to a user's table (the toy-model fits live under `analyze`)."""

from __future__ import annotations

from pathlib import Path

import typer

from superscale.cli._common import bootstrap_option, console, seed_option, user_errors

fit_app = typer.Typer(
    name="fit", help="Fit scaling laws to a table, with bootstrap errors.", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    """Add the `fit` sub-app to the main app."""
    app.add_typer(fit_app, name="fit")


@fit_app.command("law")
@user_errors
def law_cmd(
    table: Path = typer.Argument(..., help="A .csv or .parquet table with the law's columns and `loss`."),
    law: str = typer.Option(..., help="chinchilla: L = E + A/N^α + B/D^β | width: L = E + A/m^α."),
    exclude: list[str] | None = typer.Option(
        None, "--exclude", help="Drop rows matching COLUMN OP VALUE (ops < <= > >= = !=); repeatable."
    ),
    column: list[str] | None = typer.Option(
        None, "--column", help="Read a law's variable from another column: N=params, D=tokens, m=width."
    ),
    bootstrap: int = bootstrap_option(
        100, minimum=2, help="Bootstrap resamples of the points for the errors (>= 2: they are the errors)."
    ),
    seed: int = seed_option("Bootstrap seed."),
) -> None:
    """Huber fit of a parametric law (Hoffmann et al.'s protocol) with bootstrap standard errors."""
    from superscale.cli.llm import _print_frame
    from superscale.llm.lawfit import fit_law_table, parameter_frame
    from superscale.llm.tables import read_table

    renames = {}
    for item in column or []:
        name, sep, col = item.partition("=")
        if not sep or not name or not col:
            raise ValueError(f"--column {item!r} is not NAME=COLUMN (e.g. N=params)")
        renames[name.strip()] = col.strip()
    fit, n_excluded = fit_law_table(
        read_table(table), law, renames, exclude or [], n_bootstrap=bootstrap, seed=seed
    )
    console.print(
        f"{fit.law} law: {fit.n_points} points ({n_excluded} excluded), best of {fit.n_starts} starts, "
        f"{fit.n_bootstrap} bootstrap resamples; {fit.confidence:.0%} intervals",
        highlight=False,
    )
    _print_frame(parameter_frame(fit), f"{fit.law} law fit")
