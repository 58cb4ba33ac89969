"""The one progress reporter in its three modes, on an injected console and clock (no sleeping):
a rich bar with the loss and the rate on a terminal, timestamped lines every 10 s or 5 % elsewhere,
nothing when quiet; lazy losses read only when shown; lines into `logging` on request."""

from __future__ import annotations

import io
import logging
import re

import pytest
from rich.console import Console

from superscale import progress

STAMP = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(progress, "clock", fake)
    return fake


def _console(monkeypatch: pytest.MonkeyPatch, terminal: bool) -> io.StringIO:
    out = io.StringIO()
    console = Console(file=out, force_terminal=terminal, width=160)
    monkeypatch.setattr(progress, "bar_console", lambda: console)
    return out


def test_plain_lines_every_5_percent_at_most_once_a_second(
    monkeypatch: pytest.MonkeyPatch, clock: FakeClock
) -> None:
    out = _console(monkeypatch, terminal=False)
    with progress.Reporter("training", 1000, unit="model-steps") as reporter:
        for _ in range(1000):
            clock.now += 0.1  # 10 units a second: 5 % (50 units) every 5 s
            reporter.advance(loss=0.5)
    lines = out.getvalue().splitlines()
    assert all(re.match(STAMP + " training: ", line) for line in lines)
    assert lines[0].endswith("training: 1,000 model-steps")
    counts = [
        int(m.group(1).replace(",", "")) for m in map(re.compile(r": ([\d,]+)/1,000").search, lines) if m
    ]
    assert counts == [*range(50, 1000, 50), 1000]  # one line per further 5 %, up to the end
    assert "(5 %), loss 0.5, 10 model-steps/s, 1 min 35 s left" in lines[1]
    assert lines[-1].endswith("training: done, 1,000 model-steps in 1 min 40 s, loss 0.5, 10 model-steps/s")


def test_plain_lines_every_10_s_when_5_percent_takes_longer(
    monkeypatch: pytest.MonkeyPatch, clock: FakeClock
) -> None:
    out = _console(monkeypatch, terminal=False)
    with progress.Reporter("slow", 100, unit="steps") as reporter:
        for _ in range(10):
            clock.now += 4.0  # 1 % per 4 s: the 10 s rule fires, every third step
            reporter.advance()
    middle = out.getvalue().splitlines()[1:-1]
    assert [line.split("slow: ")[1].split(" ")[0] for line in middle] == ["3/100", "6/100", "9/100"]
    assert out.getvalue().splitlines()[-1].endswith("slow: stopped, 10 steps in 40 s, 0.25 steps/s")


def test_fast_work_writes_no_more_than_a_line_a_second(
    monkeypatch: pytest.MonkeyPatch, clock: FakeClock
) -> None:
    out = _console(monkeypatch, terminal=False)
    with progress.Reporter("fast", 100) as reporter:
        for _ in range(100):
            clock.now += 0.001  # the whole job takes 0.1 s
            reporter.advance()
    assert len(out.getvalue().splitlines()) == 2  # the first and the last line only


def test_a_lazy_loss_is_read_only_when_a_line_shows_it(
    monkeypatch: pytest.MonkeyPatch, clock: FakeClock
) -> None:
    out = _console(monkeypatch, terminal=False)
    reads = []

    def loss() -> float:
        reads.append(clock.now)
        return 0.25

    with progress.Reporter("lazy", 100, unit="steps") as reporter:
        for _ in range(100):
            clock.now += 1.0
            reporter.advance(loss=loss)
    n_lines = len(out.getvalue().splitlines())
    assert len(reads) == n_lines - 1  # every line but the first, which has no loss yet
    assert "loss 0.25" in out.getvalue()


def test_a_terminal_gets_a_bar_with_loss_and_rate(monkeypatch: pytest.MonkeyPatch, clock: FakeClock) -> None:
    out = _console(monkeypatch, terminal=True)
    assert progress.shows_bars()
    with progress.Reporter("training", 200, unit="model-steps") as reporter:
        for _ in range(200):
            clock.now += 0.01
            reporter.advance(loss=0.1234)
    text = out.getvalue()
    assert "training" in text and "200/200" in text
    assert "loss 0.1234" in text and "100 model-steps/s" in text
    assert not re.search(STAMP, text)  # no plain lines on a terminal


def test_a_note_prints_above_a_bar_only_when_it_must(
    monkeypatch: pytest.MonkeyPatch, clock: FakeClock
) -> None:
    out = _console(monkeypatch, terminal=True)
    with progress.Reporter("x", 2) as reporter:
        reporter.note("a shard finished")
        reporter.note("2 runs diverged", always=True)
    assert "2 runs diverged" in out.getvalue() and "a shard finished" not in out.getvalue()


@pytest.mark.parametrize("terminal", [True, False])
def test_quiet_writes_nothing(monkeypatch: pytest.MonkeyPatch, clock: FakeClock, terminal: bool) -> None:
    out = _console(monkeypatch, terminal=terminal)
    with progress.progress_bar("x", total=3, quiet=True) as bar:
        bar.advance(loss=1.0)
        bar.note("hello", always=True)
    assert out.getvalue() == ""


def test_lines_go_to_logging_on_request(
    monkeypatch: pytest.MonkeyPatch, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    out = _console(monkeypatch, terminal=True)  # asked for: lines into the log, not a bar
    progress.log_to("superscale.progress")
    try:
        with caplog.at_level(logging.INFO, logger="superscale.progress"), progress.Reporter("job", 2) as r:
            r.advance(2)
    finally:
        progress.log_to(None)
    assert out.getvalue() == ""
    assert [rec.getMessage() for rec in caplog.records] == ["job: 2", "job: done, 2 in 0 s"]


def test_rate_and_time_left_follow_the_last_30_s_and_the_last_line_the_whole_run(
    monkeypatch: pytest.MonkeyPatch, clock: FakeClock
) -> None:
    out = _console(monkeypatch, terminal=False)
    with progress.Reporter("warm", 10_000, unit="steps") as reporter:
        clock.now += 60.0  # a slow first step (kernels compiling, say) ...
        reporter.advance()
        for _ in range(5000):  # ... then 100 steps a second
            clock.now += 0.01
            reporter.advance()
    lines = out.getvalue().splitlines()
    assert "1/10,000 steps (0 %), 0.0167 steps/s" in lines[1]  # what was known then
    last = [line for line in lines if " left" in line][-1]
    assert last.endswith(", 100 steps/s, 50 s left")  # the slow start has left the window
    assert lines[-1].endswith("warm: stopped, 5,001 steps in 1 min 50 s, 45.5 steps/s")
