"""C* families: E1/E2 (Levenberg-Marquardt with restarts) and E3 (the LoRA recipe).

Both are capacity sweeps over sizes ``(m, n)``, ranks ``r`` and a grid in
``rho = r(m+n-r)/KN`` (THEORY.md section 2); the engine is :mod:`numerics.engine.capacity` and the
summary :func:`numerics.estimation.sweep.summarise` (transitions, finite-size fits, verdict on the claimed
C*). ``lorank cstar --estimand lm`` runs :data:`LM`, ``--estimand recipe`` runs :data:`RECIPE`.

Examples
--------
>>> cfg = LM.config(sizes=((4, 4),), ranks=(1,), rho=(0.8, 1.4), trials=3, restarts=2)
>>> [(c[3], round(c.rho, 3)) for c in LM.cells(cfg)]
[(9, 0.778), (5, 1.4)]
>>> LM.from_spec(LM.record_spec(cfg)) == cfg
True
"""

from __future__ import annotations

import math
import abc
from dataclasses import dataclass

from proofs.validation import InvalidArgument

from .options import (MAX_ITERATIONS, MAX_RESTARTS, MAX_THREADS, MAX_TRIALS, at_most, choice, device,
                      float_list, int_list, nonneg_int, one_int, option, show_sizes, sizes)
from .protocol import Family, check_memory

__all__ = ["LM", "RECIPE", "LMConfig", "RecipeConfig", "FAMILY", "SweepFamily", "size_rank_triples",
           "split_triples"]


def _K(name, text):
    return one_int(name, text)


def _rho(name, text):
    return float_list(name, text)


def _kn(name, text):
    return int_list(name, text)


@dataclass(frozen=True)
class _CStarConfig:
    sizes: tuple = option(((6, 6), (8, 8), (12, 12), (16, 16)), "matrix sizes m x n, e.g. 8x8,16x64",
                          sizes, show=show_sizes)
    ranks: tuple = option((1, 2), "LoRA ranks r; a rank above min(m, n) is an error", int_list)
    rho: tuple | None = option((0.9, 0.95, 1.0, 1.05, 1.1, 1.2, 1.35, 1.5, 2.0),
                               "grid of rho = r(m+n-r)/KN: comma list or START:STOP:STEP", _rho,
                               group="grid")
    kn: tuple | None = option(None, "explicit KN values instead of a rho grid (the same at every size)",
                              _kn, group="grid")
    features: str = option("gaussian", "gaussian: Gaussian-iid features; structured: last-layer "
                           "features G_ik = a_k x_i^T (needs --K)", choice("gaussian", "structured"))
    K: int | None = option(None, "outputs per example (structured features only)", _K)
    trials: int = option(200, "trials per grid cell", at_most(MAX_TRIALS))
    seed: int = option(0, "global seed; every trial is seeded from it, its cell and its index",
                       nonneg_int)
    device: str = option("cpu", "cpu, cuda or cuda:k (the record keeps the device type)", device)
    dtype: str = option("float64", "working precision (certificates are always recomputed in "
                        "float64)", choice("float32", "float64"))
    batch_size: int = option(64, "trials per solver call and per checkpoint",
                             at_most(MAX_TRIALS), role="run")
    threads: int = option(1, "torch CPU threads during the run (one is fastest for these small "
                          "products on a small CPU)", at_most(MAX_THREADS), role="run")
    bootstrap: int = option(0, "bootstrap resamples per transition fit (0: none)",
                            at_most(MAX_TRIALS, nonneg_int), role="analysis")


@dataclass(frozen=True)
class LMConfig(_CStarConfig):
    """E1 (existence, a lower bound) and E2 (one start), from one LM run with restarts."""

    restarts: int = option(3, "random starts per trial (E1 is reported for k = 1 .. restarts)",
                         at_most(MAX_RESTARTS))
    max_iters: int = option(200, "Levenberg-Marquardt iterations per start", at_most(MAX_ITERATIONS))


