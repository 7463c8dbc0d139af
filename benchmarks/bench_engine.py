"""Speed of the batched capacity engine, side by side, on the same instances.

Times, for the cell (m, n, r, M) with ``M = round(r (m + n - r) / rho)`` (default 64 x 64,
r = 2, rho = 1.35, so M = 187):

(a) the batched Levenberg-Marquardt engine (:func:`numerics.engine.solvers.lm_restarts`) on CUDA,
(b) the same engine on the CPU,
(c) what a researcher would otherwise write: a per-trial loop around
    ``scipy.optimize.least_squares`` (method ``"trf"``: ``"lm"`` needs at least as many
    residuals as unknowns, and here M < r (m + n)) with the analytic Jacobian, the same starts,
    restarts only for trials not yet certified, and the same float64 certification
    (:func:`numerics.engine.solvers.certify`, success iff relative residual <= 1e-10).

Instances and starts are drawn on the CPU for all three, so every path solves the same
problems; sampling is timed separately and is not part of the solve timings. For the engine it
reports trials per second, the ratios, and on CUDA the achieved memory bandwidth and FLOP rate
as fractions of the device's own datasheet peaks (:data:`benchmarks.common.DEVICE_PEAKS`; "peak
unknown", None, for a device not listed), with the peak used in the record (``peak_used``).

Byte model. The engine is bound by reading the features: one pass reads all ``M m n`` entries
of a trial once. The algorithm needs, per start, two passes to set up the first step and one
for the float64 certificate, and two passes per iteration (the trial point's right pass, the
accepted point's left pass). ``achieved_bytes_per_s`` counts all of these
(``feature_passes_total``); ``achieved_bytes_per_s_iterations_only`` counts the two passes per
iteration alone (the model of the first benchmark records, kept for comparison). Copies made
when finished trials are dropped from the batch are implementation overhead and count in
neither.

How it is timed. Each engine path first runs one whole solve untimed (kernels load, library
handles are made, and on CUDA the caching allocator obtains the blocks a full-size batch needs:
a first solve pays for those requests to the driver, later solves of the same size do not, as
in a sweep of many batches), then ``--repeats`` timed solves (``--cpu-repeats`` on the CPU),
which must give the same outcomes and iteration counts; ``solve_seconds`` is their median and
``solve_seconds_repeats`` lists them; ``warmup_solve_seconds`` (and on CUDA
``fraction_of_peak_bandwidth_warmup_solve``) report the untimed first solve as well, which is
what a single cold solve costs. Records made before this (lorank 0.2.0 and earlier)
warmed up on four trials and timed one solve, which included the allocator's first requests.
The scipy loop is run once.

What is timed. Instances and first starts are drawn on the CPU for every path (one
``torch.Generator`` per trial), so that all paths solve the same problems from the same
starts; both draws are timed apart from the solve (``sample_seconds``,
``start_sampling_seconds``), and ``solve_seconds`` (hence ``trials_per_second`` and the
fractions of peak) starts with the instances and first starts on the device. The
``..._including_start_sampling`` entries add the start draw back. (Records made before this
split, in lorank 0.1.0, counted the start draw in ``solve_seconds``.)

Usage::

    python benchmarks/bench_engine.py --out results/bench_engine.json          # on the GPU box
    python benchmarks/bench_engine.py --skip-cuda --m 8 --n 8 --trials 16 --scipy-trials 4 \
        --out /tmp/bench.json                                                  # a quick CPU check
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time

import numpy as np
import scipy
import scipy.optimize
import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks.common import add_cell_arguments, cuda_device_peak, peak_fraction, cell_M, feature_passes, new_output, write_result  # noqa: E402
from numerics.engine.capacity import instance_seed, start_seed, torch_threads  # noqa: E402
from numerics.engine.instances import sample_instances  # noqa: E402
from numerics.engine import fused_cholesky  # noqa: E402
from numerics.engine.solvers import CERTIFY_RTOL, LMConfig, certify, lm_restarts, random_starts  # noqa: E402


def flops_per_iteration(m: int, n: int, r: int, M: int) -> float:
    """FLOPs of one Levenberg-Marquardt iteration for one trial (the model used for rates).

    Two feature passes (``A G^T`` and ``B^T G``, ``2 r m M n`` each), the residual
    (``2 r m M``), the system ``J J^T`` or ``J^T J`` (``2 s^2 r (m + n)`` with
    ``s = min(M, r (m + n))``), its Cholesky factorisation (``s^3 / 3``) and solve (``2 s^2``),
    and the step (``2 M r (m + n)``).

    >>> flops_per_iteration(64, 64, 2, 187) > 0
    True
    """
    p = r * (m + n)
    s = min(M, p)
    return 4 * r * m * M * n + 2 * r * m * M + 2 * s * s * p + s ** 3 / 3 + 2 * s * s + 2 * M * p


def _sync(device: torch.device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _seeds(args, M):
    inst = [instance_seed(args.seed, "gaussian", args.m, args.n, M, None, t) for t in range(args.trials)]
    starts = [[start_seed(args.seed, "gaussian", args.m, args.n, args.r, M, None, t, k)
               for k in range(args.restarts)] for t in range(args.trials)]
    return inst, starts


def bench_engine(args, M, device: torch.device, trials: int, repeats: int) -> dict:
    """Time the batched engine on ``device`` for the first ``trials`` trials: one untimed
    warm-up solve, then the median of ``repeats`` timed solves (each must give the same
    outcomes and iteration counts)."""
    inst, starts = _seeds(args, M)
    inst, starts = inst[:trials], starts[:trials]
    cfg = LMConfig(max_iter=args.max_iter)
    t0 = time.perf_counter()
    op, y = sample_instances(inst, args.m, args.n, M, device=device, dtype=args.dtype,
                             sample_device="cpu")
    _sync(device)
    t_sample = time.perf_counter() - t0
    # the first starts are drawn on the CPU (one generator per trial, as every path here) and,
    # like the instances, timed apart from the solve; restarts are drawn inside the solve
    t0 = time.perf_counter()
    first = random_starts([s[0] for s in starts], args.m, args.n, args.r, device=device,
                          dtype=op.dtype, sample_device="cpu")
    _sync(device)
    t_starts = time.perf_counter() - t0

    def solve():
        out = lm_restarts(op, y, args.r, starts, cfg, sample_device="cpu", first_starts=first)
        _sync(device)
        return out

    # warm-up: one whole solve, untimed (kernel loading, library handles, and on CUDA the
    # caching allocator's blocks at the full batch size, which a first solve asks the driver for)
    t0 = time.perf_counter()
    out = solve()
    t_warm = time.perf_counter() - t0
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        again = solve()
        times.append(time.perf_counter() - t0)
        if again["first_success"] != out["first_success"] or again["iterations"] != out["iterations"]:
            raise RuntimeError("bench_engine: a repeated solve gave other outcomes")
    t_solve = sorted(times)[len(times) // 2]
    iters = int(sum(out["iterations"]))
    e2 = sum(1 for f in out["first_success"] if f == 0)
    e1 = sum(1 for f in out["first_success"] if f is not None)
    row = {
        "device": str(device),
        "trials": trials,
        "system": "fused" if cfg.fused_system(device, op.dtype) else "library",
        "sample_seconds": t_sample,
        "solve_seconds": t_solve,
        "solve_seconds_repeats": times,
        "warmup_solve_seconds": t_warm,
        "start_sampling_seconds": t_starts,
        "trials_per_second": trials / t_solve,
        "trials_per_second_including_start_sampling": trials / (t_solve + t_starts),
        "iterations_total": iters,
        "iterations_per_trial": iters / trials,
        "successes_first_start": e2,
        "successes_any_start": e1,
        "nonfinite": int(sum(out["nonfinite"])),
        "first_success": out["first_success"],
    }
    pass_bytes = op.bytes_per_pass() / op.T
    starts_run = sum(len(s) for s in out["restart_success"])
    passes = feature_passes(starts_run, iters)
    bytes_per_iter = 2 * pass_bytes
    row["starts_run"] = starts_run
    row["feature_bytes_per_trial_pass"] = pass_bytes
    row["feature_passes_total"] = passes
    row["feature_bytes_per_trial_iteration"] = bytes_per_iter
    row["achieved_bytes_per_s"] = pass_bytes * passes / t_solve
    row["achieved_bytes_per_s_iterations_only"] = bytes_per_iter * iters / t_solve
    row["achieved_flops"] = flops_per_iteration(args.m, args.n, args.r, M) * iters / t_solve
    if device.type == "cuda":
        fp64 = args.dtype == "float64"
        peak = cuda_device_peak(device.index or 0)
        row["peak_used"] = peak
        row["fraction_of_peak_bandwidth"] = peak_fraction(row["achieved_bytes_per_s"], peak, "hbm_bytes_per_s")
        row["fraction_of_peak_bandwidth_iterations_only"] = peak_fraction(
            row["achieved_bytes_per_s_iterations_only"], peak, "hbm_bytes_per_s")
        row["fraction_of_peak_bandwidth_warmup_solve"] = peak_fraction(
            pass_bytes * passes / t_warm, peak, "hbm_bytes_per_s")
        row["fraction_of_peak_bandwidth_including_start_sampling"] = peak_fraction(
            pass_bytes * passes / (t_solve + t_starts), peak, "hbm_bytes_per_s")
        if fp64:
            row["fraction_of_peak_fp64_tensor"] = peak_fraction(row["achieved_flops"], peak, "fp64_tensor_flops")
            row["fraction_of_peak_fp64_vector"] = peak_fraction(row["achieved_flops"], peak, "fp64_vector_flops")
        else:
            row["fraction_of_peak_fp32"] = peak_fraction(row["achieved_flops"], peak, "fp32_flops")
        row["peak_memory_bytes"] = torch.cuda.max_memory_allocated(device)
    return row


def _scipy_one(G2: np.ndarray, y: np.ndarray, B0: np.ndarray, A0: np.ndarray, m, n, r, max_iter):
    """One least_squares run from (B0, A0); returns (B, A, nfev)."""
    mr = m * r

    def unpack(x):
        return x[:mr].reshape(m, r), x[mr:].reshape(r, n)

    def fun(x):
        B, A = unpack(x)
        return G2 @ (B @ A).ravel() - y

    G3 = G2.reshape(-1, m, n)

    def jac(x):
        B, A = unpack(x)
        JB = (G3 @ A.T).reshape(len(y), mr)                    # G_i A^T
        JA = np.einsum("mr,kmn->krn", B, G3).reshape(len(y), r * n)  # B^T G_i
        return np.concatenate((JB, JA), axis=1)

    x0 = np.concatenate((B0.ravel(), A0.ravel()))
    sol = scipy.optimize.least_squares(fun, x0, jac=jac, method="trf", ftol=1e-15, xtol=1e-15,
                                       gtol=1e-15, max_nfev=max_iter)
    B, A = unpack(sol.x)
    return B, A, sol.nfev


def bench_scipy(args, M, trials: int) -> dict:
    """The per-trial scipy loop on the same instances, starts and certification."""
    inst, starts = _seeds(args, M)
    op, y = sample_instances(inst[:trials], args.m, args.n, M, dtype="float64")
    G = op.dense().reshape(trials, M, args.m * args.n).numpy()
    Y = y.numpy()
    first = [None] * trials
    nfev = 0
    t0 = time.perf_counter()
    for t in range(trials):
        for k in range(args.restarts):
            B0, A0 = random_starts([starts[t][k]], args.m, args.n, args.r)
            B, A, nf = _scipy_one(G[t], Y[t], B0[0].numpy(), A0[0].numpy(), args.m, args.n,
                                  args.r, args.max_iter)
            nfev += nf
            rel = certify(op.subset([t]), y[t: t + 1], torch.from_numpy(B)[None],
                          torch.from_numpy(A)[None]).item()
            if rel <= CERTIFY_RTOL:
                first[t] = k
                break
    t_solve = time.perf_counter() - t0
    return {
        "device": "cpu (scipy.optimize.least_squares, method='trf', analytic Jacobian)",
        "trials": trials,
        "solve_seconds": t_solve,
        "trials_per_second": trials / t_solve,
        "function_evaluations": nfev,
        "successes_first_start": sum(1 for f in first if f == 0),
        "successes_any_start": sum(1 for f in first if f is not None),
        "first_success": first,
    }


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_cell_arguments(ap)
    ap.add_argument("--trials", type=int, default=2048, help="trials for the CUDA engine")
    ap.add_argument("--cpu-trials", type=int, default=None, help="trials for the CPU engine (default min(trials, 128))")
    ap.add_argument("--scipy-trials", type=int, default=None, help="trials for the scipy loop (default min(trials, 8); about 10 s each at 64 x 64)")
    ap.add_argument("--restarts", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=5, help="timed solves of the CUDA engine after its warm-up solve (the median is reported)")
    ap.add_argument("--cpu-repeats", type=int, default=3, help="timed solves of the CPU engine after its warm-up solve")
    ap.add_argument("--max-iter", type=int, default=200)
    ap.add_argument("--dtype", choices=["float64", "float32"], default="float64")
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--cpu-threads", type=int, default=None, help="torch CPU threads for (b) (default: torch's)")
    ap.add_argument("--skip-cuda", action="store_true", help="run only the CPU parts (b) and (c)")
    ap.add_argument("--out", required=True, type=new_output, help="where to write the JSON")
    args = ap.parse_args(argv)

    M = cell_M(args)
    cpu_trials = args.cpu_trials or min(args.trials, 128)
    scipy_trials = args.scipy_trials or min(args.trials, 8)
    result = {
        "benchmark": "bench_engine",
        "sizes": {"m": args.m, "n": args.n, "r": args.r, "M": M,
                  "rho": args.r * (args.m + args.n - args.r) / M},
        "restarts": args.restarts,
        "max_iter": args.max_iter,
        "timing": ("engine: one untimed warm-up solve of the whole batch, then the median of "
                   f"{args.repeats} (CUDA) / {args.cpu_repeats} (CPU) timed solves; scipy: one run"),
        "dtype": args.dtype,
        "seed": args.seed,
        "certify_rtol": CERTIFY_RTOL,
        "versions": {"python": platform.python_version(), "torch": torch.__version__,
                     "numpy": np.__version__, "scipy": scipy.__version__,
                     "cuda": torch.version.cuda,
                     "triton": getattr(fused_cholesky.triton, "__version__", None)},
        "cpu": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "runs": {},
    }
    if not args.skip_cuda:
        if not torch.cuda.is_available():
            print("error: no CUDA GPU (use --skip-cuda)", file=sys.stderr)
            raise SystemExit(2)
        result["device_name"] = torch.cuda.get_device_name(0)
        result["runs"]["engine_cuda"] = bench_engine(args, M, torch.device("cuda"), args.trials,
                                                     args.repeats)
    with torch_threads(args.cpu_threads):
        result["cpu_threads"] = torch.get_num_threads()
        result["runs"]["engine_cpu"] = bench_engine(args, M, torch.device("cpu"), cpu_trials,
                                                    args.cpu_repeats)
    result["runs"]["scipy_loop"] = bench_scipy(args, M, scipy_trials)

    runs = result["runs"]
    ratios = {"engine_cpu_over_scipy": runs["engine_cpu"]["trials_per_second"]
              / runs["scipy_loop"]["trials_per_second"]}
    if "engine_cuda" in runs:
        ratios["engine_cuda_over_scipy"] = runs["engine_cuda"]["trials_per_second"] / runs["scipy_loop"]["trials_per_second"]
        ratios["engine_cuda_over_cpu"] = runs["engine_cuda"]["trials_per_second"] / runs["engine_cpu"]["trials_per_second"]
    result["ratios"] = ratios
    # the same instances: the outcome of every trial run by two paths should agree
    common = min(r["trials"] for r in runs.values())
    agree = {}
    names = list(runs)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            fa, fb = runs[a]["first_success"][:common], runs[b]["first_success"][:common]
            agree[f"{a}_vs_{b}"] = sum((x is None) == (z is None) for x, z in zip(fa, fb)) / common
    result["outcome_agreement_on_common_trials"] = agree

    write_result(args.out, result)

    print(f"cell {args.m}x{args.n} r={args.r} M={M} rho={result['sizes']['rho']:.3f} "
          f"restarts={args.restarts} dtype={args.dtype}")
    for name, row in runs.items():
        extra = ""
        if "fraction_of_peak_bandwidth" in row:
            share = row["fraction_of_peak_bandwidth"]
            extra = (f"  bandwidth {row['achieved_bytes_per_s'] / 1e12:.2f} TB/s "
                     + (f"({100 * share:.0f}% of the {row['peak_used']['device']} peak), "
                        if share is not None else "(peak unknown for this device), ")
                     + f"{row['achieved_flops'] / 1e12:.2f} TFLOP/s")
        print(f"  {name:12s} {row['trials']:6d} trials  {row['trials_per_second']:10.2f} trials/s  "
              f"E2 {row['successes_first_start']}/{row['trials']}{extra}")
    for k, v in ratios.items():
        print(f"  {k}: {v:.1f}x")
    print(f"wrote {args.out}")
    return result


if __name__ == "__main__":
    main()
