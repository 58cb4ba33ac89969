"""The tree is the diagram: every part of the package sits in exactly one stage of the layers contract
(pyproject.toml, checked by `lint-imports` in ./dev.sh test), and the top level stays small."""

from __future__ import annotations

import tomllib
from pathlib import Path

import superscale

PACKAGE = Path(superscale.__file__).parent
PYPROJECT = PACKAGE.parents[1] / "pyproject.toml"


def _layers() -> list[list[str]]:
    config = tomllib.loads(PYPROJECT.read_text())["tool"]["importlinter"]
    (contract,) = [c for c in config["contracts"] if c["type"] == "layers"]
    return [[name.strip() for name in layer.split("|")] for layer in contract["layers"]]


def test_every_module_and_folder_of_the_package_is_in_one_layer() -> None:
    named = [name for layer in _layers() for name in layer]
    assert len(named) == len(set(named)), "a module is named in two layers"
    parts = {f"superscale.{p.stem}" for p in PACKAGE.glob("*.py") if p.name != "__init__.py"}
    parts |= {f"superscale.{p.name}" for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()}
    assert parts == set(named)


def test_the_top_level_keeps_only_cross_cutting_modules() -> None:
    modules = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert modules == ["__init__.py", "_checks.py", "_version.py", "progress.py"]


def test_no_source_file_over_400_lines_and_no_test_file_over_500() -> None:
    tests = PACKAGE.parents[1] / "tests"
    long_sources = [p for p in PACKAGE.rglob("*.py") if len(p.read_text().splitlines()) > 400]
    long_tests = [p for p in tests.rglob("*.py") if len(p.read_text().splitlines()) > 500]
    assert long_sources == [] and long_tests == []
