"""The example notebooks run top to bottom in a fresh kernel, so they never rot, and the committed copies
carry the outputs of such a run (figures visible on the repository page, cells numbered 1, 2, … in order).

To refresh the committed outputs after changing a notebook or the code it calls:
    python -m tests.test_notebook          # executes examples/*.ipynb in place, from a clean kernel
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
#: notebook → how many figures it draws
NOTEBOOKS = {"quickstart.ipynb": 2, "one_model.ipynb": 2}


def execute(path: Path, cwd: Path) -> Any:
    """Run the notebook at `path` in a fresh python3 kernel started in `cwd`; return it with outputs."""
    import nbclient
    import nbformat

    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:  # a clean state: nothing from an earlier run survives
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    client = nbclient.NotebookClient(
        notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(cwd)}}
    )
    client.execute()  # raises CellExecutionError, with the cell and its traceback, when a cell fails
    return notebook


def _outputs(notebook: Any) -> list[Any]:
    return [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]


def _images(notebook: Any) -> int:
    return sum("image/png" in o.get("data", {}) for o in _outputs(notebook))


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # jupyter's own, in this (client) process
@pytest.mark.parametrize("name", sorted(NOTEBOOKS))
def test_notebook_executes_from_a_clean_state(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("nbformat")
    pytest.importorskip("nbclient")
    monkeypatch.setenv("JUPYTER_PLATFORM_DIRS", "1")
    monkeypatch.setenv("OMP_NUM_THREADS", os.environ.get("OMP_NUM_THREADS", "1"))
    notebook = execute(EXAMPLES / name, tmp_path)
    assert not [o for o in _outputs(notebook) if o.get("output_type") == "error"]
    assert _images(notebook) == NOTEBOOKS[name]
    assert list(tmp_path.iterdir()) == []  # nothing written where the notebook was opened
    text = "".join(o.get("text", "") for o in _outputs(notebook) if o.get("name") == "stderr")
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d .*: done, ", text)  # progress lines in the cell
    if name == "quickstart.ipynb":
        store_repr = notebook.cells[3].outputs[-1]["data"]["text/plain"]
        assert store_repr.startswith("<Store 'quickstart': 8/8 runs done, 0 failed, complete")
        store = Path(re.search(r"path='(.*)'", store_repr).group(1))  # type: ignore[union-attr]
        assert (store / "fits.parquet").is_file()  # in the notebook's temporary folder


@pytest.mark.parametrize("name", sorted(NOTEBOOKS))
def test_committed_notebook_holds_the_outputs_of_a_clean_run(name: str) -> None:
    nbformat = pytest.importorskip("nbformat")
    notebook = nbformat.read(EXAMPLES / name, as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert [cell.execution_count for cell in code] == list(range(1, len(code) + 1))
    assert not [o for o in _outputs(notebook) if o.get("output_type") == "error"]
    assert _images(notebook) == NOTEBOOKS[name]


if __name__ == "__main__":
    import nbformat

    os.environ.setdefault("OMP_NUM_THREADS", "1")
    for notebook_name in NOTEBOOKS:
        done = execute(EXAMPLES / notebook_name, EXAMPLES)
        nbformat.write(done, EXAMPLES / notebook_name)
        print(f"executed {notebook_name}: {_images(done)} figures")
