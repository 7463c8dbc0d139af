"""Re-decide the instances of a committed exact-above run with the current certificate and
compare, trial by trial, with what its record says.

Why. Certificate ``critical-points/1`` (every committed exact-above run) computed ``beta`` in
float64 only; at critical points with huge coordinates ``beta`` is rounding noise, and the
4x4, r = 2, d = 2 cell showed two endpoints of one zero counted as two
(``results/bench/exact-above-4x4r2d2-duplicate-zero-cpu.json``). Such a double count can also
hide a missed zero: an instance then shows exactly ``N`` points and passes as certified.
Version 2 (``numerics.engine.homotopy_critical``: a rounding bound on ``beta``, undecided pairs
decided in high precision) cannot count a zero twice that way. This script runs version 2 on
the very instances of a committed record (same start seed, retries, global seed; the E1 side is
not rerun) and reports, per cell, the instances whose certification, real count or existence
decision differ, and the endpoints version 2 had to test in high precision.

    python scripts/exact_above_recheck.py results/exact-above/cpu-r2-4x4-d1 \\
        --out results/exact-above/recheck/cpu-r2-4x4-d1.json

CPU, one torch thread. Resumable: chunks of ``--chunk`` trials already in ``--out`` are kept,
and the file is rewritten atomically after each.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

FORMAT = "lorank.exact-above-recheck/1"


def compare(old: dict, new: dict) -> list[str]:
    """The fields on which a trial's committed outcome ``old`` and re-decided ``new`` differ
    (``certified``; where both are certified, ``real_count`` and ``exists``).

    >>> compare({"certified": True, "real_count": 2, "exists": True},
    ...         {"certified": True, "real_count": 4, "exists": True})
    ['real_count']
    >>> compare({"certified": False, "real_count": 0, "exists": False},
    ...         {"certified": True, "real_count": 2, "exists": True})
    ['certified']
    """
    if old["certified"] != new["certified"]:
        return ["certified"]
    if not old["certified"]:
        return []
    return [k for k in ("real_count", "exists") if old[k] != new[k]]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run", type=Path, help="a committed exact-above run folder (record.jsonl.gz)")
    ap.add_argument("--out", type=Path, required=True, help="the JSON record this writes")
    ap.add_argument("--chunk", type=int, default=20, help="trials per solve (default 20)")
    ap.add_argument("--limit", type=int, default=None,
                    help="re-decide only the first LIMIT trials of each cell (default all)")
    args = ap.parse_args(argv)
    if args.chunk < 1:
        ap.error(f"--chunk must be a positive integer, got {args.chunk}")
    if args.limit is not None and args.limit < 1:
        ap.error(f"--limit must be a positive integer, got {args.limit}")
    record_path = args.run / "record.jsonl.gz"
    if not record_path.exists():
        ap.error(f"run {args.run}: no record.jsonl.gz in it")
    import torch

    from numerics.engine import homotopy_critical as hc
    from numerics.experiments.exact_above import CERTIFICATE
    from numerics.experiments.records import environment_info, read_record, write_json_atomic

    torch.set_num_threads(1)
    rec = read_record(record_path)
    spec = rec.spec
    out = (json.loads(args.out.read_text()) if args.out.exists() else
           {"format": FORMAT, "run": str(args.run), "record_certificate": spec.get("certificate"),
            "certificate": CERTIFICATE, "chunk": args.chunk,
            "command": f"python scripts/exact_above_recheck.py {args.run} --out {args.out}"
                       + (f" --limit {args.limit}" if args.limit else ""),
            "environment": environment_info("cpu"), "chunks": []})
    if out.get("format") != FORMAT or out["run"] != str(args.run) or out["chunk"] != args.chunk:
        ap.error(f"--out {args.out} is a record of another run, format or --chunk")
    done = {(tuple(c["cell"]), c["first"]) for c in out["chunks"]}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    for cell, per_trial in rec.trials.items():
        m, n, r, M = cell
        trials = sorted(per_trial)[:args.limit]
        for lo in range(0, len(trials), args.chunk):
            idx = trials[lo:lo + args.chunk]
            if (tuple(cell), idx[0]) in done:
                continue
            t0 = time.perf_counter()
            res = hc.critical_on_e1_instances(m, n, r, M, idx, global_seed=spec["seed"],
                                              start_seed=spec["start_seed"],
                                              retries=spec["retries"])
            rows = []
            for j, t in enumerate(idx):
                new = {"certified": bool(res.certified[j]), "real_count": int(res.real_count[j]),
                       "exists": bool(res.exists[j])}
                old = {k: per_trial[t][k] for k in new}
                rows.append({"trial": t, "differs": compare(old, new), "old": old, "new": new,
                             "precise": int(res.precise[j])})
            out["chunks"].append({"cell": list(cell), "first": idx[0], "critical_points":
                                  int(res.degree), "critical_points_record":
                                  sorted({per_trial[t]["critical_points"] for t in idx}), "seconds": round(time.perf_counter() - t0, 2),
                                  "trials": rows})
            write_json_atomic(args.out, out)
            diff = [x for x in rows if x["differs"]]
            print(f"{m}x{n} r={r} M={M} trials {idx[0]}..{idx[-1]}: N = {res.degree}, "
                  f"{len(diff)} differ {[(x['trial'], x['differs']) for x in diff]}, "
                  f"precise tests {sum(x['precise'] for x in rows)}", flush=True)
    cells = {}
    for c in out["chunks"]:
        s = cells.setdefault(tuple(c["cell"]), {"cell": c["cell"], "trials": 0, "differ": [],
                                                 "certified_old": 0, "certified_new": 0,
                                                 "precise_tests": 0, "critical_points": set(),
                                                 "critical_points_record": set()})
        s["critical_points"].add(c["critical_points"])
        s["critical_points_record"].update(c["critical_points_record"])
        for x in c["trials"]:
            s["trials"] += 1
            s["certified_old"] += x["old"]["certified"]
            s["certified_new"] += x["new"]["certified"]
            s["precise_tests"] += x["precise"]
            if x["differs"]:
                s["differ"].append({"trial": x["trial"], "fields": x["differs"],
                                    "old": x["old"], "new": x["new"]})
    out["cells"] = [{**s, "critical_points": sorted(s["critical_points"]),
                     "critical_points_record": sorted(s["critical_points_record"])}
                    for s in cells.values()]
    write_json_atomic(args.out, out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
