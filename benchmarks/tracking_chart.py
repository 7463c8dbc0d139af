"""Failed paths of the E0 rank-``r`` tracker by tracking chart (issue 16): the identity chart
``Delta = [I_r; U'] V^T`` against a random complex unitary one ``Q [I_r; U'] V^T``
(:func:`numerics.engine.homotopy_rank.solve_rank`, ``chart=``), on the very instances that
``lorank exact`` tracks in a cell (E1's instances, seed 0), one tracking each (no retry): the
paths that failed in the tracking chart, those of them continued to ``t = 1`` in another chart
(``random`` only), the paths that did not reach ``t = 1`` in the end, and the instances
certified from that one tracking. The
certificate is the same for both charts; fewer failed paths means fewer retries.

    python benchmarks/tracking_chart.py --size 6x6 --rank 4 --trials 96 \\
        --out results/bench/tracking-chart-6x6r4-cpu.json
"""

from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks.common import new_output, write_result  # noqa: E402


def measure(m: int, n: int, r: int, trials: int, chart: str, device: str) -> dict:
    """One chart: seconds of the tracking and certification, failed paths, certified instances."""
    import torch

    from numerics.engine import homotopy_rank
    from numerics.engine.homotopy_rank import e0_rank_on_e1_instances, start_solutions_rank

    start_solutions_rank(m, n, r, 0, device=device)          # outside the timing
    t0 = time.perf_counter()
    res = e0_rank_on_e1_instances(m, n, r, range(trials), device=device, retries=0, chart=chart)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    seconds = time.perf_counter() - t0
    last = dict(homotopy_rank.LAST_TRACKING)
    return {"chart": chart, "seconds": seconds, "paths": last["paths"],
            "failed_in_tracking_chart": last["failed"], "continued_in_another_chart": last["continued"],
            "failed_paths": last["failed_after"],
            "certified_first_tracking": int(res.certified.sum()),
            "real_counts": [int(c) if ok else None
                            for c, ok in zip(res.real_count.tolist(), res.certified.tolist())]}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", default="6x6", help="m x n (default 6x6)")
    ap.add_argument("--rank", type=int, default=4)
    ap.add_argument("--trials", type=int, default=96)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", type=new_output, required=True)
    args = ap.parse_args(argv)
    import torch

    from numerics.experiments.records import environment_info

    torch.set_num_threads(args.threads)
    m, n = (int(x) for x in args.size.lower().split("x"))
    measure(m, n, args.rank, 1, "identity", args.device)        # warm-up: imports, start solve
    rows = [measure(m, n, args.rank, args.trials, c, args.device) for c in ("identity", "random")]
    for row in rows:
        print(f"{row['chart']:>8}: {row['failed_paths']} of {row['paths']} paths failed, "
              f"{row['certified_first_tracking']}/{args.trials} certified from one tracking, "
              f"{row['seconds']:.1f} s", flush=True)
    ident, rand = rows
    both = [k for k in range(args.trials)
            if ident["real_counts"][k] is not None and rand["real_counts"][k] is not None]
    write_result(args.out, {
        "benchmark": "tracking_chart", "cell": [m, n, args.rank, args.rank * (m + n - args.rank)],
        "trials": args.trials, "instances": "lorank exact's trials 0..trials-1 of the cell, seed 0",
        "retries": 0, "threads": args.threads, "charts": rows,
        "both_certified": len(both),
        "real_counts_agree": all(ident["real_counts"][k] == rand["real_counts"][k] for k in both),
        "command": "python benchmarks/tracking_chart.py " + " ".join(argv or sys.argv[1:]),
        "environment": environment_info(args.device)})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
