"""SIGTERM and Ctrl-C stop a sweep cleanly: finished shards kept, the manifest says "interrupted"."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path
from typing import Any

import pytest

from superscale.store import schema
from superscale.sweep import SweepTerminated, run_sweep
from tests.tiny import tiny_sweep


def _sigterm(spec: Any, on_step: Any) -> Any:
    os.kill(os.getpid(), signal.SIGTERM)  # delivered to this (main) thread at once
    raise AssertionError("SIGTERM did not interrupt the shard")


def _ctrl_c(spec: Any, on_step: Any) -> Any:
    raise KeyboardInterrupt  # what SIGINT raises in the main thread


@pytest.mark.parametrize(("train", "raised"), [(_sigterm, SweepTerminated), (_ctrl_c, KeyboardInterrupt)])
def test_a_signal_records_interrupted(tmp_path: Path, train: Any, raised: type[BaseException]) -> None:
    out = tmp_path / "s"
    previous = signal.getsignal(signal.SIGTERM)
    with pytest.raises(raised):
        run_sweep(tiny_sweep("signal"), out, quiet=True, train_fn=train)
    assert json.loads((out / schema.MANIFEST_FILE).read_text())["status"] == "interrupted"
    assert signal.getsignal(signal.SIGTERM) is previous  # the sweep's handler is gone again
