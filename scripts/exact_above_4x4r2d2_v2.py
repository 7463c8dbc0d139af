"""The 4x4, r = 2, d = 2 exact-above cell (M = 10) with certificate ``critical-points/2``:
monodromy's N, then trial 48 (the instance that showed 629 > N = 628 under version 1,
``results/bench/exact-above-4x4r2d2-duplicate-zero-cpu.json``) and the other trials of that
batch (32, 34, ..., 62) decided one by one, each with one retry, as in the stopped run.

Run from the repository root: ``python scripts/exact_above_4x4r2d2_v2.py`` (one torch thread;
about 26 minutes for the start and 8 for the trials on the 2-core machine). Writes
``runs/diag/d2_v2.json`` after each step and the start to ``runs/diag/start_4x4r2d2_v2.pt``;
``results/bench/exact-above-4x4r2d2-v2-cpu.json`` holds the output of the run made on
2026-12-05.
"""
from pathlib import Path
import sys, time, json, torch
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
Path('runs/diag').mkdir(parents=True, exist_ok=True)
torch.set_num_threads(1)
from numerics.engine import homotopy_critical as hc
t0 = time.time()
(A, th0), z, info = hc.critical_start(4, 4, 2, 10, 0)
torch.save({"A": A, "th0": th0, "z": z, "info": info}, "runs/diag/start_4x4r2d2_v2.pt")
out = {"N": int(z.shape[0]), "loops": info["loops"], "history": list(info["history"]),
       "start_seconds": round(time.time() - t0), "trials": []}
print("start", out["N"], info["loops"], info["history"][-6:], out["start_seconds"], flush=True)
json.dump(out, open("runs/diag/d2_v2.json", "w"), indent=1)
for t in [48] + [k for k in range(32, 64, 2) if k != 48]:
    t1 = time.time()
    try:
        res = hc.critical_on_e1_instances(4, 4, 2, 10, [t], retries=1)
        row = {"trial": t, "certified": bool(res.certified[0]), "real": int(res.real_count[0]),
               "trackings": int(res.trackings[0]), "precise": int(res.precise[0]),
               "seconds": round(time.time() - t1)}
    except RuntimeError as e:
        row = {"trial": t, "error": str(e), "seconds": round(time.time() - t1)}
    out["trials"].append(row)
    print(row, flush=True)
    json.dump(out, open("runs/diag/d2_v2.json", "w"), indent=1)
