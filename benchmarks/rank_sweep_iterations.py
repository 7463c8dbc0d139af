"""How many sweeps the rank sweep's alternating least squares needs: the measurement behind
the default ``--iters`` of ``lorank rank-sweep``.

Runs the rank sweep's trials (:func:`numerics.engine.rank_sweep.run_trials`) on a grid (default:
the CPU default's grid, its first ``--seeds`` seeds) with a cap far above any need
(``--cap``, default 100000 sweeps) and the stopping tolerance of the engine, and writes per
setting and rank the distribution of the sweeps the slowest start of each fit ran (median,
90th percentile, maximum), how many fits reached the cap anyway, and the time. The default cap
of the engine is chosen from the maximum found here, with a margin; every run then records per
rank how many fits hit the cap, so a cap that is too small shows up in the record.

Usage::

    python benchmarks/rank_sweep_iterations.py --seeds 60 --out results/bench/rank_sweep_iterations.json
"""

from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from numerics.engine.rank_sweep import STOP_RTOL, SweepConfig, run_trials  # noqa: E402
from numerics.experiments.records import write_json_atomic  # noqa: E402


def measure(cfg: SweepConfig, seeds: int) -> dict:
    """Per setting ``(r0, N, sigma)`` and rank: sweeps of the slowest start (median, 90th
    percentile, maximum over seeds), fits at the cap, seconds."""
    import numpy as np

    out = []
    t_all = time.perf_counter()
    for r0 in cfg.teacher_ranks:
        for N in cfg.n_train:
            for j, sigma in enumerate(cfg.noise):
                t0 = time.perf_counter()
                rows = run_trials(cfg, r0, N, j, range(seeds))
                secs = time.perf_counter() - t0
                its = np.array([row["iterations"] for row in rows])
                capped = np.array([row["capped"] for row in rows])
                out.append({"r0": r0, "n_train": N, "noise": sigma, "seeds": seeds, "seconds": secs,
                            "per_rank": [{"r": r + 1, "median": float(np.median(its[:, r])),
                                          "p90": float(np.percentile(its[:, r], 90)),
                                          "max": int(its[:, r].max()),
                                          "fits_capped": int(capped[:, r].sum())}
                                         for r in range(its.shape[1])]})
    worst = max(p["max"] for e in out for p in e["per_rank"])
    return {"cap": cfg.iters, "stop_rtol": cfg.stop_rtol, "restarts": cfg.restarts,
            "sizes": {"m": cfg.m, "n": cfg.n, "max_rank": cfg.max_rank},
            "settings": out, "max_sweeps": worst, "seconds": time.perf_counter() - t_all}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--cap", type=int, default=100_000)
    ap.add_argument("--restarts", type=int, default=SweepConfig.restarts)
    ap.add_argument("--stop-rtol", type=float, default=STOP_RTOL)
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    cfg = SweepConfig(iters=args.cap, restarts=args.restarts, stop_rtol=args.stop_rtol)
    res = measure(cfg, args.seeds)
    for e in res["settings"]:
        print(f"r0={e['r0']} N={e['n_train']} sigma={e['noise']:g} ({e['seconds']:.1f} s): " + "  ".join(
            f"r={p['r']}: {p['median']:.0f}/{p['p90']:.0f}/{p['max']}"
            + (f" ({p['fits_capped']} capped)" if p["fits_capped"] else "") for p in e["per_rank"]))
    print(f"largest number of sweeps: {res['max_sweeps']} (cap {res['cap']}); {res['seconds']:.1f} s")
    if args.out:
        write_json_atomic(args.out, res)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
