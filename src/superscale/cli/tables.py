"""Every table the CLI prints, in one of four formats: a rich table on a terminal, CSV when piped.

`--format table|csv|json|markdown` chooses; without it a terminal gets the table and anything else
(a pipe, a file) gets CSV, printed whole: no column is cut to an ellipsis, no line wrapped at 80 columns.
A table too wide for the terminal is shown one record per block (column: value) instead of squeezed.
"""

from __future__ import annotations

import json
import math
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import typer
from rich.markup import escape
from rich.table import Table

from superscale.cli._common import console

if TYPE_CHECKING:
    import pandas as pd


class TableFormat(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"
    markdown = "markdown"


def format_option() -> Any:
    """The `--format/-f` option every table-printing command takes."""
    return typer.Option(
        None,
        "--format",
        "-f",
        help="Table format (default: table on a terminal, csv when piped or redirected).",
        case_sensitive=False,
    )


def resolve(fmt: TableFormat | str | None) -> TableFormat:
    """The format to print in: the one asked for, else table on a terminal and csv anywhere else."""
    if fmt is None:
        return TableFormat.table if console.is_terminal else TableFormat.csv
    return TableFormat(fmt)


def table_frame(table: Table) -> pd.DataFrame:
    """A rich Table's cells (as shown) as a DataFrame of strings, one column per table column."""
    import pandas as pd

    return pd.DataFrame({str(col.header): [str(cell) for cell in col.cells] for col in table.columns})


def frame_table(frame: pd.DataFrame, max_rows: int | None = None) -> Table:
    """A DataFrame as a rich Table: floats to 6 significant digits, at most `max_rows` rows."""
    table = Table(*[escape(str(c)) for c in frame.columns])  # cells are data, never markup
    shown = frame if max_rows is None else frame.head(max_rows)
    for row in shown.itertuples(index=False):
        table.add_row(*[_cell(v) for v in row])
    if max_rows is not None and len(frame) > max_rows:
        table.caption = f"{len(frame) - max_rows} more rows (use --format csv or LIMIT)"
    return table


def _cell(value: Any) -> str:
    return f"{value:.6g}" if isinstance(value, float) else escape(str(value))


def emit(data: Table | pd.DataFrame, fmt: TableFormat | str | None) -> None:
    """Print a table (a rich Table or a DataFrame) in the chosen format, whole."""
    chosen = resolve(fmt)
    if chosen is TableFormat.table:
        table = data if isinstance(data, Table) else frame_table(data, max_rows=200)
        _print_table(table)
        return
    frame = table_frame(data) if isinstance(data, Table) else data
    if chosen is TableFormat.csv:
        text = frame.to_csv(index=False)
    elif chosen is TableFormat.json:
        text = json.dumps([_json_row(row) for row in frame.to_dict("records")], ensure_ascii=False) + "\n"
    else:
        text = markdown(frame)
    console.file.write(text)
    console.file.flush()


def _json_row(row: dict[str, Any]) -> dict[str, Any]:
    def plain(value: Any) -> Any:
        if hasattr(value, "item"):  # numpy scalars
            value = value.item()
        if isinstance(value, float) and not math.isfinite(value):
            return None
        return value if isinstance(value, str | int | float | bool | type(None)) else str(value)

    return {str(k): plain(v) for k, v in row.items()}


def markdown(frame: pd.DataFrame) -> str:
    """A GitHub-flavoured Markdown table (pipes in cells escaped)."""

    def row(cells: list[Any]) -> str:
        return "| " + " | ".join(_cell(c).replace("|", "\\|") for c in cells) + " |"

    lines = [row(list(frame.columns)), "| " + " | ".join("---" for _ in frame.columns) + " |"]
    lines += [row(list(values)) for values in frame.itertuples(index=False)]
    return "\n".join(lines) + "\n"


def _print_table(table: Table) -> None:
    """The table as is when it fits the terminal; else one block per row, so no cell becomes '…'."""
    frame = table_frame(table)
    # the narrowest the table gets without cutting a word: each column as wide as its longest word,
    # plus its padding and border
    words = [
        max((len(w) for text in (str(c), *frame[c]) for w in str(text).split()), default=1) for c in frame
    ]
    if sum(words) + 3 * len(words) + 1 <= console.width or not table.row_count:
        console.print(table)
        return
    width = max(len(str(c)) for c in frame.columns)
    if table.title:
        console.print(table.title, markup=False, highlight=False)
    for index, values in enumerate(frame.itertuples(index=False)):
        console.print(f"── row {index + 1} ──", markup=False, highlight=False)
        for column, value in zip(frame.columns, values, strict=True):
            console.print(f"{column:<{width}}  {value}", markup=False, highlight=False, soft_wrap=True)
    if table.caption:
        console.print(table.caption, markup=False, highlight=False)
