"""Where a whole batched solve spends its wall time, iteration by iteration, and what the
engine's layout settings change.

:mod:`benchmarks.engine_components` times the parts of one full-batch iteration; this script
runs the whole solve (:func:`numerics.engine.solvers.lm_restarts`) at the reference cell and reads the
wall time of every iteration off :func:`numerics.engine.solvers.trace_iterations` (one event at each
iteration's host sync, no added synchronisation). From it:

- ``setup_seconds``: from the call to the first iteration's sync (start transfer, the two
  set-up passes, the first bookkeeping);
- ``iteration_seconds``: the iterations, split by how full the batch was and whether it was
  compacted just before;
- ``finish_seconds``: after the last iteration (float64 certificate, results to the host);
- ``row_iterations`` against ``trial_iterations``: rows iterated (the batch carries finished
  trials until it is compacted) against iterations of active trials (what the byte model counts).

It does this for each combination of ``--systems`` (how a step solves its linear system: the
library's Cholesky and triangular solves, or the fused Triton kernel), ``--compact-fracs`` (when
the batch drops its finished trials) and ``--graph-rows`` (from which batch size on iterations
replay a CUDA graph; all three :class:`numerics.engine.solvers.LMConfig`), checks that every setting gives every trial the same
outcome and iteration count, and reports the achieved bandwidth with the byte model of
:mod:`benchmarks.bench_engine`. (Records of sub-batches on several CUDA streams and of a
blocked Cholesky factorisation, tried and removed, are in ``results/bench/experiments``; the
code that made them is in commit befbf30.)

Usage (on a CUDA machine)::

    python benchmarks/trace_engine.py --compact-fracs 0.75,0.9 \
        --out results/bench/trace_engine_rho135.json
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks.common import add_cell_arguments, device_peak, peak_fraction, cell_M, feature_passes, new_output, write_result  # noqa: E402
from numerics.engine import fused_cholesky  # noqa: E402
from numerics.engine.capacity import instance_seed, start_seed  # noqa: E402
from numerics.engine.instances import sample_instances  # noqa: E402
from numerics.engine.solvers import LMConfig, lm_restarts, random_starts, trace_iterations  # noqa: E402


def _csv(kind):
    return lambda text: [kind(v) for v in text.split(",")]


def summarise_trace(events: list[dict], t_call: float, t_end: float) -> dict:
    """Split a solve's wall time by the iteration trace."""
    out = {"setup_seconds": events[0]["time"] - t_call if events else t_end - t_call,
           "finish_seconds": t_end - events[-1]["time"] if events else 0.0}
    rows = [e["rows"] for e in events]
    full = rows[0] if rows else 0
    steps = []
    for prev, cur in zip(events, events[1:]):
        # the work between two syncs: eagerly, the step of ``prev`` (on the compacted batch if
        # it was compacted) and the bookkeeping of ``cur``; replayed, both in ``cur``'s launch
        if cur.get("graph"):
            rows_ = cur["rows"]
        else:
            rows_ = prev["active"] if prev["compacted"] else prev["rows"]
        steps.append({"rows": rows_, "active_before": prev["active"],
                      "compacted_before": prev["compacted"], "graph": bool(cur.get("graph")),
                      "seconds": cur["time"] - prev["time"]})
    out["iteration_seconds"] = sum(s["seconds"] for s in steps)
    out["iterations_of_the_batch"] = len(steps)
    out["row_iterations"] = sum(s["rows"] for s in steps)
    out["trial_iterations"] = sum(s["active_before"] for s in steps)
    out["seconds_at_full_batch"] = sum(s["seconds"] for s in steps if s["rows"] == full)
    out["seconds_after_a_compaction"] = sum(s["seconds"] for s in steps if s["compacted_before"])
    out["seconds_below_quarter_batch"] = sum(s["seconds"] for s in steps if s["rows"] < full / 4)
    out["graph_replays"] = sum(s["graph"] for s in steps)
    out["seconds_in_graph_replays"] = sum(s["seconds"] for s in steps if s["graph"])
    out["steps"] = steps
    return out


