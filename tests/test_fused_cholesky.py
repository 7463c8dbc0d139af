"""Tests of the fused Cholesky kernel (:mod:`numerics.engine.fused_cholesky`) and of the engine's choice
of how to solve a step's system (``LMConfig.system``).

On a CPU the kernel runs under Triton's interpreter, which must be switched on before Triton is
first imported: those tests run it in a subprocess with ``TRITON_INTERPRET=1`` (one, a background
job of the session: it runs while the other tests do). They need Triton
(``pip install 'lorank[kernels]'``, part of the README's set-up) and are skipped without it. The
``cuda`` tests run the compiled kernel.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest
import torch

from numerics.engine import fused_cholesky
from numerics.engine.capacity import run_trials
from numerics.engine.solvers import LMConfig
from proofs.validation import InvalidArgument

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
F64 = torch.float64
needs_triton = pytest.mark.skipif(not fused_cholesky.available(),
                                  reason="needs Triton >= 3.6 (pip install 'lorank[kernels]')")


def _interpreted(code: str) -> dict:
    """Run ``code`` (which prints one JSON line last) with the kernel under Triton's interpreter."""
    env = dict(os.environ, TRITON_INTERPRET="1", PYTHONPATH=ROOT)
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def _spd(T: int, N: int, seed: int, device="cpu") -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator(device=device).manual_seed(seed)
    J = torch.randn(T, N, N + 4, generator=g, dtype=F64, device=device)
    S = J @ J.mT + 1e-3 * torch.eye(N, dtype=F64, device=device)
    return S, torch.randn(T, N, generator=g, dtype=F64, device=device)


def test_system_must_be_a_known_name():
    # LMConfig.system names one of the ways to solve a step's system; anything else is refused.
    with pytest.raises(InvalidArgument, match="system must be one of auto, library, fused, got 'lu'"):
        LMConfig(system="lu")


def test_auto_system_is_the_library_on_the_cpu():
    # 'auto' uses the fused kernel only for float64 on CUDA; on the CPU it is the library's.
    assert not LMConfig().fused_system(torch.device("cpu"), F64)
    assert not LMConfig(system="library").fused_system(torch.device("cuda"), F64)


@pytest.mark.skipif(fused_cholesky.interpreted(), reason="this process interprets Triton kernels")
def test_fused_system_on_the_cpu_is_refused_with_its_reason():
    # Asking for the fused kernel where it cannot run (a CPU without Triton's interpreter) is a
    # clear error before any work, naming the setting and the device.
    with pytest.raises(InvalidArgument, match="system 'fused' needs Triton and a CUDA device"):
        LMConfig(system="fused").fused_system(torch.device("cpu"), F64)


def test_version_parsing_orders_releases():
    # The Triton version gate compares numeric release tuples (3.10 is newer than 3.6).
    assert fused_cholesky._version_tuple("3.10.0") > fused_cholesky._version_tuple("3.6.0")
    assert fused_cholesky._version_tuple("3.6.0+git9a2b") == (3, 6, 0)


#: Under the interpreter: the kernel on sizes below, at and across the block width, on an
#: indefinite and a non-finite matrix, and each trial of a batch alone.
KERNEL_CHECK = """
    def kernel_check():
        import torch
        from numerics.engine.fused_cholesky import cholesky_solve_fused
        F64 = torch.float64
        res = {"backward": [], "forward": [], "ok": [], "alone_equal": True}
        for N in (1, 5, 16, 17, 40):
            g = torch.Generator().manual_seed(N)
            J = torch.randn(3, N, N + 4, generator=g, dtype=F64)
            S = J @ J.mT + 1e-3 * torch.eye(N, dtype=F64)
            R = torch.randn(3, N, generator=g, dtype=F64)
            z, ok = cholesky_solve_fused(S.clone(), R)
            res["ok"] += ok.tolist()
            back = (S @ z.unsqueeze(2)).squeeze(2) - R
            res["backward"].append(float((back.norm(dim=1) / (torch.linalg.matrix_norm(S, 2)
                                          * z.norm(dim=1) + R.norm(dim=1))).max()))
            ref = torch.linalg.solve(S, R)
            cond = torch.linalg.cond(S)
            res["forward"].append(float(((z - ref).norm(dim=1) / ref.norm(dim=1) / cond).max()))
            for t in range(3):
                zt, _ = cholesky_solve_fused(S[t:t + 1].clone(), R[t:t + 1])
                res["alone_equal"] &= bool(torch.equal(zt[0], z[t]))
        bad = torch.eye(4, dtype=F64).repeat(3, 1, 1)
        bad[1, 2, 2] = -1.0
        bad[2, 0, 0] = float("nan")
        res["flags"] = cholesky_solve_fused(bad, torch.ones(3, 4, dtype=F64))[1].tolist()
        return res
"""

#: Under the interpreter: Levenberg-Marquardt with the library's and the fused system on 6 x 6,
#: r = 1, at M = 8 (rho = 11/8, trials 1-3, at most 60 iterations) and M = 14 (rho = 11/14, the
#: given trials, at most ``failing_iters`` iterations).
ENGINE_CHECK = """
    def engine_check(failing_trials, failing_iters=60):
        from numerics.engine.instances import sample_instances
        from numerics.engine.solvers import LMConfig, levenberg_marquardt, random_starts
        res = {}
        for M, trials, iters in ((8, [1, 2, 3], 60), (14, failing_trials, failing_iters)):
            op, y = sample_instances(trials, 6, 6, M)
            starts = random_starts([10 + t for t in trials], 6, 6, 1)
            for system in ("library", "fused"):
                r = levenberg_marquardt(op, y, 1, starts, LMConfig(system=system, max_iter=iters))
                res[f"{M}-{system}"] = [r.success.tolist(), r.iterations.tolist()]
        return res
"""


