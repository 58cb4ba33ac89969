"""Provenance recorded with every run: package, torch and python versions and the git revision."""

from __future__ import annotations

import functools
import subprocess
import sys
from pathlib import Path

from superscale.store import schema

__all__ = ["versions"]


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
