"""``lorank separability``: estimand E4, can a rank-r update separate random binary labels?

Runs (or resumes) a sweep of E4 (THEORY.md R2; :mod:`numerics.separability`): Gaussian-iid
features ``G_i`` in R^{m x n}, fair labels ``s_i = +-1``, a rank-r separator ``Delta = B A``
with every margin ``s_i <G_i, Delta>`` positive, found by damped Gauss-Newton on the logistic
loss with restarts and certified in float64 (normalised margin ``>= --margin``). Writes an
append-only record, a summary JSON, the figure, and prints the transition ``C_sep(p)`` per size
(p = 0.5, 0.95, 95% intervals), the finite-size trend, the references (Cover's rho = 1/2, the
sufficient ``r max(m, n) >= N``, E1's interpolation transition rho = 1), direct certificates
at a canonical few-shot size (768 x 768, r = 1, N = 32 and 64 by default) and the verdict on
"PL removes the rank threshold".

The CPU default (about a minute on one core) writes ``results/separability/cpu-default``.
GPU-scale run for an H100 (sizes to 64 x 64, ranks 1, 2, 4, aspects 1 and 4)::

    lorank separability --device cuda --dtype float64 \\
        --sizes 8x8,16x16,32x32,64x64,8x32,16x64 --ranks 1,2,4 \\
        --rho-grid 0.2,0.25,0.28,0.3,0.32,0.34,0.36,0.38,0.4,0.43,0.46,0.5,0.6 \\
        --trials 400 --restarts 6 --budget 200 --budgets 25,50,100 --batch-size 512 \\
        --canonical 32,64,128 --canonical-trials 20 --out results/separability/h100
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from lorank.cli_args import (add_run_options, checked_device, find_record, fresh_record,
                              grid_of, int_list, nonneg, one_positive_float,
                              size_rank_triples, write_and_print)
from proofs.validation import InvalidArgument

DEFAULT_SIZES = "4x4,6x6,8x8,12x12"
DEFAULT_RANKS = "1,2"
DEFAULT_RHO = "0.2,0.25,0.3,0.35,0.4,0.45,0.5,0.6,0.8"
DEFAULT_OUT = "results/separability/cpu-default"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.allow_abbrev = False
    a = parser.add_argument
    a("--sizes", default=DEFAULT_SIZES, help="matrix sizes m x n, e.g. 8x8,16x64 (default %(default)s)")
    a("--ranks", default=DEFAULT_RANKS, help="ranks r (default %(default)s)")
    grid = parser.add_mutually_exclusive_group()
    grid.add_argument("--rho-grid", default=None,
                      help=f"rho = r(m+n-r)/N values: comma list or START:STOP:STEP (default {DEFAULT_RHO})")
    grid.add_argument("--kn", default=None, help="explicit N values instead of a rho grid")
    a("--trials", default="40", help="trials per cell (default %(default)s)")
    a("--restarts", default="4", help="random starts per trial (E4 is reported for 1..restarts)")
    a("--budget", default="100", help="Gauss-Newton iterations per start (default %(default)s)")
    a("--budgets", default="10,30", help="smaller budgets for the budget trend (truncations of the runs)")
    a("--margin", default="1e-8", help="certificate: float64 normalised margin at least this")
    a("--seed", default="0", help="global seed")
    a("--device", default="cpu", help="cpu, cuda or cuda:k")
    a("--dtype", default="float64", choices=("float32", "float64"),
      help="working precision (certificates are float64)")
    a("--batch-size", default="64", help="trials per solver call and per checkpoint")
    a("--canonical", default="32,64",
      help="N values certified directly at 768x768, r = 1, float32 features ('none' to skip)")
    a("--canonical-trials", default="3", help="instances per canonical N")
    a("--out", default=DEFAULT_OUT, help="output folder (default %(default)s)")
    add_run_options(parser)
    a("--summarise", default=None, metavar="DIR",
      help="run no trials: re-summarise the record in DIR (record.jsonl or record.jsonl.gz; an "
           "interrupted run gives an INCOMPLETE summary), rewrite DIR/summary.json and the figure; "
           "the run options are read from the record, --canonical and --canonical-trials from the command line")


def build_experiment(args):
    """The :class:`numerics.sweep.Experiment` of the parsed arguments (estimand ``logistic``)."""
    from numerics.sweep import Experiment

    triples = size_rank_triples(args.sizes, args.ranks)
    grid = grid_of(args.kn, args.rho_grid, rho_flag="rho-grid", default_rho=DEFAULT_RHO)
    device = checked_device(args.device)
    return Experiment(
        estimand="logistic", sizes=triples, trials_per_cell=int_list("trials", args.trials)[0],
        batch_size=int_list("batch-size", args.batch_size)[0], seed=nonneg("seed", args.seed),
        device=device, dtype=args.dtype, restarts=int_list("restarts", args.restarts)[0],
        max_iters=int_list("budget", args.budget)[0], tol=one_positive_float("margin", args.margin),
        budgets=int_list("budgets", args.budgets), **grid)


def _canonical_ns(text):
    if str(text).strip().lower() in ("none", ""):
        return []
    return int_list("canonical", text)


def trial_function(experiment):
    """The trial function of :func:`numerics.sweep.run_experiment` for an E4 experiment."""
    from numerics.capacity import run_trials
    from numerics.separability import SepConfig

    cfg = SepConfig(max_iter=experiment.max_iters, margin_threshold=experiment.tol)

    def trial_fn(cell, trial_indices):
        return run_trials("logistic", tuple(cell), list(trial_indices), global_seed=experiment.seed,
                          device=experiment.device, dtype=experiment.dtype,
                          restarts=experiment.restarts, batch_size=experiment.batch_size,
                          sep_config=cfg)

    return trial_fn


def references(experiment) -> dict:
    """Reference values shown beside E4 (not tuned toward)."""
    from numerics.separability import cover_rho, sufficient_rho
    from numerics.verdicts import warren_min_examples

    sizes = []
    for m, n, r in experiment.sizes:
        Nw = warren_min_examples(r * (m + n))
        sizes.append({"m": m, "n": n, "r": r, "sufficient_rho": sufficient_rho(m, n, r),
                      "warren_N_half": Nw, "warren_rho_half": r * (m + n - r) / Nw})
    return {"cover_rho": cover_rho(),
            "cover": "a linear class of dimension d separates N random labels w.p. 1/2 at N = 2d",
            "sufficient": "r max(m, n) >= N, i.e. rho >= (m + n - r) / max(m, n): certain",
            "interpolation_rho": 1.0,
            "interpolation": "E1's measured transition (results/cstar/headline-lm): rho = 1",
            "warren": "p_sep <= (8 e N / p)^p / 2^N, p = r(m+n): at most 1/2 from warren_N_half on",
            "sizes": sizes}


def verdict_text(summary: dict) -> str:
    """The verdict on "PL removes the rank threshold" and on E4's transition, from the ledger
    entries of this summary (the same text ``lorank check`` shows)."""
    import tempfile

    from numerics.records import write_json_atomic
    from numerics.verdicts import separability_entries

    with tempfile.TemporaryDirectory() as d:
        (Path(d) / "separability" / "run").mkdir(parents=True)
        write_json_atomic(Path(d) / "separability" / "run" / "summary.json", summary)
        entries = separability_entries(Path(d))
    return "\n".join(f"[{e['status']}] {e['id'].rsplit('.', 1)[0]}: {e['statement']}" for e in entries)


def _fmt(x):
    return "-" if x is None or (isinstance(x, float) and not math.isfinite(x)) else f"{x:.3f}"


def render_summary(summary: dict) -> str:
    """Transitions per size, finite-size trend, restart trend, canonical certificates, verdict."""
    from numerics.verdicts import _e4_headline, separability_transitions

    name = _e4_headline(summary)
    ref = {(s["m"], s["n"], s["r"]): s for s in summary["references"]["sizes"]}
    lines = [f"{name}: {summary['estimands'][name]['definition']}", "",
             f"  {'size':>9} {'r':>2}  {'p':>4}  {'GLM C_sep':>9}  {'95% profile':>17}  "
             f"{'grid bracket':>17}  {'sufficient':>10}  {'Warren 1/2':>10}"]
    for p in summary["method"]["p_levels"]:
        for t in separability_transitions(summary, p):
            rf = ref[(t["m"], t["n"], t["r"])]
            lines.append(f"  {t['m']:>4}x{t['n']:<4} {t['r']:>2}  {p:>4g}  {_fmt(t['glm']):>9}  "
                         f"[{_fmt(t['profile'][0])}, {_fmt(t['profile'][1])}]".ljust(50)
                         + f"  ({_fmt(t['bracket'][0])}, {_fmt(t['bracket'][1])}]".ljust(19)
                         + f"  {rf['sufficient_rho']:>10.3f}  {rf['warren_rho_half']:>10.3f}")
    for fs in summary["estimands"][name]["finite_size"]:
        lines.append(f"  finite size r={fs['r']} aspect {fs['aspect']} p={fs['p']:g}: "
                     f"{fs['verdict']['sentence']}")
    lines.append("")
    lines.append("  restarts / budget trend of C_sep(0.5) (GLM):")
    for tr in summary["trends"]:
        if tr["p"] != 0.5:
            continue
        pts = ", ".join(f"{tr['axis'].split()[-1]}={q['x']}: {_fmt(q['rho'])}" for q in tr["points"])
        lines.append(f"    {tr['m']}x{tr['n']} r={tr['r']} ({tr['axis']}): {pts}")
    lines.append("")
    for c in summary.get("canonical") or []:
        lines.append(f"  canonical {c['m']}x{c['n']} r={c['r']} N={c['N']} rho={c['rho']:.2f}: "
                     f"{c['certified']}/{c['trials']} certified ({c['dtype']}), normalised margins "
                     + ", ".join(_fmt(v) if v is None else f"{v:.2e}" for v in c["margins"])
                     + f", {c['seconds']:.1f} s")
    lines.append(f"  references: Cover rho = {summary['references']['cover_rho']}, interpolation "
                 f"(E1) rho = {summary['references']['interpolation_rho']:g}")
    lines.append("")
    lines.append(verdict_text(summary))
    lines.append("")
    lines.append(f"trials: {summary['trials_found']} of {summary['trials_expected']} "
                 f"({'complete' if summary['complete'] else 'INCOMPLETE'}), non-finite: "
                 f"{summary['nonfinite_trials']}, wall time {summary['wall_time']['wall_s']:.1f} s")
    return "\n".join(lines)


def figure(summary: dict):
    """Success against rho per size (headline E4 variant), Wilson bars, GLM curves, and the
    references: Cover's 1/2, rho = 1 (interpolation, E1) and each size's sufficient rho."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from numerics.plots import draw_success_curves
    from numerics.verdicts import _e4_headline

    name = _e4_headline(summary)
    fig = Figure(figsize=(9.0, 4.4), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ref = {(s["m"], s["n"], s["r"]): s for s in summary["references"]["sizes"]}
    for size, color in draw_success_curves(ax, summary["estimands"][name]):
        suff = ref[(size["m"], size["n"], size["r"])]["sufficient_rho"]
        ax.plot([suff], [1.06], marker="v", color=color, clip_on=False, ms=5)
    ax.axvline(summary["references"]["cover_rho"], color="crimson", linestyle="--",
               label="Cover: rho = 1/2")
    ax.axvline(1.0, color="0.35", linestyle=":", label="interpolation (E1): rho = 1")
    ax.set_xlabel("rho = r (m + n - r) / N")
    ax.set_ylabel("p_sep (certified, lower bound)")
    ax.set_ylim(-0.03, 1.09)
    ax.set_title(f"Separability of random labels by rank r, {name} (triangles: r max(m,n) = N)")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    ax.grid(alpha=0.3)
    return fig


def run(args) -> int:
    from numerics.records import read_record
    from numerics.sweep import Experiment, load_outcomes, run_experiment

    canonical_ns = _canonical_ns(args.canonical)
    canonical_trials = int_list("canonical-trials", args.canonical_trials)[0]
    if args.summarise is not None:
        out = Path(args.summarise)
        record = find_record(out)
        experiment = Experiment.from_spec(read_record(record).spec)
        if experiment.estimand != "logistic":
            raise InvalidArgument(f"--summarise {str(out)!r} holds a record of estimand "
                                  f"{experiment.estimand!r}, not 'logistic' (use lorank cstar --summarise)")
        return _finish(args, experiment, load_outcomes(record), out, record, canonical_ns,
                       canonical_trials)
    experiment = build_experiment(args)
    out = Path(args.out)
    record = fresh_record(out, args.resume)
    outcomes = run_experiment(experiment, trial_function(experiment), record, resume=args.resume,
                              progress=not args.no_progress and not args.json)
    return _finish(args, experiment, outcomes, out, record, canonical_ns, canonical_trials)


def _finish(args, experiment, outcomes, out, record, canonical_ns, canonical_trials) -> int:
    """Summarise, add references, canonical certificates and the verdict; write and print."""
    from numerics.sweep import summarise

    summary = summarise(experiment, outcomes)
    summary["references"] = references(experiment)
    canonical = []
    if canonical_ns:
        from numerics.capacity import torch_threads
        from numerics.separability import SepConfig, canonical_check

        dev = experiment.device
        with torch_threads(1 if dev == "cpu" else None):
            canonical = canonical_check(768, 768, 1, canonical_ns, canonical_trials,
                                        seed=experiment.seed, device=dev, dtype="float32",
                                        restarts=experiment.restarts,
                                        config=SepConfig(max_iter=experiment.max_iters,
                                                         margin_threshold=experiment.tol))
    summary["canonical"] = canonical
    summary["verdict"] = verdict_text(summary)
    from numerics.plots import save_figure

    write_and_print(args, summary, out, render=render_summary, record_text=str(record),
                    save_figure=lambda summary, stem: save_figure(figure(summary), stem))
    return 0
