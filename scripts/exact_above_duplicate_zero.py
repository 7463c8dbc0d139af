"""Diagnose the method-check stop of the 4x4, r = 2, d = 2 exact-above run: which instance of
rank 0's second batch (trials 32, 34, ..., 62) shows more distinct certified critical points than
N = 628, and whether the extra one lies next to a kept one (a zero counted twice) or far from
every kept one (monodromy undercounted N).

Run from the repository root: ``python scripts/exact_above_duplicate_zero.py`` (two torch
threads; about 20 minutes on the 2-core machine, most of it the monodromy start). It prints
one line per trial and writes the closest pair of the first instance over N to
``runs/diag/d2_undercount.json``; ``results/bench/exact-above-4x4r2d2-duplicate-zero-cpu.json``
holds the output of the run made on 2026-12-05, at commit 8d361ba: before certificate
``critical-points/2`` (a float64 rounding bound on ``beta``, undecided pairs decided in high
precision), which changes the radii this script reports.
"""

import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main():
    from numerics.engine import homotopy_critical as hc

    torch.set_num_threads(2)
    out = Path("runs/diag")
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    _, z, info = hc.critical_start(4, 4, 2, 10, 0)
    print("start", tuple(z.shape), info["loops"], info["history"][-6:], round(time.time() - t0),
          flush=True)

    report = []
    orig = hc._decide

    def decide(Nc, pool, *args):
        # as hc._decide, but an instance over N is reported (closest kept pair) instead of raising
        zz = torch.cat([p[0] for p in pool])
        good = torch.cat([p[1] for p in pool])
        radius = torch.cat([p[3] for p in pool])
        alpha = torch.cat([p[4] for p in pool])
        same = torch.cat([p[5] for p in pool])
        kept = hc._distinct_keep(zz, radius, good, same)
        if len(kept) <= Nc:
            return orig(Nc, pool, *args)
        kz = zz[kept]
        D = (kz[:, None, :] - kz[None, :, :]).abs().pow(2).sum(-1).sqrt()
        D.fill_diagonal_(float("inf"))
        i, j = divmod(int(D.argmin()), D.shape[1])
        ki, kj = kept[i], kept[j]
        rec = {"kept": len(kept), "N": Nc, "pool_trackings": len(pool),
               "closest_pair_distance": float(D[i, j]),
               "radius_2beta": [float(radius[ki]), float(radius[kj])],
               "same_radius": [float(same[ki]), float(same[kj])],
               "alpha": [float(alpha[ki]), float(alpha[kj])],
               "abs_max": [float(zz[ki].abs().max()), float(zz[kj].abs().max())],
               "second_smallest_distance": float(D.flatten().kthvalue(3).values)}
        report.append(rec)
        print("UNDERCOUNT", json.dumps(rec), flush=True)
        return False, 0, False, float("inf"), zz[kept[:Nc]], 0

    hc._decide = decide
    for t in range(32, 64, 2):
        t1, before = time.time(), len(report)
        res = hc.critical_on_e1_instances(4, 4, 2, 10, [t], retries=1)
        print("trial", t, "certified", bool(res.certified[0]), "real", int(res.real_count[0]),
              "trackings", int(res.trackings[0]), "undercount" if len(report) > before else "",
              round(time.time() - t1), flush=True)
        if len(report) > before:
            report[-1]["trial"] = t
            (out / "d2_undercount.json").write_text(json.dumps(report, indent=1))
            break
    print("done", round(time.time() - t0))


if __name__ == "__main__":
    main()
