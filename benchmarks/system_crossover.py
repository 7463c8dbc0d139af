"""Where the fused Cholesky kernel stops paying: the damped step's SPD solve, fused against the
library's, across system sizes and batch sizes (issue 13: "choose the library path wherever
the fused one does not pay").

For each system size ``N`` (``--sizes``) and batch of ``T`` trials (``--trials``) it builds the
engine's kind of system, ``S = J J^T + mu I`` with ``J`` Gaussian of shape ``N x (N + 8)`` and
``mu = 1e-3 mean(diag)``, float64, and times with CUDA events (median of ``--reps`` after a
warm-up that also compiles):

- ``library``: ``torch.linalg.cholesky_ex`` and two ``solve_triangular`` (the engine's
  ``solve_spd(..., fused=False)``);
- ``fused``: one Triton kernel (``solve_spd(..., fused=True)``).

It records both times, the ratio, the largest relative difference of the two solutions, and per
batch size the smallest ``N`` at which the library was faster (``crossover``).
:data:`numerics.engine.solvers.FUSED_MAX_SIZE`, the size above which ``system="auto"`` takes the
library path, is read from this record's H200 run.

Usage (on a CUDA machine)::

    python benchmarks/system_crossover.py --out results/bench/system_crossover-h200.json
"""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks.common import cuda_median_ms, new_output, write_result  # noqa: E402


def _ints(text: str) -> list[int]:
    try:
        values = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a comma list of positive integers, got {text!r}")
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"expected a comma list of positive integers, got {text!r}")
    return values


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=_ints, default=_ints("64,128,192,256,320,384,512,640,768,1024"))
    ap.add_argument("--trials", type=_ints, default=_ints("200,800"))
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--out", required=True, type=new_output)
    args = ap.parse_args(argv)
    import torch

    from numerics.engine import fused_cholesky
    from numerics.engine.solvers import solve_spd

    if not torch.cuda.is_available():
        raise SystemExit("system_crossover: error: needs a CUDA GPU")
    dev, dt = torch.device("cuda"), torch.float64
    rows = []
    for T in args.trials:
        for N in args.sizes:
            g = torch.Generator(device=dev).manual_seed(N * 7919 + T)
            J = torch.randn(T, N, N + 8, generator=g, device=dev, dtype=dt)
            S0 = torch.bmm(J, J.transpose(1, 2))
            d = S0.diagonal(dim1=1, dim2=2)
            d += 1e-3 * d.mean(dim=1, keepdim=True)
            rhs = torch.randn(T, N, 1, generator=g, device=dev, dtype=dt)
            del J
            S = torch.empty_like(S0)

            def run(fused):
                S.copy_(S0)  # the solve destroys its system
                return solve_spd(S, rhs, fused)

            copy_ms = cuda_median_ms(lambda: S.copy_(S0), args.reps)
            ms = {name: cuda_median_ms(lambda f=f: run(f), args.reps) - copy_ms
                  for name, f in (("library", False), ("fused", True))}
            z_lib, ok_lib = run(False)
            z_fus, ok_fus = run(True)
            diff = float(((z_lib - z_fus).norm(dim=(1, 2)) / z_lib.norm(dim=(1, 2))).max())
            rows.append({"N": N, "trials": T, "ms": ms, "library_over_fused": ms["library"] / ms["fused"],
                         "max_rel_diff": diff, "all_ok": bool(ok_lib.all() and ok_fus.all())})
            print(f"T {T:5d} N {N:5d}  library {ms['library']:9.3f} ms  fused {ms['fused']:9.3f} ms  "
                  f"library/fused {ms['library'] / ms['fused']:6.2f}  diff {diff:.1e}", flush=True)
            del S0, S, rhs
            torch.cuda.empty_cache()
    crossover = {}
    for T in args.trials:
        slower = [r["N"] for r in rows if r["trials"] == T and r["library_over_fused"] < 1]
        crossover[str(T)] = min(slower) if slower else None
    result = {"benchmark": "system_crossover", "device_name": torch.cuda.get_device_name(0),
              "torch": torch.__version__, "triton": getattr(fused_cholesky.triton, "__version__", None),
              "dtype": "float64", "reps": args.reps, "rows": rows,
              "crossover": crossover,
              "note": "crossover: per batch size, the smallest N at which the library's solve was "
                      "faster than the fused kernel (None: the fused kernel was faster at every N)"}
    write_result(args.out, result)
    print(f"crossover (smallest N where the library is faster): {crossover}")
    return result


if __name__ == "__main__":
    main()
