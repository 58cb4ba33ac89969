"""CLI commands for sweeps: run, presets, ls, show, query. Thin wrappers over superscale.sweep/store."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from superscale.cli._common import (
    console,
    device_option,
    err_console,
    escape,
    fail,
    out_option,
    quiet_option,
    user_errors,
)
from superscale.cli.tables import TableFormat, emit, format_option, resolve

if TYPE_CHECKING:  # the library loads inside the commands, so `superscale --help` stays fast
    from superscale.config.limits import SweepPlan
    from superscale.store import Store
    from superscale.sweep.events import Progress

INTERRUPTED_EXIT = 130

presets_app = typer.Typer(help="Built-in sweeps that reproduce the paper's toy experiments.")


def progress_for(quiet: bool) -> Progress:
    """A bar on a terminal, timestamped lines on stderr otherwise, nothing with --quiet."""
    from superscale.sweep.bar import sweep_progress

    return sweep_progress(quiet)


def run(
    config: str = typer.Argument(
        ..., metavar="PRESET_OR_TOML", help="A sweep TOML file or a preset name (see `superscale presets`)."
    ),
    out: Path = out_option(),
    device: str | None = device_option(None),
    executor: str | None = typer.Option(None, help="local | ray (default: the config's, else local)."),
    threads: int | None = typer.Option(None, help="Torch threads per shard (ray default 1)."),
    ray_address: str | None = typer.Option(None, help="Ray cluster address (default: start a local one)."),
    ray_timeout: float | None = typer.Option(
        None, help="Seconds to connect to or start Ray before giving up (default: the config's, 30)."
    ),
    force: bool = typer.Option(False, "--force", help="Overwrite a store that holds a different sweep."),
    quiet: bool = quiet_option(),
    yes: bool = typer.Option(False, "--yes", help="Train a grid past the size or memory limits anyway."),
) -> None:
    """Train a sweep into OUT; finished shards are skipped, so re-running resumes."""
    from superscale.sweep import run_sweep

    try:
        store = user_errors(run_sweep)(
            config,
            out,
            device=device,
            executor=executor,
            threads=threads,
            ray_address=ray_address,
            ray_timeout_s=ray_timeout,
            force=force,
            quiet=quiet,
            progress=progress_for(quiet),
            allow_large=yes,
            on_plan=None if quiet else _print_plan,
        )
    except KeyboardInterrupt:
        err_console.print(
            f"[yellow]interrupted:[/] finished shards are saved in {escape(repr(str(out)))}; "
            "re-run the same command to resume",
            soft_wrap=True,
        )
        raise typer.Exit(INTERRUPTED_EXIT) from None
    if not quiet:
        s = store.summary()
        console.print(
            f"done: {s['runs_done']} runs ({s['runs_failed']} failed) in {str(out)!r}, "
            f"{s['train_seconds']:.0f} s of training",
            markup=False,
        )


def _print_plan(plan: SweepPlan) -> None:
    err_console.print(f"plan: {plan.describe()}", markup=False, highlight=False, soft_wrap=True)


@presets_app.callback(invoke_without_command=True)
def presets(ctx: typer.Context, fmt: TableFormat | None = format_option()) -> None:
    """List the built-in presets with their size and expected time."""
    if ctx.invoked_subcommand is not None:
        return
    from superscale.config.grid import plan_sweep
    from superscale.config.presets import list_presets, load_preset

    table = Table(
        caption="minutes from each preset's [meta]: the -quick ones measured on a 2-core CPU (wall or CPU "
        "time, as its comment says: `superscale presets show NAME`), paper scale extrapolated, GPU estimated"
    )
    table.add_column("preset", no_wrap=True)
    for column in ("models", "model-steps", "CPU", "GPU"):
        table.add_column(column, no_wrap=True, justify="right")
    table.add_column("description")
    for name in list_presets():
        config = load_preset(name)
        shards = plan_sweep(config)
        runs = sum(len(s.runs) for s in shards)
        steps = sum(s.model_steps for s in shards)
        meta = config.meta
        table.add_row(
            name,
            str(runs),
            f"{steps:.2g}",
            _minutes(meta.expected_cpu_minutes),
            _minutes(meta.expected_gpu_minutes),
            meta.description,
        )
    emit(table, fmt)
    if resolve(fmt) is TableFormat.table:
        console.print("`superscale presets show NAME` prints one as TOML to copy and edit.", markup=False)


def _minutes(value: float | None) -> str:
    if value is None:
        return "?"
    return f"{value:.1f} min" if value < 120 else f"{value / 60:.0f} h"


@presets_app.command("show")
@user_errors
def presets_show(name: str = typer.Argument(..., metavar="NAME", help="Preset name.")) -> None:
    """Print the preset's TOML (copy it to a file and edit it)."""
    from superscale.config.presets import preset_text

    console.print(preset_text(name), markup=False, highlight=False, soft_wrap=True)


