"""E0 against Bertini 2 at rho = 1, r = 1, on the same instances (issue 16, item 2's second route).

For each size, trials 0..T-1 of the cell (m, n, 1, m + n - 1) (Gaussian features, global seed 0,
the instances `lorank exact` and `lorank cstar --estimand lm` see): E0 (lorank's tracker and
certificate, numerics/engine/homotopy.py, --retries 1) and Bertini 2's zero-dimensional solver
(numerics/engine/bertini_route.py; needs `pip install 'lorank[bertini]'`). Per instance: E0's
certified flag and real count, Bertini's finite and real counts. Per cell: how many instances
Bertini finds the degree on, and on how many certified instances the real counts agree; every
disagreement is listed, with the exact real count where m = 2 (Sturm sequences,
proofs.exact_existence.real_solution_count_two_rows) to say which route erred. Writes one JSON record (gzipped if --out ends in .gz).

    python scripts/exact_existence_bertini.py --sizes 2x2,2x3,2x4,3x3,3x4,4x4,3x5 --trials 100 \\
        --out results/exact-existence/bertini-cpu/crosscheck.json.gz
"""

from __future__ import annotations

import argparse
import gzip
import json
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from numerics.engine.bertini_route import REAL_TOL, count_solutions, count_solutions_rank  # noqa: E402
from numerics.engine.capacity import instance_seed  # noqa: E402
from numerics.engine.homotopy import solve_rank_one  # noqa: E402
from numerics.engine.homotopy_rank import solve_rank  # noqa: E402
from numerics.engine.instances import sample_instances  # noqa: E402
from proofs.exact_existence import (determinantal_degree, real_solution_count_groebner,  # noqa: E402
                                    real_solution_count_two_rows)


def _adjudicate(row, G, y, m, n=None):
    """A disagreement, with the exact real count where a third route exists: two rows (one
    univariate polynomial, Sturm sequences on the exact rationals of the float64 instance), or
    3x3 (a lex Groebner basis over Q, proofs.exact_existence.real_solution_count_groebner; tens
    of seconds on Gaussian floats; None where the basis is not in shape position)."""
    row = dict(row)
    t = row["trial"]
    if m == 2:
        exact = real_solution_count_two_rows(G[t].tolist(), y[t].tolist())
        row["exact_real"] = exact[0] if exact is not None else None
    elif (m, n) == (3, 3):
        exact = real_solution_count_groebner(G[t].tolist(), y[t].tolist(), 1)
        row["exact_real"] = exact[0] if exact is not None else None
        row["exact_route"] = "groebner"
    return row


def cell(m, n, trials, seed, r=1):
    M = r * (m + n - r)
    seeds = [instance_seed(seed, "gaussian", m, n, M, None, t) for t in range(trials)]
    op, y = sample_instances(seeds, m, n, M, device="cpu", dtype=torch.float64)
    G = op.dense()
    start = time.perf_counter()
    e0 = solve_rank_one(G, y, retries=1) if r == 1 else solve_rank(G, y, r, retries=1)
    e0_s = time.perf_counter() - start
    rows, b_s = [], 0.0
    for t in range(trials):
        start = time.perf_counter()
        finite, real = (count_solutions(G[t].numpy(), y[t].numpy(), seed=seeds[t] % 2**31) if r == 1
                        else count_solutions_rank(G[t].numpy(), y[t].numpy(), r, seed=seeds[t] % 2**31))
        b_s += time.perf_counter() - start
        rows.append({"trial": t, "e0_certified": bool(e0.certified[t]),
                     "e0_real": int(e0.real_count[t]) if bool(e0.certified[t]) else None,
                     "bertini_finite": finite, "bertini_real": real})
    d = determinantal_degree(m, n, r)
    rank = r
    cert = [r for r in rows if r["e0_certified"]]
    return {"m": m, "n": n, "r": rank, "degree": d, "trials": trials,
            "bertini_finds_degree": sum(r["bertini_finite"] == d for r in rows),
            "e0_certified": len(cert),
            "real_counts_agree": sum(r["e0_real"] == r["bertini_real"] for r in cert),
            "disagreements": [_adjudicate(r, G, y, m, n) if rank == 1 else dict(r)
                              for r in cert if r["e0_real"] != r["bertini_real"]],
            "e0_s": round(e0_s, 2), "bertini_s": round(b_s, 2), "rows": rows}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="2x2,2x3,3x3")
    ap.add_argument("--trials", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--rank", type=int, default=1, help="r (every size must have r < min(m, n))")
    ap.add_argument("--out", default=None)
    ap.add_argument("--adjudicate", default=None, metavar="RECORD",
                    help="re-adjudicate the disagreements of an existing record (same instances, "
                         "regenerated from its seed) with every exact route, write it to --out")
    a = ap.parse_args(argv)
    if a.adjudicate:
        record = json.loads(gzip.decompress(Path(a.adjudicate).read_bytes()))
        for c in record["cells"]:
            m, n = c["m"], c["n"]
            if not c["disagreements"]:
                continue
            M = m + n - 1
            seeds = [instance_seed(record["seed"], "gaussian", m, n, M, None, t) for t in range(c["trials"])]
            op, y = sample_instances(seeds, m, n, M, device="cpu", dtype=torch.float64)
            G = op.dense()
            c["disagreements"] = [_adjudicate({k: v for k, v in d.items() if not k.startswith("exact")},
                                              G, y, m, n) for d in c["disagreements"]]
        Path(a.out).write_bytes(gzip.compress(json.dumps(record, indent=1).encode(), mtime=0))
        return
    from importlib.metadata import version

    sizes = [tuple(int(x) for x in s.split("x")) for s in a.sizes.split(",")]
    record = {"format": "lorank.exact-existence-bertini/1", "seed": a.seed, "trials": a.trials,
              "rank": a.rank,
              "real_tol": REAL_TOL, "bertini2": version("bertini2"),
              "torch": torch.__version__, "python": platform.python_version(),
              "machine": platform.processor() or platform.machine(), "cells": []}
    for m, n in sizes:
        c = cell(m, n, a.trials, a.seed, a.rank)
        record["cells"].append(c)
        print(f"{m}x{n} r={a.rank}: degree {c['degree']}; Bertini finds it on {c['bertini_finds_degree']}/"
              f"{c['trials']}; real counts agree on {c['real_counts_agree']}/{c['e0_certified']} "
              f"E0-certified instances ({c['e0_s']} s E0, {c['bertini_s']} s Bertini)", flush=True)
    text = json.dumps(record, indent=1)
    if a.out:
        Path(a.out).parent.mkdir(parents=True, exist_ok=True)
        data = text.encode()
        Path(a.out).write_bytes(gzip.compress(data, mtime=0) if a.out.endswith(".gz") else data)
    else:
        print(text)


if __name__ == "__main__":
    main()
