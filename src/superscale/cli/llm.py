"""`superscale llm …`: unembedding geometry, loss evaluation, loss-vs-width fits, token frequencies.

Thin commands over `superscale.llm`; every number printed here is computed by a library function that
the tests also call.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import typer
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from superscale.cli._common import (
    bootstrap_option,
    console,
    count_option,
    device_option,
    seed_option,
    user_errors,
)
from superscale.cli.tables import emit
from superscale.store import schema

if TYPE_CHECKING:
    import pandas as pd

llm_app = typer.Typer(
    name="llm",
    help="Real language models: LM-head geometry, loss vs width, token frequencies (offline-first).",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    """Add the `llm` sub-app to the main app."""
    app.add_typer(llm_app, name="llm")


def _fmt(value: Any) -> Text:
    """A cell as plain text: a Text is never read as markup, and CSV/JSON get it as typed ("B[a/d]")."""
    if isinstance(value, float):
        return Text("nan" if math.isnan(value) else f"{value:.4g}")
    return Text(str(value))


def _print_frame(frame: pd.DataFrame, title: str, columns: list[str] | None = None) -> None:
    table = Table(title=title, show_lines=False)
    cols = columns or list(frame.columns)
    for col in cols:
        table.add_column(Text(col), overflow="fold")
    for _, row in frame[cols].iterrows():
        table.add_row(*(_fmt(row[c]) for c in cols))
    emit(table, None)


@llm_app.command("models")
@user_errors
def models_cmd(
    family: str | None = typer.Option(None, help="Only this family (opt, qwen2.5, gpt2, pythia)."),
) -> None:
    """List the 27 models of Liu et al. (2025); any of their names works as a SOURCE."""
    from superscale.llm.catalog import load_catalog

    table = load_catalog()
    if family is not None:
        table = table[table["family"].str.lower() == family.lower()]
        if table.empty:
            raise ValueError(f"family={family!r} is not in the catalogue")
    cols = ["family", "model", "hf_id", "d_model", "lm_head_width", "vocab_rows", "n_params", "tied_head",
            "lm_head_tensor"]  # fmt: skip
    _print_frame(table, "LLMs of Liu et al. (2025), Fig. 6", cols)


@llm_app.command("geometry")
@user_errors
def geometry_cmd(
    sources: list[str] = typer.Argument(
        ...,
        metavar="SOURCE",
        help="Model dirs, .safetensors/.bin/index .json files, catalogue names or hub ids.",
    ),
    out: Path | None = typer.Option(
        None,
        "--out",
        "-o",
        help="Append one row per model to this .parquet or .csv table "
        f"(`superscale report DIR` reads DIR/{schema.LLM_GEOMETRY_FILE}.parquet).",
    ),
    hist_out: Path | None = typer.Option(
        None,
        "--hist-out",
        help=f"Append row-norm histograms here (the report reads DIR/{schema.LLM_HISTOGRAM_FILE}.parquet).",
    ),
    tensor: str | None = typer.Option(None, help="Read this tensor instead of the detected unembedding."),
    revision: str | None = typer.Option(
        None, help="Hub branch, tag or commit (e.g. Pythia's step1000); part of the label."
    ),
    method: str = typer.Option(
        "auto",
        help="Pairs for ⟨|cos|⟩ and max|cos|: exact | sampled | auto (exact when a measured rate "
        "predicts ≤ 60 s). ⟨cos²⟩ is always exact (Gram identity).",
    ),
    pairs: int | None = count_option(
        None,
        "--pairs",
        help="Pairs drawn by the sampled estimator (default: 10⁶, fewer for m > 2048).",
        minimum=2,
        maximum=10**10,
    ),
    center: bool = typer.Option(
        True, help="Also measure ⟨cos²⟩ of the rows minus their mean row (the verdict uses it)."
    ),
    seed: int = seed_option("Seed of the sampled estimator."),
    block_size: int = count_option(8192, "--block-size", help="Rows per block of the exact GEMM."),
    device: str = device_option(),
    drop_padded: bool = typer.Option(
        False, help="Drop rows beyond the tokenizer's size (the paper keeps them)."
    ),
    vocab_size: int | None = count_option(
        None, "--vocab-size", help="Token count to use instead of the tokenizer's."
    ),
    bins: int = count_option(50, "--bins", help="Bins of the norm histogram.", maximum=1_000_000),
) -> None:
    """Row norms, φ, ⟨|cos|⟩ and ⟨cos²⟩ of each LM head, against 1/m and the Welch bound."""
    from superscale.llm.geometry import (
        GEOMETRY_KEY,
        Method,
        geometry_frame,
        measure_geometry,
        norm_histogram_frame,
    )
    from superscale.llm.source import load_unembedding
    from superscale.llm.tables import append_rows

    method_arg = cast(Method, method)  # validated by the library (ValueError names it)
    rows, hists = [], []
    for source in sources:
        emb = load_unembedding(
            source, tensor=tensor, drop_padded=drop_padded, vocab_size=vocab_size, revision=revision
        )
        console.print(
            f"{emb.model}: {emb.tensor} {emb.n_rows}×{emb.m} {str(emb.W.dtype).removeprefix('torch.')}, "
            f"tied={emb.tied}, padded rows={'?' if emb.padded_rows is None else emb.padded_rows} "
            f"({'included' if emb.padded_rows_included else 'not included'})",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
        row = measure_geometry(
            emb,
            method=method_arg,
            n_pairs=pairs,
            seed=seed,
            block_size=block_size,
            device=None if device == "auto" else device,
            center=center,
        )
        rows.append(row)
        centred = f", {row['cos2_times_m_centered']:.4g} centred" if center else ""
        console.print(
            f"  {row['method_reason']}\n  ⟨cos²⟩·m = {row['cos2_times_m']:.4g} raw{centred} (exact, Gram "
            f"identity); duplicate rows: {row['duplicate_rows']}\n  verdict, {row['verdict']}",
            highlight=False,
            soft_wrap=True,
        )
        hists.append(norm_histogram_frame(emb, bins=bins))
        del emb
    frame = geometry_frame(rows)
    cols = ["model", "n_rows", "m", "mean_norm", "phi_half", "phi_one", "mean_abs_cos", "mean_cos2",
            "cos2_times_m", "cos2_times_m_centered", "duplicate_rows", "welch_kappa2", "method",
            "seconds"]  # fmt: skip
    _print_frame(frame, "LM-head geometry", cols)
    if out is not None:
        append_rows(frame, out, GEOMETRY_KEY)
        console.print(f"appended {len(frame)} row(s) to {escape(str(out))}")
    if hist_out is not None:
        import pandas as pd

        append_rows(pd.concat(hists, ignore_index=True), hist_out, ["model", "bin_low"])
        console.print(f"appended norm histograms to {escape(str(hist_out))}")


@llm_app.command("eval")
@user_errors
def eval_cmd(
    model: str = typer.Argument(
        ..., metavar="MODEL", help="Local model dir or .gguf file, catalogue name or hub id (transformers)."
    ),
    text: Path = typer.Option(..., help="Local text file to evaluate on."),
    revision: str | None = typer.Option(None, help="Hub branch, tag or commit; part of the label."),
    dataset: str | None = typer.Option(None, help="Dataset label for the loss table (default: file stem)."),
    dtype: str = typer.Option("bfloat16", help="bfloat16 | float32 | float16."),
    quantization: str = typer.Option("none", help="none | 8bit | 4bit (needs bitsandbytes)."),
    max_length: int | None = count_option(
        None, "--max-length", help="Token limit (default: min(2048, the model's context))."
    ),
    batch_size: int = count_option(1, "--batch-size", help="Samples per batch (the paper uses 1)."),
    max_samples: int | None = count_option(None, "--max-samples", help="Evaluate only the first N samples."),
    segment: str = typer.Option("words", help="words (wikitext/bookcorpus style) | documents (c4/pile)."),
    min_words: int = count_option(1024, "--min-words", help="Words per sample in `words` mode."),
    device: str = device_option(),
    out: Path | None = typer.Option(
        None,
        "--out",
        "-o",
        help="Append the result to this loss table (.csv/.parquet; "
        f"the report reads DIR/{schema.LLM_LOSSES_FILE}.parquet).",
    ),
) -> None:
    """Per-token cross-entropy with the paper's protocol (docs/recipe.md §5.4)."""
    from superscale.llm.evaluate import EVAL_KEY, Segmentation, evaluate_file
    from superscale.llm.tables import append_rows

    row = evaluate_file(
        model, text, dataset=dataset, dtype=dtype, quantization=quantization, max_length=max_length,
        batch_size=batch_size, max_samples=max_samples, min_words=min_words, mode=cast(Segmentation, segment),
        device=None if device == "auto" else device, revision=revision,
    )  # fmt: skip
    cols = ["model", "m", "dataset", "loss", "perplexity", "loss_per_predicted_token", "n_label_tokens"]
    import pandas as pd

    _print_frame(pd.DataFrame([row]), "loss (nats/token)", cols)
    if out is not None:
        append_rows(pd.DataFrame([row]), out, EVAL_KEY)
        console.print(f"appended to {escape(str(out))}")


