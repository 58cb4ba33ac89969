"""Shared CLI plumbing: user mistakes become one red line and a non-zero exit, never a traceback.

Text from the user (paths, values, SQL) is escaped before Rich sees it: a path such as `out/[/]` must not
be read as markup, and `out/a:x:b` must not become an emoji (`emoji=False` on both consoles).
"""

from __future__ import annotations

import contextlib
import functools
import math
import os
import sys
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

__all__ = [
    "MAX_SEED",
    "USER_ERROR_EXIT",
    "bootstrap_option",
    "console",
    "count_option",
    "err_console",
    "escape",
    "fail",
    "number_list",
    "os_error_text",
    "seed_option",
    "user_errors",
]

MAX_SEED = 2**64 - 1  # numpy's and torch's generators take seeds in [0, 2**64)


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
        except BrokenPipeError:  # `superscale … | head`: the reader has what it wanted, nothing went wrong
            with contextlib.suppress(OSError, ValueError):  # no second error when Python flushes at exit
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            raise typer.Exit(0) from None
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


# --- numbers and lists: checked as they are parsed, one line naming the flag --------------------------


def number_list(text: str, flag: str, kind: type = float) -> tuple[Any, ...]:
    """A comma-separated list of numbers ("1,2,4"); ValueError naming `flag` for a word or an empty list."""
    words = [word.strip() for word in text.split(",") if word.strip()]
    what = "integers" if kind is int else "numbers"
    try:
        values = tuple(kind(word) for word in words)
    except ValueError:
        raise ValueError(f"{flag} must be comma-separated {what}, got {text!r}") from None
    if not values:
        raise ValueError(f"{flag} must list at least one value (comma-separated {what}), got {text!r}")
    if kind is float and not all(math.isfinite(v) for v in values):
        raise ValueError(f"{flag} must be finite numbers, got {text!r}")
    return values


def _bounded(minimum: int, maximum: int | None) -> Callable[..., Any]:
    def check(param: typer.CallbackParam, value: int | None) -> int | None:
        if value is None:
            return value
        if value < minimum or (maximum is not None and value > maximum):
            if maximum is None:
                span = f">= {minimum:,}"
            else:
                span = f"between {minimum:,} and {'2**64 - 1' if maximum == MAX_SEED else f'{maximum:,}'}"
            raise fail(f"{param.opts[0]}: must be {span}, got {value:,}")
        return value

    return check


def count_option(
    default: int | None, *names: str, help: str, minimum: int = 1, maximum: int | None = None
) -> Any:
    """An integer option refused outside [minimum, maximum] with one line ("--bins: must be >= 1, got 0")."""
    return typer.Option(default, *names, help=help, callback=_bounded(minimum, maximum))


def bootstrap_option(default: int, minimum: int = 0, help: str = "Bootstrap resamples per fit.") -> Any:
    """--bootstrap: a count of resamples (0: none, where the command has another error estimate)."""
    return count_option(default, "--bootstrap", help=help, minimum=minimum, maximum=1_000_000)


def seed_option(help: str = "Seed of the random draws.") -> Any:
    return count_option(0, "--seed", help=help, minimum=0, maximum=MAX_SEED)
