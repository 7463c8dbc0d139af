"""``lorank pl``: the PL* constant of LoRA for squared loss, measured (THEORY.md section 2, R2).

One command runs (or resumes) a sweep over sizes, ranks and a grid in ``rho = r(m+n-r)/M``,
writes an append-only trial record and an atomic summary JSON, prints per cell ``P(mu > 0)`` at
random points and at the LoRA start (with 95% Wilson intervals), the median normalised constant,
the Marchenko-Pastur ratios and the gradient-descent rate check, and saves the figure
``pl_constant.png`` / ``.pdf``. Definitions and rules: :mod:`numerics.pl`.

CPU default (about 20 s; 8x8 and 16x16, ranks 1 and 2, 10 rho values, 40 trials per cell, GD
from both starts on 4 trials per cell for 40 steps)::

    lorank pl --out results/pl/cpu-default

GPU scale (H100; the kernel eigendecomposition costs ``O(M^3)`` per trial and per GD step,
``M`` up to ``2 r(m+n-r)`` on this grid, so trials and GD steps are kept moderate)::

    lorank pl --sizes 32x32,64x64,128x128 --ranks 1,4 --trials 40 --gd-trials 4 \\
        --gd-steps 100 --device cuda --batch-size 8 --out results/pl/gpu-h100

Bad input gives a one-line error naming the argument and the value, exit status 2.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from lorank.cli_args import (add_run_options, checked_device, find_record, fresh_record,
                              grid_of, int_list, nonneg, one_positive_float,
                              size_rank_triples, write_and_print)

DEFAULT_SIZES = "8x8,16x16"
DEFAULT_RANKS = "1,2"
DEFAULT_RHO = "0.5,0.8,0.95,1,1.05,1.25,1.5,2,2.5,3"
FIGURE_STEM = "pl_constant"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.allow_abbrev = False
    a = parser.add_argument
    a("--sizes", default=DEFAULT_SIZES, help="matrix sizes m x n, e.g. 8x8,16x64 (default %(default)s)")
    a("--ranks", default=DEFAULT_RANKS, help="LoRA ranks r (default %(default)s); r > min(m, n) is an error")
    grid = parser.add_mutually_exclusive_group()
    grid.add_argument("--rho-grid", default=None,
                      help=f"grid of rho = r(m+n-r)/M: comma list or START:STOP:STEP (default {DEFAULT_RHO})")
    grid.add_argument("--kn", default=None, help="explicit list of M = KN values instead of a rho grid")
    a("--trials", default="40", help="trials per grid cell (default %(default)s)")
    a("--gd-steps", default="40", help="gradient-descent steps per trajectory, 0 for none (default %(default)s)")
    a("--gd-trials", default="4", help="trials per cell that also run GD from both starts (default %(default)s)")
    a("--gd-c", default="0.5", help="step rule eta = c / beta_0, beta = lambda_max(JJ^T) + ||calA^*(R)||_2 "
                                    "(default %(default)s; c <= 1 keeps eta within 1/beta at the start)")
    a("--seed", default="0", help="global seed; every trial is seeded from it, the cell and its index")
    a("--device", default="cpu", help="cpu, cuda or cuda:k")
    a("--dtype", default="float64", choices=("float32", "float64"),
      help="working precision of the features and of GD (kernels, eigenvalues and losses are "
           "always recomputed in float64)")
    a("--batch-size", default="16", help="trials per checkpoint (default %(default)s; results do not depend on it)")
    a("--cpu-threads", default="1", help="torch threads on a CPU device (default %(default)s: trials are "
                                         "small and run one at a time)")
    a("--out", default=None, help="output folder (default runs/pl)")
    add_run_options(parser)
    a("--summarise", default=None, metavar="DIR",
      help="run nothing: re-summarise the record in DIR (record.jsonl or record.jsonl.gz) and "
           "rewrite DIR/summary.json and the figure")


def build_experiment(args):
    """Turn parsed arguments into a :class:`numerics.pl.PLExperiment` (validating everything).

    >>> p = argparse.ArgumentParser(); add_arguments(p)
    >>> build_experiment(p.parse_args(["--sizes", "4x4", "--ranks", "1", "--kn", "3,5"])).m_values
    [3, 5]
    >>> build_experiment(p.parse_args(["--gd-c", "-1"]))
    Traceback (most recent call last):
    ...
    proofs.validation.InvalidArgument: --gd-c must be a positive number, got '-1'
    """
    from numerics.pl import PLExperiment

    triples = size_rank_triples(args.sizes, args.ranks)
    grid = grid_of(args.kn, args.rho_grid, rho_flag="rho-grid", default_rho=DEFAULT_RHO,
                   kn_key="m_values")
    gd_c = one_positive_float("gd-c", args.gd_c)
    device = checked_device(args.device)
    return PLExperiment(
        sizes=triples, trials_per_cell=int_list("trials", args.trials)[0],
        gd_steps=nonneg("gd-steps", args.gd_steps), gd_trials=nonneg("gd-trials", args.gd_trials),
        gd_c=gd_c, seed=nonneg("seed", args.seed), device=device, dtype=args.dtype,
        batch_size=int_list("batch-size", args.batch_size)[0], **grid)


def _fmt(x, spec=".3g"):
    return "-" if x is None or (isinstance(x, float) and not math.isfinite(x)) else format(x, spec)


def _q50(d):
    return None if not d else d.get("q50")


def render_summary(summary: dict) -> str:
    """A readable table of a PL* summary (one row per cell)."""
    lines = ["P(mu>0): positive / trials [95% Wilson]; mu/diag: median of mu / mean diag(JJ^T); "
             "MP: median measured/predicted with d = rank (random: r(m+n-r)); Gauss: the same for a "
             "Gaussian M x r(m+n-r) matrix; GD: steps passing the per-step PL bound / steps checked"]
    for g in summary["groups"]:
        lines.append(f"\n{g['m']}x{g['n']}  r={g['r']}  r(m+n-r)={g['dim']}  rm={g['rm']}")
        lines.append(f"  {'rho':>6} {'M':>5}  {'P(mu>0) random':>22}  {'P(mu>0) LoRA start':>22}  "
                     f"{'mu/diag':>8}  {'MP':>6}  {'Gauss':>6}  {'GD random':>10}  {'GD LoRA':>10}")
        for c in g["cells"]:
            cols = []
            for kind in ("random", "lora"):
                x = c[kind]
                lo, hi = x["wilson95"]
                cols.append(f"{x['positive']:>3}/{x['trials']:<3} [{lo:.2f}, {hi:.2f}]")
            gd = []
            for kind in ("random", "lora"):
                x = (c.get("gd") or {}).get(kind)
                gd.append("-" if not x else f"{x['steps_ok']}/{x['steps_checked']}")
            lines.append(
                f"  {c['rho']:>6.3f} {c['M']:>5}  {cols[0]:>22}  {cols[1]:>22}  "
                f"{_fmt(_q50(c['random']['mu_by_diag'])):>8}  "
                f"{_fmt(_q50(c['random']['mp']['rank']['ratio'])):>6}  "
                f"{_fmt(_q50(c['baseline']['rank']['ratio'])):>6}  {gd[0]:>10}  {gd[1]:>10}")
        for kind in ("random", "lora"):
            st = g["structure"][kind]
            lines.append(f"  {kind}: {st['cells_as_expected']}/{st['cells']} cells all-or-none as expected; "
                         f"largest mu/lambda_max called zero {_fmt(st['max_by_max_called_zero'])}, "
                         f"smallest called positive {_fmt(st['min_by_max_called_positive'])}")
    lines.append(f"\ntrials: {summary['trials_found']} of {summary['trials_expected']} "
                 f"({'complete' if summary['complete'] else 'INCOMPLETE'}), wall time "
                 f"{summary['wall_time']['wall_s']:.1f} s")
    return "\n".join(lines)


def _report(summary: dict, out: Path, args, record) -> None:
    from numerics.pl import plot_pl_summary

    write_and_print(args, summary, out, render=render_summary, record_text=str(record),
                    save_figure=plot_pl_summary, stem=FIGURE_STEM)


def _summarise_only(args) -> int:
    from numerics.pl import PLExperiment, load_pl_outcomes, pl_cells, summarise_pl
    from numerics.records import read_record

    folder = Path(args.summarise)
    record = find_record(folder)
    experiment = PLExperiment.from_spec(read_record(record).spec)
    outcomes = load_pl_outcomes(record, pl_cells(experiment))
    _report(summarise_pl(experiment, outcomes, record=record), folder, args, record)
    return 0


def run(args) -> int:
    """Run ``lorank pl`` with parsed arguments; return the exit status."""
    from numerics.pl import run_pl_experiment, summarise_pl

    if args.summarise is not None:
        return _summarise_only(args)
    experiment = build_experiment(args)
    threads = int_list("cpu-threads", args.cpu_threads)[0]
    out = Path(args.out or "runs/pl")
    record = fresh_record(out, args.resume)
    outcomes = run_pl_experiment(experiment, record, resume=args.resume, cpu_threads=threads,
                                 progress=not args.no_progress and not args.json)
    _report(summarise_pl(experiment, outcomes, record=record), out, args, record)
    return 0
