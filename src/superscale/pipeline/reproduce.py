"""Train → analyse → report in one call: the README's main job (`superscale reproduce`).

Each stage is idempotent, so re-running after a crash or Ctrl-C resumes where the last run stopped:
finished shards are not retrained, analysed runs are not re-measured, and the report is rebuilt.
"""

from __future__ import annotations

from pathlib import Path

from superscale.pipeline.analyze import AnalysisResult, analyze_store
from superscale.pipeline.store import Store, run_sweep
from superscale.report import write_report
from superscale.sweep.events import Progress

__all__ = ["DEFAULT_PRESET", "reproduce"]

#: the quick E2 α scan: shows both regimes (α_m ≈ 1 for γ < 0; α − 1 for γ > 0) in minutes on a CPU
DEFAULT_PRESET = "paper-e2-alpha-quick"


def reproduce(
    preset: str = DEFAULT_PRESET,
    out: str | Path = "runs/paper-e2-alpha-quick",
    device: str = "auto",
    quiet: bool = False,
    progress: Progress | None = None,
) -> tuple[Store, AnalysisResult, Path]:
    """Run `preset` into `out`, analyse it and write its report; returns (store, analysis, report path)."""
    store = run_sweep(preset, out, device=device, quiet=quiet, progress=progress)
    analysis = analyze_store(store, quiet=quiet)
    return store, analysis, write_report(store.path, quiet=quiet)
