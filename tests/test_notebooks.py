"""Every notebook in ``notebooks/`` executes headless, from a fresh kernel, without error.

The notebooks are committed without outputs; each is executed here with nbclient in the
``python3`` kernel (jupyter_client starts the kernelspec's ``python`` as the interpreter that
runs the tests, so the notebook sees this environment and the installed project), with the
working directory ``notebooks/``. Nothing is written back: the executed copy stays in memory.

The notebooks run at the same time, each in its own kernel (nbclient's ``async_execute``, one
event loop): a kernel is one busy process while the tests' process waits, so on a machine with
two cores this takes about the time of the longest notebook instead of the sum.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
TIMEOUT_S = 300


PATHS = sorted(NOTEBOOKS.glob("*.ipynb"))


def _client(path):
    notebook = nbformat.read(path, as_version=4)
    # Prepend a cell that records the kernel's environment, so we can check it is ours.
    probe = nbformat.v4.new_code_cell("import sys; print(sys.prefix)")
    notebook.cells.insert(0, probe)
    return nbclient.NotebookClient(
        notebook, kernel_name="python3", timeout=TIMEOUT_S, resources={"metadata": {"path": str(NOTEBOOKS)}}
    )


@pytest.fixture(scope="module")
def executed():
    """Every notebook executed, concurrently: path -> (its executed notebook, or the exception
    its execution raised, e.g. CellExecutionError on the first failing cell)."""
    import asyncio

    clients = [_client(path) for path in PATHS]

    async def run_all():
        return await asyncio.gather(*(c.async_execute() for c in clients), return_exceptions=True)

    outcomes = asyncio.run(run_all())
    return {path: (c.nb if not isinstance(o, BaseException) else o)
            for path, c, o in zip(PATHS, clients, outcomes)}


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.name)
def test_notebook_executes(executed, path):
    notebook = executed[path]
    if isinstance(notebook, BaseException):
        raise notebook  # CellExecutionError on the first failing cell, or a kernel failure
    printed = "".join(o.get("text", "") for o in notebook.cells[0].outputs).strip()
    assert printed == sys.prefix, f"the kernel runs {printed}, the tests run {sys.prefix}"
    errors = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs
              if o.output_type == "error"]
    assert errors == []