def interpreted_checks_job(folder=None):
    """The kernel check and the engine check (one failing trial) in one interpreted process
    (torch and Triton are imported once); None without Triton (those tests are skipped)."""
    if not fused_cholesky.available():
        return None
    return _interpreted(KERNEL_CHECK + ENGINE_CHECK + """
    import json
    print(json.dumps({"kernel": kernel_check(), "engine": engine_check([1], 20)}))
    """)


#: The interpreted process runs while the other tests do (``conftest.Background``).
BACKGROUND_JOBS = {"interpreted": interpreted_checks_job}


@pytest.fixture(scope="module")
def interpreted_checks(background, request):
    return background.result(request.module, "interpreted")


@needs_triton
@pytest.mark.background("interpreted")
def test_interpreted_kernel_solves_spd_systems_and_flags_the_others(interpreted_checks):
    # Under the interpreter, for sizes below, at and across the block width (1 to 40), the
    # kernel's z solves S z = R to round-off (backward error at most 1e-13), matches the
    # library's solution to the system's conditioning, says ok; it says not ok for an indefinite
    # and for a non-finite matrix; and a batch gives bitwise the results of its trials alone.
    out = interpreted_checks["kernel"]
    assert all(out["ok"])
    assert max(out["backward"]) <= 1e-13
    assert max(out["forward"]) <= 1e-13
    assert out["alone_equal"]
    assert out["flags"] == [True, False, False]


def _assert_engines_agree(out, n_failing):
    assert out["8-fused"] == out["8-library"] and all(out["8-fused"][0])
    assert out["14-fused"] == out["14-library"] and not any(out["14-fused"][0])
    assert len(out["8-fused"][0]) == 3 and len(out["14-fused"][0]) == n_failing


@needs_triton
@pytest.mark.background("interpreted")
def test_interpreted_fused_engine_matches_the_library_engine(interpreted_checks):
    # Under the interpreter, the Levenberg-Marquardt solver with the fused system gives the same
    # certified outcomes and iteration counts as with the library's system, on a cell where
    # every trial succeeds (rho = 11/8, three trials) and on a trial of one where all fail
    # (rho = 11/14, below 1), cut at 20 iterations (it runs about 45 of its 60, 4 s: the slow
    # test below runs it and two more failing trials to the full budget).
    _assert_engines_agree(interpreted_checks["engine"], 1)
    assert interpreted_checks["engine"]["14-fused"][1] == [20]  # the failing trial used its budget


@pytest.mark.slow
@needs_triton
def test_interpreted_fused_engine_matches_the_library_engine_on_three_failing_trials():
    # The same with three failing trials at rho = 11/14, each to the full budget of 60
    # iterations (about 15 s under the interpreter).
    out = _interpreted(ENGINE_CHECK + """
    import json
    print(json.dumps(engine_check([1, 2, 3])))
    """)
    _assert_engines_agree(out, 3)


@pytest.mark.cuda
@needs_triton
def test_cuda_kernel_solves_the_engine_size_and_is_batch_independent():
    # On a GPU, at the reference cell's size (N = 252), the compiled kernel solves S z = R to
    # round-off, agrees with the library's solution to the conditioning, and gives a trial
    # bitwise the same result alone as in a batch of 8.
    S, R = _spd(8, 252, seed=3, device="cuda")
    z, ok = fused_cholesky.cholesky_solve_fused(S.clone(), R)
    assert bool(ok.all())
    back = (S @ z.unsqueeze(2)).squeeze(2) - R
    scale = torch.linalg.matrix_norm(S, 2) * z.norm(dim=1) + R.norm(dim=1)
    assert float((back.norm(dim=1) / scale).max()) <= 1e-13
    ref = torch.linalg.solve(S, R)
    cond = torch.linalg.cond(S)
    assert float(((z - ref).norm(dim=1) / ref.norm(dim=1) / cond).max()) <= 1e-13
    for t in (0, 5):
        zt, _ = fused_cholesky.cholesky_solve_fused(S[t:t + 1].clone(), R[t:t + 1])
        assert torch.equal(zt[0], z[t])


@pytest.mark.cuda
@needs_triton
def test_cuda_fused_engine_agrees_with_the_library_engine_at_the_transition():
    # On a GPU at rho = 1, where round-off can tip a trial either way, the fused and library
    # systems give the same first success on at least 124 of 128 trials, and success counts that
    # differ by at most 4.
    cell = (16, 16, 2, 60)
    kw = dict(global_seed=7, restarts=2, device="cuda", batch_size=128)
    lib = run_trials("lm", cell, range(128), lm_config=LMConfig(system="library"), **kw)
    fus = run_trials("lm", cell, range(128), lm_config=LMConfig(system="fused"), **kw)
    same = sum(a["first_success"] == b["first_success"] for a, b in zip(lib, fus))
    assert same >= 124
    count = lambda outs: sum(o["first_success"] is not None for o in outs)  # noqa: E731
    assert abs(count(lib) - count(fus)) <= 4


def test_report_reads_the_kernel_variant_the_engine_runs():
    # The README's kernel timings are read for the variant of the kernel the engine uses.
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "scripts" / "readme_tables.py"
    spec = importlib.util.spec_from_file_location("readme_tables", path)
    readme_tables = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(readme_tables)
    FUSED_ENGINE_VARIANT = readme_tables.FUSED_ENGINE_VARIANT

    assert FUSED_ENGINE_VARIANT == (f"fused_b{fused_cholesky.BLOCK}_w{fused_cholesky.NUM_WARPS}"
                                    f"_s{fused_cholesky.NUM_STAGES}")
