"""Shared test configuration.

- Hypothesis profiles: ``ci`` (the default, fast) and ``thorough`` (many more examples), chosen
  with the environment variable ``LORANK_HYPOTHESIS_PROFILE``.
- mpmath's global precision is reset before every test, so no test leaks precision into another.
- torch runs one intra-op CPU thread (``OMP_NUM_THREADS=1`` unless already set, so subprocesses and
  notebook kernels inherit it), as every experiment's CPU run does (``threads`` option, default 1,
  :func:`numerics.engine.capacity.torch_threads`): the tests' problems are small, and on a small or
  shared CPU two threads mostly wait on each other (a rank-sweep test took 21 s with two threads
  on the 2-core machine under load, 0.3 s with one). Results do not depend on the thread count.
- The pytest header prints the versions and the torch backend; the terminal summary prints the
  theorem ledger, so a test run doubles as a theorem check.
- ``checked_verdicts`` and ``proof_entries``: every statement checked by both routes (a few
  seconds), once per session (in a fresh process, the first background job: see below), and the
  ledger's entries of that check; shared by the tests of the
  verdicts and of what the ledger and the CLI do with them (``shared_proof_entries`` hands them
  to :mod:`lorank.ledger` in place of a fresh check). The session's check is timed
  (``test_check_all_is_fast_and_fresh``) and the console script runs one of its own; the terminal summary
  prints the session's entries if a test checked them.
- ``background``: work done in other processes (notebook kernels, Triton's interpreter, the console
  script, torchrun launches) starts as soon as collection ends and runs, one job at a time, on a
  helper thread while the tests run in this process; the tests that read a job's result run last
  and wait for it, running the jobs not yet started meanwhile (a module lists its jobs in ``BACKGROUND_JOBS``, a test names the one it reads
  with ``@pytest.mark.background(key)``: see :class:`Background`). On two cores the waits mostly
  vanish.
"""

from __future__ import annotations

import copy
import os
import platform
import threading
from pathlib import Path

import mpmath
import pytest
from hypothesis import HealthCheck, settings

# Before torch is first imported (test modules import it at collection): see the docstring.
os.environ.setdefault("OMP_NUM_THREADS", "1")

