"""Time a whole C* sweep end to end, from a fresh process, on each solver path, side by side.

The single-cell benchmark (:mod:`benchmarks.bench_engine`) warms up before it times, so it never
sees what a real sweep pays: a new size in almost every cell. With the fused kernel's size a
compile-time constant every new size compiled a new kernel, and a 40-cell sweep ran 9x slower
than the library path (issue 13). This benchmark times what users run.

For each system (``--systems``, default ``auto,library``) it starts a **fresh Python process**
(nothing compiled, no allocator blocks, no Triton kernels loaded in memory; Triton's on-disk
cache is pointed at a new empty folder per process unless ``--keep-triton-cache``) which runs
the sweep of ``lorank cstar --estimand lm`` with the same grid, seed and batch size as the CLI
(cells in the family's order, batches of ``--batch-size`` trials through
:func:`numerics.engine.capacity.run_trials`) and reports:

* ``process_seconds``: from the process's start to its last cell, imports included;
* ``sweep_seconds``: the cells alone; per cell its seconds and trials/s;
* ``compile``: on the fused path, the number of compiled variants of the kernel after the
  sweep and the seconds of one cold compile-and-launch measured in the same process before the
  sweep (on a 2 x 2 system), so ``compile_share`` = variants x cold compile / sweep seconds;
* the outcome of every trial (certified or not, first successful start), compared across the
  systems: ``outcomes_identical`` and the trials that differ, if any;
* per cell, the CUDA caching allocator's counters (``allocator``: retries after a refused
  allocation, device allocations and frees, reserved and free bytes at the cell's start and
  end); ``--release-cache`` returns the cache's unused blocks to the device before each cell.
  The 128 x 128, r = 4 cells ran 5 to 40 times slower inside the headline sweep than from a
  fresh process, with the same iterations; these fields are there to test whether the
  allocator's state left by earlier cells is the cause.

The record says which device and which peak, versions, grid, seed and the command that made it.

    python benchmarks/bench_sweep.py --device cuda --sizes 16x16,64x64 --ranks 1,2 \\
        --rho 0.95,0.98,1,1.02,1.05,1.1,1.2,1.35,1.5,2 --trials 200 --restarts 4 \\
        --batch-size 512 --seed 2026 --out results/bench/sweep-40-cells.json

``--estimand recipe`` times the E3 sweep (the LoRA recipe, gradient descent to the largest of
``--budgets``) the same way, with ``--systems`` from ``auto`` (steps replayed from a CUDA graph,
the host looking at the batch every ``RecipeConfig.graph_steps`` steps) and ``baseline`` (every
step eager, a look after each, as up to lorank 0.5). Its per-cell outcome is the relative
residual at every budget, compared to 1e-9 relative (and 1e-13 absolute): the two paths drop
finished trials at other steps, so the batches, and the last bits, differ.

On the CPU the default system is the library path (the fused kernel runs on CUDA only, or
under Triton's interpreter), so a CPU run compares the library path with itself: a check of the
benchmark, not of the kernel.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

_START = time.perf_counter()

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks.common import device_peak, new_output, write_result  # noqa: E402

#: The solver configurations a sweep can be timed with (``--systems``), as overrides of the
#: defaults of :class:`numerics.engine.solvers.LMConfig`: ``auto`` is the default engine;
#: ``library`` and ``fused`` fix how each step's SPD system is solved; ``baseline`` is the
#: library path as it ran when issue 13 was filed (lorank 0.5: restarts one after the other,
#: CUDA graphs only once at most 64 trials are active).
SYSTEMS = {
    "auto": {},
    "library": {"system": "library"},
    "fused": {"system": "fused"},
    "baseline": {"system": "library", "restart_schedule": "sequential", "graph_bytes": 0},
}
#: The same for the recipe (E3), as overrides of :class:`numerics.engine.solvers.RecipeConfig`:
#: ``baseline`` steps eagerly with a look at the batch after every step (lorank 0.5).
RECIPE_SYSTEMS = {"auto": {}, "baseline": {"graph_steps": 0}}


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--estimand", default="lm", choices=("lm", "recipe"),
                    help="lm (E1/E2, Levenberg-Marquardt) or recipe (E3); default lm")
    ap.add_argument("--budgets", default="100,300,1000,3000,10000",
                    help="recipe: step budgets (default those of the headline recipe sweep)")
    ap.add_argument("--sizes", default="16x16,64x64", help="matrix sizes m x n (default 16x16,64x64)")
    ap.add_argument("--ranks", default="1,2", help="ranks r (default 1,2)")
    ap.add_argument("--rho", default="0.95,0.98,1,1.02,1.05,1.1,1.2,1.35,1.5,2",
                    help="rho grid (default the 10 values of the headline sweep)")
    ap.add_argument("--trials", type=int, default=200, help="trials per cell (default 200)")
    ap.add_argument("--restarts", type=int, default=4, help="starts per trial (default 4)")
    ap.add_argument("--max-iters", type=int, default=200, help="LM iterations per start (default 200)")
    ap.add_argument("--batch-size", type=int, default=512, help="trials per solver call (default 512)")
    ap.add_argument("--seed", type=int, default=2026, help="global seed (default 2026)")
    ap.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    ap.add_argument("--systems", default="auto,library",
                    help="solver paths, each timed in its own fresh process (default auto,library)")
    ap.add_argument("--release-cache", action="store_true",
                    help="return the CUDA caching allocator's unused blocks to the device before "
                         "each cell (torch.cuda.empty_cache(); timed as part of the cell)")
    ap.add_argument("--keep-triton-cache", action="store_true",
                    help="let the fresh processes use Triton's on-disk cache (default: a new empty "
                         "cache folder per process, so every compile is paid)")
    ap.add_argument("--out", type=new_output, help="the result JSON (a new file)")
    ap.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--worker-out", default=None, help=argparse.SUPPRESS)
    return ap


def _family(args):
    from numerics.experiments import cstar

    return cstar.LM if args.estimand == "lm" else cstar.RECIPE


def _config(args):
    """The cstar family config of the sweep (its parsers validate the grid as the CLI does)."""
    from numerics.experiments.options import float_list, int_list, sizes

    common = dict(sizes=sizes("sizes", args.sizes), ranks=int_list("ranks", args.ranks),
                  rho=float_list("rho", args.rho), trials=args.trials, seed=args.seed,
                  device=args.device, batch_size=args.batch_size)
    if args.estimand == "lm":
        return _family(args).config(restarts=args.restarts, max_iters=args.max_iters, **common)
    return _family(args).config(budgets=int_list("budgets", args.budgets), **common)


def _cold_compile_seconds(device) -> float | None:
    """Seconds of the first call of the fused kernel in this process (compile and launch) on a
    2 x 2 system, or None where the kernel cannot run."""
    import torch

    from numerics.engine import fused_cholesky

    if device.type != "cuda" or not fused_cholesky.available():
        return None
    S = torch.eye(2, dtype=torch.float64, device=device).expand(1, 2, 2).clone()
    R = torch.ones((1, 2), dtype=torch.float64, device=device)
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    fused_cholesky.cholesky_solve_fused(S, R)
    torch.cuda.synchronize()
    return time.perf_counter() - t0


#: Counters of the CUDA caching allocator recorded per cell (``torch.cuda.memory_stats``): an
#: allocation the cache cannot serve and the device refuses frees every cached block and retries
#: (``num_alloc_retries``), each a device synchronisation and a round of cudaFree/cudaMalloc.
ALLOCATOR_COUNTERS = ("num_alloc_retries", "num_device_alloc", "num_device_free")


def _allocator_counts(device) -> dict:
    import torch

    if device.type != "cuda":
        return {}
    stats = torch.cuda.memory_stats(device)
    out = {k: int(stats.get(k, 0)) for k in ALLOCATOR_COUNTERS}
    out["reserved_bytes"] = int(stats.get("reserved_bytes.all.current", 0))
    out["free_device_bytes"] = int(torch.cuda.mem_get_info(device)[0])
    return out


def _allocator_delta(before: dict, after: dict) -> dict:
    """Per cell: the counters' increase, and the reserved and free bytes at its start and end.

    >>> _allocator_delta({"num_alloc_retries": 1, "reserved_bytes": 5}, {"num_alloc_retries": 4, "reserved_bytes": 7})
    {'num_alloc_retries': 3, 'reserved_bytes_start': 5, 'reserved_bytes_end': 7}
    """
    out = {k: after[k] - before[k] for k in ALLOCATOR_COUNTERS if k in after}
    for k in ("reserved_bytes", "free_device_bytes"):
        if k in after:
            out[k + "_start"], out[k + "_end"] = before[k], after[k]
    return out


def _same_residuals(x: list, y: list) -> bool:
    """Two trials' residuals at every budget agree: the same budgets are NaN (never reached or
    non-finite), the others agree to 1e-9 relative or 1e-13 absolute.

    >>> _same_residuals([0.5, float("nan")], [0.5 + 1e-12, float("nan")])
    True
    >>> _same_residuals([0.5, 0.1], [0.5, None])
    False
    """
    import math

    def missing(v):
        return v is None or math.isnan(v)

    return len(x) == len(y) and all(
        (missing(a) and missing(b)) or
        (not missing(a) and not missing(b) and math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-13))
        for a, b in zip(x, y))


def worker(args) -> dict:
    """Run the sweep in this (fresh) process with ``LMConfig(system=args.worker)``."""
    import torch

    from numerics.engine.capacity import run_trials
    from numerics.engine.solvers import LMConfig, RecipeConfig
    from numerics.experiments import cstar

    config = _config(args)
    family = _family(args)
    e = family.experiment(config)
    device = torch.device(args.device)
    # the family's own solver settings (numerics.experiments.cstar run_batch), plus the system
    if args.estimand == "lm":
        lm, recipe = LMConfig(max_iter=e.max_iters, certify_rtol=e.tol, **SYSTEMS[args.worker]), None
    else:
        lm, recipe = LMConfig(), RecipeConfig(**RECIPE_SYSTEMS[args.worker])
    fused = lm.fused_system(device, torch.float64) and args.estimand == "lm"
    fused_cells = 0
    cold = _cold_compile_seconds(device) if fused else None
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    cells, outcomes = [], {}
    t_sweep = time.perf_counter()
    for cell in family.cells(config):
        sync()
        t0 = time.perf_counter()
        if args.release_cache and device.type == "cuda":
            torch.cuda.empty_cache()
        before = _allocator_counts(device)
        rows = []
        for lo in range(0, config.trials, config.batch_size):
            idx = list(range(lo, min(lo + config.batch_size, config.trials)))
            rows += run_trials(args.estimand, tuple(cell), idx, global_seed=e.seed, features=e.features,
                               K=e.K, device=e.device, dtype=e.dtype, restarts=e.restarts,
                               budgets=e.budgets, lm_config=lm, recipe_config=recipe,
                               cpu_threads=None)
        sync()
        seconds = time.perf_counter() - t0
        m, n, r, M = cell
        row = {"m": m, "n": n, "r": r, "M": M, "seconds": seconds,
               "trials_per_second": config.trials / seconds,
               "allocator": _allocator_delta(before, _allocator_counts(device))}
        if args.estimand == "lm":
            row["successes"] = sum(o["first_success"] is not None for o in rows)
            row["iterations"] = sum(o["iterations"] for o in rows)
            row["fused_system"] = lm.fused_system(device, torch.float64, size=min(M, r * (m + n)))
            fused_cells += row["fused_system"]
            outcomes[f"{m}x{n}r{r}M{M}"] = [[o["first_success"], o["iterations"]] for o in rows]
        else:
            outcomes[f"{m}x{n}r{r}M{M}"] = [[o["rel_residual_at"][str(b)] for b in e.budgets]
                                            for o in rows]
        cells.append(row)
    sweep_seconds = time.perf_counter() - t_sweep
    from numerics.engine import fused_cholesky

    variants = fused_cholesky.compiled_variants() if fused else None
    fields = ("system", "fused_max_size", "restart_schedule", "concurrent_bytes", "graph_rows",
              "graph_bytes")
    solver = ({k: getattr(lm, k) for k in fields} if recipe is None else
              {"graph_steps": recipe.graph_steps, "compact_frac": recipe.compact_frac})
    return {"system": args.worker, "solver_config": solver,
            "release_cache_between_cells": bool(args.release_cache),
            "fused_kernel_used": bool(fused_cells) if args.estimand == "lm" else fused,
            "fused_cells": fused_cells if args.estimand == "lm" else None,
            "process_seconds": time.perf_counter() - _START, "sweep_seconds": sweep_seconds,
            "trials": config.trials * len(cells), "cells": cells,
            "compile": {"cold_compile_seconds": cold, "variants_after_sweep": variants,
                        "compile_share": (None if cold is None or variants is None
                                          else cold * variants / sweep_seconds)},
            "outcomes": outcomes}


def main(argv=None) -> dict | None:
    args = _parser().parse_args(argv)
    if args.worker is not None:
        result = worker(args)
        with open(args.worker_out, "w") as f:
            json.dump(result, f)
        return None
    if args.out is None:
        _parser().error("--out is required")
    systems = [s.strip() for s in args.systems.split(",") if s.strip()]
    known = SYSTEMS if args.estimand == "lm" else RECIPE_SYSTEMS
    bad = [s for s in systems if s not in known]
    if bad or not systems:
        _parser().error(f"--systems must be a comma list of {', '.join(known)} for --estimand "
                        f"{args.estimand}, got {args.systems!r}")
    _config(args)  # refuse a bad grid before any process starts
    import platform

    import torch

    from numerics.engine import fused_cholesky
    from numerics.experiments.records import environment_info

    runs = {}
    for system in systems:
        with tempfile.TemporaryDirectory() as tmp:
            env = dict(os.environ)
            if not args.keep_triton_cache:
                env["TRITON_CACHE_DIR"] = os.path.join(tmp, "triton-cache")
            out = os.path.join(tmp, "worker.json")
            cmd = [sys.executable, os.path.abspath(__file__), *(argv if argv is not None else sys.argv[1:]),
                   "--worker", system, "--worker-out", out]
            cmd = [c for c in cmd if c != "--out" and c != args.out]
            t0 = time.perf_counter()
            subprocess.run(cmd, check=True, env=env)
            wall = time.perf_counter() - t0
            with open(out) as f:
                runs[system] = json.load(f)
            runs[system]["wall_seconds_from_launch"] = wall
        print(f"{system:8s} sweep {runs[system]['sweep_seconds']:8.1f} s, process "
              f"{runs[system]['process_seconds']:8.1f} s, from launch {wall:8.1f} s"
              + (f", kernel variants {runs[system]['compile']['variants_after_sweep']}, cold compile "
                 f"{runs[system]['compile']['cold_compile_seconds']:.2f} s"
                 if runs[system]["compile"]["cold_compile_seconds"] is not None else ""), flush=True)
    first = systems[0]
    comparisons = {}
    for other in systems[1:]:
        a, b = runs[first]["outcomes"], runs[other]["outcomes"]
        if args.estimand == "lm":  # [first successful start, iterations] per trial
            differ = [(k, i) for k in a for i, (x, y) in enumerate(zip(a[k], b[k])) if x[0] != y[0]]
            iters = [(k, i) for k in a for i, (x, y) in enumerate(zip(a[k], b[k])) if x[1] != y[1]]
            extra = {"iterations_identical": not iters, "trials_with_other_iterations": len(iters),
                     "other_iterations": iters[:50]}
        else:
            differ = [(k, i) for k in a for i, (x, y) in enumerate(zip(a[k], b[k]))
                      if not _same_residuals(x, y)]
            extra = {"residual_tolerance": {"rel": 1e-9, "abs": 1e-13}}
        comparisons[f"{first}_vs_{other}"] = {
            "outcomes_identical": not differ, "trials_differing": len(differ),
            "differing": differ[:50], **extra,
            "speedup_sweep": runs[other]["sweep_seconds"] / runs[first]["sweep_seconds"],
            "speedup_from_launch": runs[other]["wall_seconds_from_launch"]
            / runs[first]["wall_seconds_from_launch"]}
    device_name = torch.cuda.get_device_name(0) if args.device.startswith("cuda") else \
        environment_info("cpu").get("device_name")
    grid = {"sizes": args.sizes, "ranks": args.ranks, "rho": args.rho, "trials": args.trials,
            "batch_size": args.batch_size, "seed": args.seed}
    grid.update({"restarts": args.restarts, "max_iters": args.max_iters} if args.estimand == "lm"
                else {"budgets": args.budgets})
    result = {"benchmark": "bench_sweep", "family": _family(args).name, "grid": grid,
              "device": args.device, "device_name": device_name,
              "peak_used": device_peak(device_name),
              "fresh_process_per_system": True,
              "triton_cache": "kept" if args.keep_triton_cache else "new empty folder per process",
              "versions": {"python": platform.python_version(), "torch": torch.__version__,
                           "triton": getattr(fused_cholesky.triton, "__version__", None)},
              "command": " ".join([os.path.basename(sys.executable), "benchmarks/bench_sweep.py",
                                   *(argv if argv is not None else sys.argv[1:])]),
              "runs": {k: {kk: vv for kk, vv in v.items() if kk != "outcomes"} for k, v in runs.items()},
              "comparisons": comparisons}
    write_result(args.out, result)
    for name, c in comparisons.items():
        a, b = name.split("_vs_")
        print(f"{name}: {b}/{a} sweep time {c['speedup_sweep']:.2f}x, outcomes identical: "
              f"{c['outcomes_identical']} ({c['trials_differing']} trials differ)")
    print(f"wrote {args.out}")
    return result


if __name__ == "__main__":
    main()
