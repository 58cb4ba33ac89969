"""Shared CLI plumbing: user mistakes become one red line and a non-zero exit, never a traceback."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

import typer
from rich.console import Console

P = ParamSpec("P")
R = TypeVar("R")

console = Console()
err_console = Console(stderr=True)

USER_ERROR_EXIT = 2


def fail(message: str) -> typer.Exit:
    """Print `message` as one red line on stderr and return the Exit to raise."""
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(USER_ERROR_EXIT)


def user_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Turn ValueError / FileNotFoundError / FileExistsError raised by the library into `fail`."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except (ValueError, FileNotFoundError, FileExistsError, NotADirectoryError) as exc:
            raise fail(str(exc)) from None

    return wrapper