@llm_app.command("fit")
@user_errors
def fit_cmd(
    table: Path | None = typer.Argument(
        None, metavar="TABLE", help="Loss table with columns family, dataset, m, loss."
    ),
    demo: bool = typer.Option(False, help="Fit the shipped digitised losses of Liu et al. (approximate)."),
    out: Path | None = typer.Option(
        None, "--out", "-o", help="Write the per-point table (loss − B_g, fitted curve) here."
    ),
    bootstrap: int = bootstrap_option(
        200, help="Bootstrap resamples for the second error estimate (0: none)."
    ),
    seed: int = seed_option("Bootstrap seed."),
) -> None:
    """Fit L = A/m^α + B_g with one α shared by all groups g = family × dataset."""
    from superscale.llm.catalog import DIGITIZED_NOTE, load_digitized_losses
    from superscale.llm.tables import read_table, write_table
    from superscale.llm.widthfit import fit_summary, fit_width_table

    if (table is None) == (not demo):
        raise ValueError("give either a loss TABLE or --demo (not both, not neither)")
    if demo:
        console.print(f"[yellow]demo data: {DIGITIZED_NOTE}[/]", highlight=False)
        data = load_digitized_losses()
    else:
        assert table is not None
        data = read_table(table)
    result = fit_width_table(data, n_bootstrap=bootstrap, seed=seed)
    fit = result.fit
    boot = (
        f" ± {fit.exponent_se_bootstrap:.4f} (bootstrap; {fit.confidence:.0%} CI "
        f"[{fit.exponent_ci_low:.3f}, {fit.exponent_ci_high:.3f}])"
        if bootstrap > 1
        else " (no bootstrap)"
    )
    console.print(
        f"α = {fit.exponent:.4f} ± {fit.exponent_se_paper:.4f} (paper's formula){boot}, A = {fit.A:.2f}, "
        f"{fit.n_points} points, {len(fit.offsets)} groups; preferred by BIC: {fit.preferred}",
        highlight=False,
    )
    _print_frame(fit_summary(result), "shared-exponent fit")
    if out is not None:
        write_table(result.points, out)
        console.print(f"wrote {escape(str(out))}")


