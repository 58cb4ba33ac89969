"""`superscale aspect …`: Katta's aspect-ratio argument made testable (thin commands over the library)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from superscale.cli._common import console, user_errors

aspect_app = typer.Typer(
    help="Equal-parameter deep toy models across aspect ratios, universality, compressed sensing.",
    no_args_is_help=True,
)


def _floats(text: str, name: str) -> tuple[float, ...]:
    try:
        return tuple(float(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise ValueError(f"{name} must be comma-separated numbers, got {text!r}") from None


def _ints(text: str, name: str) -> tuple[int, ...]:
    try:
        return tuple(int(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise ValueError(f"{name} must be comma-separated integers, got {text!r}") from None


@aspect_app.command("plan")
@user_errors
def plan(
    params: Annotated[int, typer.Option("--params", help="parameter budget N (biases included)")],
    features: Annotated[int, typer.Option("--features", help="number of features n")],
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
    features: Annotated[int, typer.Option("--features", help="number of features n")],
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
    features: Annotated[int, typer.Option("--features")] = 64,
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


@aspect_app.command("phase")
@user_errors
def phase(
    out: Annotated[
        Path,
        typer.Option(
            "--out", help="output directory for phase_transition.parquet; `superscale report OUT` shows it"
        ),
    ],
    features: Annotated[int, typer.Option("--features")] = 64,
    sparsities: Annotated[str, typer.Option(help="comma-separated S")] = "0.8,0.9,0.95",
    widths: Annotated[str, typer.Option(help="comma-separated m")] = "4,8,12,16,24,32,48",
    deep_layers: Annotated[int, typer.Option(help="depth of the deep toy model")] = 2,
    steps: Annotated[int, typer.Option()] = 1000,
    batch: Annotated[int, typer.Option()] = 256,
    tol: Annotated[float, typer.Option(help="relative squared error counted as reconstructed")] = 0.1,
    trials: Annotated[int, typer.Option(help="L1 samples per (S, m)")] = 20,
    device: Annotated[str, typer.Option()] = "cpu",
) -> None:
    """Compressed-sensing transition: toy, deep toy and L1 recovery over (S, m), against the bound."""
    import pandas as pd

    from superscale.aspect.compressed_sensing import l1_phase_transition
    from superscale.aspect.experiments import PHASE_FILE, PhaseConfig, model_phase_transition
    from superscale.aspect.summary import phase_summary
    from superscale.atomic import write_parquet_atomic

    config = PhaseConfig(
        n=features,
        sparsities=_floats(sparsities, "sparsities"),
        widths=_ints(widths, "widths"),
        deep_layers=deep_layers,
        steps=steps,
        batch=batch,
        tol=tol,
        l1_trials=trials,
        device=device,
    )
    table = pd.concat(
        [
            model_phase_transition(config),
            l1_phase_transition(features, config.sparsities, config.widths, trials, tol=tol),
        ],
        ignore_index=True,
    )
    out.mkdir(parents=True, exist_ok=True)
    write_parquet_atomic(table, out / PHASE_FILE)
    console.print(phase_summary(table, tol).to_string(index=False))


@aspect_app.command("family")
@user_errors
def family(
    out: Annotated[
        Path,
        typer.Option("--out", help="directory for the parquet tables; `superscale report OUT` shows them"),
    ],
    features: Annotated[int, typer.Option("--features")] = 100,
    params: Annotated[int, typer.Option("--params")] = 4100,
    depths: Annotated[str, typer.Option()] = "1,2,4,8",
    alphas: Annotated[str, typer.Option(help="power-law data exponents")] = "1.0",
    sparsities: Annotated[str, typer.Option(help="uniform data sparsities S")] = "",
    gammas: Annotated[str, typer.Option()] = "-1.0",
    seeds: Annotated[str, typer.Option()] = "0,1,2",
    steps: Annotated[int, typer.Option()] = 2000,
    batch: Annotated[int, typer.Option()] = 256,
    plain: Annotated[bool, typer.Option(help="hidden layers without the residual connection")] = False,
    device: Annotated[str, typer.Option()] = "cpu",
) -> None:
    """Train one equal-N family across shapes and write runs / layers / pairs tables."""
    from superscale.aspect.experiments import AspectConfig, run_aspect_family
    from superscale.aspect.summary import verdict

    config = AspectConfig(
        n=features,
        params=params,
        depths=_ints(depths, "depths"),
        alphas=_floats(alphas, "alphas"),
        sparsities=_floats(sparsities, "sparsities"),
        gammas=_floats(gammas, "gammas"),
        seeds=_ints(seeds, "seeds"),
        steps=steps,
        batch=batch,
        residual=not plain,
        device=device,
    )
    result = run_aspect_family(config, out)
    for line in verdict(result.runs, result.pairs, None):
        console.print(f"• {line}")


@aspect_app.command("run")
@user_errors
def run(
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            help="output directory for the tables; `superscale report OUT` shows the study (beside a store "
            "or LLM tables in OUT, if any)",
        ),
    ],
    preset: Annotated[str, typer.Option(help="quick (minutes on a CPU) or full")] = "quick",
) -> None:
    """Run a built-in study (families + compressed-sensing transition) and print the verdict."""
    from superscale.aspect.presets import get_preset, run_study
    from superscale.aspect.summary import verdict

    chosen = get_preset(preset)
    console.print(f"aspect study {chosen.name}: {chosen.description}")
    study = run_study(chosen, out)
    for line in verdict(study.runs, study.pairs, study.phase, chosen.phase.tol):
        console.print(f"• {line}")
    console.print(f"tables written to {out}")


@aspect_app.command("summary")
@user_errors
def summary(directory: Annotated[Path, typer.Argument(help="a directory written by `aspect run`")]) -> None:
    """Print the verdict of a finished study."""
    from superscale.aspect.report import load_tables
    from superscale.aspect.summary import verdict

    tables = load_tables(directory)
    if "runs" not in tables or "pairs" not in tables:
        raise FileNotFoundError(f"no aspect study tables in {str(directory)!r}")
    for line in verdict(tables["runs"], tables["pairs"], tables.get("phase")):
        console.print(f"• {line}")


@aspect_app.command("figures")
@user_errors
def figures(
    directory: Annotated[Path, typer.Argument(help="a directory written by `aspect run`")],
    to: Annotated[Path | None, typer.Option(help="where to save PNGs (default: DIRECTORY/figures)")] = None,
) -> None:
    """Draw the study's figures as PNG files."""
    from superscale.aspect.report import report_section

    _, fragment, drawn = report_section(directory)
    if fragment is None:
        raise FileNotFoundError(f"no aspect study tables in {str(directory)!r}")
    target = to or directory / "figures"
    target.mkdir(parents=True, exist_ok=True)
    for name, _, fig in drawn:
        fig.savefig(target / f"{name}.png", dpi=120)
        console.print(f"wrote {target / f'{name}.png'}")


def register(app: typer.Typer) -> None:
    """Add the `aspect` sub-app to the main app."""
    app.add_typer(aspect_app, name="aspect")
