"""``lorank cstar``: Monte Carlo estimate of the constant C* in ``r(m+n-r) > C* K N``.

One command runs (or resumes) a sweep, writes an append-only trial record and an atomic summary
JSON, prints C*(0.5) and C*(0.95) with intervals and the verdict on 1.35 for each estimand, and
saves the phase-transition figure (PNG and PDF). See :mod:`numerics.sweep` for the estimands.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from fractions import Fraction
from pathlib import Path

from proofs.validation import InvalidArgument, require_positive_int

DEFAULT_SIZES = "6x6,8x8,12x12,16x16"
DEFAULT_RANKS = "1,2"
DEFAULT_RHO = "0.9,0.95,1,1.05,1.1,1.2,1.35,1.5,2"


def _int_list(name: str, text: str) -> list[int]:
    parts = [p.strip() for p in str(text).split(",") if p.strip()]
    if not parts:
        raise InvalidArgument(f"--{name} must be a comma-separated list of positive integers, got {text!r}")
    out = []
    for p in parts:
        if not re.fullmatch(r"[+-]?\d+", p):
            raise InvalidArgument(f"--{name} must hold positive integers, got {p!r}")
        out.append(require_positive_int(f"--{name}", int(p)))
    return out


def _sizes(text: str) -> list[tuple[int, int]]:
    parts = [p.strip() for p in str(text).split(",") if p.strip()]
    if not parts:
        raise InvalidArgument(f"--sizes must be a list such as 8x8,16x64, got {text!r}")
    out = []
    for p in parts:
        match = re.fullmatch(r"(\d+)[xX](\d+)", p)
        if not match:
            raise InvalidArgument(f"--sizes entries must look like MxN (e.g. 16x64), got {p!r}")
        m, n = (int(g) for g in match.groups())
        if m < 1 or n < 1:  # name the entry as typed, not just the bad number
            raise InvalidArgument(f"--sizes entries must have positive m and n, got {p!r}")
        out.append((m, n))
    return out


def _float_list(name: str, text: str, positive: bool = True) -> list[float]:
    """Comma list, or START:STOP:STEP (inclusive of STOP up to rounding)."""
    text = str(text).strip()
    try:
        if ":" in text:
            a, b, c = (Fraction(x) for x in text.split(":"))
            if c <= 0 or b < a:
                raise ValueError
            values, v = [], a
            while v <= b:
                values.append(float(v))
                v += c
        else:
            values = [float(Fraction(x.strip())) for x in text.split(",") if x.strip()]
    except (ValueError, ZeroDivisionError):
        raise InvalidArgument(f"--{name} must be a comma list or START:STOP:STEP of numbers, got {text!r}") from None
    if not values:
        raise InvalidArgument(f"--{name} must not be empty, got {text!r}")
    bad = [v for v in values if not math.isfinite(v) or (positive and v <= 0)]
    if bad:
        raise InvalidArgument(f"--{name} values must be positive numbers, got {bad[0]!r} in {text!r}")
    return values


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
    a("--resume", action="store_true", help="continue an interrupted run in --out; finished trials are kept")
    a("--distributed", action="store_true",
      help="spread the trials over the processes of a torchrun launch (torchrun --nproc-per-node N "
           "-m lorank cstar --distributed ...): each rank runs a disjoint, seed-determined share "
           "into its own record in --out (one GPU per rank with --device cuda), rank 0 merges them "
           "into one summary, identical to a single-process run; without torchrun, one process")
    a("--json", action="store_true", help="print the summary JSON instead of the table")
    a("--no-plot", action="store_true", help="do not save the phase-transition figure")
    a("--no-progress", action="store_true", help="no progress bar")
    a("--bootstrap", default="0", help="bootstrap resamples per fit (0: none)")
    a("--summarise", default=None, metavar="DIR",
      help="run nothing: re-summarise the record in DIR (record.jsonl or record.jsonl.gz), "
           "rewrite DIR/summary.json and the figures; the run options are read from the record")


def build_experiment(args):
    """Turn parsed arguments into a :class:`numerics.sweep.Experiment` (validating everything)."""
    from numerics.sweep import Experiment

    sizes = _sizes(args.sizes)
    ranks = _int_list("ranks", args.ranks)
    triples = []
    for m, n in sizes:
        for r in ranks:
            if r > min(m, n):
                raise InvalidArgument(f"--ranks value r={r} exceeds min(m, n) = {min(m, n)} for size {m}x{n}")
            triples.append((m, n, r))
    if args.kn is not None:
        grid = {"kn_values": _int_list("kn", args.kn)}
    else:
        # an explicitly empty --rho "" is an error, not the default grid
        grid = {"rho_grid": _float_list("rho", DEFAULT_RHO if args.rho is None else args.rho)}
    K = None
    if args.K is not None:
        K = _int_list("K", args.K)[0]
        if args.features != "structured":
            raise InvalidArgument(f"--K is only used with --features structured, got --K {args.K!r}")
    elif args.features == "structured":
        raise InvalidArgument("--features structured needs --K (outputs per example), got none")
    device = str(args.device)
    if device.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            raise InvalidArgument(f"--device {device!r} asked for, but torch sees no CUDA GPU")
    return Experiment(
        estimand=args.estimand, sizes=triples, features=args.features, K=K,
        trials_per_cell=_int_list("trials", args.trials)[0],
        batch_size=_int_list("batch-size", args.batch_size)[0],
        seed=int(_nonneg("seed", args.seed)), device=device, dtype=args.dtype,
        restarts=_int_list("restarts", args.restarts)[0],
        max_iters=_int_list("max-iters", args.max_iters)[0],
        budgets=_int_list("budgets", args.budgets),
        eps_levels=_float_list("eps", args.eps),
        **grid,
    )


def _nonneg(name, text):
    if not re.fullmatch(r"\d+", str(text).strip()):
        raise InvalidArgument(f"--{name} must be a non-negative integer, got {text!r}")
    return int(text)


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
    from numerics.records import read_record, write_json_atomic
    from numerics.sweep import Experiment, load_outcomes, summarise

    from numerics.distributed import shard_records
    from numerics.sweep import merge_records

    folder = Path(args.summarise)
    candidates = [folder / "record.jsonl", folder / "record.jsonl.gz"]
    record = next((c for c in candidates if c.exists()), None)
    records = [record] if record is not None else shard_records(folder)
    if not records:
        raise InvalidArgument(f"--summarise {str(folder)!r} holds no record.jsonl, record.jsonl.gz "
                              "or per-rank records")
    # eps levels are analysis settings, not part of the record: they come from --eps
    experiment = Experiment.from_spec(read_record(records[0]).spec, eps_levels=_float_list("eps", args.eps))
    outcomes = load_outcomes(records[0]) if len(records) == 1 else merge_records(records)
    summary = summarise(experiment, outcomes, n_boot=_nonneg("bootstrap", args.bootstrap))
    write_json_atomic(folder / "summary.json", summary)
    if not args.no_plot:
        from numerics.plots import plot_summary

        plot_summary(summary, folder / "phase_transition")
    print(json.dumps(summary, indent=1) if args.json else render_summary(summary))
    return 0


def _report(args, summary: dict, out: Path, record_text: str) -> None:
    from numerics.records import write_json_atomic

    write_json_atomic(out / "summary.json", summary)
    if not args.no_plot:
        from numerics.plots import plot_summary

        plot_summary(summary, out / "phase_transition")
    if args.json:
        print(json.dumps(summary, indent=1))
    else:
        print(render_summary(summary))
        print(f"\nrecord: {record_text}\nsummary: {out / 'summary.json'}"
              + ("" if args.no_plot else f"\nfigure: {out / 'phase_transition'}.png / .pdf"))


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
            summary = summarise(experiment, outcomes, n_boot=_nonneg("bootstrap", args.bootstrap))
            summary["distributed"] = scaling_report(summary)
            _report(args, summary, out, f"{out}/record.rank*-of-{context.world_size}.jsonl "
                                        f"({context.world_size} ranks, merged)")
        context.barrier()  # no rank leaves before the summary is written
    finally:
        context.close()
    return 0


def run(args) -> int:
    from numerics.records import write_json_atomic
    from numerics.sweep import run_experiment, summarise

    if args.summarise is not None:
        return _summarise_only(args)
    experiment = build_experiment(args)
    if args.distributed:
        return _run_distributed(args, experiment)
    out = Path(args.out or f"runs/cstar-{experiment.estimand}")
    record = out / "record.jsonl"
    if (out / "record.jsonl.gz").exists():  # else a fresh record.jsonl would start beside it
        raise InvalidArgument(f"--out {str(out)!r} holds a compressed record (record.jsonl.gz), "
                              "which is read-only: gunzip it to resume, or use --summarise")
    if record.exists() and not args.resume:
        raise InvalidArgument(f"--out {str(out)!r} already holds a record; pass --resume to continue "
                              "it or choose another --out (finished trials are never overwritten)")
    out.mkdir(parents=True, exist_ok=True)
    outcomes = run_experiment(experiment, trial_function(experiment), record,
                              resume=args.resume, progress=not args.no_progress and not args.json)
    summary = summarise(experiment, outcomes, n_boot=_nonneg("bootstrap", args.bootstrap))
    write_json_atomic(out / "summary.json", summary)
    if not args.no_plot:
        from numerics.plots import plot_summary

        plot_summary(summary, out / "phase_transition")
    if args.json:
        print(json.dumps(summary, indent=1))
    else:
        print(render_summary(summary))
        print(f"\nrecord: {record}\nsummary: {out / 'summary.json'}"
              + ("" if args.no_plot else f"\nfigure: {out / 'phase_transition'}.png / .pdf"))
    return 0
