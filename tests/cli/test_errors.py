"""A user's mistake or the machine's gets one plain line and exit 2: never a traceback, never Rich markup."""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from superscale.cli import app
from superscale.config import dump_toml, parse_config
from superscale.store import atomic
from tests.tiny import tiny_sweep

runner = CliRunner()
TINY: dict[str, Any] = {**tiny_sweep("errors"), "m": 3, "gamma": -1.0, "seeds": 0}


def _config(tmp_path: Path, text: str | None = None, **changes: Any) -> Path:
    file = tmp_path / "config.toml"
    file.write_text(text if text is not None else dump_toml(parse_config({**TINY, **changes})))
    return file


def _error_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.strip()]


@pytest.mark.parametrize(
    ("flag", "value", "line"),
    [
        ("--device", "tpu", "error: --device: must be auto, cpu, cuda or cuda:N, got 'tpu'"),
        ("--threads", "0", "error: --threads: Input should be greater than or equal to 1, got 0"),
        ("--executor", "slurm", "error: --executor: Input should be 'local' or 'ray', got 'slurm'"),
    ],
)
def test_a_bad_flag_is_one_line_naming_it(tmp_path: Path, flag: str, value: str, line: str) -> None:
    result = runner.invoke(app, ["run", str(_config(tmp_path)), "--out", str(tmp_path / "s"), flag, value])
    assert result.exit_code == 2
    assert _error_lines(result.output) == [line]
    assert not (tmp_path / "s").exists()


def test_markup_and_emoji_codes_in_user_text_are_printed_as_typed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # "[/]" used to end in a MarkupError traceback, "a:x:b" to print as an emoji
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["run", str(_config(tmp_path)), "--out", "a:x:b[/]"])
    assert result.exit_code == 0, result.output
    assert "in 'a:x:b[/]'" in result.output
    result = runner.invoke(app, ["ls", "a:x:b["])  # a directory of stores: "a:x:b[/]" is its child "]"
    assert result.exit_code == 0, result.output
    assert "a:x:b[/]" in result.output
    missing = tmp_path / "no[/bold]where"
    result = runner.invoke(app, ["show", str(missing)])
    assert result.exit_code == 2
    assert _error_lines(result.output) == [
        f"error: {str(missing)!r} is not a superscale store (no sweep.toml)"
    ]


def test_a_value_in_brackets_is_shown(tmp_path: Path) -> None:
    # the list "[nan, -1.0]" was eaten as a markup tag: "must be finite, got nan (got )"
    file = _config(tmp_path, "n = 20\nm = 3\ngamma = [nan, -1.0]\n")
    result = runner.invoke(app, ["run", str(file), "--out", str(tmp_path / "s")])
    assert result.exit_code == 2
    assert "gamma: must be finite, got nan (got [nan, -1.0])" in result.output


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("n = true\nm = 3\n", "n: must be a number, not a boolean, got True"),
        ("n = 20\nm = 3\n[lr.W]\npower = nan\n", "lr.W.power: Input should be a finite number"),
        ("n = 20\nm = 3\n[lr.W]\nref_m = inf\n", "lr.W.ref_m: Input should be a finite number"),
        ("n = 20\nm = 3\n[train]\nloss_scale = inf\n", "train.loss_scale: Input should be a finite number"),
        ("n = 20\nm = 3\n[data]\nalpha = -1000.0\n", "gives weights that are not finite positive numbers"),
        ('n = 2\nm = 1\n[data]\nfamily = "custom"\nvalues = [0.0, 0.0]\n', "custom probabilities are all 0"),
        ("n = 20\nm = 3\ngamma = 1e6\n", "weight-decay step η·|γ| = 1e+04 ≥ 1"),
    ],
)
def test_values_that_cannot_train_are_refused_before_a_byte_is_written(
    tmp_path: Path, text: str, expected: str
) -> None:
    result = runner.invoke(app, ["run", str(_config(tmp_path, text)), "--out", str(tmp_path / "s")])
    assert result.exit_code == 2, result.output
    assert expected in result.output and "Traceback" not in result.output
    assert not (tmp_path / "s").exists()


def test_a_config_that_is_not_utf8_is_named(tmp_path: Path) -> None:
    file = tmp_path / "latin1.toml"
    file.write_bytes('name = "für"\n'.encode("latin-1"))
    result = runner.invoke(app, ["run", str(file), "--out", str(tmp_path / "s")])
    assert result.exit_code == 2
    assert _error_lines(result.output) == [
        f"error: {str(file)!r} is not UTF-8 text (byte 0xfc at offset 9); save it as UTF-8"
    ]


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EROFS])
def test_a_full_or_read_only_disk_is_one_line_and_leaves_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int
) -> None:
    def no_room(fd: int) -> None:
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(atomic.os, "fsync", no_room)
    out = tmp_path / "s"
    result = runner.invoke(app, ["run", str(_config(tmp_path)), "--out", str(out), "--quiet"])
    assert result.exit_code == 2
    lines = _error_lines(result.output)
    assert lines == [f"error: could not write {str(out / 'sweep.toml')!r}: {os.strerror(code)}"]
    assert not [p for p in out.rglob("*") if atomic.TMP_MARK in p.name]
