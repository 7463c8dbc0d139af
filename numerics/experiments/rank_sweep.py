"""R3 rank-sweep family: held-out error against the rank with a rank-r0 teacher.

Gaussian-iid features, a teacher of rank ``r0``, binary labels with label noise, centred squared
loss fitted at every rank ``1..max_rank`` (the model and the estimator are in
:mod:`numerics.engine.rank_sweep`, the verdict rules in :mod:`numerics.verdicts.rank_sweep`). A
cell is ``(r0, n_train, noise index + 1, max_rank)``; its trials are the seeds, and one trial
fits every rank on one seed's data (the rank-``r`` fit starts from the rank-``(r - 1)`` one).

The committed CPU default::

    lorank rank-sweep --out runs/rank-sweep-default

Examples
--------
>>> cfg = FAMILY.config(m=5, n=5, max_rank=3, teacher_ranks=(1, 2), n_train=(40,), noise=(0.5,),
...                     trials=2, n_test=50)
>>> FAMILY.cells(cfg)
[(1, 40, 1, 3), (2, 40, 1, 3)]
>>> FAMILY.from_spec(FAMILY.record_spec(cfg)) == cfg
True
"""

from __future__ import annotations

from dataclasses import dataclass

from proofs.validation import InvalidArgument

from .options import (MAX_ITERATIONS, MAX_RESTARTS, MAX_SCALE, MAX_THREADS, MAX_TRIALS, at_most,
                      device, float_list, int_list, nonneg_int, one_float, one_int, option,
                      positive_float)
from .protocol import Family, memory_limit

__all__ = ["FAMILY", "RankSweepConfig", "render_summary"]


def _noise(name, text):
    return at_most(MAX_SCALE, lambda n, t: float_list(n, t, lower="non-negative"))(name, text)


@dataclass(frozen=True)
class RankSweepConfig:
    """Everything that determines a rank sweep with a rank-r0 teacher, and its analysis."""

    m: int = option(8, "rows of Delta (features G_i are m x n, entries iid N(0, 1))", one_int)
    n: int = option(8, "columns of Delta", one_int)
    max_rank: int = option(5, "fit every rank r = 1..max_rank (at most min(m, n))", one_int)
    teacher_ranks: tuple = option((1, 2, 3), "teacher ranks r0, comma list (each at most max_rank - 1, "
                                  "so that the variance side r > r0 is measured)", int_list)
    n_train: tuple = option((60, 240), "training examples N, comma list", at_most(MAX_TRIALS, int_list))
    n_test: int = option(2000, "fresh held-out examples per seed", at_most(MAX_TRIALS))
    noise: tuple = option((0.5,), "label noise sigma: y = sign(<G, Delta*> + sigma z), "
                          "||Delta*||_F = 1 (Bayes error arctan(sigma)/pi), comma list", _noise)
    trials: int = option(60, "seeds per setting (the trials of each cell)", at_most(MAX_TRIALS))
    iters: int = option(20000, "most alternating-least-squares sweeps per start (the cap; a start "
                        "stops earlier at the stopping tolerance; the default is about five times the "
                        "most any fit of the default grid needed, benchmarks/rank_sweep_iterations.py)",
                        at_most(MAX_ITERATIONS))
    stop_rtol: float = option(1e-12, "a start stops once one sweep lowers F_r by at most this "
                              "fraction of F_r", at_most(1.0, positive_float))
    restarts: int = option(3, "Gaussian starts besides the spectral and the warm start",
                           at_most(MAX_RESTARTS, nonneg_int))
    ridge: float = option(1e-6, "lambda = ridge * N on ||B||^2 + ||A||^2 (keeps the solves defined)",
                          at_most(MAX_SCALE, lambda name, text: one_float(name, text,
                                                                          lower="non-negative")))
    seed: int = option(0, "global seed", nonneg_int)
    device: str = option("cpu", "cpu only: the CUDA path is not tested equal to the CPU", device)
    batch_size: int = option(10, "seeds per checkpoint", at_most(MAX_TRIALS), role="run")
    threads: int = option(1, "torch CPU threads during the run", at_most(MAX_THREADS), role="run")
    bootstrap: int = option(2000, "bootstrap resamples of the seeds for argmin_r",
                            at_most(MAX_TRIALS), role="analysis")


