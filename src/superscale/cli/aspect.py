"""`superscale aspect …`: Katta's aspect-ratio argument made testable (thin commands over the library)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from superscale.cli._common import (
    console,
    device_option,
    number_list,
    out_option,
    quiet_option,
    user_errors,
)

aspect_app = typer.Typer(
    help="Equal-parameter deep toy models across aspect ratios, universality, compressed sensing.",
    no_args_is_help=True,
)


def _floats(text: str, name: str) -> tuple[float, ...]:
    return tuple(number_list(text, f"--{name}", float))


def _ints(text: str, name: str) -> tuple[int, ...]:
    return tuple(number_list(text, f"--{name}", int))


@aspect_app.command("plan")
@user_errors
def plan(
    params: Annotated[int, typer.Option("--params", help="parameter budget N (biases included)")],
    features: Annotated[int, typer.Option("--n", help="number of features n")],
    depths: Annotated[str, typer.Option(help="depths L to try, comma-separated")] = "1,2,3,4,6,8,12,16",
    tolerance: Annotated[float, typer.Option(help="relative |N − budget| allowed")] = 0.05,
    untied: Annotated[bool, typer.Option(help="count a separate decoder W_dec")] = False,
) -> None:
    """List shapes (L, m) with equal parameter count N."""
    from superscale.aspect.planner import plan_shapes

    shapes = plan_shapes(features, params, _ints(depths, "depths"), tolerance, tied=not untied)
    table = Table("L", "m", "N", "N − budget", "m/L")
    for s in shapes:
        table.add_row(
            str(s.n_layers), str(s.m), str(s.params), f"{100 * s.rel_error:+.2f}%", f"{s.aspect_ratio:.2f}"
        )
    console.print(table)


@aspect_app.command("bound")
@user_errors
def bound(
    features: Annotated[int, typer.Option("--n", help="number of features n")],
    sparsity: Annotated[float | None, typer.Option(help="data sparsity S → minimum width")] = None,
    width: Annotated[float | None, typer.Option(help="features held in width m → implied sparsity")] = None,
    represented: Annotated[float | None, typer.Option(help="features represented (default: n)")] = None,
) -> None:
    """The compressed-sensing bound m ≳ −n(1−S)ln(1−S), or the sparsity a width implies."""
    from superscale.aspect.compressed_sensing import cs_min_width, implied_sparsity

    if (sparsity is None) == (width is None):
        raise ValueError("give exactly one of --sparsity or --width")
    if sparsity is not None:
        console.print(
            f"minimum width m ≳ {cs_min_width(features, sparsity):.4g} for n={features}, S={sparsity:g}"
        )
    else:
        assert width is not None
        held = features if represented is None else represented
        console.print(
            f"implied sparsity S = {implied_sparsity(held, width):.6g} for {held:g} features in m={width:g}"
        )


@aspect_app.command("l1")
@user_errors
def l1(
    features: Annotated[int, typer.Option("--n", help="number of features n")] = 64,
    sparsities: Annotated[str, typer.Option(help="comma-separated S")] = "0.8,0.9,0.95",
    widths: Annotated[str, typer.Option(help="comma-separated m")] = "4,8,12,16,24,32,48",
    trials: Annotated[int, typer.Option()] = 20,
    tol: Annotated[float, typer.Option(help="relative squared error counted as recovered")] = 0.1,
) -> None:
    """Basis-pursuit recovery over (S, m) and its critical width next to the bound."""
    from superscale.aspect.compressed_sensing import l1_phase_transition
    from superscale.aspect.summary import phase_summary

    table = l1_phase_transition(
        features, _floats(sparsities, "sparsities"), _ints(widths, "widths"), trials, tol=tol
    )
    console.print(table.to_string(index=False))
    console.print(phase_summary(table, tol).to_string(index=False))


_ALIASES = {"quick": "aspect-quick", "full": "aspect-full", "phase": "aspect-phase-quick"}


def _tables(directory: Path) -> dict:
    from superscale.report.aspect import load_tables

    tables = load_tables(directory)
    if "runs" not in tables and "phase" not in tables:
        raise FileNotFoundError(
            f"no aspect tables in {str(directory)!r}: train deep models (`aspect run`), then "
            "`superscale analyze`"
        )
    return tables


def _print_verdict(tables: dict) -> None:
    from superscale.aspect.summary import phase_summary, verdict

    if "runs" in tables and "pairs" in tables:
        for line in verdict(tables["runs"], tables["pairs"], tables.get("phase")):
            console.print(f"• {line}")
    elif "phase" in tables:
        console.print(phase_summary(tables["phase"]).to_string(index=False))


@aspect_app.command("run")
@user_errors
def run(
    out: Path = out_option(
        help="the store directory (resumed when it holds this sweep); `superscale report OUT` shows the study"
    ),
    preset: str = typer.Option(
        "aspect-quick",
        "--preset",
        "-p",
        help="aspect-quick (minutes on a CPU), aspect-full, aspect-phase-quick (aliases quick, full, phase), "
        'or a sweep TOML with architecture "deep"',
    ),
    device: str | None = device_option(None),
    quiet: bool = quiet_option(),
) -> None:
    """Train a study (`superscale run PRESET --out OUT`), analyse it (`superscale analyze OUT`), print the
    verdict."""
    from superscale.config.presets import list_presets
    from superscale.pipeline.analyze import analyze_store
    from superscale.sweep import run_sweep

    chosen = _ALIASES.get(preset, preset)
    if chosen not in list_presets() and not Path(chosen).is_file():
        raise ValueError(f"unknown aspect preset {preset!r}; known: {', '.join(sorted(_ALIASES.values()))}")
    store = run_sweep(chosen, out, device=device, quiet=quiet)
    analyze_store(store, quiet=quiet)
    _print_verdict(_tables(out))
    console.print(f"tables written to {out}", markup=False)


@aspect_app.command("summary")
@user_errors
def summary(
    directory: Annotated[Path, typer.Argument(metavar="DIR", help="a store written by `aspect run`")],
) -> None:
    """Print the verdict of a finished, analysed study."""
    _print_verdict(_tables(directory))


@aspect_app.command("figures")
@user_errors
def figures(
    directory: Annotated[Path, typer.Argument(metavar="DIR", help="a store written by `aspect run`")],
    out: Path | None = out_option(None, "where to save PNGs (default: DIRECTORY/figures)"),
) -> None:
    """Draw the study's figures as PNG files."""
    from superscale.report.aspect import report_section

    _tables(directory)
    _, _, drawn = report_section(directory)
    target = out or directory / "figures"
    target.mkdir(parents=True, exist_ok=True)
    for name, _, fig in drawn:
        fig.savefig(target / f"{name}.png", dpi=120)
        console.print(f"wrote {target / f'{name}.png'}", markup=False)


def register(app: typer.Typer) -> None:
    """Add the `aspect` sub-app to the main app."""
    app.add_typer(aspect_app, name="aspect")
