"""Every notebook in ``notebooks/`` executes headless, from a fresh kernel, without error.

The notebooks are committed without outputs; each is executed here with nbclient in the
``python3`` kernel (jupyter_client starts the kernelspec's ``python`` as the interpreter that
runs the tests, so the notebook sees this environment and the installed project), with the
working directory ``notebooks/``. Nothing is written back: the executed copy stays in memory.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
TIMEOUT_S = 300


@pytest.mark.parametrize("path", sorted(NOTEBOOKS.glob("*.ipynb")), ids=lambda p: p.name)
def test_notebook_executes(path):
    notebook = nbformat.read(path, as_version=4)
    # Prepend a cell that records the kernel's environment, so we can check it is ours.
    probe = nbformat.v4.new_code_cell("import sys; print(sys.prefix)")
    notebook.cells.insert(0, probe)
    client = nbclient.NotebookClient(
        notebook, kernel_name="python3", timeout=TIMEOUT_S, resources={"metadata": {"path": str(NOTEBOOKS)}}
    )
    client.execute()  # raises CellExecutionError on the first failing cell
    printed = "".join(o.get("text", "") for o in notebook.cells[0].outputs).strip()
    assert printed == sys.prefix, f"the kernel runs {printed}, the tests run {sys.prefix}"
    errors = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs
              if o.output_type == "error"]
    assert errors == []