class _RankSweep(Family):
    name = "rank-sweep"
    command = "rank-sweep"
    verdicts = "numerics.verdicts.rank_sweep"
    Config = RankSweepConfig
    summary_format = "lorank.rank-sweep-summary/2"
    figure_stem = "rank_sweep"
    grid_fields = ("teacher_ranks", "n_train", "noise")
    title = "R3: held-out error against the rank, rank-r0 teacher"

    def engine_config(self, config):
        from numerics.engine.rank_sweep import SweepConfig

        return SweepConfig(m=config.m, n=config.n, max_rank=config.max_rank,
                           teacher_ranks=config.teacher_ranks, n_train=config.n_train,
                           n_test=config.n_test, noise=config.noise, seeds=config.trials,
                           seed=config.seed, iters=config.iters, stop_rtol=config.stop_rtol,
                           restarts=config.restarts,
                           ridge=config.ridge, device=config.device, n_boot=config.bootstrap)

    def validate(self, config) -> None:
        if config.max_rank > min(config.m, config.n):
            raise InvalidArgument(f"--max-rank {config.max_rank} exceeds min(m, n) = "
                                  f"{min(config.m, config.n)}")
        for k in config.teacher_ranks:
            if k >= config.max_rank:
                raise InvalidArgument(f"--teacher-ranks value {k} must be below --max-rank "
                                      f"{config.max_rank} (the variance side r > r0 is measured)")
        for N in config.n_train:
            if N < 2:
                raise InvalidArgument(f"--n-train value {N} is too small: centring needs N >= 2")
        if config.device != "cpu":
            raise InvalidArgument(f"--device {config.device!r}: the CUDA path of the rank sweep "
                                  "has not been tested equal to the CPU; use --device cpu")

    def preflight(self, config) -> None:
        need = 8 * (max(config.n_train) + config.n_test) * config.m * config.n
        if 4 * need > memory_limit(config.device):
            raise InvalidArgument(f"--m {config.m} --n {config.n} with --n-test {config.n_test} "
                                  f"need about {need / 2**30:.2g} GiB of features per trial, more "
                                  f"than a quarter of the memory of {config.device}")

    def spec(self, config) -> dict:
        return self.engine_config(config).spec()

    def matches_legacy_spec(self, spec) -> bool:
        return False

    def from_spec(self, spec, **analysis):
        if not self.matches_spec(spec):
            raise InvalidArgument("the record's spec is not a rank-sweep spec")
        if "stop_rtol" not in spec:
            raise InvalidArgument("the record was written by the rank sweep of lorank 0.5.0, whose "
                                  "fits stopped at a cap of sweeps with no per-start tolerance; its "
                                  "trials cannot be resumed or summarised by this solver: run it again")
        kw = dict(m=spec["m"], n=spec["n"], max_rank=spec["max_rank"],
                  teacher_ranks=tuple(spec["teacher_ranks"]), n_train=tuple(spec["n_train"]),
                  n_test=spec["n_test"], noise=tuple(float(v) for v in spec["noise"]),
                  trials=spec["seeds"], seed=spec["seed"], iters=spec["iters"],
                  stop_rtol=spec["stop_rtol"],
                  restarts=spec["restarts"], ridge=spec["ridge"], device=spec["device"])
        kw.update(analysis)
        return self.config(**kw)

    def cells(self, config):
        return [(k, N, j + 1, config.max_rank) for k in config.teacher_ranks for N in config.n_train
                for j in range(len(config.noise))]

    def run_batch(self, config, cell, trial_indices):
        from numerics.engine.rank_sweep import run_trials

        return run_trials(self.engine_config(config), cell[0], cell[1], cell[2] - 1, trial_indices)

    def summarise(self, config, outcomes) -> dict:
        from numerics.engine.rank_sweep import summarise

        rows = {(c[0], c[1], c[2] - 1): list(v) for c, v in outcomes.items()}
        from numerics.experiments.records import run_provenance

        return summarise(self.engine_config(config), rows, **run_provenance(outcomes))

    def render(self, summary: dict) -> str:
        return render_summary(summary)

    def figures(self, summary, stem):
        from numerics.engine.rank_sweep import save_figures

        return save_figures(summary, stem)


FAMILY = _RankSweep()


def _iv(d, digits=3):
    from numerics.estimation.estimate import format_interval

    return format_interval(d, digits)

def render_summary(summary: dict) -> str:
    """A readable table of a rank-sweep summary."""
    lines = []
    for e in summary["estimates"]:
        head = f"r0={e['r0']}  N={e['n_train']}  sigma={e['noise']:g}  Bayes error {e['bayes_error']:.3f}"
        if "per_rank" not in e:
            lines.append(head + ": no seed")
            continue
        lines.append(head + f"  ({e['seeds']} seeds)")
        lines.append(f"  {'r':>2} {'dim':>4}  {'held-out error (95% t)':>24}  {'train error':>11}  "
                     f"starts  all agree  at cap  max sweeps  max rel grad")
        for p in e["per_rank"]:
            lines.append(f"  {p['r']:>2} {p['dim']:>4}  {_iv(p['test_error']):>24}  "
                         f"{p['train_error']['mean']:>11.3f}  {p['starts']:>6}  "
                         f"{100 * p['agree_share']:>8.0f}%  {p['fits_capped']:>6}  "
                         f"{p['iterations_max']:>10}  {p['grad_rel_max']:>12.1e}")
        o = e["optimal_rank"]
        lines.append(f"  argmin r = {o['r_star']}, bootstrap 95% [{o['interval'][0]}, {o['interval'][1]}]")
        for key, label in (("bias_side", "bias side"), ("variance_side", "variance side")):
            for r, t in (e.get(key) or {}).items():
                lines.append(f"  {label}: err({r}) - err({e['r0']}) = {t['mean']:+.4f}, one-sided "
                             f"lower {t['lower']:+.4f} -> {'rises' if t['positive'] else 'not shown'}")
    lines.append("")
    lines.append("verdicts:")
    for v in summary["verdicts"]:
        lines.append(f"  R3.rank-sweep.{v['claim']}  {v['sentence']}")
    lines.append(f"trials: {summary['units_found']} of {summary['units_expected']} "
                 f"({'complete' if summary['complete'] else 'INCOMPLETE'}), wall time "
                 f"{summary['wall_time'].get('wall_s', 0.0):.1f} s")
    return "\n".join(lines)
