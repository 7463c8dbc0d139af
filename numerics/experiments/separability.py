"""E4 family: can a rank-r update separate random binary labels? (THEORY.md R2)

Gaussian-iid features ``G_i`` in R^{m x n}, fair labels ``s_i = +-1``, a rank-r separator
``Delta = B A`` with every margin ``s_i <G_i, Delta>`` positive, found by damped Gauss-Newton on
the logistic loss with restarts (:mod:`numerics.engine.separability`) and certified in float64
(normalised margin ``>= --margin``). The summary adds the transition ``C_sep(p)`` per size, the
finite-size trend, the references (Cover's rho = 1/2 as our heuristic, the sufficient
``r max(m, n) >= N``, E1's interpolation transition rho = 1), direct certificates at a canonical
few-shot size (768 x 768, r = 1) and the ledger's verdict text.

GPU-scale run for an H100 (sizes to 64 x 64, ranks 1, 2, 4, aspects 1 and 4)::

    lorank separability --device cuda --sizes 8x8,16x16,32x32,64x64,8x32,16x64 --ranks 1,2,4 \\
        --rho 0.2,0.25,0.28,0.3,0.32,0.34,0.36,0.38,0.4,0.43,0.46,0.5,0.6 \\
        --trials 400 --restarts 6 --max-iters 200 --budgets 25,50,100 --batch-size 512 \\
        --canonical 32,64,128 --canonical-trials 20 --out runs/separability-h100

Examples
--------
>>> cfg = FAMILY.config(sizes=((4, 4),), ranks=(1,), rho=(0.5,), trials=2, restarts=1,
...                     canonical=())
>>> FAMILY.cells(cfg)
[Cell(m=4, n=4, r=1, M=14)]
>>> FAMILY.from_spec(FAMILY.record_spec(cfg), canonical=()) == cfg
True
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path


from .cstar import SweepFamily, size_rank_triples
from .options import (MAX_ITERATIONS, MAX_RESTARTS, MAX_THREADS, MAX_TRIALS, at_most, choice,
                      device, float_list, int_list, nonneg_int, option,
                      positive_float, show_sizes, sizes)

__all__ = ["FAMILY", "SepExperimentConfig", "references", "render_summary", "figure"]


def _canonical(name, text):
    if str(text).strip().lower() in ("none", ""):
        return ()
    return int_list(name, text)


@dataclass(frozen=True)
class SepExperimentConfig:
    """Everything that determines an E4 sweep, and its analysis settings."""

    sizes: tuple = option(((4, 4), (6, 6), (8, 8), (12, 12)), "matrix sizes m x n, e.g. 8x8,16x64",
                          sizes, show=show_sizes)
    ranks: tuple = option((1, 2), "ranks r; a rank above min(m, n) is an error", int_list)
    rho: tuple | None = option((0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.8),
                               "grid of rho = r(m+n-r)/N: comma list or START:STOP:STEP",
                               lambda name, text: float_list(name, text), group="grid")
    kn: tuple | None = option(None, "explicit N values instead of a rho grid", int_list, group="grid")
    trials: int = option(40, "trials per grid cell", at_most(MAX_TRIALS))
    restarts: int = option(4, "random starts per trial (E4 is reported for k = 1 .. restarts)",
                           at_most(MAX_RESTARTS))
    max_iters: int = option(100, "Gauss-Newton iterations per start",
                            at_most(MAX_ITERATIONS))
    budgets: tuple = option((10, 30), "smaller iteration budgets for the budget trend "
                            "(truncations of the same runs)",
                            at_most(MAX_ITERATIONS, int_list))
    margin: float = option(1e-8, "certificate: float64 normalised margin at least this", positive_float)
    seed: int = option(0, "global seed", nonneg_int)
    device: str = option("cpu", "cpu, cuda or cuda:k", device)
    dtype: str = option("float64", "working precision (certificates are float64)",
                        choice("float32", "float64"))
    batch_size: int = option(64, "trials per solver call and per checkpoint",
                             at_most(MAX_TRIALS), role="run")
    threads: int = option(1, "torch CPU threads during the run", at_most(MAX_THREADS),
                          role="run")
    canonical: tuple = option((32, 64), "N values certified directly at 768x768, r = 1, float32 "
                              "features ('none' to skip)", _canonical, role="analysis")
    canonical_trials: int = option(3, "instances per canonical N", at_most(MAX_TRIALS),
                                    role="analysis")


class _Separability(SweepFamily):
    name = "separability"
    command = "separability"
    verdicts = "numerics.verdicts.capacity"
    Config = SepExperimentConfig
    summary_format = "lorank.cstar-summary/1"
    figure_stem = "phase_transition"
    estimand = "logistic"
    title = "E4: separability of random labels by a rank-r update"
    #: Measured by the contract test: the same trials in other batches give the same successes,
    #: restarts and iterations, but margins that differ in the last bits (batched reductions of
    #: the Gauss-Newton step); certificates are decided far from that rounding (margin >= 1e-8).
    batch_invariant = False

    def experiment(self, config):
        from numerics.estimation.sweep import Experiment

        return Experiment(estimand="logistic", sizes=size_rank_triples(config.sizes, config.ranks),
                          rho_grid=config.rho, kn_values=config.kn, trials_per_cell=config.trials,
                          batch_size=config.batch_size, seed=config.seed, device=config.device,
                          dtype=config.dtype, restarts=config.restarts, max_iters=config.max_iters,
                          tol=config.margin, budgets=config.budgets)

    def config_fields(self, e) -> dict:
        return {"restarts": e.restarts, "max_iters": e.max_iters, "budgets": e.budgets,
                "margin": e.tol}

    def run_batch(self, config, cell, trial_indices):
        from numerics.engine.capacity import run_trials
        from numerics.engine.separability import SepConfig

        e = self.experiment(config)
        return run_trials("logistic", tuple(cell), list(trial_indices), global_seed=e.seed,
                          device=e.device, dtype=e.dtype, restarts=e.restarts,
                          batch_size=e.batch_size, cpu_threads=None,
                          sep_config=SepConfig(max_iter=e.max_iters, margin_threshold=e.tol))

    def summarise(self, config, outcomes) -> dict:
        from numerics.estimation.sweep import summarise

        experiment = self.experiment(config)
        summary = summarise(experiment, outcomes)
        summary["references"] = references(experiment)
        canonical = []
        if config.canonical:
            import torch

            from numerics.engine.capacity import canonical_check, torch_threads
            from numerics.engine.separability import SepConfig

            # The canonical certificates are part of the analysis, not of the record: they run
            # where the analysis runs (the record's GPU, or the CPU when re-summarising a GPU
            # record on a machine without one), and each says where.
            device = config.device
            if device.startswith("cuda") and not torch.cuda.is_available():
                device = "cpu"
            with torch_threads(1 if device == "cpu" else None):
                canonical = canonical_check(768, 768, 1, config.canonical, config.canonical_trials,
                                            seed=config.seed, device=device, dtype="float32",
                                            restarts=config.restarts,
                                            config=SepConfig(max_iter=config.max_iters,
                                                             margin_threshold=config.margin))
            for c in canonical:
                c["device"] = device
        summary["canonical"] = canonical
        summary["verdict"] = verdict_text(summary)
        return summary

    def render(self, summary: dict) -> str:
        return render_summary(summary)

    def figures(self, summary, stem):
        from numerics.estimation.plots import save_figure

        return save_figure(figure(summary), stem)


FAMILY = _Separability()


def references(experiment) -> dict:
    """Reference values shown beside E4 (not tuned toward)."""
    from numerics.engine.separability import cover_rho, sufficient_rho
    from numerics.verdicts.capacity import warren_min_examples

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
    """The verdicts on E4's transition (against our heuristic), on the scope of "PL removes the
    rank threshold" and on the solver's budget dependence, from the ledger
    entries of this summary (the same text ``lorank check`` shows)."""
    import tempfile

    from numerics.experiments.records import write_json_atomic
    from numerics.verdicts.capacity import separability_entries

    with tempfile.TemporaryDirectory() as d:
        (Path(d) / "separability" / "run").mkdir(parents=True)
        write_json_atomic(Path(d) / "separability" / "run" / "summary.json", summary)
        entries = separability_entries(Path(d))
    return "\n".join(f"[{e['status']}] {e['id'].rsplit('.', 1)[0]}: {e['statement']}" for e in entries)


def _fmt(x):
    return "-" if x is None or (isinstance(x, float) and not math.isfinite(x)) else f"{x:.3f}"


def render_summary(summary: dict) -> str:
    """Transitions per size, finite-size trend, restart trend, canonical certificates, verdict."""
    from numerics.verdicts.capacity import e4_headline, separability_transitions

    name = e4_headline(summary)
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
                     f"{c['certified']}/{c['trials']} certified ({c['dtype']}, {c.get('device', 'device not recorded')}), normalised margins "
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

    from numerics.estimation.plots import draw_success_curves
    from numerics.verdicts.capacity import e4_headline

    name = e4_headline(summary)
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
