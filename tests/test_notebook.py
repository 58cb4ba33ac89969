"""examples/quickstart.ipynb runs top to bottom in a fresh kernel, so the notebook never rots."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

NOTEBOOK = Path(__file__).resolve().parents[1] / "examples" / "quickstart.ipynb"


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # jupyter's own, in this (client) process
def test_quickstart_notebook_executes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    monkeypatch.setenv("JUPYTER_PLATFORM_DIRS", "1")
    monkeypatch.setenv("OMP_NUM_THREADS", os.environ.get("OMP_NUM_THREADS", "1"))
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(
        notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()  # raises CellExecutionError, with the cell and its traceback, when a cell fails
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    store_repr = notebook.cells[3].outputs[-1]["data"]["text/plain"]
    assert store_repr.startswith("<Store 'quickstart': 8/8 runs done, 0 failed, complete")
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) == 2  # the row norms, and the two report figures in one
    assert (tmp_path / "runs" / "quickstart" / "fits.parquet").is_file()
