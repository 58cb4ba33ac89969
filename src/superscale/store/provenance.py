"""Provenance recorded with every run: package, torch and python versions and the git revision."""

from __future__ import annotations

import functools
import os
import platform
import subprocess
import sys
from pathlib import Path

from superscale.store import schema

__all__ = ["machine", "versions"]


@functools.lru_cache(maxsize=1)
def _git_revision() -> str:
    """The source checkout's commit (with "-dirty" if modified), or "" outside a git checkout."""
    here = Path(__file__).resolve().parent
    try:
        rev = subprocess.run(
            ["git", "-C", str(here), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5
        )
        if rev.returncode != 0:
            return ""
        dirty = subprocess.run(
            ["git", "-C", str(here), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=5,
        )
        return rev.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return ""


def versions() -> dict[str, str]:
    """Package, torch and python versions and the git revision, recorded with every run."""
    from superscale._version import __version__

    return {
        schema.SUPERSCALE_VERSION: __version__,
        schema.TORCH_VERSION: _torch_version(),
        schema.PYTHON_VERSION: sys.version.split()[0],
        schema.GIT_REVISION: _git_revision(),
    }


def _torch_version() -> str:
    import torch  # here, not at the top: reading a store needs no torch

    return str(torch.__version__)


@functools.lru_cache(maxsize=1)
def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> dict[str, object]:
    """Where and under what load a shard trained: CPU model, cores, and the 1/5/15-minute load averages at
    the moment it finished (a shared machine's timings read differently from an idle one's)."""
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count() or 0,
        "load_avg": [round(x, 2) for x in os.getloadavg()],
    }
