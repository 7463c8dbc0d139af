"""Second routes for the critical counts N of exact-above (issue 16 item 5): per cell, the
critical points of the random complex instance ``p*`` by monodromy (what ``lorank
exact-above`` uses, :func:`numerics.engine.homotopy_critical.critical_start`, start seed 0)
and by another homotopy to the same ``p*``, matched point by point. ``--route``:

- ``total-degree`` (the default): ``2^(D+M)`` paths from the solutions of ``z_k^2 = 1``
  (:func:`~numerics.engine.homotopy_critical.total_degree_points`);
- ``multihomogeneous``: ``C(D, M) C(D, p)`` paths from a linear-product start system in the
  variable groups ``x, w, lambda``
  (:func:`~numerics.engine.homotopy_critical.multihomogeneous_points`).

Either, with a random ``gamma``, reaches every isolated finite solution of ``p*`` with
probability one, so it bounds monodromy's count from the other side: more points than
monodromy's would mean ``N`` was incomplete; fewer means paths failed (inconclusive). Writes
one JSON record, atomically after every cell, and resumes: cells already in ``--out`` are
kept, not recomputed. CPU, one thread.

    python scripts/exact_above_total_degree.py 2x5:1:1 3x4:1:1 2x6:1:1 3x5:1:1 4x4:1:1 \\
        3x6:1:1 4x5:1:1 3x3:2:1 --out results/exact-above/second-route/total-degree.json
    python scripts/exact_above_total_degree.py --route multihomogeneous 2x5:1:1 3x4:1:1 \\
        2x6:1:1 3x5:1:1 4x4:1:1 3x6:1:1 4x5:1:1 3x3:2:1 3x4:2:1 \\
        --out results/exact-above/second-route/multihomogeneous.json

(cells m x n : r : d, M = r(m+n-r) - d)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

ROUTES = {"total-degree": ("lorank.exact-above-total-degree/1", "total_degree"),
          "multihomogeneous": ("lorank.exact-above-multihomogeneous/1", "multihomogeneous")}
"""route -> (record format, the cells' key of its count)."""
MATCH_TOL = 1e-8
"""Two certified points are the same zero when their distance is below ``MATCH_TOL (1 +
|z|)`` (both are Newton-refined to near float64 accuracy)."""


def parse_cell(text: str) -> tuple[int, int, int, int]:
    """``"2x5:1:1"`` -> ``(2, 5, 1, 1)``; anything else is an argparse error (exit 2).

    >>> parse_cell("3x3:2:1")
    (3, 3, 2, 1)
    """
    try:
        size, r, d = text.split(":")
        m, n = (int(v) for v in size.split("x"))
        cell = (m, n, int(r), int(d))
    except ValueError:
        raise argparse.ArgumentTypeError(f"cell {text!r} is not m x n : r : d, e.g. 2x5:1:1")
    if not (min(cell) >= 1 and cell[2] < min(m, n)):
        raise argparse.ArgumentTypeError(f"cell {text!r} needs m, n, d >= 1 and 1 <= r < min(m, n)")
    return cell


def one_cell(m, n, r, d, seed=0, max_exponent=16, route="total-degree",
             max_paths=100_000) -> dict:
    from numerics.engine import homotopy_critical as hc

    M = r * (m + n - r) - d
    start = time.perf_counter()
    _, mono, info = hc.critical_start(m, n, r, M, seed)
    mono_s = time.perf_counter() - start
    start = time.perf_counter()
    if route == "total-degree":
        td = hc.total_degree_points(m, n, r, M, seed, max_exponent)
    else:
        td = hc.multihomogeneous_points(m, n, r, M, seed, max_paths)
    td_s = time.perf_counter() - start
    # One-to-one match: each total-degree point to its nearest monodromy point (differences
    # taken directly: torch.cdist's matrix-product route loses ~1e-7 to cancellation).
    matched = 0
    if len(td) and len(mono):
        dist = (td[:, None, :] - mono[None, :, :]).abs().pow(2).sum(-1).sqrt()
        nearest = dist.argmin(1)
        scale = 1 + td.abs().pow(2).sum(-1).sqrt()
        close = dist.gather(1, nearest[:, None]).squeeze(1) < MATCH_TOL * scale
        matched = len(set(nearest[close].tolist()))
    K = r * (m + n - r) + M
    paths = 2 ** K if route == "total-degree" else hc.multihomogeneous_bezout(m, n, r, M)
    return {"m": m, "n": n, "r": r, "d": d, "M": M, "unknowns": K, "paths": paths,
            "monodromy": {"count": int(mono.shape[0]), "loops": info["loops"],
                          "seconds": round(mono_s, 2)},
            ROUTES[route][1]: {"count": int(td.shape[0]), "seconds": round(td_s, 2)},
            "matched": matched,
            "agree": int(td.shape[0]) == int(mono.shape[0]) == matched}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("cells", nargs="+", type=parse_cell, help="m x n : r : d, e.g. 2x5:1:1")
    ap.add_argument("--seed", type=int, default=0, help="start seed of p* (the family's default 0)")
    ap.add_argument("--route", choices=sorted(ROUTES), default="total-degree")
    ap.add_argument("--max-exponent", type=int, default=16,
                    help="total-degree: refuse a cell of more than 2^this paths")
    ap.add_argument("--max-paths", type=int, default=100_000,
                    help="multihomogeneous: refuse a cell of more paths")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    import torch

    from numerics.experiments.records import environment_info, write_json_atomic

    from numerics.engine.homotopy_critical import check_cell, multihomogeneous_bezout
    from proofs.validation import InvalidArgument

    torch.set_num_threads(1)
    cells = args.cells
    if args.seed < 0:
        ap.error(f"--seed must be a non-negative integer, got {args.seed}")
    for m, n, r, d in cells:  # every cell checked before the first is run
        M = r * (m + n - r) - d
        try:
            check_cell(m, n, r, M)
        except InvalidArgument as err:
            ap.error(f"cell {m}x{n}:{r}:{d}: {err}")
        if args.route == "total-degree" and r * (m + n - r) + M > args.max_exponent:
            ap.error(f"cell {m}x{n}:{r}:{d}: 2^{r * (m + n - r) + M} paths is more than "
                     f"2^--max-exponent = 2^{args.max_exponent}")
        if args.route == "multihomogeneous" and multihomogeneous_bezout(m, n, r, M) > args.max_paths:
            ap.error(f"cell {m}x{n}:{r}:{d}: {multihomogeneous_bezout(m, n, r, M)} paths is more "
                     f"than --max-paths = {args.max_paths}")
    if args.max_paths < 1:
        ap.error(f"--max-paths must be a positive integer, got {args.max_paths}")
    fmt, key = ROUTES[args.route]
    route_flag = "" if args.route == "total-degree" else f"--route {args.route} "
    record = (json.loads(args.out.read_text()) if args.out.exists() else
              {"format": fmt, "seed": args.seed, "match_tol": MATCH_TOL,
               "command": "python scripts/exact_above_total_degree.py " + route_flag + " ".join(
                   f"{m}x{n}:{r}:{d}" for m, n, r, d in cells)
               + f" --out {args.out}", "environment": environment_info("cpu"), "cells": []})
    if record["format"] != fmt or record["seed"] != args.seed:
        raise SystemExit(f"--out {args.out} is a record of another format or seed")
    done = {(c["m"], c["n"], c["r"], c["d"]) for c in record["cells"]}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    for m, n, r, d in cells:
        if (m, n, r, d) in done:
            continue
        c = one_cell(m, n, r, d, args.seed, args.max_exponent, args.route, args.max_paths)
        c["environment"] = {k: v for k, v in environment_info("cpu").items()
                            if k in ("lorank_source", "torch", "device_name", "time_utc")}
        record["cells"].append(c)
        write_json_atomic(args.out, record)
        print(f"{m}x{n} r={r} d={d} M={c['M']}: monodromy {c['monodromy']['count']} "
              f"({c['monodromy']['seconds']} s), {args.route} {c[key]['count']} of "
              f"{c['paths']} paths ({c[key]['seconds']} s), matched {c['matched']}"
              f"{'' if c['agree'] else '  DISAGREE'}", flush=True)
    return 0 if all(c["agree"] for c in record["cells"]) else 1


if __name__ == "__main__":
    sys.exit(main())
