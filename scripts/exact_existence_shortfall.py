"""E0 against E1 at rho = 1, r = 1, on the same instances (issue 16, item 4's shortfall table).

For each size, trials 0..T-1 of the E1 cell (m, n, 1, m + n - 1) (Gaussian features, global seed
0): E0 (numerics/engine/homotopy.py, certified homotopy) decides real existence exactly; E1[k]
is LM with k restarts (numerics/engine/capacity.run_trials("lm", ..., restarts=8), success with
first_success < k). Writes one JSON record (stdout or --out) with per-trial rows and per-cell
summaries: successes / trials / Wilson 95% for E0 and for E1[k], k = 1..8, and the shortfall:
instances where E0 certifies a real solution and E1[k] found none. Uncertified E0 instances are
counted apart and excluded from every E0 count.

    python scripts/exact_existence_shortfall.py --sizes 2x2,2x3,3x2,3x3,2x4,3x4,4x4 --trials 1000 \\
        --out results/exact-existence/cpu-default/shortfall.json
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from numerics.engine.capacity import run_trials  # noqa: E402
from numerics.engine.homotopy import e0_on_e1_instances  # noqa: E402
from numerics.estimation.estimate import wilson_interval  # noqa: E402
from proofs.exact_existence import determinantal_degree  # noqa: E402

RESTARTS = 8


def _w(s, t):
    lo, hi = wilson_interval(s, t)
    return [round(float(lo), 6), round(float(hi), 6)]


def cell(m, n, trials, seed, device):
    M = m + n - 1
    idx = list(range(trials))
    start = time.perf_counter()
    e0 = e0_on_e1_instances(m, n, idx, global_seed=seed, device=device)
    e0_s = time.perf_counter() - start
    start = time.perf_counter()
    e1 = run_trials("lm", (m, n, 1, M), idx, global_seed=seed, restarts=RESTARTS, device=device)
    e1_s = time.perf_counter() - start
    rows = []
    for t, out in zip(idx, e1):
        rows.append({"trial": t, "certified": bool(e0.certified[t]),
                     "real_count": int(e0.real_count[t]), "exists": bool(e0.exists[t]),
                     "max_alpha": float(e0.max_alpha[t]), "e1_first_success": out["first_success"]})
    cert = [r for r in rows if r["certified"]]
    T = len(cert)
    exists = sum(r["exists"] for r in cert)
    e1k = {}
    for k in range(1, RESTARTS + 1):
        ok = [r["e1_first_success"] is not None and r["e1_first_success"] < k for r in cert]
        s = sum(ok)
        missed = sum(r["exists"] and not o for r, o in zip(cert, ok))
        contradictions = sum(o and not r["exists"] for r, o in zip(cert, ok))
        e1k[str(k)] = {"successes": s, "trials": T, "wilson": _w(s, T),
                       "missed": missed, "missed_of_existing": _w(missed, exists) if exists else None,
                       "contradictions": contradictions}
    counts = {}
    for r in cert:
        counts[str(r["real_count"])] = counts.get(str(r["real_count"]), 0) + 1
    return {"m": m, "n": n, "r": 1, "M": M, "degree": determinantal_degree(m, n, 1),
            "trials": trials, "uncertified": trials - T,
            "e0": {"successes": exists, "trials": T, "wilson": _w(exists, T)},
            "mean_real_count": (sum(r["real_count"] for r in cert) / T) if T else None,
            "real_count_histogram": counts, "e1": e1k,
            "seconds": {"e0": round(e0_s, 3), "e1": round(e1_s, 3)}}, rows


def render(record):
    lines = [f"E0 vs E1 at rho = 1, r = 1 ({record['device']}, seed {record['seed']}): "
             "P(exists) = successes/trials [Wilson 95%]; E1[k]: LM with k restarts; missed: "
             "E0 certifies a real solution, E1[k] finds none; contradictions must be 0"]
    for c in record["cells"]:
        e0 = c["e0"]
        lines.append(f"{c['m']}x{c['n']} deg {c['degree']}: E0 {e0['successes']}/{e0['trials']} "
                     f"[{e0['wilson'][0]:.3f}, {e0['wilson'][1]:.3f}], uncertified {c['uncertified']}, "
                     f"mean real count {c['mean_real_count']:.3f}")
        for k in ("1", "2", "4", "8"):
            x = c["e1"][k]
            lines.append(f"    E1[{k}] {x['successes']}/{x['trials']} [{x['wilson'][0]:.3f}, "
                         f"{x['wilson'][1]:.3f}]  missed {x['missed']}  contradictions {x['contradictions']}")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="2x2,2x3,3x2,3x3,2x4")
    ap.add_argument("--trials", type=int, default=400)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--out", default=None)
    a = ap.parse_args(argv)
    torch.set_num_threads(1)
    sizes = [tuple(int(x) for x in s.split("x")) for s in a.sizes.split(",")]
    start = time.time()
    cells, rows = [], {}
    for m, n in sizes:
        c, r = cell(m, n, a.trials, a.seed, a.device)
        cells.append(c)
        rows[f"{m}x{n}"] = r
    record = {"format": "lorank.exact-existence-shortfall/1", "seed": a.seed, "device": a.device,
              "restarts": RESTARTS, "cells": cells, "rows": rows,
              "versions": {"python": platform.python_version(), "torch": torch.__version__},
              "host": platform.platform(), "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
              "wall_s": round(time.time() - start, 1)}
    text = json.dumps(record, indent=1, sort_keys=True)
    if a.out:
        Path(a.out).parent.mkdir(parents=True, exist_ok=True)
        Path(a.out).write_text(text + "\n")
    print(render(record))


if __name__ == "__main__":
    main()
