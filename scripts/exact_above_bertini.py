"""Second route for the critical counts N of exact-above (issue 16 item 5): Bertini 2 (total
degree start system, its endgames) on the Lagrange system of one or more instances per cell
(the instances and points theta0 of the family, trial 0, 1, ...), against lorank's certified
decision on the same instances. Needs ``pip install 'lorank[bertini]'``.

Usage: python scripts/exact_above_bertini.py 2x5:1:1 3x4:1:1 3x3:2:1 [--trials 2]
(cells m x n : r : d). Prints one line per instance: Bertini's (finite, real) and lorank's
(N, certified, real count)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main(argv=None) -> int:
    import torch

    from numerics.engine import homotopy_critical as hc
    from numerics.engine.bertini_route import count_critical_points
    from numerics.engine.capacity import instance_seed
    from numerics.engine.instances import sample_instances

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("cells", nargs="+")
    ap.add_argument("--trials", type=int, default=1)
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    bad = 0
    for text in args.cells:
        size, r, d = text.split(":")
        m, n = (int(v) for v in size.split("x"))
        r, d = int(r), int(d)
        M = r * (m + n - r) - d
        trials = list(range(args.trials))
        seeds = [instance_seed(0, "gaussian", m, n, M, None, t) for t in trials]
        op, y = sample_instances(seeds, m, n, M, device="cpu", dtype=torch.float64)
        G = op.dense()
        th0 = torch.stack([hc.theta0_of(0, m, n, r, M, t) for t in trials])
        res = hc.solve_critical(G, y, th0, r)
        for j, t in enumerate(trials):
            t0 = time.time()
            finite, real = count_critical_points(G[j].numpy(), y[j].numpy(), th0[j].numpy(), r)
            ok = finite == res.degree and real == int(res.real_count[j]) and bool(res.certified[j])
            bad += not ok
            print(f"{m}x{n} r={r} M={M} trial {t}: Bertini finite {finite}, real {real}; lorank "
                  f"N {res.degree}, certified {bool(res.certified[j])}, real {int(res.real_count[j])}"
                  f" ({time.time() - t0:.1f} s){'' if ok else '  DISAGREE'}", flush=True)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
