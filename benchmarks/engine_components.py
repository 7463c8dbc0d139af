"""Time each part of one Levenberg-Marquardt iteration, and candidate replacements, on one batch.

The whole-solve benchmark (:mod:`benchmarks.bench_engine`) reports one number; this script says
where the time of one iteration goes at the reference cell (default 64 x 64, r = 2, M = 187,
i.e. rho = 1.35, T = 2048 trials, float64), each part timed alone with CUDA events (median of
``--reps`` runs after warm-up), with its achieved bandwidth where the part is a feature pass:

- ``right``: ``op.right_native(A)`` (one read of the features);
- ``left``: ``op.left_native(B)`` (one read of the features);
- ``residual``: the residual from the right pass;
- ``system_two_bmm``: ``J J^T`` as ``J_B J_B^T + sum_j L_j L_j^T`` (the engine's current form);
- ``system_one_bmm``: ``J J^T`` from one concatenated ``J`` and one batched product;
- ``cholesky_cusolver`` / ``cholesky_magma``: ``torch.linalg.cholesky_ex`` on ``J J^T + mu I``
  with each backend; ``cholesky_solve`` and, as its replacement, two ``solve_triangular``;
- ``cholesky_solve_fused``: factorisation and both solves in one Triton kernel
  (:func:`numerics.engine.fused_cholesky.cholesky_solve_fused`, the engine's default on CUDA);
- ``lm_step_library`` / ``lm_step_fused``: the whole damped step with each way of solving;
- ``masked_updates``: the ``torch.where`` updates of an iteration;
- ``compaction``: copying 75% of the features (``op.subset``);
- ``iteration_eager`` and ``iteration_graph``: one whole iteration of the engine
  (:func:`numerics.engine.solvers.lm_bookkeeping` and :func:`numerics.engine.solvers.lm_iteration_step`: stopping tests and
  write-out, step, trial point, residual, acceptance, updates, left pass) eagerly and replayed
  from a CUDA graph, with the default system (``system`` in the record says which);
  ``iteration_eager_library``: the same with the library's system.

Usage (on a CUDA machine)::

    python benchmarks/engine_components.py --out results/bench/engine_components.json
"""

from __future__ import annotations

import argparse
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks.common import add_cell_arguments, cuda_device_peak, cuda_median_ms, peak_fraction, new_output, write_result  # noqa: E402
from numerics.engine.instances import GaussianFeatures  # noqa: E402
from numerics.engine import fused_cholesky, solvers  # noqa: E402