@llm_app.command("chinchilla")
@user_errors
def chinchilla_cmd(
    alpha_n: float = typer.Option(0.35, help="α_N of Chinchilla's L(N, D) (paper: 0.35, Epoch refit)."),
    alpha_n_se: float = typer.Option(0.02, help="Its standard error (paper: 0.02)."),
) -> None:
    """α_m = (exponent of N vs d_model over Chinchilla Table A9) × α_N (docs/recipe.md §5.7)."""
    from superscale.llm.widthfit import chinchilla_cross_check

    check = chinchilla_cross_check(alpha_n, alpha_n_se)
    console.print(
        f"N ∝ d_model^{check.slope:.3f} ± {check.slope_se:.3f} over {check.n_models} models (Table A9)\n"
        f"α_m = {check.slope:.3f} × {check.alpha_n} = {check.alpha_m:.3f} ± {check.alpha_m_se_linear:.3f} "
        f"(linear error sum, as the paper) or ± {check.alpha_m_se_quadrature:.3f} (quadrature)",
        highlight=False,
    )


@llm_app.command("freq")
@user_errors
def freq_cmd(
    corpus: Path | None = typer.Argument(None, metavar="CORPUS", help="Text file, one text per line."),
    tokenizer: str = typer.Option(
        "whitespace", help="A transformers tokenizer (dir or cached id), or whitespace."
    ),
    max_tokens: int = count_option(
        1_000_000, "--max-tokens", help="Stop counting after this many tokens (paper: 10^6)."
    ),
    points: int = count_option(
        1000, "--points", help="Log-spaced ranks used in the fit (paper: 1000).", minimum=3, maximum=10**7
    ),
    wordfreq_lang: str | None = typer.Option(
        None, "--wordfreq", help="Use wordfreq's list for this language."
    ),
    out: Path | None = typer.Option(
        None,
        "--out",
        "-o",
        help="Add the rank-frequency curve to this table (.csv/.parquet), replacing the same tokenizer and "
        f"dataset (the report reads DIR/{schema.TOKEN_FREQ_FILE}.parquet).",
    ),
) -> None:
    """Count token frequencies and fit the Zipf exponent (docs/recipe.md §2)."""
    from superscale.llm import frequencies as fq
    from superscale.llm.tables import replace_groups

    if (corpus is None) == (wordfreq_lang is None):
        raise ValueError("give either a CORPUS file or --wordfreq LANG (not both, not neither)")
    if wordfreq_lang is not None:
        counts: Any = fq.wordfreq_frequencies(wordfreq_lang)
        tokenizer, dataset = "wordfreq", f"wordfreq-{wordfreq_lang}"
    else:
        assert corpus is not None
        encode = fq.whitespace_encode if tokenizer == "whitespace" else fq.tokenizer_encoder(tokenizer)
        counts = fq.count_tokens(fq.read_corpus(corpus), encode, max_tokens=max_tokens)
        dataset = corpus.stem
    zipf = fq.fit_zipf(counts, n_points=points)
    console.print(
        f"{tokenizer} on {dataset}: α = {zipf.alpha:.3f} ± {zipf.alpha_se:.3f} (R² {zipf.r2:.3f}) "
        f"over {zipf.n_types} types, {zipf.n_points} log-spaced ranks",
        highlight=False,
    )
    if out is not None:
        curve = fq.rank_frequency_frame(counts, tokenizer, dataset, n_points=points)
        replace_groups(curve, out, ["tokenizer", "dataset"])
        console.print(f"wrote {escape(str(out))}")


