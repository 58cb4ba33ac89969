"""CLI: `superscale variants compare OUT` (preset + run + analyze) and `superscale variants phase OUT`."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from superscale.cli._common import (
    console,
    count_option,
    device_option,
    number_list,
    out_option,
    quiet_option,
    user_errors,
)

__all__ = ["register"]

variants_app = typer.Typer(help="Toy-model variants beyond the paper: cross-entropy, unit norm, importance.")


def _save(figures: list, out: Path, stem: str) -> list[Path]:
    paths = []
    for index, figure in enumerate(figures, start=1):
        path = out / f"{stem}-{index}.png"
        figure.savefig(path, dpi=120, bbox_inches="tight")
        paths.append(path)
    return paths


@variants_app.command("compare")
@user_errors
def compare_command(
    out: Path = out_option(
        help="Store directory (resumed when it holds this sweep); analysis adds variants.parquet and "
        "variants_fits.parquet, figures go beside them; `superscale report OUT` shows everything."
    ),
    preset: str = typer.Option(
        "variants-quick",
        "--preset",
        "-p",
        help="variants-quick (minutes on a CPU), variants-full (hours), or another preset or sweep TOML "
        "whose model.architecture lists the models.",
    ),
    device: str | None = device_option(None),
    quiet: bool = quiet_option(),
) -> None:
    """Fit loss-vs-m exponents of the MSE, cross-entropy and unit-norm toy models on the same data.

    A shortcut for `superscale run variants-quick --out OUT` and `superscale analyze OUT`."""
    from superscale.pipeline.analyze import analyze_store
    from superscale.store import schema
    from superscale.sweep import run_sweep
    from superscale.variants.compare import exponent_table
    from superscale.variants.figures import variants_figures, variants_verdict

    store = run_sweep(preset, out, device=device, quiet=quiet)
    analyze_store(store, quiet=quiet)
    runs, fits = store.table(schema.VARIANTS_FILE), store.table(schema.VARIANTS_FITS_FILE)
    if runs is None or fits is None:
        raise ValueError(f"{str(out)!r} compares no architectures: list several in model.architecture")
    table = Table(title="model exponent α_m (OLS of ln L on ln m)")
    exps = exponent_table(fits)
    for column in exps.columns:
        table.add_column(str(column))
    for row in exps.itertuples(index=False):
        table.add_row(*[f"{v:.3g}" if isinstance(v, float) else str(v) for v in row])
    console.print(table)
    console.print(variants_verdict(runs))
    paths = _save(variants_figures(runs), out, "variants")
    console.print(
        f"wrote {out / schema.VARIANTS_FILE}, {out / schema.VARIANTS_FITS_FILE} and {len(paths)} figures",
        markup=False,
    )


@variants_app.command("phase")
@user_errors
def phase_command(
    out: Path = out_option(
        help="Directory for phase_diagram.parquet and phase_diagram.png; `superscale report OUT` shows them."
    ),
    densities: str = typer.Option("1,0.3,0.1,0.03", help="Comma-separated feature densities p = 1 − S."),
    importances: str = typer.Option(
        "0.1,0.3,1,3,10", help="Comma-separated relative importances of the last feature."
    ),
    n: int = count_option(2, "--n", help="Features."),
    m: int = count_option(1, "--m", help="Hidden dimensions."),
    steps: int = count_option(2000, "--steps", help="Training steps per model.", maximum=100_000_000),
    seeds: int = count_option(3, "--seeds", help="Seeds per cell; the lowest final loss represents it."),
) -> None:
    """Anthropic's classic superposition phase diagram with the importance-weighted toy model."""
    from superscale.store.atomic import write_parquet_atomic
    from superscale.store.schema import PHASE_DIAGRAM_FILE
    from superscale.variants.figures import phase_diagram_figure
    from superscale.variants.phase import phase_diagram

    def floats(text: str, name: str) -> list[float]:
        return list(number_list(text, f"--{name}"))

    table = phase_diagram(
        floats(densities, "densities"), floats(importances, "importances"), n, m, steps, seeds=seeds
    )
    out.mkdir(parents=True, exist_ok=True)
    table_path = out / PHASE_DIAGRAM_FILE
    write_parquet_atomic(table, table_path)
    phase_diagram_figure(table).savefig(table_path.with_suffix(".png"), dpi=120, bbox_inches="tight")
    console.print(table.pivot(index="density", columns="importance", values="phase").to_string())
    console.print(f"wrote {table_path} and {table_path.with_suffix('.png')}", markup=False)


def register(app: typer.Typer) -> None:
    """Add the `variants` command group to the main app."""
    app.add_typer(variants_app, name="variants")