settings.register_profile(
    "ci", max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "thorough", max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("LORANK_HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(autouse=True)
def _reset_mpmath_precision():
    mpmath.mp.dps = 15
    yield
    mpmath.mp.dps = 15


#: The verdicts checked in this session (filled by the ``checked_verdicts`` fixture).
_SESSION: dict = {}


def session_check(folder: Path):
    """``proofs.check_all()`` in a fresh Python, timed there: (its verdicts, seconds).

    The session's check of every statement runs as a background job (see :class:`Background`),
    on the other core while the first tests run; the verdicts come back pickled (routes and
    counterexamples: plain data). Each verdict's statement is then this process's own build of
    the statement with that id (``proofs.all_statements()``, the same build the subprocess
    checked): unpickling re-evaluates some sympy expressions (a non-commutative ``Eq(..., 0)``
    came back as ``True``), so the pickled statements are not used."""
    import pickle
    import subprocess
    import sys

    out = folder / "verdicts.pickle"
    code = ("import pickle, sys, time; from proofs import check_all; start = time.perf_counter(); "
            "verdicts = check_all(); seconds = time.perf_counter() - start; "
            "pickle.dump((verdicts, seconds), open(sys.argv[1], 'wb'))")
    proc = subprocess.run([sys.executable, "-c", code, str(out)], cwd=Path(__file__).parent.parent,
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"check_all() failed in its process:\n{proc.stderr[-3000:]}")
    import dataclasses

    from proofs import all_statements

    verdicts, seconds = pickle.loads(out.read_bytes())
    statements = all_statements()
    assert [v.id for v in verdicts] == [st.id for st in statements]
    return [dataclasses.replace(v, statement=st) for v, st in zip(verdicts, statements)], seconds


#: The session's own background jobs (:class:`Background`): the check of every statement.
BACKGROUND_JOBS = {"check-all": session_check}


@pytest.fixture(scope="session")
def checked_verdicts():
    """``proofs.check_all()``: every statement checked afresh by both routes, once a session
    (in a fresh process, as a background job started when collection ends: :func:`session_check`)."""
    import sys

    verdicts, seconds = _BACKGROUND.result(sys.modules[__name__], "check-all")
    _SESSION["verdicts"], _SESSION["check_seconds"] = verdicts, seconds
    return verdicts


@pytest.fixture(scope="session")
def check_seconds(checked_verdicts) -> float:
    """How long the session's ``check_all()`` took (wall-clock seconds)."""
    return _SESSION["check_seconds"]


def _session_check(patch, verdicts) -> None:
    """Make ``proofs.check_all`` (what :mod:`lorank.ledger` calls) give ``verdicts``."""
    import proofs

    patch.setattr(proofs, "check_all", lambda timeout_s=None: verdicts)


@pytest.fixture(scope="session")
def proof_entries(checked_verdicts):
    """The ledger's proof entries (``lorank.ledger._proof_entries``) of the session's check."""
    from lorank.ledger import _proof_entries

    with pytest.MonkeyPatch.context() as patch:
        _session_check(patch, checked_verdicts)
        return _proof_entries()


@pytest.fixture
def shared_proof_entries(proof_entries, monkeypatch):
    """:mod:`lorank.ledger` gathers the session's proof entries instead of checking every
    statement again (for tests of the gathering, rendering and exit status)."""
    import lorank.ledger as ledger

    monkeypatch.setattr(ledger, "_proof_entries", lambda: copy.deepcopy(proof_entries))
    return proof_entries


class _Job:
    """One background job: its callable and folder, and once run its value or exception."""

    def __init__(self, fn, folder):
        self.fn, self.folder = fn, folder
        self.done = threading.Event()
        self.value = self.error = None

    def run(self) -> None:
        try:
            self.value = self.fn(self.folder)
        except BaseException as error:  # raised again in the test that asks for the result
            self.error = error
        finally:
            self.done.set()


class Background:
    """Jobs run one at a time on a helper thread; a test that waits for one runs the next
    pending job itself meanwhile.

    A test module names its jobs in a dict ``BACKGROUND_JOBS`` (key -> callable taking a fresh
    folder of its own, removed when the session ends; a job that needs none ignores it), and a
    test that reads a job's result is marked ``@pytest.mark.background(key)``; such tests run
    last (:func:`pytest_collection_modifyitems`). The jobs of the selected tests that are not
    skipped start when collection ends (:func:`pytest_collection_finish`), in test order, and
    run while the other tests do. A job should spend its time in other
    processes (its thread then takes no CPU from the tests) and print nothing (tests read what
    is printed: capture the processes' output). :meth:`result` waits for a job, or runs it in
    the test if it was not started; while it waits, it takes the next job that no thread has
    started yet and runs it (at the end of the run the tests only wait, and the jobs left then
    use both cores); a job's exception is raised in the test that asks for it.
    """

    def __init__(self):
        self._jobs: dict = {}
        self._pending: list = []  # started, in order, and not yet taken by a thread
        self._lock = threading.Lock()
        self._worker = None
        self._root = None

    def _folder(self) -> Path:
        import tempfile

        if self._root is None:
            self._root = tempfile.mkdtemp(prefix="lorank-background-")
        return Path(tempfile.mkdtemp(dir=self._root))

    def _take(self):
        """The next job no thread has started (removed from the pending list), or None."""
        with self._lock:
            return self._pending.pop(0) if self._pending else None

    def _work(self) -> None:
        while True:
            with self._lock:
                if not self._pending:
                    self._worker = None
                    return
                job = self._pending.pop(0)
            job.run()

    def start(self, module, key) -> None:
        if (module.__name__, key) not in self._jobs:
            job = _Job(module.BACKGROUND_JOBS[key], self._folder())
            self._jobs[module.__name__, key] = job
            with self._lock:
                self._pending.append(job)
                if self._worker is None:
                    self._worker = threading.Thread(target=self._work, name="background")
                    self._worker.start()

    def result(self, module, key, job=None):
        """The result of ``module``'s job ``key``; if it was not started, of ``job`` (default:
        ``module.BACKGROUND_JOBS[key]``) run now."""
        found = self._jobs.get((module.__name__, key))
        if found is None:
            return (job or module.BACKGROUND_JOBS[key])(self._folder())
        while not found.done.is_set():
            other = self._take()  # the job itself, if no thread has started it yet
            if other is None:
                found.done.wait()
            else:
                other.run()
        if found.error is not None:
            raise found.error
        return found.value

    def stop(self) -> None:
        """Drop the jobs not started, wait for the running one, remove the folders."""
        with self._lock:
            self._pending.clear()
            worker = self._worker
        if worker is not None:
            worker.join()
        if self._root is not None:
            import shutil

            shutil.rmtree(self._root, ignore_errors=True)


_BACKGROUND = Background()


@pytest.fixture(scope="session")
def background():
    """The session's :class:`Background`: ``background.result(request.module, key)`` in a
    module's fixture."""
    return _BACKGROUND


def pytest_configure(config):
    config.addinivalue_line("markers", "background(key): the test reads the result of its "
                                       "module's background job KEY (tests/conftest.py, Background)")


def _skipped(item) -> bool:
    """Marked skip, or skipif with a condition that is already True."""
    return any(mark.name == "skip" or (mark.name == "skipif" and mark.args and mark.args[0] is True)
               for mark in item.iter_markers())


def pytest_collection_finish(session):
    if session.config.option.collectonly:
        return
    import sys

    # The session's check first: the verdicts' tests need it early (the other jobs are read by
    # tests that run last).
    if any("checked_verdicts" in getattr(item, "fixturenames", ()) for item in session.items
           if not _skipped(item)):
        _BACKGROUND.start(sys.modules[__name__], "check-all")
    for item in session.items:
        for mark in item.iter_markers("background"):
            if not _skipped(item):
                _BACKGROUND.start(item.module, mark.args[0])


def pytest_sessionfinish(session, exitstatus):
    _BACKGROUND.stop()


def _torch_backend() -> str:
    try:
        import torch
    except ImportError:
        return "torch not installed"
    cuda = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no CUDA"
    return f"torch {torch.__version__} ({cuda})"


def pytest_report_header(config):
    import numpy
    import scipy
    import sympy
    import z3

    return [
        f"lorank: python {platform.python_version()}, sympy {sympy.__version__}, "
        f"mpmath {mpmath.__version__}, z3 {z3.get_version_string()}, numpy {numpy.__version__}, "
        f"scipy {scipy.__version__}, {_torch_backend()}",
        f"hypothesis profile: {settings._current_profile}",
    ]


def pytest_collection_modifyitems(config, items):
    try:
        import torch

        has_cuda = torch.cuda.is_available()
    except ImportError:
        has_cuda = False
    if not has_cuda:
        skip = pytest.mark.skip(reason="needs a CUDA GPU")
        for item in items:
            if "cuda" in item.keywords:
                item.add_marker(skip)
    if not config.getoption("-m"):
        skip_slow = pytest.mark.skip(reason="slow: run with -m slow")
        for item in items:
            if "slow" in item.keywords:
                item.add_marker(skip_slow)
    # The tests that read a background job run last (in their order), so that the jobs have the
    # whole run to finish in (see Background).
    waiting = [item for item in items if item.get_closest_marker("background")]
    if waiting:
        items[:] = [item for item in items if not item.get_closest_marker("background")] + waiting


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if os.environ.get("LORANK_NO_LEDGER"):
        return
    try:
        from lorank.ledger import build_ledger, render_plain
    except Exception as error:  # the ledger must not hide test results
        terminalreporter.write_line(f"theorem ledger unavailable: {error}")
        return
    terminalreporter.section("lorank theorem ledger")
    with pytest.MonkeyPatch.context() as patch:
        if "verdicts" in _SESSION:  # the statements were checked during this run: print that check
            _session_check(patch, _SESSION["verdicts"])
        entries = build_ledger()
    for line in render_plain(entries).splitlines():
        terminalreporter.write_line(line)
