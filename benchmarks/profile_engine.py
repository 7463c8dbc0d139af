"""Where the batched Levenberg-Marquardt engine spends its GPU time (for the roofline work).

Runs :func:`numerics.engine.solvers.lm_restarts` once under ``torch.profiler`` on one cell (default
the benchmark's reference cell 64 x 64, r = 2, at rho = 1, the measured transition) and writes
the per-kernel-family CUDA time table as JSON, plus the achieved bandwidth of the whole solve.

Usage (on a CUDA machine)::

    python benchmarks/profile_engine.py --out results/bench/profile_engine_rho1.json
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks.common import add_cell_arguments, cell_M, new_output, write_result  # noqa: E402
from numerics.engine.capacity import instance_seed, start_seed  # noqa: E402
from numerics.engine.instances import sample_instances  # noqa: E402
from numerics.engine.solvers import LMConfig, lm_restarts  # noqa: E402


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_cell_arguments(ap, rho=1.0)
    ap.add_argument("--trials", type=int, default=1024)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--restarts", type=int, default=1, help="starts per trial (default 1)")
    ap.add_argument("--system", default=LMConfig().system, choices=("auto", "fused", "library"),
                    help="how each step's SPD system is solved (LMConfig.system)")
    ap.add_argument("--out", required=True, type=new_output)
    args = ap.parse_args(argv)
    if not torch.cuda.is_available():
        raise SystemExit("profile_engine: error: needs a CUDA GPU")
    dev = torch.device("cuda")
    M = cell_M(args)
    inst = [instance_seed(args.seed, "gaussian", args.m, args.n, M, None, t) for t in range(args.trials)]
    starts = [[start_seed(args.seed, "gaussian", args.m, args.n, args.r, M, None, t, k)
               for k in range(args.restarts)] for t in range(args.trials)]
    op, y = sample_instances(inst, args.m, args.n, M, device=dev, dtype="float64")
    cfg = LMConfig(system=args.system)
    lm_restarts(op.subset(torch.arange(8, device=dev)), y[:8], args.r, starts[:8], cfg)  # warm-up
    torch.cuda.synchronize()
    acts = [torch.profiler.ProfilerActivity.CPU, torch.profiler.ProfilerActivity.CUDA]
    t0 = time.perf_counter()
    with torch.profiler.profile(activities=acts) as prof:
        out = lm_restarts(op, y, args.r, starts, cfg)
        torch.cuda.synchronize()
    wall = time.perf_counter() - t0
    rows = []
    for ev in prof.key_averages():
        cuda_us = getattr(ev, "device_time_total", None)
        if cuda_us is None:
            cuda_us = getattr(ev, "cuda_time_total", 0.0)
        if cuda_us > 0:
            rows.append({"name": ev.key[:120], "calls": ev.count, "cuda_ms": cuda_us / 1e3})
    rows.sort(key=lambda r: -r["cuda_ms"])
    total = sum(r["cuda_ms"] for r in rows)
    iters = int(sum(out["iterations"]))
    result = {
        "cell": {"m": args.m, "n": args.n, "r": args.r, "M": M, "rho": args.r * (args.m + args.n - args.r) / M},
        "trials": args.trials, "restarts": args.restarts, "system": args.system,
        "fused_system": cfg.fused_system(dev, torch.float64), "device_name": torch.cuda.get_device_name(0), "torch": torch.__version__,
        "wall_seconds_under_profiler": wall, "iterations_total": iters,
        "cuda_ms_total_over_listed_ops": total,
        "note": "operator-level CUDA time (self + children may double count nested ops); compare shares, not sums",
        "top": rows[: args.top],
    }
    write_result(args.out, result)
    for r in rows[: args.top]:
        print(f"{r['cuda_ms']:10.1f} ms {r['calls']:7d}  {r['name']}")
    print(f"wall {wall:.2f} s under the profiler, {iters} iterations")
    return result


if __name__ == "__main__":
    main()