@dataclass(frozen=True)
class RecipeConfig(_CStarConfig):
    """E3: the standard LoRA recipe (B = 0, Gaussian A, gradient descent)."""

    budgets: tuple = option((100, 1000), "step counts T at which the residual is recorded",
                            at_most(MAX_ITERATIONS, int_list))
    eps: tuple = option((1e-3, 1e-6), "success thresholds on the relative residual",
                        lambda name, text: float_list(name, text), role="analysis")


def size_rank_triples(sizes_, ranks) -> tuple:
    """Every ``(m, n, r)`` of sizes x ranks (size-major); ``r > min(m, n)`` is an error.

    >>> size_rank_triples(((4, 4),), (5,))
    Traceback (most recent call last):
    ...
    proofs.validation.InvalidArgument: --ranks value r=5 exceeds min(m, n) = 4 for size 4x4
    """
    out = []
    for m, n in sizes_:
        for r in ranks:
            if r > min(m, n):
                raise InvalidArgument(f"--ranks value r={r} exceeds min(m, n) = {min(m, n)} "
                                      f"for size {m}x{n}")
            out.append((m, n, r))
    return tuple(out)


def split_triples(triples) -> tuple[tuple, tuple]:
    """The sizes and ranks whose product is ``triples`` (a record's ``sizes``).

    >>> split_triples([(8, 8, 1), (8, 8, 2), (4, 16, 1), (4, 16, 2)])
    (((8, 8), (4, 16)), (1, 2))
    >>> split_triples([(8, 8, 1), (4, 16, 2)])
    Traceback (most recent call last):
    ...
    proofs.validation.InvalidArgument: the record's sizes [(8, 8, 1), (4, 16, 2)] are not all sizes x all ranks
    """
    triples = [tuple(int(v) for v in t) for t in triples]
    sizes_ = tuple(dict.fromkeys((m, n) for m, n, _ in triples))
    ranks = tuple(dict.fromkeys(r for _, _, r in triples))
    if [(m, n, r) for m, n in sizes_ for r in ranks] != triples:
        raise InvalidArgument(f"the record's sizes {triples} are not all sizes x all ranks")
    return sizes_, ranks


class SweepFamily(Family):
    """A family whose trials are those of a capacity sweep (:class:`numerics.estimation.sweep.
    Experiment` with an ``estimand``): C* (E1/E2, E3) and separability (E4). Subclasses say how a
    config becomes the sweep (:meth:`experiment`) and back (:meth:`config_fields`)."""

    estimand = ""

    @abc.abstractmethod
    def experiment(self, config):
        """The engine's :class:`numerics.estimation.sweep.Experiment` of a config."""

    @abc.abstractmethod
    def config_fields(self, experiment) -> dict:
        """The family's config fields that a sweep description determines (beyond sizes, ranks,
        grid, trials, seed, device and dtype)."""

    def validate(self, config) -> None:
        self.experiment(config)  # sizes x ranks and every grid value at every size

    def preflight(self, config) -> None:
        check_memory(self.cells(config), config.device, getattr(config, "features", "gaussian"),
                     getattr(config, "K", None))

    def spec(self, config) -> dict:
        return self.experiment(config).record_spec()

    def matches_legacy_spec(self, spec) -> bool:
        return spec.get("format") == "lorank.cstar-experiment/1" and spec.get("estimand") == self.estimand

    def from_spec(self, spec, **analysis):
        from numerics.estimation.sweep import Experiment

        if not self.matches_spec(spec):
            raise InvalidArgument(f"the record's spec is not a {self.name} spec")
        e = Experiment.from_spec({k: v for k, v in spec.items() if k != "family"})
        sizes_, ranks = split_triples(e.sizes)
        kw = dict(sizes=sizes_, ranks=ranks, rho=e.rho_grid, kn=e.kn_values, trials=e.trials_per_cell,
                  seed=e.seed, device=e.device, dtype=e.dtype, **self.config_fields(e))
        kw.update(analysis)
        return self.config(**kw)

    def cells(self, config):
        from numerics.estimation.sweep import cells

        return cells(self.experiment(config))


