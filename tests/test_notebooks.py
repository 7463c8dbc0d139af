"""Every notebook in ``notebooks/`` executes headless, from a fresh kernel, without error.

The notebooks are committed without outputs; each is executed here with nbclient in the
``python3`` kernel (jupyter_client starts the kernelspec's ``python`` as the interpreter that
runs the tests, so the notebook sees this environment and the installed project), with the
working directory ``notebooks/``. Nothing is written back: the executed copy stays in memory.

Each notebook is a background job of the session (``conftest.Background``): the jobs start when
collection ends and run one at a time, in their own kernels, while the other tests do; each test
here checks its notebook. One at a time, so that the jobs take one core and leave the other to
the tests (run at the same time, the six kernels took both cores from the tests, and the session
ended with the tests running alone on one core); one job per notebook, so that the jobs left at
the end run on both cores (a test waiting for a job runs the next one meanwhile).
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


def _quiet_log():
    """A logger that prints nothing: the notebooks run beside tests that read what is printed
    (a failure is raised, with the kernel's output, in the notebook's own test)."""
    import logging

    log = logging.getLogger("lorank.tests.notebooks")
    log.addHandler(logging.NullHandler())
    log.propagate = False
    return log


def _client(path, folder):
    notebook = nbformat.read(path, as_version=4)
    # Prepend a cell that records the kernel's environment, so we can check it is ours.
    probe = nbformat.v4.new_code_cell("import sys; print(sys.prefix)")
    notebook.cells.insert(0, probe)
    # The kernels talk over IPC sockets in the job's folder (one set per notebook), not TCP: a TCP
    # port the kernel manager found free can be taken by another process (a torchrun launch of a
    # background job) before the kernel binds it ("Address already in use": the kernel dies).
    from traitlets.config import Config

    sockets = {"transport": "ipc", "ip": str(Path(folder) / f"{path.stem}-ipc")}

    return nbclient.NotebookClient(
        notebook, kernel_name="python3", timeout=TIMEOUT_S, resources={"metadata": {"path": str(NOTEBOOKS)}},
        log=_quiet_log(), config=Config({"KernelManager": sockets}),
    )


def execute(path: Path, folder: Path) -> tuple:
    """The notebook at ``path`` executed in a fresh kernel: (the executed notebook, or the
    exception its execution raised: CellExecutionError on the first failing cell, or a dead
    kernel; the kernel's output, kept in ``folder``)."""
    import asyncio

    client = _client(path, folder)
    log = folder / f"{path.stem}.log"
    with open(log, "wb") as f:
        try:
            outcome = asyncio.run(client.async_execute(stdout=f, stderr=f))
        except Exception as error:  # reported by the notebook's test
            outcome = error
    return (client.nb if not isinstance(outcome, BaseException) else outcome,
            log.read_bytes().decode(errors="replace"))


def _job_key(path: Path) -> str:
    return f"notebook:{path.name}"


#: One job per notebook, so that the jobs left at the end of a session run on both cores.
BACKGROUND_JOBS = {_job_key(path): (lambda folder, path=path: execute(path, folder)) for path in PATHS}


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.name)
def test_notebook_file_is_valid_as_committed(path):
    # Property: the committed file validates against its nbformat schema as it stands, with an
    # id on every cell (nbformat >= 4.5 requires them; reading a file without them adds them in
    # memory and warns that this will become an error).
    import json

    raw = json.loads(path.read_text())
    assert (raw["nbformat"], raw["nbformat_minor"]) >= (4, 5)
    assert [i for i, cell in enumerate(raw["cells"]) if "id" not in cell] == []
    nbformat.validate(raw, version=raw["nbformat"], version_minor=raw["nbformat_minor"])


@pytest.mark.parametrize("path", [pytest.param(p, marks=pytest.mark.background(_job_key(p)))
                                  for p in PATHS], ids=lambda p: p.name)
def test_notebook_executes(path, background, request):
    notebook, output = background.result(request.module, _job_key(path))
    if isinstance(notebook, BaseException):  # CellExecutionError, or a kernel that died
        raise AssertionError(f"{path.name} failed; the kernel's output:\n{output[-3000:]}") from notebook
    printed = "".join(o.get("text", "") for o in notebook.cells[0].outputs).strip()
    assert printed == sys.prefix, f"the kernel runs {printed}, the tests run {sys.prefix}"
    errors = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs
              if o.output_type == "error"]
    assert errors == []
