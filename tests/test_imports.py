"""The core stays thin: importing it loads no figure stack, and the package root loads nothing heavy."""

from __future__ import annotations

import subprocess
import sys


def _loaded(code: str, names: tuple[str, ...]) -> list[str]:
    probe = f"import sys; {code}; print(','.join(m for m in {names!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True, text=True)
    return [name for name in out.stdout.strip().split(",") if name]


def test_package_root_imports_nothing_heavy() -> None:
    assert _loaded("import superscale", ("torch", "pandas", "matplotlib", "superscale.train.engine")) == []


def test_core_loads_no_figure_stack() -> None:
    heavy = ("matplotlib", "superscale.plots", "superscale.report", "superscale.llm", "superscale.aspect")
    code = "import superscale.train.engine, superscale.sweep, superscale.analysis.analyze, superscale.store"
    assert _loaded(code, heavy) == []


def test_cli_help_loads_no_torch() -> None:
    code = "from superscale.cli import app"
    assert _loaded(code, ("torch", "pandas", "matplotlib")) == []


def test_root_attribute_loads_its_module() -> None:
    code = "import superscale; superscale.power_law_probs"
    assert _loaded(code, ("superscale.train.data", "superscale.report")) == ["superscale.train.data"]


def test_reading_a_store_loads_no_torch() -> None:
    """`superscale ls/show/query` open stores without the engine: torch loads with the first weights."""
    code = "import superscale.cli, superscale.store, superscale.cli.tables"
    assert _loaded(code, ("torch", "matplotlib")) == []
