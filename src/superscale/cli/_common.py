"""Shared CLI plumbing: user mistakes become one red line and a non-zero exit, never a traceback.

Text from the user (paths, values, SQL) is escaped before Rich sees it: a path such as `out/[/]` must not
be read as markup, and `out/a:x:b` must not become an emoji (`emoji=False` on both consoles).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

P = ParamSpec("P")
R = TypeVar("R")

console = Console(emoji=False)
err_console = Console(stderr=True, emoji=False)
for _console in (console, err_console):
    if not _console.is_terminal:  # piped or redirected: lines and tables whole, never wrapped at 80 columns
        _console.soft_wrap = True
        _console.width = 10_000

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


# --- the one flag vocabulary of every command (docs/cli.md) --------------------------------
# a directory a command writes: --out/-o; one it reads: a positional DIR; the sweep to train: --preset
# (a preset name or a TOML file); the device: --device auto|cpu|cuda, auto unless a config says otherwise;
# no progress output: --quiet/-q; features n and width m: --n, --m (the config's names).


def out_option(default: Any = ..., help: str = "Store directory (created; re-run to resume).") -> Any:
    return typer.Option(default, "--out", "-o", help=help, show_default=default is not ...)


def quiet_option() -> Any:
    return typer.Option(False, "--quiet", "-q", help="No progress output.")


def device_option(default: str | None = "auto", what: str = "") -> Any:
    config = " (default: the config's [execution] device, else auto)" if default is None else ""
    return typer.Option(
        default, "--device", help=f"auto | cpu | cuda | cuda:N{what}; auto: CUDA when present{config}."
    )


def preset_option(default: str) -> Any:
    return typer.Option(
        default, "--preset", "-p", help="A preset name (`superscale presets`) or a sweep TOML file."
    )