@llm_app.command("trajectory")
@user_errors
def trajectory_cmd(
    sources: list[str] = typer.Argument(
        ..., help="Checkpoint directories named by step (step1000, checkpoint-500), or one hub id."
    ),
    revision: list[str] | None = typer.Option(
        None, "--revision", help="Revisions of the one hub id, repeated: --revision step1000 --revision …"
    ),
    method: str = typer.Option("auto", help="Pairs for ⟨|cos|⟩: exact | sampled | auto (as `geometry`)."),
    pairs: int | None = count_option(
        None, "--pairs", help="Pairs drawn by the sampled estimator.", minimum=2, maximum=10**10
    ),
    seed: int = seed_option("Seed of the sampled estimator."),
    device: str | None = typer.Option(None, help="cpu or cuda (default: cuda when present)."),
    out: Path | None = typer.Option(None, help="Write the trajectory table here (.parquet or .csv)."),
    plot: Path | None = typer.Option(
        None, help="Draw ⟨cos²⟩·m, φ and norms against step here (.png/.pdf/.svg)."
    ),
) -> None:
    """LM-head geometry along a training run: ⟨cos²⟩·m, φ and row norms against training step."""
    from superscale.llm.geometry import Method, measure_geometry
    from superscale.llm.source import load_unembedding
    from superscale.llm.tables import write_table
    from superscale.llm.trajectory import plot_trajectory, series, trajectory_frame

    rows = []
    for source, rev in series(sources, revision):
        emb = load_unembedding(source, revision=rev)
        rows.append(
            measure_geometry(emb, method=cast(Method, method), n_pairs=pairs, seed=seed, device=device)
        )
        console.print(f"{emb.model}: step {emb.step}, {rows[-1]['method_reason']}", highlight=False)
        del emb
    frame = trajectory_frame(rows)
    cols = ["step", "model", "cos2_times_m", "cos2_times_m_centered", "phi_half", "phi_one", "mean_norm"]
    _print_frame(frame, "LM-head geometry over training", cols)
    if out is not None:
        write_table(frame, out)
        console.print(f"wrote {escape(str(out))}")
    if plot is not None:
        plot_trajectory(frame, plot)
        console.print(f"wrote {escape(str(plot))}")
