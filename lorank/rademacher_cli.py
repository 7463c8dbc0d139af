"""``lorank rademacher``: held-out error against the LoRA rank for NTK-linearised last layers
(THEORY.md R3), for binary (one logit, two logits) and three-class tasks.

One command runs (or resumes) the sweep, writes an append-only record (one line per
``(task, n_train, noise, seed, r)`` unit) and an atomic summary JSON, prints per task and setting
the mean held-out error with 95% t intervals, the optimal rank with its bootstrap shares, the
paired difference ``err(1) - err(2)`` and the verdicts, and saves the figure (PNG and PDF). The
model, the estimator and the verdict rules are stated in :mod:`numerics.rademacher`.

CPU default (``results/rademacher/cpu-default``): ``m = n = 64``, ranks 1..6, four tasks,
16 and 128 training examples per class, noise 2 and 4, 40 seeds. The larger committed run
(``--device cuda`` is refused: see :mod:`numerics.rademacher`, "Scale")::

    lorank rademacher --m 256 --n 256 --max-rank 8 --n-train 16,64,256 --noise 4,8 \\
        --n-test 2000 --seeds 200 --out results/rademacher/cpu-256
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from lorank.cli_args import (add_run_options, checked_device, float_list, fresh_record,
                              int_list, one_int, write_and_print)
from proofs.validation import InvalidArgument

DEFAULT_OUT = "results/rademacher/cpu-default"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from numerics.rademacher import DEFAULT_TASKS, TASKS

    parser.allow_abbrev = False
    a = parser.add_argument
    a("--m", default="64", help="rows of the adapted weight W0 + Delta (default %(default)s)")
    a("--n", default="64", help="columns = input dimension (default %(default)s)")
    ranks = parser.add_mutually_exclusive_group()
    ranks.add_argument("--ranks", default=None, help="LoRA ranks, comma list (default 1..--max-rank)")
    ranks.add_argument("--max-rank", default=None, help="ranks 1..R (default 6)")
    a("--tasks", default=",".join(DEFAULT_TASKS),
      help=f"comma list among {', '.join(TASKS)} (default %(default)s)")
    a("--n-train", default="16,128", help="training examples per class, comma list (default %(default)s)")
    a("--n-test", default="500", help="held-out examples per class (default %(default)s)")
    a("--noise", default="2,4", help="input noise levels sigma, comma list (default %(default)s)")
    a("--seeds", default="40", help="number of seeds S (default %(default)s)")
    a("--weight-decay", default="1e-3",
      help="ridge mu = weight_decay * ||X||_2^2 on V = A_head^T Delta (default %(default)s)")
    a("--w0-scale", default="0", help="scale of the random W0 (NTK offset); 0: f(x; W0) = 0")
    a("--seed", default="0", help="global seed (default %(default)s)")
    a("--device", default="cpu", help="cpu, cuda or cuda:k")
    a("--dtype", default="float64", choices=("float32", "float64"), help="working precision of the fit")
    a("--batch-size", default="512", help="units per solver call (does not change results)")
    a("--threads", default="1", help="torch CPU threads during the run (default %(default)s: on a small "
                                     "or shared CPU one thread is much faster for these small products)")
    a("--bootstrap", default="2000", help="bootstrap resamples for the optimal rank (default %(default)s)")
    a("--out", default=DEFAULT_OUT, help="output folder (default %(default)s)")
    add_run_options(parser, unit="units")


def build_config(args):
    """Parsed arguments -> :class:`numerics.rademacher.RademacherConfig` (everything validated)."""
    from numerics.rademacher import RademacherConfig, TASKS

    m, n = one_int("m", args.m), one_int("n", args.n)
    if args.ranks is not None:
        ranks = int_list("ranks", args.ranks)
    else:
        ranks = list(range(1, one_int("max-rank", args.max_rank if args.max_rank is not None else "6") + 1))
    if max(ranks) > min(m, n):
        raise InvalidArgument(f"--{'ranks' if args.ranks is not None else 'max-rank'} value "
                              f"{max(ranks)} exceeds min(m, n) = {min(m, n)}")
    if len(set(ranks)) != len(ranks):
        raise InvalidArgument(f"--ranks must not repeat a rank, got {args.ranks!r}")
    tasks = [t.strip() for t in str(args.tasks).split(",") if t.strip()]
    if not tasks:
        raise InvalidArgument(f"--tasks must name at least one task, got {args.tasks!r}")
    for t in tasks:
        if t not in TASKS:
            raise InvalidArgument(f"--tasks entries must be among {', '.join(TASKS)}, got {t!r}")
    if len(set(tasks)) != len(tasks):
        raise InvalidArgument(f"--tasks must not repeat a task, got {args.tasks!r}")
    if m < 3:
        raise InvalidArgument(f"--m must be at least 3 (three orthogonal heads are drawn), got {args.m!r}")
    n_train = int_list("n-train", args.n_train)
    if len(set(n_train)) != len(n_train):
        raise InvalidArgument(f"--n-train must not repeat a value, got {args.n_train!r}")
    noise = float_list("noise", args.noise, lower="non-negative")
    if len(set(noise)) != len(noise):
        raise InvalidArgument(f"--noise must not repeat a value, got {args.noise!r}")
    weight_decay = float_list("weight-decay", args.weight_decay, lower="non-negative")
    w0 = float_list("w0-scale", args.w0_scale, lower="non-negative")
    if len(weight_decay) != 1 or len(w0) != 1:
        bad = "weight-decay" if len(weight_decay) != 1 else "w0-scale"
        raise InvalidArgument(f"--{bad} must be one number, got {getattr(args, bad.replace('-', '_'))!r}")
    device = checked_device(args.device)
    return RademacherConfig(
        m=m, n=n, ranks=tuple(ranks), tasks=tuple(tasks), n_train=tuple(n_train),
        n_test=one_int("n-test", args.n_test), noise=tuple(noise),
        seeds=one_int("seeds", args.seeds), seed=one_int("seed", args.seed, minimum=0),
        weight_decay=weight_decay[0], w0_scale=w0[0], device=device, dtype=args.dtype,
        batch_size=one_int("batch-size", args.batch_size),
        n_boot=one_int("bootstrap", args.bootstrap))


def _fmt_interval(d, digits=3):
    if d is None or d.get("mean") is None:
        return "-"
    if d.get("lo") is None:
        return f"{d['mean']:.{digits}f}"
    return f"{d['mean']:.{digits}f} [{d['lo']:.{digits}f}, {d['hi']:.{digits}f}]"


def render_summary(summary: dict) -> str:
    """A readable table of a summary dict."""
    lines = []
    for e in summary["estimates"]:
        if "per_rank" not in e:
            lines.append(f"{e['task']} n_train={e['n_train']}/class noise={e['noise']:g}: no complete seed")
            continue
        opt = e["optimal_rank"]
        shares = ", ".join(f"r={r}: {v:.2f}" for r, v in opt["bootstrap_share"].items())
        lines.append(f"{e['task']}  n_train={e['n_train']}/class  noise={e['noise']:g}  "
                     f"oracle error {_fmt_interval(e['oracle_test_error'])}")
        lines.append(f"  {'r':>2}  {'held-out error (95% t)':>26}  {'train error':>11}  "
                     f"{'train mse':>9}  {'exact floor':>11}  rank(Delta)")
        for p in e["per_rank"]:
            lines.append(f"  {p['r']:>2}  {_fmt_interval(p['test_error']):>26}  "
                         f"{p['train_error']['mean']:>11.3f}  {p['train_mse']['mean']:>9.4f}  "
                         f"{p['floor_train_mse']['mean']:>11.4f}  {p['numerical_rank']}")
        lines.append(f"  r* = {opt['minimisers']} (bootstrap shares {shares})")
        d = e.get("paired_err1_minus_err2")
        if d:
            lines.append(f"  err(1) - err(2) = {_fmt_interval(d, 4)}  (+{d['n_positive']} / "
                         f"-{d['n_negative']} / ={d['n_zero']} seeds)")
        lines.append(f"  floor saturation rank over seeds: {e['bias']['floor_saturation_rank']} "
                     f"(rank Y = {e['bias']['rank_Y']}, centred {e['bias']['centred_rank_Y']})")
    lines.append("")
    lines.append("verdicts:")
    for v in summary["verdicts"]:
        lines.append(f"  R3.{v['claim']}.{v['task']}  {v['sentence']}")
    lines.append(f"units: {summary['units_found']} of {summary['units_expected']} "
                 f"({'complete' if summary['complete'] else 'INCOMPLETE'}), wall time "
                 f"{summary['wall_time'].get('wall_s', 0.0):.1f} s")
    return "\n".join(lines)


def run(args) -> int:
    from numerics.rademacher import run_sweep, save_figures, summarise
    from numerics.records import read_record

    cfg = build_config(args)
    out = Path(args.out)
    record = fresh_record(out, args.resume, unit="units")
    from numerics.capacity import torch_threads

    threads = one_int("threads", args.threads) if cfg.device == "cpu" else None
    start = time.time()
    with torch_threads(threads):
        outcomes = run_sweep(cfg, record, resume=args.resume,
                             progress=not args.no_progress and not args.json)
    wall = time.time() - start
    sessions = read_record(record).sessions
    ends = [s for s in sessions if s.get("event") == "end" or s.get("killed")]
    wall_time = {"wall_s": wall, "wall_s_all_sessions": sum(float(s.get("wall_s") or 0.0) for s in ends),
                 "sessions": len([s for s in sessions if s.get("event") == "start"])}
    envs = [s["environment"] for s in sessions if s.get("event") == "start" and "environment" in s]
    summary = summarise(cfg, outcomes, wall=wall_time, environment=envs or None)
    write_and_print(args, summary, out, render=render_summary, record_text=str(record),
                    save_figure=save_figures, stem="rank_sweep")
    return 0
