"""SIGTERM and Ctrl-C stop a sweep cleanly: finished shards kept, the manifest says "interrupted"."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from superscale import schema

SCRIPT = """
import sys, time
from pathlib import Path
from superscale.sweep import run_sweep
from tests.tiny import tiny_sweep

def train(spec, on_step):  # the first shard waits here until the test signals the process
    Path(sys.argv[2]).touch()
    while True:
        time.sleep(0.05)

run_sweep(tiny_sweep("signal"), sys.argv[1], quiet=True, train_fn=train)
"""


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_records_interrupted(tmp_path: Path, signum: int) -> None:
    out, started = tmp_path / "s", tmp_path / "started"
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root / "src"), str(root)])}
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT, str(out), str(started)], env=env, cwd=root)
    try:
        deadline = time.monotonic() + 120  # a guard against a hang, not a timing assertion
        while not started.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert started.exists(), "the sweep never reached its first shard"
        proc.send_signal(signum)
        proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode != 0
    assert json.loads((out / schema.MANIFEST_FILE).read_text())["status"] == "interrupted"
