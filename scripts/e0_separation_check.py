"""E0's distinctness test, checked from outside: per cell, E0 (``lorank exact-existence``'s
decision, :mod:`numerics.engine.homotopy` for r = 1, :mod:`numerics.engine.homotopy_rank`
above) on the very instances of its committed records (Gaussian, global seed 0, start seed 0,
one retry), and among the certified instances the least separation of the ``degree`` kept
endpoints, relative to their size: ``min ||z_i - z_j|| / (1 + max(||z_i||, ||z_j||))``.

Why. E0 certifies an instance when its ``degree`` endpoints are alpha-certified and their
``2 beta`` balls pairwise disjoint. ``beta`` is computed in float64; near rounding level it
can come out too small, and two endpoints of one ill-conditioned zero can then pass as two
zeros. Exact-above met exactly that (4x4, r = 2, d = 1: two endpoints 1.7e-11 apart with radii
summing to 1.5e-11) and now also requires the uniqueness test
(:func:`numerics.engine.homotopy_critical._distinct_keep`). E0's certificate
(``charts+union/2``) has not changed, so this script measures whether the exposure shows in
E0: a duplicate would sit near 1e-11 relative; ``below`` counts the certified instances whose
least separation is under ``--threshold`` (1e-6). Writes one JSON record, atomically after every
cell, and resumes (cells already in ``--out`` are kept). CPU, one thread.

    python scripts/e0_separation_check.py 2x2:1 2x3:1 3x3:1 2x4:1 2x5:1 3x4:1 4x4:1 3x5:1 \\
        4x5:1 5x5:1 3x3:2 3x4:2 3x5:2 3x6:2 4x4:2 4x5:2 --trials 1000 \\
        --out results/exact-existence/separation/cpu.json

(cells m x n : r)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

FORMAT = "lorank.e0-separation/1"
CHUNK = 100


def parse_cell(text: str) -> tuple[int, int, int]:
    """``"3x4:2"`` -> ``(3, 4, 2)``; anything else is an argparse error (exit 2).

    >>> parse_cell("3x4:2")
    (3, 4, 2)
    """
    try:
        size, r = text.split(":")
        m, n = (int(v) for v in size.split("x"))
        cell = (m, n, int(r))
    except ValueError:
        raise argparse.ArgumentTypeError(f"cell {text!r} is not m x n : r, e.g. 3x4:2")
    if not (min(cell) >= 1 and cell[2] < min(m, n)):
        raise argparse.ArgumentTypeError(f"cell {text!r} needs m, n >= 1 and 1 <= r < min(m, n)")
    return cell


def least_separation(z):
    """Least ``||z_i - z_j|| / (1 + max(||z_i||, ||z_j||))`` over pairs of rows of ``z`` (P, K).

    >>> import torch
    >>> least_separation(torch.tensor([[0j], [3 + 0j], [3 + 1e-9j]], dtype=torch.complex128)) < 1e-9
    True
    """
    import torch

    d = (z[:, None] - z[None]).abs().pow(2).sum(-1).sqrt()
    size = z.abs().pow(2).sum(-1).sqrt()
    rel = d / (1 + torch.maximum(size[:, None], size[None]))
    rel.fill_diagonal_(float("inf"))
    return float(rel.min())


def one_cell(m: int, n: int, r: int, trials: int, threshold: float) -> dict:
    from numerics.engine.homotopy import e0_on_e1_instances
    from numerics.engine.homotopy_rank import e0_rank_on_e1_instances

    start = time.perf_counter()
    certified = below = retried = 0
    least = float("inf")
    for lo in range(0, trials, CHUNK):
        idx = list(range(lo, min(trials, lo + CHUNK)))
        res = (e0_on_e1_instances(m, n, idx, global_seed=0) if r == 1 else
               e0_rank_on_e1_instances(m, n, r, idx, global_seed=0))
        z = res.solutions.cpu()
        retried += int((res.trackings.cpu() > 1).sum())
        for i in range(len(idx)):
            if not bool(res.certified[i]):
                continue
            certified += 1
            s = least_separation(z[i])
            least = min(least, s)
            below += s < threshold
    return {"m": m, "n": n, "r": r, "degree": int(res.degree), "trials": trials,
            "certified": certified, "retried": retried, "least_relative_separation": least,
            "below": below, "seconds": round(time.perf_counter() - start, 2)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("cells", nargs="+", type=parse_cell, help="m x n : r, e.g. 3x4:2")
    ap.add_argument("--trials", type=int, default=1000, help="instances per cell (trials 0..)")
    ap.add_argument("--threshold", type=float, default=1e-6,
                    help="a certified instance whose least relative separation is below this "
                         "is counted in 'below'")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    if args.trials < 1:
        ap.error(f"--trials must be a positive integer, got {args.trials}")
    if not (0 < args.threshold < 1):
        ap.error(f"--threshold must lie in (0, 1), got {args.threshold}")
    import torch

    from numerics.experiments.records import environment_info, write_json_atomic

    torch.set_num_threads(1)
    record = (json.loads(args.out.read_text()) if args.out.exists() else
              {"format": FORMAT, "trials": args.trials, "threshold": args.threshold,
               "instances": "lorank exact-existence's: Gaussian, global seed 0, start seed 0, "
                            "1 retry",
               "command": "python scripts/e0_separation_check.py " + " ".join(
                   f"{m}x{n}:{r}" for m, n, r in args.cells)
               + f" --trials {args.trials} --out {args.out}",
               "environment": environment_info("cpu"), "cells": []})
    if (record.get("format") != FORMAT or record["trials"] != args.trials
            or record["threshold"] != args.threshold):
        raise SystemExit(f"--out {args.out} is a record of another format, --trials or --threshold")
    done = {(c["m"], c["n"], c["r"]) for c in record["cells"]}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    for m, n, r in args.cells:
        if (m, n, r) in done:
            continue
        c = one_cell(m, n, r, args.trials, args.threshold)
        record["cells"].append(c)
        write_json_atomic(args.out, record)
        print(f"{m}x{n} r={r} (degree {c['degree']}): {c['certified']}/{c['trials']} certified, "
              f"{c['retried']} retried, least relative separation "
              f"{c['least_relative_separation']:.2e}, below {args.threshold:g}: {c['below']} "
              f"({c['seconds']} s)", flush=True)
    return 0 if all(c["below"] == 0 for c in record["cells"]) else 1


if __name__ == "__main__":
    sys.exit(main())
