"""Where the headline LM sweep's time goes, read from committed ``bench_sweep`` records (issue 13).

Nothing is timed here: the numbers are the records' own per-cell seconds, iterations and
successes, grouped three ways.

1. By cell class: cells where no trial was certified (every start runs to its stop rule), cells
   with some, and cells where every trial was certified.
2. The arithmetic of the most expensive cells under a stated model: one Levenberg-Marquardt
   iteration of a trial forms the damped Gram matrix of its Jacobian, ``2 M p min(M, p)``
   flops with ``p = r (m + n)`` unknowns (the Jacobian products and the factorisation are left
   out, so the rate is a lower bound), against the device's FP64 tensor-core peak.
3. The same cells timed inside the sweep and from a fresh process (a record that times only
   those cells): the difference is what the sweep's history costs.

Examples
--------
>>> from pathlib import Path
>>> b = headline_breakdown(Path(__file__).resolve().parents[1] / "results" / "bench")
>>> sorted(b["systems"]), b["systems"]["auto"]["seconds"] > 0
(['auto', 'baseline'], True)
>>> gram_flops(m=128, n=128, r=4, M=1061)
2225078272
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks.common import device_peak  # noqa: E402

#: the two records that together time the headline LM grid, each system in a fresh process
HEADLINE_RECORDS = ("sweep-headline-lm-128-auto-baseline.json", "sweep-headline-lm-rest-auto-baseline.json")
#: records that time some of the headline's cells again, each from a fresh process
FRESH_RECORDS = ("sweep-128r4-floor-auto-baseline-h200.json",)


def gram_flops(m: int, n: int, r: int, M: int) -> int:
    """Flops of forming one trial's damped Gram matrix, ``2 M p min(M, p)``, ``p = r (m + n)``."""
    p = r * (m + n)
    return 2 * M * p * min(M, p)


def _cell_key(c: dict) -> tuple:
    return (c["m"], c["n"], c["r"], c["M"])


def headline_breakdown(bench: Path, records=HEADLINE_RECORDS, fresh=FRESH_RECORDS) -> dict:
    """The three groupings of the module docstring, per solver system of the records."""
    runs = [json.loads((Path(bench) / name).read_text()) for name in records]
    peak = device_peak(runs[0]["device_name"])
    trials = int(runs[0]["grid"]["trials"])
    out = {"records": list(records), "device_name": runs[0]["device_name"], "peak_used": peak,
           "model": "one LM iteration of one trial: 2 M p min(M, p) flops (damped Gram matrix, "
                    "p = r (m + n)); Jacobian products and factorisation left out (a lower bound "
                    "on the rate)", "systems": {}}
    for system in runs[0]["runs"]:
        cells = [c for run in runs for c in run["runs"][system]["cells"]]
        total = sum(c["seconds"] for c in cells)
        classes = {"none certified": [], "some certified": [], "all certified": []}
        for c in cells:
            key = ("none certified" if c["successes"] == 0 else
                   "all certified" if c["successes"] == trials else "some certified")
            classes[key].append(c)
        top = sorted(cells, key=lambda c: -c["seconds"])[:5]
        out["systems"][system] = {
            "seconds": total, "cells": len(cells),
            "classes": {k: {"cells": len(v), "seconds": sum(c["seconds"] for c in v),
                            "share": sum(c["seconds"] for c in v) / total} for k, v in classes.items()},
            "top_cells": [{**{k: c[k] for k in ("m", "n", "r", "M", "successes", "iterations", "seconds")},
                           "share": c["seconds"] / total,
                           "gram_tflops_per_s": gram_flops(c["m"], c["n"], c["r"], c["M"]) * c["iterations"]
                           / c["seconds"] / 1e12,
                           "fraction_of_fp64_tensor_peak": (gram_flops(c["m"], c["n"], c["r"], c["M"])
                                                            * c["iterations"] / c["seconds"]
                                                            / peak["fp64_tensor_flops"]
                                                            if peak.get("known") else None)}
                          for c in top],
        }
        again = []
        for name in fresh:
            f = json.loads((Path(bench) / name).read_text())
            if system not in f["runs"]:
                continue
            in_sweep = {_cell_key(c): c for c in cells}
            for c in f["runs"][system]["cells"]:
                s = in_sweep.get(_cell_key(c))
                if s is not None:
                    again.append({"record": name, **{k: c[k] for k in ("m", "n", "r", "M")},
                                  "seconds_in_sweep": s["seconds"], "seconds_fresh": c["seconds"],
                                  "same_iterations": s["iterations"] == c["iterations"]})
        out["systems"][system]["fresh_process"] = again
    return out


def render(b: dict) -> str:
    """The breakdown as README lines."""
    lines = []
    for system, s in b["systems"].items():
        cls = "; ".join(f"{k} {v['cells']} cells {v['seconds']:.1f} s ({v['share']:.0%})"
                        for k, v in s["classes"].items())
        lines.append(f"- `{system}`: {s['seconds']:.1f} s over {s['cells']} cells: {cls}.")
        top = "; ".join(f"{c['m']}x{c['n']} r={c['r']} M={c['M']} ({c['successes']} certified) "
                        f"{c['seconds']:.1f} s, {c['share']:.0%}, Gram matrices at "
                        f"{c['gram_tflops_per_s']:.1f} TFLOP/s"
                        + (f" ({c['fraction_of_fp64_tensor_peak']:.0%} of FP64 tensor peak)"
                           if c["fraction_of_fp64_tensor_peak"] is not None else "")
                        for c in s["top_cells"][:3])
        lines.append(f"  Largest cells: {top}.")
        if s["fresh_process"]:
            fresh = "; ".join(f"M={c['M']}: {c['seconds_in_sweep']:.2f} s in the sweep, {c['seconds_fresh']:.2f} s "
                              f"fresh ({'same' if c['same_iterations'] else 'other'} iterations)"
                              for c in s["fresh_process"])
            lines.append(f"  The same 128x128 r=4 cells from a fresh process (`{s['fresh_process'][0]['record']}`): "
                         f"{fresh}.")
    return "\n".join(lines)


def main(argv=None) -> None:
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bench", default=str(Path(__file__).resolve().parents[1] / "results" / "bench"),
                    help="the folder of the bench_sweep records (default results/bench)")
    args = ap.parse_args(argv)
    print(render(headline_breakdown(Path(args.bench))))


if __name__ == "__main__":  # pragma: no cover
    main()
