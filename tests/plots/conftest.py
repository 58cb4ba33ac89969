"""The synthetic store every figure test draws on (module scope: built once per test module)."""

from __future__ import annotations

import pytest

from superscale.plots import FigureData
from tests.plots.synthetic import synthetic_data


@pytest.fixture(scope="module")
def data() -> FigureData:
    return synthetic_data()
