"""The one progress reporter: a rich bar in a terminal, plain timestamped lines anywhere else, or nothing.

Every long call reports through `Reporter` (`train_toy_models`, `ToyModel.fit`, `run_sweep`,
`analyze_store`, `write_report` and the commands built on them):

- stderr is a terminal: a rich bar with the loss, the rate (model-steps/s over about the last 30 s) and
  the time left;
- stderr is not a terminal (a notebook cell, `| tee`, a cluster log): one plain line on stderr every
  `LINE_EVERY_S` seconds or every `LINE_EVERY_FRACTION` of the work, whichever comes first but at most one
  a second, plus a first and a last line, each starting with the date and time;
- `quiet=True` (`--quiet` on the command line): nothing.

`log_to("superscale.progress")` sends progress to `logging` as those lines, at INFO, instead of a bar or
stderr (a job's own log file, its format and level); `log_to(None)` restores the default. Stderr, so a
command's table on stdout stays clean when piped. The loss may be given as a callable, read only when it
is shown: a CUDA loss then costs a host sync per line, not per step.
"""

from __future__ import annotations

import logging
import math
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress as RichBar

__all__ = ["LINE_EVERY_FRACTION", "LINE_EVERY_S", "Bar", "Reporter", "log_to", "progress_bar"]

LINE_EVERY_S = 10.0  # plain lines: at least this often while work goes on ...
LINE_EVERY_FRACTION = 0.05  # ... and at each further 5 % of the work ...
LINE_MIN_GAP_S = 1.0  # ... but never more than one a second
LOSS_READ_EVERY_S = 0.25  # the bar reads a lazy loss at most this often
RATE_WINDOW_S = 30.0  # the rate shown, and the time left, are over about the last 30 s ...
RATE_SAMPLE_S = 1.0  # ... from (time, count) samples a second apart

Loss = float | Callable[[], float] | None

#: the wall clock every reporter reads (tests replace it, so both modes are checked without sleeping)
clock: Callable[[], float] = time.time

_log_target: logging.Logger | None = None


@cache
def bar_console() -> Console:
    """The console progress draws on: stderr (tests replace it with a terminal or a plain buffer)."""
    from rich.console import Console

    return Console(stderr=True)


def shows_bars() -> bool:
    """Whether progress draws a rich bar: stderr is a terminal that can redraw a line."""
    console = bar_console()
    return console.is_terminal and not console.is_dumb_terminal


def log_to(logger: str | logging.Logger | None) -> None:
    """Write progress as plain lines to `logger` at INFO, terminal or not (None: the default again)."""
    global _log_target
    _log_target = logging.getLogger(logger) if isinstance(logger, str) else logger


