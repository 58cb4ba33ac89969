"""Progress bars for the long library calls (rich): shown in a terminal or a notebook, never in logs.

`train_toy_models`, `run_sweep`, `analyze_store` and `write_report` take `quiet=True` to switch them off.
Bars go to stderr, so a command's table on stdout stays clean when piped; library logging stays logging.
In a notebook rich draws through ipywidgets (`pip install ipywidgets`); without it no bar is shown.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress as RichBar


@cache
def bar_console() -> Console:
    """The one console every bar draws on (stderr)."""
    from rich.console import Console

    return Console(stderr=True)


def shows_bars() -> bool:
    """Whether a bar would be seen: a terminal, or a notebook with ipywidgets (rich's Jupyter display)."""
    console = bar_console()
    if console.is_jupyter:
        try:
            import ipywidgets  # noqa: F401
        except ImportError:
            return False
        return True
    return console.is_terminal and not console.is_dumb_terminal


def new_bar(*extra_columns: str) -> RichBar:
    """A rich bar: description, bar, done/total, `extra_columns` (task fields), elapsed, remaining."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )
    from rich.progress import Progress as RichBar

    fields = [TextColumn(f"{{task.fields[{name}]}}") for name in extra_columns]
    return RichBar(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        *fields,
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=bar_console(),
    )


class Bar:
    """One task of a rich bar, or nothing at all (quiet, or nobody would see it)."""

    def __init__(self, bar: RichBar | None, description: str, total: int | None) -> None:
        self._bar = bar
        self._task = bar.add_task(description, total=total) if bar is not None else None

    def update(self, completed: int, total: int | None = None, description: str | None = None) -> None:
        if self._bar is not None and self._task is not None:
            self._bar.update(self._task, completed=completed, total=total, description=description)

    def advance(self, steps: int = 1, description: str | None = None) -> None:
        if self._bar is not None and self._task is not None:
            self._bar.update(self._task, advance=steps, description=description)


@contextmanager
def progress_bar(description: str, total: int | None = None, quiet: bool = False) -> Iterator[Bar]:
    """A bar for one loop; a silent stand-in when `quiet` or when no terminal or notebook shows it."""
    if quiet or not shows_bars():
        yield Bar(None, description, total)
        return
    with new_bar() as bar:
        yield Bar(bar, description, total)