def _stores_under(path: Path) -> list[Store]:
    from superscale.store import open_store

    if not path.exists():
        raise FileNotFoundError(f"no such directory {str(path)!r}")
    try:
        return [open_store(path)]
    except FileNotFoundError:
        found = []
        for child in sorted(p for p in path.iterdir() if p.is_dir()):
            try:
                found.append(open_store(child))
            except FileNotFoundError:
                continue
        return found


@user_errors
def ls(
    paths: list[Path] = typer.Argument(..., metavar="DIR", help="Stores, or directories of stores."),
    fmt: TableFormat | None = format_option(),
) -> None:
    """One line per store: runs done/failed, shards, status, training time, device."""
    found = [store for path in paths for store in _stores_under(path)]
    stores = list({store.path.resolve(): store for store in found}.values())  # each store once
    if not stores:
        raise fail(f"no superscale store in {', '.join(repr(str(p)) for p in paths)}")
    import pandas as pd

    columns = ["store", "name", "status", "runs done", "failed", "shards", "train time", "device"]
    rows = []
    for store in stores:
        try:
            s = store.summary()
        except (ValueError, OSError) as exc:  # one damaged store must not hide the others
            rows.append([str(store.path), "?", f"damaged: {exc}", *["?"] * 5])
            continue
        rows.append(
            [
                s["path"],
                s["name"],
                s["status"],
                f"{s['runs_done']}/{s['runs_total']}",
                str(s["runs_failed"]),
                f"{s['shards_done']}/{s['shards_total']}",
                f"{s['train_seconds']:.0f} s",
                ", ".join(s["devices"]),
            ]
        )
    emit(pd.DataFrame(rows, columns=columns), fmt)  # the table escapes the cells; csv/json keep them


@user_errors
def show(
    path: Path = typer.Argument(..., metavar="DIR", help="A store directory."),
    fmt: TableFormat | None = format_option(),
) -> None:
    """Summarise one store: progress, time, device, versions, grid and loss range."""
    import pandas as pd

    from superscale.store import open_store
    from superscale.store.tables import DamagedTable

    store = open_store(path)
    s = store.summary()
    fields = [
        ("store", s["path"]),
        ("sweep", f"{s['name']} (config hash {s['config_hash']})"),
        ("status", f"{s['status']}  (created {s['created']}, updated {s['updated']})"),
        ("runs", f"{s['runs_done']} done, {s['runs_failed']} failed, of {s['runs_total']}"),
        ("shards", f"{s['shards_done']} of {s['shards_total']}"),
        ("train time", f"{s['train_seconds']:.1f} s on {', '.join(s['devices']) or '-'}"),
        ("versions", ", ".join(f"{k}={v}" for k, v in s["versions"].items() if v)),
        ("tables", ", ".join(s["tables"]) or "(not merged yet)"),
    ]
    try:
        runs = store.runs()
    except DamagedTable:  # the status line above names it; the rest of the summary still helps
        runs = pd.DataFrame()
    if len(runs):
        for column in ("family", "n", "m", "gamma", "alpha", "density", "seed"):
            if column in runs:
                values = sorted(runs[column].dropna().unique().tolist())
                shown = ", ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in values[:12])
                more = f", … ({len(values)} values)" if len(values) > 12 else ""
                fields.append((column, f"{shown}{more}"))
        done = runs[runs["status"] == "done"]["final_loss"]
        if len(done):
            fields.append(("final loss", f"{done.min():.4g} … {done.max():.4g} (summed scale)"))
    if resolve(fmt) is TableFormat.table:
        lines = [f"{key:<12} {value}" for key, value in fields]
        console.print("\n".join(lines), markup=False, highlight=False, soft_wrap=True)
        return
    emit(pd.DataFrame(fields, columns=["field", "value"]), fmt)


@user_errors
def query(
    path: Path = typer.Argument(..., metavar="DIR", help="A store directory."),
    sql: str = typer.Argument(
        ..., metavar="SQL", help="DuckDB SQL over the views runs, curves, metrics, fits."
    ),
    fmt: TableFormat | None = format_option(),
    csv: bool = typer.Option(False, "--csv", hidden=True, help="Same as --format csv (older spelling)."),
) -> None:
    """Run DuckDB SQL over the store's Parquet tables."""
    from superscale.store import open_store

    result = open_store(path).query(sql)
    emit(result, TableFormat.csv if csv else fmt)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the main app."""
    app.command("run")(run)
    app.add_typer(presets_app, name="presets")
    app.command("ls")(ls)
    app.command("show")(show)
    app.command("query")(query)