class _CStarFamily(SweepFamily):
    command = "cstar"
    verdicts = "numerics.verdicts.capacity"
    summary_format = "lorank.cstar-summary/1"
    figure_stem = "phase_transition"

    def experiment(self, config):
        """The engine's :class:`numerics.estimation.sweep.Experiment` of a config."""
        from numerics.estimation.sweep import Experiment

        extra = ({"restarts": config.restarts, "max_iters": config.max_iters}
                 if self.estimand == "lm" else
                 {"budgets": config.budgets, "eps_levels": config.eps})
        return Experiment(estimand=self.estimand, sizes=size_rank_triples(config.sizes, config.ranks),
                          rho_grid=config.rho, kn_values=config.kn, features=config.features,
                          K=config.K, trials_per_cell=config.trials, batch_size=config.batch_size,
                          seed=config.seed, device=config.device, dtype=config.dtype, **extra)

    def config_fields(self, e) -> dict:
        return {"features": e.features, "K": e.K,
                **({"restarts": e.restarts, "max_iters": e.max_iters} if self.estimand == "lm"
                   else {"budgets": e.budgets})}

    def validate(self, config) -> None:
        if config.K is not None and config.features != "structured":
            raise InvalidArgument(f"--K is only used with --features structured, got --K {config.K}")
        if config.K is None and config.features == "structured":
            raise InvalidArgument("--features structured needs --K (outputs per example), got none")
        super().validate(config)

    def run_batch(self, config, cell, trial_indices):
        from numerics.engine.capacity import run_trials
        from numerics.engine.solvers import LMConfig as SolverLM

        e = self.experiment(config)
        lm = SolverLM(max_iter=e.max_iters, certify_rtol=e.tol) if self.estimand == "lm" else None
        return run_trials(self.estimand, tuple(cell), list(trial_indices), global_seed=e.seed,
                          features=e.features, K=e.K, device=e.device, dtype=e.dtype,
                          restarts=e.restarts, budgets=e.budgets, lm_config=lm, cpu_threads=None)

    def summarise(self, config, outcomes) -> dict:
        from numerics.estimation.sweep import summarise

        return summarise(self.experiment(config), outcomes, n_boot=config.bootstrap)

    def render(self, summary: dict) -> str:
        return render_summary(summary)

    def figures(self, summary, stem):
        from numerics.estimation.plots import plot_summary

        return plot_summary(summary, stem)


class _LM(_CStarFamily):
    name = "cstar-lm"
    selector = "lm"
    estimand = "lm"
    Config = LMConfig
    title = "C*: E1 (existence, LM with restarts) and E2 (one start)"


class _Recipe(_CStarFamily):
    name = "cstar-recipe"
    selector = "recipe"
    estimand = "recipe"
    Config = RecipeConfig
    title = "C*: E3 (the LoRA gradient-descent recipe)"


LM = _LM()
RECIPE = _Recipe()
FAMILY = (LM, RECIPE)


def _fmt(x, digits=3):
    return "-" if x is None or (isinstance(x, float) and not math.isfinite(x)) else f"{x:.{digits}f}"


def render_summary(summary: dict) -> str:
    """A readable table of transitions and verdicts from a C* summary."""
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
            lines.append(f"  finite size r={fs['r']} aspect {fs['aspect']} p={fs['p']:g}: "
                         f"{fs['verdict']['sentence']}")
        lines.append("")
    lines.append(f"trials: {summary['trials_found']} of {summary['trials_expected']} "
                 f"({'complete' if summary['complete'] else 'INCOMPLETE'}), non-finite: "
                 f"{summary['nonfinite_trials']}, wall time {summary['wall_time']['wall_s']:.1f} s")
    return "\n".join(lines)