def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_cell_arguments(ap, rho=None)
    ap.add_argument("--M", type=int, default=187)
    ap.add_argument("--trials", type=int, default=2048)
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--out", required=True, type=new_output)
    args = ap.parse_args(argv)
    dev, dt = torch.device("cuda"), torch.float64
    T, m, n, r, M = args.trials, args.m, args.n, args.r, args.M
    g = torch.Generator(device=dev).manual_seed(0)
    op = GaussianFeatures(torch.randn(T, m, M, n, generator=g, device=dev, dtype=dt))
    y = torch.randn(T, M, generator=g, device=dev, dtype=dt)
    s = (r * m * n) ** -0.25
    B = s * torch.randn(T, m, r, generator=g, device=dev, dtype=dt)
    A = s * torch.randn(T, r, n, generator=g, device=dev, dtype=dt)
    Rn, Ln = op.right_native(A), op.left_native(B)
    R = solvers.lm_residual(Rn, B, y)
    lam = torch.full((T,), 1e-3, device=dev, dtype=dt)
    feature_bytes = op.bytes_per_pass()
    p = r * (m + n)

    def system_two():
        JB_t = Rn.view(T, r * m, M)
        S = torch.bmm(JB_t.transpose(1, 2), JB_t)
        LnF = Ln.reshape(T * r, M, n)
        return S + torch.bmm(LnF, LnF.transpose(1, 2)).view(T, r, M, M).sum(dim=1)

    def system_one():
        J_t = torch.cat((Rn.view(T, r * m, M), Ln.transpose(2, 3).reshape(T, r * n, M)), dim=1)
        return torch.bmm(J_t.transpose(1, 2), J_t)

    S = system_two()
    diag = S.diagonal(dim1=1, dim2=2)
    diag += (lam * diag.mean(dim=1)).unsqueeze(1)
    L, _ = torch.linalg.cholesky_ex(S)

    def chol(backend):
        def run():
            torch.backends.cuda.preferred_linalg_library(backend)
            try:
                return torch.linalg.cholesky_ex(S)
            finally:
                torch.backends.cuda.preferred_linalg_library("default")
        return run

    def cholesky_blocked():
        """Two-by-two blocked Cholesky: two half-size factorisations, a triangular solve and
        a batched product (the same arithmetic as the unblocked factorisation, reordered)."""
        h = M // 2
        L11, _ = torch.linalg.cholesky_ex(S[:, :h, :h])
        L21 = torch.linalg.solve_triangular(L11, S[:, h:, :h].mT, upper=False).mT
        L22, _ = torch.linalg.cholesky_ex(S[:, h:, h:] - L21 @ L21.mT)
        out = torch.zeros_like(S)
        out[:, :h, :h], out[:, h:, :h], out[:, h:, h:] = L11, L21, L22
        return out

    def masked():
        accept = torch.rand(T, generator=g, device=dev) < 0.5
        a3 = accept.view(-1, 1, 1)
        torch.where(a3, B, B)
        torch.where(a3, A, A)
        torch.where(accept.view(-1, 1, 1, 1), Rn, Rn)
        torch.where(accept.view(-1, 1), R, R)
        torch.where(accept.view(-1, 1, 1, 1), Ln, Ln)

    keep = torch.arange(0, T, 4, device=dev)
    keep = torch.cat((keep, keep + 1, keep + 2)).sort().values

    # the engine's own iteration (bookkeeping and step on its in-place state), as a solve runs it
    cfg = solvers.LMConfig()
    state = solvers.lm_initial_state(op, y, B, A, cfg, cfg.lam0)
    floor = solvers.lm_lam_floor(cfg, dt)

    def iteration():
        solvers.lm_bookkeeping(state, cfg, cfg.max_iter, 0.0)
        solvers.lm_iteration_step(state, cfg, floor)

    cfg_lib = solvers.LMConfig(system="library")
    state_lib = solvers.lm_initial_state(op, y, B, A, cfg_lib, cfg_lib.lam0)

    def iteration_library():
        solvers.lm_bookkeeping(state_lib, cfg_lib, cfg_lib.max_iter, 0.0)
        solvers.lm_iteration_step(state_lib, cfg_lib, floor)

    S_work = S.clone()  # overwritten by each call (the kernel's time does not depend on values)

    parts = {
        "right": (lambda: op.right_native(A), feature_bytes),
        "left": (lambda: op.left_native(B), feature_bytes),
        "residual": (lambda: solvers.lm_residual(Rn, B, y), None),
        "system_two_bmm": (system_two, None),
        "system_one_bmm": (system_one, None),
        "cholesky_cusolver": (chol("cusolver"), None),
        "cholesky_magma": (chol("magma"), None),
        "cholesky_blocked_2x2": (cholesky_blocked, None),
        "cholesky_solve": (lambda: torch.cholesky_solve(R.unsqueeze(2), L), None),
        "triangular_solves": (lambda: torch.linalg.solve_triangular(
            L.mH, torch.linalg.solve_triangular(L, R.unsqueeze(2), upper=False), upper=True), None),
        "cholesky_solve_fused": (lambda: fused_cholesky.cholesky_solve_fused(S_work, R), None),
        "lm_step_library": (lambda: solvers.lm_damped_step(Rn, Ln, R, lam, False), None),
        "lm_step_fused": (lambda: solvers.lm_damped_step(Rn, Ln, R, lam, True), None),
        "masked_updates": (masked, None),
        "compaction": (lambda: op.subset(keep), 2 * feature_bytes * len(keep) / T),
        "iteration_eager": (iteration, 2 * feature_bytes),
        "iteration_eager_library": (iteration_library, 2 * feature_bytes),
    }
    rows = {}
    peak = cuda_device_peak(0)
    for name, (fn, nbytes) in parts.items():
        try:
            ms = cuda_median_ms(fn, args.reps)
        except Exception as error:  # a backend may be missing: record it, go on
            rows[name] = {"error": f"{type(error).__name__}: {error}"[:300]}
            continue
        row = {"ms": ms, "us_per_trial": 1e3 * ms / T}
        if nbytes:
            row["bytes_per_s"] = nbytes / (ms / 1e3)
            row["fraction_of_hbm_peak"] = peak_fraction(row["bytes_per_s"], peak, "hbm_bytes_per_s")
        rows[name] = row
        print(f"{name:20s} {ms:9.3f} ms  {row['us_per_trial']:7.3f} us/trial"
              + (f"  {row['fraction_of_hbm_peak']:.0%} of HBM peak"
                 if nbytes and row["fraction_of_hbm_peak"] is not None
                 else "  (peak unknown)" if nbytes else ""), flush=True)
    try:  # one whole iteration replayed from a CUDA graph (static shapes, no host syncs)
        stream = torch.cuda.Stream()
        stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(stream):
            for _ in range(3):
                iteration()
        torch.cuda.current_stream().wait_stream(stream)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            iteration()
        ms = cuda_median_ms(graph.replay, args.reps)
        rows["iteration_graph"] = {"ms": ms, "us_per_trial": 1e3 * ms / T,
                                   "fraction_of_hbm_peak": peak_fraction(2 * feature_bytes / (ms / 1e3), peak, "hbm_bytes_per_s")}
        print(f"{'iteration_graph':20s} {ms:9.3f} ms", flush=True)
    except Exception as error:
        rows["iteration_graph"] = {"error": f"{type(error).__name__}: {error}"[:300]}
    result = {"cell": {"m": m, "n": n, "r": r, "M": M, "p": p, "rho": r * (m + n - r) / M},
              "trials": T, "dtype": "float64", "device_name": torch.cuda.get_device_name(0),
              "torch": torch.__version__, "triton": getattr(fused_cholesky.triton, "__version__", None),
              "system": "fused" if cfg.fused_system(dev, dt) else "library",
              "feature_bytes_per_pass": feature_bytes, "peak_used": peak,
              "parts": rows}
    write_result(args.out, result)
    return result


if __name__ == "__main__":
    main()
