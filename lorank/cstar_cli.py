"""``lorank cstar``: Monte Carlo estimate of the constant C* in ``r(m+n-r) > C* K N``.

One command runs (or resumes) a sweep, writes an append-only trial record and an atomic summary
JSON, prints C*(0.5) and C*(0.95) with intervals and the verdict on 1.35 for each estimand, and
saves the phase-transition figure (PNG and PDF). See :mod:`numerics.sweep` for the estimands.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from lorank.cli_args import (add_run_options, checked_device, float_list, fresh_record,
                              grid_of, int_list, nonneg, size_rank_triples, write_and_print)
from proofs.validation import InvalidArgument

DEFAULT_SIZES = "6x6,8x8,12x12,16x16"
DEFAULT_RANKS = "1,2"
DEFAULT_RHO = "0.9,0.95,1,1.05,1.1,1.2,1.35,1.5,2"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.allow_abbrev = False  # set_defaults(allow_abbrev=...) only added a namespace entry
    a = parser.add_argument
    a("--estimand", default="lm", choices=("lm", "recipe"),
      help="lm: Levenberg-Marquardt with restarts, serves E1 (existence) and E2 (one start); "
           "recipe: the standard LoRA gradient-descent recipe, E3")
    a("--sizes", default=DEFAULT_SIZES, help="matrix sizes m x n, e.g. 8x8,16x64 (default %(default)s)")
    a("--ranks", default=DEFAULT_RANKS, help="LoRA ranks r (default %(default)s); pairs with r > min(m, n) are an error")
    grid = parser.add_mutually_exclusive_group()
    grid.add_argument("--rho", default=None,
                      help=f"grid of rho = r(m+n-r)/KN: comma list or START:STOP:STEP (default {DEFAULT_RHO})")
    grid.add_argument("--kn", default=None, help="explicit list of KN values instead of a rho grid")
    a("--features", default="gaussian", choices=("gaussian", "structured"),
      help="Gaussian-iid features, or structured last-layer features G_ik = a_k x_i^T")
    a("--K", default=None, help="outputs per example (structured features only)")
    a("--trials", default="200", help="trials per grid cell (default %(default)s)")
    a("--restarts", default="3", help="random starts per trial for lm (E1 is reported for 1..restarts)")
    a("--max-iters", default="200", help="Levenberg-Marquardt iterations per start")
    a("--budgets", default="100,1000", help="recipe: step counts T at which the residual is recorded")
    a("--eps", default="1e-3,1e-6", help="recipe: success thresholds on the relative residual")
    a("--seed", default="0", help="global seed; every trial is seeded from it and its index")
    a("--device", default="cpu", help="cpu, cuda or cuda:k")
    a("--dtype", default="float64", choices=("float32", "float64"),
      help="working precision (certificates are always recomputed in float64)")
    a("--batch-size", default="64", help="trials per solver call and per checkpoint")
    a("--out", default=None, help="output folder (default runs/cstar-<estimand>)")
    a("--distributed", action="store_true",
      help="spread the trials over the processes of a torchrun launch (torchrun --nproc-per-node N "
           "-m lorank cstar --distributed ...): each rank runs a disjoint, seed-determined share "
           "into its own record in --out (one GPU per rank with --device cuda), rank 0 merges them "
           "into one summary, identical to a single-process run; without torchrun, one process")
    add_run_options(parser, figure="the phase-transition figure")
    a("--bootstrap", default="0", help="bootstrap resamples per fit (0: none)")
    a("--summarise", default=None, metavar="DIR",
      help="run nothing: re-summarise the record in DIR (record.jsonl or record.jsonl.gz), "
           "rewrite DIR/summary.json and the figures; the run options are read from the record")


def build_experiment(args):
    """Turn parsed arguments into a :class:`numerics.sweep.Experiment` (validating everything)."""
    from numerics.sweep import Experiment

    triples = size_rank_triples(args.sizes, args.ranks)
    grid = grid_of(args.kn, args.rho, rho_flag="rho", default_rho=DEFAULT_RHO)
    K = None
    if args.K is not None:
        K = int_list("K", args.K)[0]
        if args.features != "structured":
            raise InvalidArgument(f"--K is only used with --features structured, got --K {args.K!r}")
    elif args.features == "structured":
        raise InvalidArgument("--features structured needs --K (outputs per example), got none")
    device = checked_device(args.device)
    return Experiment(
        estimand=args.estimand, sizes=triples, features=args.features, K=K,
        trials_per_cell=int_list("trials", args.trials)[0],
        batch_size=int_list("batch-size", args.batch_size)[0],
        seed=nonneg("seed", args.seed), device=device, dtype=args.dtype,
        restarts=int_list("restarts", args.restarts)[0],
        max_iters=int_list("max-iters", args.max_iters)[0],
        budgets=int_list("budgets", args.budgets),
        eps_levels=float_list("eps", args.eps),
        **grid,
    )


def trial_function(experiment):
    """The trial function of :func:`numerics.sweep.run_experiment` for this experiment."""
    from numerics.capacity import run_trials
    from numerics.solvers import LMConfig

    lm_config = LMConfig(max_iter=experiment.max_iters, certify_rtol=experiment.tol)

    def trial_fn(cell, trial_indices):
        return run_trials(
            experiment.estimand, tuple(cell), list(trial_indices), global_seed=experiment.seed,
            features=experiment.features, K=experiment.K, device=experiment.device,
            dtype=experiment.dtype, restarts=experiment.restarts, budgets=experiment.budgets,
            lm_config=lm_config)

    return trial_fn


def _fmt(x, digits=3):
    return "-" if x is None or (isinstance(x, float) and not math.isfinite(x)) else f"{x:.{digits}f}"


def render_summary(summary: dict) -> str:
    """A readable table of transitions and verdicts from a summary dict."""
    lines = []
    for name, est in summary["estimands"].items():
        lines.append(f"{name}: {est['definition']}")
        lines.append(f"  {'size':>9} {'r':>2}  {'p':>4}  {'GLM C*(p)':>9}  {'95% profile':>17}  "
                     f"{'grid bracket':>15}  verdict on {summary['claim']['value']}")
        for s in est["sizes"]:
            points = {pt["p"]: pt for pt in ((s.get("fit") or {}).get("points") or [])}
            for br, vd in zip(s.get("brackets", []), s.get("verdicts", [])):
                p = br["p"]
                pt = points.get(p, {})
                prof = pt.get("profile") or [None, None]
                lo, hi = br["bracket"]
                lines.append(
                    f"  {s['m']:>4}x{s['n']:<4} {s['r']:>2}  {p:>4g}  {_fmt(pt.get('rho')):>9}  "
                    f"[{_fmt(prof[0])}, {_fmt(prof[1])}]".ljust(52)
                    + f"  ({_fmt(lo)}, {_fmt(hi)}]".ljust(17) + f"  {vd['position']}")
        for fs in est.get("finite_size", []):
            lines.append(f"  finite size r={fs['r']} aspect {fs['aspect']} p={fs['p']:g}: {fs['verdict']['sentence']}")
        lines.append("")
    lines.append(f"trials: {summary['trials_found']} of {summary['trials_expected']} "
                 f"({'complete' if summary['complete'] else 'INCOMPLETE'}), non-finite: "
                 f"{summary['nonfinite_trials']}, wall time {summary['wall_time']['wall_s']:.1f} s")
    return "\n".join(lines)


def _summarise_only(args) -> int:
    from numerics.distributed import shard_records
    from numerics.records import read_record
    from numerics.sweep import Experiment, load_outcomes, merge_records, summarise

    folder = Path(args.summarise)
    candidates = [folder / "record.jsonl", folder / "record.jsonl.gz"]
    record = next((c for c in candidates if c.exists()), None)
    records = [record] if record is not None else shard_records(folder)
    if not records:
        raise InvalidArgument(f"--summarise {str(folder)!r} holds no record.jsonl, record.jsonl.gz "
                              "or per-rank records")
    # eps levels are analysis settings, not part of the record: they come from --eps
    experiment = Experiment.from_spec(read_record(records[0]).spec, eps_levels=float_list("eps", args.eps))
    outcomes = load_outcomes(records[0]) if len(records) == 1 else merge_records(records)
    summary = summarise(experiment, outcomes, n_boot=nonneg("bootstrap", args.bootstrap))
    _report(args, summary, folder, ", ".join(str(r) for r in records))
    return 0


def _report(args, summary: dict, out: Path, record_text: str) -> None:
    from numerics.plots import plot_summary

    write_and_print(args, summary, out, render=render_summary, record_text=record_text,
                    save_figure=plot_summary)


def _run_distributed(args, experiment) -> int:
    """``--distributed``: this process's share of a torchrun launch; rank 0 merges and reports."""
    import dataclasses

    from numerics.distributed import DistributedContext, run_sharded, scaling_report
    from numerics.sweep import summarise

    context = DistributedContext.from_environment(experiment.device)
    experiment = dataclasses.replace(experiment, device=context.device)
    out = Path(args.out or f"runs/cstar-{experiment.estimand}")
    if (out / "record.jsonl").exists() or (out / "record.jsonl.gz").exists():
        raise InvalidArgument(f"--out {str(out)!r} holds a single-process record; a --distributed "
                              "run writes per-rank records: choose another --out")
    if not args.resume and any(out.glob("record.rank*-of-*.jsonl*")):
        raise InvalidArgument(f"--out {str(out)!r} already holds per-rank records; pass --resume to "
                              "continue them or choose another --out (finished trials are never overwritten)")
    context.init()
    try:
        outcomes = run_sharded(experiment, trial_function(experiment), out, context,
                               resume=args.resume, progress=not args.no_progress and not args.json)
        if context.is_main:
            summary = summarise(experiment, outcomes, n_boot=nonneg("bootstrap", args.bootstrap))
            summary["distributed"] = scaling_report(summary)
            _report(args, summary, out, f"{out}/record.rank*-of-{context.world_size}.jsonl "
                                        f"({context.world_size} ranks, merged)")
        context.barrier()  # no rank leaves before the summary is written
    finally:
        context.close()
    return 0


def run(args) -> int:
    from numerics.sweep import run_experiment, summarise

    if args.summarise is not None:
        return _summarise_only(args)
    experiment = build_experiment(args)
    if args.distributed:
        return _run_distributed(args, experiment)
    out = Path(args.out or f"runs/cstar-{experiment.estimand}")
    record = fresh_record(out, args.resume)
    outcomes = run_experiment(experiment, trial_function(experiment), record,
                              resume=args.resume, progress=not args.no_progress and not args.json)
    summary = summarise(experiment, outcomes, n_boot=nonneg("bootstrap", args.bootstrap))
    _report(args, summary, out, str(record))
    return 0
