"""How the damped step's dense algebra scales with the number of trials in the batch.

The iteration trace (:mod:`benchmarks.trace_engine`) shows that at rho = 1 an iteration of a
batch of a few trials still takes about 2 ms: something in the step costs a fixed time
whatever the batch. This script times, at ``M`` = 187 and 252 (rho = 1.35 and 1 at 64 x 64,
r = 2) and batches from 1 to 2048, each candidate on random SPD systems like the engine's
(``J J^T + mu I`` with ``J`` Gaussian, ``p = 256`` columns):

- ``cholesky_default`` / ``cholesky_cusolver`` / ``cholesky_magma``: ``torch.linalg.cholesky_ex``
  with each backend;
- ``triangular_solves``: the two solves with the factor;
- ``fused_b{b}_w{w}_s{s}``: factorisation and both solves in one Triton kernel
  (:func:`numerics.engine.fused_cholesky.cholesky_solve_fused`), block columns of ``b``, ``w`` warps
  per trial, ``s`` pipeline stages; its
  largest relative difference from the library's solution is recorded
  (``fused_max_rel_diff``);
- ``lm_step_library`` / ``lm_step_fused``: the engine's whole step
  (:func:`numerics.engine.solvers.lm_damped_step`) with each way of solving the system.

Medians of CUDA-event timings after warm-up. (A recursive blocked factorisation was timed here
too, slower at every size: ``results/bench/experiments/cholesky_latency.json``, code in commit
befbf30.)

Usage (on a CUDA machine)::

    python benchmarks/cholesky_latency.py --out results/bench/cholesky_latency.json
"""

from __future__ import annotations

import argparse
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks.common import cuda_median_ms, new_output, write_result  # noqa: E402
from numerics.engine import fused_cholesky, solvers  # noqa: E402


def _with_backend(backend, fn):
    def run():
        torch.backends.cuda.preferred_linalg_library(backend)
        try:
            return fn()
        finally:
            torch.backends.cuda.preferred_linalg_library("default")
    return run


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--Ms", default="187,252")
    ap.add_argument("--batches", default="1,4,16,64,256,1024,2048")
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--variants", default="16:1:4,16:1:1,16:2:4",
                    help="fused kernel variants, block:warps:stages, comma-separated")
    ap.add_argument("--out", required=True, type=new_output)
    args = ap.parse_args(argv)
    dev, dt = torch.device("cuda"), torch.float64
    m = n = 64
    r = 2
    p = r * (m + n)
    g = torch.Generator(device=dev).manual_seed(0)
    rows = []
    for M in (int(v) for v in args.Ms.split(",")):
        for T in (int(v) for v in args.batches.split(",")):
            J = torch.randn(T, M, p, generator=g, device=dev, dtype=dt)
            S = J @ J.mT
            S.diagonal(dim1=1, dim2=2).add_(1e-3 * S.diagonal(dim1=1, dim2=2).mean(dim=1, keepdim=True))
            rhs = torch.randn(T, M, 1, generator=g, device=dev, dtype=dt)
            L_ref, _ = torch.linalg.cholesky_ex(S)
            row = {"M": M, "trials": T, "ms": {}}
            row["ms"]["cholesky_default"] = cuda_median_ms(lambda: torch.linalg.cholesky_ex(S), args.reps)
            for backend in ("cusolver", "magma"):
                row["ms"][f"cholesky_{backend}"] = cuda_median_ms(
                    _with_backend(backend, lambda: torch.linalg.cholesky_ex(S)), args.reps)
            row["ms"]["triangular_solves"] = cuda_median_ms(lambda: torch.linalg.solve_triangular(
                L_ref.mH, torch.linalg.solve_triangular(L_ref, rhs, upper=False), upper=True), args.reps)
            z_ref = torch.cholesky_solve(rhs, L_ref).squeeze(2)
            row["fused_all_ok"], row["fused_max_rel_diff"] = {}, {}
            S_work = S.clone()  # overwritten by each call (the timing does not depend on its values)
            for variant in args.variants.split(","):
                bs, w, st = (int(v) for v in variant.split(":"))
                name = f"fused_b{bs}_w{w}_s{st}"
                try:
                    z, ok = fused_cholesky.cholesky_solve_fused(
                        S.clone(), rhs.squeeze(2), num_warps=w, num_stages=st, block=bs)
                    row["fused_all_ok"][name] = bool(ok.all())
                    row["fused_max_rel_diff"][name] = float(
                        ((z - z_ref).norm(dim=1) / z_ref.norm(dim=1)).max())
                    row["ms"][name] = cuda_median_ms(
                        lambda: fused_cholesky.cholesky_solve_fused(
                            S_work, rhs.squeeze(2), num_warps=w, num_stages=st, block=bs), args.reps)
                except Exception as error:  # a variant that does not fit is reported, not fatal
                    print(f"variant {variant}: {str(error)[:160]}", flush=True)
            # the whole damped step on engine-shaped inputs
            Rn = torch.randn(T, r, m, M, generator=g, device=dev, dtype=dt)
            Ln = torch.randn(T, r, M, n, generator=g, device=dev, dtype=dt)
            R = torch.randn(T, M, generator=g, device=dev, dtype=dt)
            lam = torch.full((T,), 1e-3, device=dev, dtype=dt)
            for system, fused in (("library", False), ("fused", True)):
                try:
                    row["ms"][f"lm_step_{system}"] = cuda_median_ms(
                        lambda: solvers.lm_damped_step(Rn, Ln, R, lam, fused), args.reps)
                except Exception as error:
                    print(f"lm_step {system}: {str(error)[:160]}", flush=True)
            row["us_per_trial"] = {k: 1e3 * v / T for k, v in row["ms"].items()}
            rows.append(row)
            print(f"M={M:4d} T={T:5d} " + "  ".join(f"{k.replace('cholesky_', 'c_')} {v:.3f}"
                                                     for k, v in row["ms"].items()) + f" ms  fused diff {max(row['fused_max_rel_diff'].values(), default=None)}", flush=True)
            del J, S, S_work, rhs, L_ref, Rn, Ln, R
    result = {"benchmark": "cholesky_latency", "device_name": torch.cuda.get_device_name(0),
              "torch": torch.__version__, "cuda": torch.version.cuda,
              "triton": getattr(fused_cholesky.triton, "__version__", None), "dtype": "float64",
              "p": p, "rows": rows}
    write_result(args.out, result)
    return result


if __name__ == "__main__":
    main()