def copy_ceiling(dev, gib: float = 4.0, reps: int = 10) -> float:
    """The measured bandwidth ceiling: a large device-to-device copy, bytes read plus written
    over the median time of ``reps`` copies (CUDA events)."""
    src = torch.empty(int(gib * 2 ** 30) // 8, dtype=torch.float64, device=dev).normal_()
    dst = torch.empty_like(src)
    for _ in range(2):
        dst.copy_(src)
    times = []
    for _ in range(reps):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record()
        dst.copy_(src)
        b.record()
        torch.cuda.synchronize()
        times.append(a.elapsed_time(b) / 1e3)
    times.sort()
    nbytes = 2 * src.numel() * src.element_size()
    del src, dst
    torch.cuda.empty_cache()
    return nbytes / times[len(times) // 2]


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_cell_arguments(ap)
    ap.add_argument("--trials", type=int, default=2048)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--compact-fracs", type=_csv(float), default=[0.75])
    ap.add_argument("--graph-rows", type=_csv(int), default=[LMConfig().graph_rows],
                    help="batch size at or below which iterations replay a CUDA graph (0: never)")
    ap.add_argument("--systems", type=_csv(str), default=[LMConfig().system],
                    help="how steps solve their system (LMConfig.system), comma-separated")
    ap.add_argument("--repeats", type=int, default=2, help="timed solves per combination (the fastest is reported)")
    ap.add_argument("--device", default="cuda", help="cuda (the point), or cpu for a quick check of the script")
    ap.add_argument("--out", required=True, type=new_output)
    args = ap.parse_args(argv)
    if args.device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("trace_engine: error: no CUDA GPU (use --device cpu for a quick check)")
    dev = torch.device(args.device)

    def sync():
        if dev.type == "cuda":
            torch.cuda.synchronize()

    m, n, r = args.m, args.n, args.r
    M = cell_M(args)
    inst = [instance_seed(args.seed, "gaussian", m, n, M, None, t) for t in range(args.trials)]
    seeds = [[start_seed(args.seed, "gaussian", m, n, r, M, None, t, 0)] for t in range(args.trials)]
    op, y = sample_instances(inst, m, n, M, device=dev, dtype="float64")
    first = random_starts([s[0] for s in seeds], m, n, r, device=dev)
    pass_bytes = op.bytes_per_pass() / op.T
    result = {"benchmark": "trace_engine", "cell": {"m": m, "n": n, "r": r, "M": M, "rho": r * (m + n - r) / M},
              "trials": args.trials, "seed": args.seed, "device_name": torch.cuda.get_device_name(0) if dev.type == "cuda" else "cpu",
              "torch": torch.__version__, "cuda": torch.version.cuda,
              "triton": getattr(fused_cholesky.triton, "__version__", None),
              "instances_drawn_on": dev.type, "feature_bytes_per_trial_pass": pass_bytes,
              "runs": []}
    peak = device_peak(result["device_name"])
    result["peak_used"] = peak
    if dev.type == "cuda":
        result["measured_copy_bytes_per_s"] = copy_ceiling(dev)
        print(f"device-to-device copy: {result['measured_copy_bytes_per_s'] / 1e12:.2f} TB/s "
              f"(bytes read + written)", flush=True)
    reference = None
    for system, frac, graph_rows in [(s, f, g) for s in args.systems for f in args.compact_fracs
                                     for g in args.graph_rows]:
        cfg = LMConfig(compact_frac=frac, graph_rows=graph_rows, system=system)
        warm = torch.arange(min(64, args.trials), device=dev)
        lm_restarts(op.subset(warm), y[warm], r, seeds[:len(warm)], cfg)  # warm-up (kernels, allocator)
        sync()
        best = None
        for _ in range(args.repeats):
            with trace_iterations() as events:
                sync()
                t0 = time.perf_counter()
                res = lm_restarts(op, y, r, seeds, cfg, first_starts=first)
                sync()
                t1 = time.perf_counter()
            if best is None or t1 - t0 < best[0]:
                best = (t1 - t0, list(events), t0, t1, res)
        seconds, events, t0, t1, res = best
        iters = int(sum(res["iterations"]))
        passes = feature_passes(args.trials, iters)
        row = {"system": system, "fused_system": cfg.fused_system(dev, torch.float64),
               "compact_frac": frac, "graph_rows": graph_rows, "solve_seconds": seconds,
               "trials_per_second": args.trials / seconds, "iterations_total": iters,
               "feature_passes_total": passes,
               "fraction_of_peak_bandwidth": peak_fraction(pass_bytes * passes / seconds, peak,
                                                           "hbm_bytes_per_s"),
               "successes": sum(f == 0 for f in res["first_success"])}
        row["trace"] = summarise_trace(events, t0, t1)
        key = (res["first_success"], res["iterations"])
        if reference is None:
            reference = key
        row["same_outcomes_and_iterations_as_first_run"] = key == reference
        result["runs"].append(row)
        print(f"system {system} compact_frac {frac} graph_rows {graph_rows}: {seconds * 1e3:.1f} ms, "
              f"{row['trials_per_second']:.0f} trials/s, "
              + (f"{100 * row['fraction_of_peak_bandwidth']:.1f}% of the {peak['device']} peak, "
                 if row["fraction_of_peak_bandwidth"] is not None else "peak unknown, ")
              + f"same outcomes {row['same_outcomes_and_iterations_as_first_run']}", flush=True)
        if "trace" in row:
            tr = row["trace"]
            print(f"   setup {tr['setup_seconds'] * 1e3:.1f} ms, iterations {tr['iteration_seconds'] * 1e3:.1f} ms "
                  f"({tr['iterations_of_the_batch']} of the batch; full batch {tr['seconds_at_full_batch'] * 1e3:.1f} ms, "
                  f"after compaction {tr['seconds_after_a_compaction'] * 1e3:.1f} ms, below 1/4 batch "
                  f"{tr['seconds_below_quarter_batch'] * 1e3:.1f} ms), finish {tr['finish_seconds'] * 1e3:.1f} ms; "
                  f"rows iterated {tr['row_iterations']} for {tr['trial_iterations']} trial iterations", flush=True)
    write_result(args.out, result)
    return result


if __name__ == "__main__":
    main()
