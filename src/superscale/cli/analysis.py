"""CLI: `superscale analyze DIR` — metrics and scaling fits for a store, and a table of exponents."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from superscale.cli._common import (
    bootstrap_option,
    console,
    count_option,
    device_option,
    err_console,
    quiet_option,
    user_errors,
)
from superscale.cli.tables import TableFormat, emit, format_option, resolve
from superscale.store import schema

if TYPE_CHECKING:
    import pandas as pd


def _fmt(value: float, digits: int = 2) -> str:
    return "—" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.{digits}f}"


def exponent_table(fits: pd.DataFrame) -> Table:
    """One row per fit group: the varying group columns; α_m ± SE, R², window and n of the recipe loglog
    fit (the sweep's fit window); α_m over every width; α ± SE and L0 (offset fit, same window); flags."""
    from superscale.analysis.analyze import LOGLOG, OFFSET, OFFSET_KIND
    from superscale.analysis.selection import group_key, of_scope

    recipe = of_scope(fits)
    group_cols = [c for c in schema.FIT_GROUP_COLUMNS if c in fits.columns]
    varying = [c for c in group_cols if recipe[c].nunique(dropna=False) > 1] or group_cols[:1]
    every = of_scope(fits, schema.SCOPE_ALL) if schema.FIT_SCOPE in fits else fits.iloc[:0]
    every_loglog = every[every[schema.FIT_KIND] == LOGLOG]
    all_width = {group_key(row, varying): row for row in every_loglog.to_dict("records")}
    table = Table(title="model exponents α_m (L ∝ m^-α_m)", show_lines=False)
    for col in varying:
        table.add_column(col, justify="right")
    for name in ("α_m loglog", "R²", "window", "n", "α_m all m", "α offset", "L0", "flags"):
        table.add_column(name, justify="left" if name in ("window", "flags") else "right")
    for key, group in recipe.groupby(varying, dropna=False, sort=True):
        keys = key if isinstance(key, tuple) else (key,)
        by_kind = {row[schema.FIT_KIND]: row for row in group.to_dict("records")}
        ll, off = by_kind.get(LOGLOG), by_kind.get(OFFSET_KIND)
        wide = all_width.get(group_key(dict(zip(varying, keys, strict=True)), varying))
        cells = [str(k) if not isinstance(k, float) else _fmt(k, 3).rstrip("0").rstrip(".") for k in keys]
        if ll is not None:
            cells += [
                f"{_fmt(ll[schema.EXPONENT])} ± {_fmt(ll[schema.EXPONENT_SE])}",
                _fmt(ll[schema.R2], 3),
                str(ll.get(schema.FIT_WINDOW, "all")),
                str(int(ll[schema.N_POINTS])),
            ]
        else:
            cells += ["—"] * 4
        cells.append(_fmt(wide[schema.EXPONENT]) if wide is not None else "—")
        if off is not None:
            cells += [f"{_fmt(off[schema.EXPONENT])} ± {_fmt(off[schema.EXPONENT_SE])}", _fmt(off[OFFSET], 3)]
        else:
            cells += ["—", "—"]
        cells.append(_flags(ll, off))
        table.add_row(*cells)
    return table


def _flags(loglog: dict | None, offset: dict | None) -> str:
    """The loglog fit's flags, then those only the offset fit has (prefixed "offset:")."""

    def items(row: dict | None) -> list[str]:
        text = row.get(schema.FIT_FLAGS) if row is not None else None
        return text.split("; ") if isinstance(text, str) and text else []

    own = items(loglog)
    return "; ".join(own + [f"offset: {item}" for item in items(offset) if item not in own])


def register(app: typer.Typer) -> None:
    """Add `analyze` to the main app."""

    @app.command("analyze")
    @user_errors
    def analyze(
        store: Path = typer.Argument(
            ..., metavar="DIR", help="A store written by `superscale run` (or `reproduce`)."
        ),
        force: bool = typer.Option(False, "--force", help="Recompute every metric and fit."),
        device: str = device_option(what=" for the overlap GEMMs"),
        block_size: int = count_option(8192, "--block-size", help="Rows per block of the overlap GEMMs."),
        bootstrap: int = bootstrap_option(200),
        quiet: bool = quiet_option(),
        fmt: TableFormat | None = format_option(),
    ) -> None:
        """Superposition metrics per run and α_m fits per (γ, data) group -> metrics/fits.parquet."""
        from superscale.pipeline.analyze import analyze_store
        from superscale.train.engine import resolve_device

        # in a parseable format stdout holds the table alone; the account of the work goes to stderr
        say = console.print if resolve(fmt) is TableFormat.table else err_console.print
        result = analyze_store(
            store,
            force=force,
            block_size=block_size,
            device=resolve_device(device),
            n_bootstrap=bootstrap,
            quiet=quiet,
        )
        too_few = (
            f", {result.n_groups_too_few} with fewer than 3 widths (no α_m)"
            if result.n_groups_too_few
            else ""
        )
        say(
            f"metrics: {result.n_metrics_computed} runs computed, {result.n_metrics_reused} kept · "
            f"fits: {result.n_groups_fitted} groups fitted, {result.n_groups_reused} kept{too_few}"
        )
        if len(result.fits):
            emit(exponent_table(result.fits), fmt)
        say(f"wrote {store / schema.METRICS_FILE} and {store / schema.FITS_FILE}")
        if result.extra_steps:
            say(f"extra analysis steps for these runs: {', '.join(result.extra_steps)}")
