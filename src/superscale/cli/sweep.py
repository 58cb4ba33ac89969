"""CLI commands for sweeps: run, presets, ls, show, query. Thin wrappers over superscale.sweep/store."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from superscale.cli._common import console, err_console, escape, fail, user_errors

if TYPE_CHECKING:  # the library loads inside the commands, so `superscale --help` stays fast
    import pandas as pd

    from superscale.executors import Progress
    from superscale.limits import SweepPlan
    from superscale.store import Store

INTERRUPTED_EXIT = 130

presets_app = typer.Typer(help="Built-in sweeps that reproduce the paper's toy experiments.")


def progress_for(quiet: bool) -> Progress:
    """A rich bar on a terminal, log lines otherwise, nothing with --quiet."""
    from superscale.executors import LogProgress, Progress

    if quiet:
        return Progress()
    if sys.stdout.isatty():
        from superscale.cli.progress import RichProgress

        return RichProgress()

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    return LogProgress()


def run(
    config: str = typer.Argument(..., help="A sweep TOML file or a preset name (see `superscale presets`)."),
    out: Path = typer.Option(..., "--out", "-o", help="Store directory (created; re-run to resume)."),
    device: str | None = typer.Option(None, help="auto | cpu | cuda (default: the config's, else auto)."),
    executor: str | None = typer.Option(None, help="local | ray (default: the config's, else local)."),
    threads: int | None = typer.Option(None, help="Torch threads per shard (ray default 1)."),
    ray_address: str | None = typer.Option(None, help="Ray cluster address (default: start a local one)."),
    ray_timeout: float | None = typer.Option(
        None, help="Seconds to connect to or start Ray before giving up (default: the config's, 30)."
    ),
    force: bool = typer.Option(False, "--force", help="Overwrite a store that holds a different sweep."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress output."),
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
def presets(ctx: typer.Context) -> None:
    """List the built-in presets with their size and expected time."""
    if ctx.invoked_subcommand is not None:
        return
    from superscale.grid import plan_sweep
    from superscale.presets import list_presets, load_preset

    table = Table(caption="CPU: -quick measured (CPU time, one thread); paper scale and GPU estimated")
    table.add_column("preset", no_wrap=True)
    for column in ("models", "model-steps", "CPU", "GPU"):
        table.add_column(column, no_wrap=True, justify="right")
    descriptions = []
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
        )
        descriptions.append(f"{name}: {meta.description}")
    console.print(table)
    console.print("\n".join(descriptions), markup=False, highlight=False)
    console.print("`superscale presets show NAME` prints one as TOML to copy and edit.", markup=False)


def _minutes(value: float | None) -> str:
    if value is None:
        return "?"
    return f"{value:.1f} min" if value < 120 else f"{value / 60:.0f} h"


@presets_app.command("show")
@user_errors
def presets_show(name: str = typer.Argument(..., help="Preset name.")) -> None:
    """Print the preset's TOML (copy it to a file and edit it)."""
    from superscale.presets import preset_text

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
def ls(path: Path = typer.Argument(..., help="A store, or a directory of stores.")) -> None:
    """One line per store: runs done/failed, shards, status, training time, device."""
    stores = _stores_under(path)
    if not stores:
        raise fail(f"no superscale store in {str(path)!r}")
    table = Table("store", "name", "status", "runs done", "failed", "shards", "train time", "device")
    for store in stores:
        try:
            s = store.summary()
        except (ValueError, OSError) as exc:  # one damaged store must not hide the others
            table.add_row(escape(str(store.path)), "?", escape(f"damaged: {exc}"), *["?"] * 5)
            continue
        table.add_row(
            escape(s["path"]),
            escape(s["name"]),
            s["status"],
            f"{s['runs_done']}/{s['runs_total']}",
            str(s["runs_failed"]),
            f"{s['shards_done']}/{s['shards_total']}",
            f"{s['train_seconds']:.0f} s",
            ", ".join(s["devices"]),
        )
    console.print(table)


@user_errors
def show(path: Path = typer.Argument(..., help="A store directory.")) -> None:
    """Summarise one store: progress, time, device, versions, grid and loss range."""
    from superscale.store import open_store

    store = open_store(path)
    s = store.summary()
    lines = [
        f"store        {s['path']}",
        f"sweep        {s['name']} (config hash {s['config_hash']})",
        f"status       {s['status']}  (created {s['created']}, updated {s['updated']})",
        f"runs         {s['runs_done']} done, {s['runs_failed']} failed, of {s['runs_total']}",
        f"shards       {s['shards_done']} of {s['shards_total']}",
        f"train time   {s['train_seconds']:.1f} s on {', '.join(s['devices']) or '-'}",
        f"versions     {', '.join(f'{k}={v}' for k, v in s['versions'].items() if v)}",
        f"tables       {', '.join(s['tables']) or '(not merged yet)'}",
    ]
    runs = store.runs
    if len(runs):
        for column in ("family", "n", "m", "gamma", "alpha", "density", "seed"):
            if column in runs:
                values = sorted(runs[column].dropna().unique().tolist())
                shown = ", ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in values[:12])
                more = f", … ({len(values)} values)" if len(values) > 12 else ""
                lines.append(f"{column:<12} {shown}{more}")
        done = runs[runs["status"] == "done"]["final_loss"]
        if len(done):
            lines.append(f"final loss   {done.min():.4g} … {done.max():.4g} (summed scale)")
    console.print("\n".join(lines), markup=False, highlight=False)


@user_errors
def query(
    path: Path = typer.Argument(..., help="A store directory."),
    sql: str = typer.Argument(..., help="DuckDB SQL over the views runs, curves, metrics, fits."),
    csv: bool = typer.Option(False, "--csv", help="Print CSV instead of a table."),
) -> None:
    """Run DuckDB SQL over the store's Parquet tables."""
    from superscale.store import open_store

    result = open_store(path).query(sql)
    if csv:
        console.print(result.to_csv(index=False), end="", markup=False, highlight=False, soft_wrap=True)
        return
    console.print(_table(result))


def _table(frame: pd.DataFrame, max_rows: int = 200) -> Table:
    table = Table(*[escape(str(c)) for c in frame.columns])
    for row in frame.head(max_rows).itertuples(index=False):
        table.add_row(*[f"{v:.6g}" if isinstance(v, float) else escape(str(v)) for v in row])
    if len(frame) > max_rows:
        table.caption = f"{len(frame) - max_rows} more rows (use --csv or LIMIT)"
    return table


def register(app: typer.Typer) -> None:
    """Add this module's commands to the main app."""
    app.command("run")(run)
    app.add_typer(presets_app, name="presets")
    app.command("ls")(ls)
    app.command("show")(show)
    app.command("query")(query)
