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
"""

from __future__ import annotations

import os
import platform

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


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if os.environ.get("LORANK_NO_LEDGER"):
        return
    try:
        from lorank.ledger import build_ledger, render_plain
    except Exception as error:  # the ledger must not hide test results
        terminalreporter.write_line(f"theorem ledger unavailable: {error}")
        return
    terminalreporter.section("lorank theorem ledger")
    for line in render_plain(build_ledger()).splitlines():
        terminalreporter.write_line(line)