def _duration(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "?"
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


def _rate_text(rate: float) -> str:
    return f"{rate:,.0f}" if rate >= 100 else f"{rate:.3g}"


def _new_bar(get_time: Callable[[], float]) -> RichBar:
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeRemainingColumn
    from rich.progress import Progress as RichBar

    return RichBar(  # what, how far, the loss, the rate (whose unit names the count), the time left
        TextColumn("{task.description}"),
        BarColumn(bar_width=20),
        MofNCompleteColumn(),
        TextColumn("{task.fields[loss]}"),
        TextColumn("{task.fields[rate]}"),
        TimeRemainingColumn(),
        console=bar_console(),
        get_time=get_time,
        transient=False,
    )


class Reporter:
    """Progress of one piece of work (`total` units, e.g. model-steps), in the mode stderr calls for.

    Use it as a context manager, or call `close()`: the bar stops and the last line is written.
    `advance`/`update` move it, `loss` sets what it shows as the loss, `note` writes one line (in a
    terminal only when `always`, e.g. a warning; the bar itself says the rest).
    """

    def __init__(
        self,
        description: str,
        total: int | None = None,
        *,
        unit: str = "",
        quiet: bool = False,
        get_time: Callable[[], float] | None = None,
    ) -> None:
        self.description, self.total, self.unit = description, total, unit
        self.completed = 0
        self._clock = get_time or (lambda: clock())
        self.started = self._clock()
        if quiet:
            self.mode = "off"
        else:  # lines asked into logging are lines even on a terminal
            self.mode = "bar" if _log_target is None and shows_bars() else "lines"
        self._loss: Loss = None
        self._shown_loss = math.nan
        self._loss_read_at = -math.inf
        self._last_line_at, self._last_line_done = self.started, 0
        self._samples: deque[tuple[float, int]] = deque([(self.started, 0)])  # (time, completed) for rates
        self._closed = False
        self._bar: RichBar | None = None
        if self.mode == "bar":
            self._bar = _new_bar(self._clock)
            self._task = self._bar.add_task(description, total=total, loss="", rate="")
            self._bar.start()
        elif self.mode == "lines":
            todo = f"{total:,} {unit}".strip() if total is not None else "started"
            self._line(f"{description}: {todo}")

    # --- moving it -------------------------------------------------------------------------------------
    def advance(self, steps: int = 1, description: str | None = None, loss: Loss = None) -> None:
        self.update(self.completed + steps, description=description, loss=loss)

    def update(
        self,
        completed: int | None = None,
        total: int | None = None,
        description: str | None = None,
        loss: Loss = None,
    ) -> None:
        if completed is not None:
            self.completed = completed
            now = self._clock()
            if now - self._samples[-1][0] >= RATE_SAMPLE_S:
                self._samples.append((now, self.completed))
        if total is not None:
            self.total = total
        if description is not None:
            self.description = description
        if loss is not None:
            self.set_loss(loss)
        if self.mode == "bar":
            self._draw()
        elif self.mode == "lines" and self._line_due():
            self._progress_line()

    def set_loss(self, loss: Loss) -> None:
        """What the bar and the lines show as the loss: a number, or a callable read only when shown
        (by the bar at most every `LOSS_READ_EVERY_S`)."""
        self._loss = loss

    def note(self, text: str, always: bool = False) -> None:
        """One line: a timestamped line in plain mode; printed above the bar only when `always`."""
        if self.mode == "lines":
            self._line(text)
        elif self.mode == "bar" and always and self._bar is not None:
            self._bar.console.print(text, highlight=False, markup=False)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._bar is not None:
            self._draw(force_loss=True)
            self._bar.stop()
        elif self.mode == "lines":
            elapsed = self._clock() - self.started
            done = self.total is None or self.completed >= self.total
            what = "done" if done else "stopped"
            count = f"{self.completed:,} {self.unit}".strip()
            tail = self._tail(self._rate(recent=False))
            self._line(f"{self.description}: {what}, {count} in {_duration(elapsed)}{tail}")

    def __enter__(self) -> Reporter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- drawing ---------------------------------------------------------------------------------------
    def _read_loss(self, force: bool = False) -> float:
        if self._loss is None:
            return self._shown_loss
        if not callable(self._loss):
            self._shown_loss = float(self._loss)
        elif force or self._clock() - self._loss_read_at >= LOSS_READ_EVERY_S:
            self._shown_loss, self._loss_read_at = float(self._loss()), self._clock()
        return self._shown_loss

    def _rate(self, recent: bool = True) -> float:
        """Units a second over the last `RATE_WINDOW_S` (`recent`, what the time left rests on: a slow
        start such as compiling kernels fades out of it) or since the start."""
        now = self._clock()
        if recent:
            while len(self._samples) > 1 and now - self._samples[1][0] >= RATE_WINDOW_S:
                self._samples.popleft()
            since, done = self._samples[0]
        else:
            since, done = self.started, 0
        return (self.completed - done) / (now - since) if now > since else math.nan

    def _draw(self, force_loss: bool = False) -> None:
        assert self._bar is not None
        loss = self._read_loss(force_loss)
        rate = self._rate()
        self._bar.update(
            self._task,
            completed=self.completed,
            total=self.total,
            description=self.description,
            loss=f"loss {loss:.4g}" if math.isfinite(loss) else "",
            rate=f"{_rate_text(rate)} {self.unit}/s" if self.unit and math.isfinite(rate) else "",
        )

    def _line_due(self) -> bool:
        since = self._clock() - self._last_line_at
        if since >= LINE_EVERY_S:
            return True
        if not self.total or since < LINE_MIN_GAP_S:
            return False
        return (self.completed - self._last_line_done) / self.total >= LINE_EVERY_FRACTION

    def _tail(self, rate: float) -> str:
        """ ", loss 0.1234, 410 model-steps/s" (what is known)."""
        parts = []
        loss = self._read_loss(force=True)
        if math.isfinite(loss):
            parts.append(f"loss {loss:.4g}")
        if self.unit and math.isfinite(rate):
            parts.append(f"{_rate_text(rate)} {self.unit}/s")
        return "".join(f", {part}" for part in parts)

    def _progress_line(self) -> None:
        if self.total:
            share = f" ({100 * self.completed / self.total:.0f} %)"
            count = f"{self.completed:,}/{self.total:,} {self.unit}".strip() + share
        else:
            count = f"{self.completed:,} {self.unit}".strip()
        rate = self._rate()
        left = ""
        if self.total and math.isfinite(rate) and rate > 0:
            left = f", {_duration((self.total - self.completed) / rate)} left"
        self._line(f"{self.description}: {count}{self._tail(rate)}{left}")

    def _line(self, text: str) -> None:
        now = self._clock()
        self._last_line_at, self._last_line_done = now, self.completed
        if _log_target is not None:
            _log_target.info(text)
            return
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(now))
        stream = bar_console().file
        stream.write(f"{stamp} {text}\n")
        stream.flush()


Bar = Reporter  # the name the report builder and analysis use for the object they advance


@contextmanager
def progress_bar(
    description: str, total: int | None = None, quiet: bool = False, unit: str = ""
) -> Iterator[Reporter]:
    """A `Reporter` for one loop, closed at the end of the block (also on an error)."""
    reporter = Reporter(description, total, unit=unit, quiet=quiet)
    try:
        yield reporter
    finally:
        reporter.close()
