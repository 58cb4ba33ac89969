"""Shared CLI plumbing: user mistakes become one red line and a non-zero exit, never a traceback.

Text from the user (paths, values, SQL) is escaped before Rich sees it: a path such as `out/[/]` must not
be read as markup, and `out/a:x:b` must not become an emoji (`emoji=False` on both consoles).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

P = ParamSpec("P")
R = TypeVar("R")

console = Console(emoji=False)
err_console = Console(stderr=True, emoji=False)

USER_ERROR_EXIT = 2

__all__ = ["USER_ERROR_EXIT", "console", "err_console", "escape", "fail", "os_error_text", "user_errors"]


def fail(message: str) -> typer.Exit:
    """Print `message` (plain text, never markup) as one red line on stderr and return the Exit to raise."""
    err_console.print(f"[bold red]error:[/] {escape(message.strip())}", highlight=False, soft_wrap=True)
    return typer.Exit(USER_ERROR_EXIT)


def os_error_text(exc: OSError) -> str:
    """The OS's reason and the file: "No space left on device (out/runs.parquet)", no errno prefix."""
    if exc.strerror is None:  # raised by superscale with its own message
        return str(exc)
    where = f" ({exc.filename})" if exc.filename else ""
    return f"{exc.strerror}{where}"


def user_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Turn the library's ValueError / OSError (a missing, unwritable or full path) into `fail`."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except ValueError as exc:
            raise fail(str(exc)) from None
        except OSError as exc:
            raise fail(os_error_text(exc)) from None

    return wrapper
