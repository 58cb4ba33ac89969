"""CLI commands: `superscale weights slim STORE` and `superscale weights restore STORE`.

Slimming keeps a committed store light (chosen runs keep float32, some a float16 copy, the rest are dropped
after their row norms are saved); restoring retrains a slimmed shard exactly from its config and seed.
"""

from __future__ import annotations

from pathlib import Path

import typer

from superscale.cli._common import console, device_option, escape, user_errors

app = typer.Typer(
    help="Slim a finished store's weights, or retrain them back.", no_args_is_help=True, add_completion=False
)


def _runs_where(store: Path, where: str | None) -> list[str]:
    """The finished runs matching a SQL condition over runs.parquet (read-only DuckDB, `superscale query`)."""
    if not where:
        return []
    from superscale.store import open_store

    frame = open_store(store).query(f"select run_id from runs where status = 'done' and ({where})")
    return [str(r) for r in frame["run_id"]]


@app.command("slim")
@user_errors
def slim(
    store: Path = typer.Argument(..., metavar="STORE", help="An analysed store (not being written)."),
    keep: str = typer.Option(
        "", "--keep", metavar="SQL", help="Runs that keep float32 weights: a condition on runs' columns."
    ),
    float16: str = typer.Option(
        "", "--float16", metavar="SQL", help="Runs that keep a float16 copy (the others are dropped)."
    ),
) -> None:
    """Rewrite the weights of the finished runs: --keep runs stay float32, --float16 runs a rounded copy.

    Row norms of every run are saved first (row_norms.parquet, float32) and the figures read them; metrics
    and fits computed by `superscale analyze` stay; `superscale weights restore` retrains any dropped run.
    """
    from superscale.store.archive import slim_weights

    choice = dict.fromkeys(_runs_where(store, float16), "float16")
    choice.update(dict.fromkeys(_runs_where(store, keep), "float32"))
    result = slim_weights(store, choice)
    counts = ", ".join(f"{n} {kind}" for kind, n in result.counts.items())
    console.print(
        f"weights of {escape(str(store))}: {counts}; {result.bytes_before / 1e6:.1f} MB → "
        f"{result.bytes_after / 1e6:.1f} MB"
    )


@app.command("restore")
@user_errors
def restore(
    store: Path = typer.Argument(..., metavar="STORE", help="A store slimmed by `superscale weights slim`."),
    shards: list[str] = typer.Option(
        [], "--shard", metavar="SHARD", help="Shard id to retrain (repeatable); default: every slimmed one."
    ),
    device: str = device_option("cpu", " (retraining)"),
) -> None:
    """Retrain slimmed shards from their config and seed and put their float32 weights back."""
    from superscale.sweep.restore import restore_weights

    for shard in restore_weights(store, shards or None, device=device):
        console.print(
            f"{escape(shard.shard_id)}: {shard.runs} runs back in {shard.seconds:.0f} s; final losses "
            f"within {shard.max_rel_diff:.1e} of the stored ones"
        )


def register(root: typer.Typer) -> None:
    """Add this module's commands to the main app."""
    root.add_typer(app, name="weights")
