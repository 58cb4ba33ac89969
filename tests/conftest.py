"""Test-session settings: one torch thread per test process, a fixed terminal width.

The suite runs under pytest-xdist with one worker per core; a second intra-op thread per worker would
oversubscribe the cores, and OpenMP spin-waits then made small-tensor ops 100× slower.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # inherited by CLI subprocesses the tests start
# rich consoles are created at import and keep the width they saw then: make it the same everywhere, so
# a table cell never folds differently depending on which test imported the CLI first
os.environ["COLUMNS"] = "200"

import torch

torch.set_num_threads(1)
