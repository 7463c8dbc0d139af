"""jang family: Jang, Lee, Ryu (seed 001) by measurement (THEORY.md section 1; issue 14, item 1).

Two parts in one run (the solvers and outcomes are in :mod:`numerics.engine.jang`, the verdict
rules in :mod:`numerics.verdicts.jang`, the exact statements in :mod:`proofs.jang` and
:mod:`proofs.rank_conditions`):

- ``exist``, cell ``(1, m, n, M)``: minimum-nuclear-norm interpolants of random consistent
  systems by an SDP (cvxpy + Clarabel, the optional extra ``sdp``; first ``--sdp-trials``
  trials), batched ADMM with certified bounds, and the Barvinok-Pataki reduction to an extreme
  point; ranks against ``r0``, the largest ``r`` with ``r (r + 1) / 2 <= M`` (J1);
- ``land``, cell ``(2, r, m, n)``: gradient descent on weight-decayed LoRA at rank ``r`` from
  ``--starts`` random starts per instance, against the convex nuclear-norm optimum, with a
  gradient and exact-Hessian certificate at the end (J2 where ``r (r + 1) / 2 > M``, and a
  search for spurious minima below).

The committed CPU default (it needs ``pip install 'lorank[sdp]'``; ``--sdp-trials 0`` runs
without cvxpy)::

    lorank jang --out runs/jang-default

Batched runs are not bitwise equal to one-trial runs: batched SVDs and products may round their
last bits differently with the batch size (every decision and every number to 1e-8 agree; the
contract tests compare them so).

Examples
--------
>>> cfg = FAMILY.config(sizes=((4, 4),), examples=(3, 6), land_ranks=(1, 3))
>>> FAMILY.cells(cfg)
[(1, 4, 4, 3), (1, 4, 4, 6), (2, 1, 6, 6), (2, 3, 6, 6)]
>>> FAMILY.from_spec(FAMILY.record_spec(cfg)) == cfg
True
"""

from __future__ import annotations

from dataclasses import dataclass

from proofs.validation import InvalidArgument

from .options import (MAX_ITERATIONS, MAX_SCALE, MAX_THREADS, MAX_TRIALS, at_most, device,
                      int_list, nonneg_int, one_float, one_int, option, show_sizes, sizes)
from .protocol import Family, memory_limit

__all__ = ["FAMILY", "JangConfig", "render_summary"]

#: The largest matrix side of either part (an instance holds M m n float64 numbers).
MAX_SIDE = 512
#: The most random starts per instance.
MAX_STARTS = 100_000


def _side(name, text):
    return at_most(MAX_SIDE)(name, text)


def _sizes(name, text):
    values = sizes(name, text)
    big = [f"{m}x{n}" for m, n in values if max(m, n) > MAX_SIDE]
    if big:
        raise InvalidArgument(f"--{name.replace('_', '-')} sides must be at most {MAX_SIDE}, got {big[0]} in {text!r}")
    return values


def _open_unit(name, text):
    value = one_float(name, text)
    if not value < 1:
        raise InvalidArgument(f"--{name.replace('_', '-')} must lie in (0, 1), got {text.strip()!r}")
    return value


def _unit(name, text):
    return at_most(1.0, one_float)(name, text)


def _iters(name, text):
    return at_most(MAX_ITERATIONS)(name, text)


@dataclass(frozen=True)
class JangConfig:
    """Everything that determines a jang run, and its analysis."""

    sizes: tuple = option(((6, 6), (8, 8), (10, 10)), "exist part: matrix sizes m x n of Delta, "
                          "e.g. 8x8,16x16", _sizes, show=show_sizes)
    examples: tuple = option((3, 6, 10, 15), "exist part: equation counts M = KN (each below m n "
                             "of every size)", at_most(MAX_TRIALS, int_list))
    trials: int = option(8, "exist part: random systems per (size, M)", at_most(MAX_TRIALS))
    sdp_trials: int = option(2, "exist part: the first trials of each cell also solved as an SDP "
                             "by cvxpy + Clarabel (needs pip install 'lorank[sdp]'; 0: none)",
                             at_most(MAX_TRIALS, nonneg_int))
    admm_iters: int = option(2000, "exist part: ADMM iterations (min nuclear norm interpolant)",
                             _iters)
    land_m: int = option(6, "land part: rows m of the LoRA update B A", _side)
    land_n: int = option(6, "land part: columns n of B A", _side)
    land_examples: int = option(6, "land part: equations M = KN (below m n)", at_most(MAX_TRIALS))
    land_ranks: tuple = option((1, 2, 3, 4, 6), "land part: LoRA ranks r (at most min(m, n); "
                               "J2 covers those with r(r+1)/2 > M)", at_most(MAX_SIDE, int_list))
    land_trials: int = option(6, "land part: random instances (calA, y)", at_most(MAX_TRIALS))
    starts: int = option(10, "land part: random starts of gradient descent per instance and rank",
                         at_most(MAX_STARTS))
    weight_decay: float = option(0.2, "land part: lambda as a fraction of ||calA^* y||_op (where the "
                                 "convex optimum becomes 0), in (0, 1)", _open_unit)
    init_scale: float = option(1.0, "land part: start entries iid N(0, s^2 / (m + n))",
                               at_most(MAX_SCALE, one_float))
    step: float = option(1.0, "land part: GD step as a fraction of 1 / (||A||^2 + ||B||^2 + "
                         "||residual|| + lambda), in (0, 1]", _unit)
    gd_iters: int = option(5000, "land part: gradient-descent iterations per start", _iters)
    prox_iters: int = option(2000, "land part: FISTA iterations for the convex optimum", _iters)
    seed: int = option(0, "global seed", nonneg_int)
    device: str = option("cpu", "cpu, cuda or cuda:k (float64 on either)", device)
    batch_size: int = option(8, "trials per batch and per checkpoint", at_most(MAX_TRIALS),
                             role="run")
    threads: int = option(1, "torch CPU threads during the run", at_most(MAX_THREADS), role="run")
    value_tol: float = option(1e-4, "relative tolerance on values: a start reaches the convex "
                              "optimum, a solver is certified, two routes agree", _unit,
                              role="analysis")
    grad_tol: float = option(1e-6, "gradient norm at or below which a start is stationary",
                             _unit, role="analysis")
    hess_tol: float = option(1e-6, "least Hessian eigenvalue at or above -this counts as PSD",
                             _unit, role="analysis")


class _Jang(Family):
    name = "jang"
    command = "jang"
    verdicts = "numerics.verdicts.jang"
    Config = JangConfig
    summary_format = "lorank.jang-summary/1"
    figure_stem = "jang"
    title = "seed 001: low-rank existence (Barvinok-Pataki) and the weight-decayed LoRA landscape"
    batch_invariant = False

    def grid_size(self, config) -> int:
        return len(config.sizes) * len(config.examples) + len(config.land_ranks)

    def grid_text(self, config) -> str:
        return (f"{len(config.sizes)} --sizes x {len(config.examples)} --examples + "
                f"{len(config.land_ranks)} --land-ranks")

    def engine_config(self, config):
        from numerics.engine.jang import JangSettings as EngineConfig

        return EngineConfig(
            sizes=config.sizes, examples=config.examples, trials=config.trials,
            sdp_trials=config.sdp_trials, admm_iters=config.admm_iters, land_m=config.land_m,
            land_n=config.land_n, land_examples=config.land_examples, land_ranks=config.land_ranks,
            land_trials=config.land_trials, starts=config.starts, weight_decay=config.weight_decay,
            init_scale=config.init_scale, step=config.step, gd_iters=config.gd_iters,
            prox_iters=config.prox_iters, seed=config.seed, device=config.device,
            value_tol=config.value_tol, grad_tol=config.grad_tol, hess_tol=config.hess_tol)

    def validate(self, config) -> None:
        for m, n in config.sizes:
            for M in config.examples:
                if M >= m * n:
                    raise InvalidArgument(f"--examples value {M} must be below m n = {m * n} of "
                                          f"--sizes {m}x{n} (an underdetermined consistent system)")
        if config.sdp_trials > config.trials:
            raise InvalidArgument(f"--sdp-trials {config.sdp_trials} exceeds --trials {config.trials}")
        if config.land_examples >= config.land_m * config.land_n:
            raise InvalidArgument(f"--land-examples {config.land_examples} must be below m n = "
                                  f"{config.land_m * config.land_n} of --land-m/--land-n")
        for r in config.land_ranks:
            if r > min(config.land_m, config.land_n):
                raise InvalidArgument(f"--land-ranks value {r} exceeds min(m, n) = "
                                      f"{min(config.land_m, config.land_n)} of --land-m/--land-n")

    def preflight(self, config) -> None:
        batch = config.batch_size
        few, land = min(batch, config.trials), min(batch, config.land_trials)
        big = max(m * n for m, n in config.sizes)
        side = max(max(m, n) for m, n in config.sizes)
        p = (config.land_m + config.land_n) * max(config.land_ranks)
        needs = {"--sizes/--examples": 8 * 6 * few * (max(config.examples) * big + side ** 4),
                 "--land-m/--land-n/--land-ranks/--starts":
                     8 * 4 * land * config.starts * (p * p + config.land_examples * p)}
        limit = memory_limit(config.device)
        for flag, need in needs.items():
            if 4 * need > limit:
                raise InvalidArgument(f"{flag} with --batch-size {batch} need about {need / 2**30:.2g} "
                                      f"GiB per batch, more than a quarter of the memory of "
                                      f"{config.device}")
        if config.sdp_trials:
            from numerics.engine.jang import sdp_available

            if not sdp_available():
                raise InvalidArgument(f"--sdp-trials {config.sdp_trials} needs cvxpy and Clarabel "
                                      "(pip install 'lorank[sdp]'); pass --sdp-trials 0 to run "
                                      "the torch routes only")

    def spec(self, config) -> dict:
        return self.engine_config(config).spec()

    def matches_legacy_spec(self, spec) -> bool:
        return False

    def from_spec(self, spec, **analysis):
        if not self.matches_spec(spec):
            raise InvalidArgument("the record's spec is not a jang spec")
        keys = ("sizes", "examples", "trials", "sdp_trials", "admm_iters", "land_m", "land_n",
                "land_examples", "land_ranks", "land_trials", "starts", "weight_decay",
                "init_scale", "step", "gd_iters", "prox_iters", "seed", "device")
        kw = {k: spec[k] for k in keys}
        kw["sizes"] = tuple(tuple(s) for s in spec["sizes"])
        kw["examples"], kw["land_ranks"] = tuple(spec["examples"]), tuple(spec["land_ranks"])
        kw.update(analysis)
        return self.config(**kw)

    def cells(self, config):
        return ([(1, m, n, M) for m, n in config.sizes for M in config.examples]
                + [(2, r, config.land_m, config.land_n) for r in config.land_ranks])

    def trial_indices(self, config, cell):
        return range(config.trials if cell[0] == 1 else config.land_trials)

    def run_batch(self, config, cell, trial_indices):
        from numerics.engine import jang

        cfg = self.engine_config(config)
        if cell[0] == 1:
            return jang.exist_trials(cfg, cell[1], cell[2], cell[3], trial_indices)
        return jang.land_trials(cfg, cell[1], trial_indices)

    def summarise(self, config, outcomes) -> dict:
        from numerics.engine.jang import summarise
        from numerics.experiments.records import run_provenance

        rows = {}
        for cell, values in outcomes.items():
            key = ("exist",) + tuple(cell[1:]) if cell[0] == 1 else ("land", cell[1])
            rows[key] = list(values)
        return summarise(self.engine_config(config), rows, **run_provenance(outcomes))

    def render(self, summary: dict) -> str:
        return render_summary(summary)

    def figures(self, summary, stem):
        from numerics.engine.jang import save_figures

        return save_figures(summary, stem)


FAMILY = _Jang()


def render_summary(summary: dict) -> str:
    """A readable text version of a jang summary."""
    lines = ["exist (J1): rank of the min-nuclear-norm interpolant (ADMM) and of the reduced "
             "extreme points, against r0 = max{r : r(r+1)/2 <= M}"]
    for e in summary["exist"]:
        if not e["trials"]:
            continue
        sdp = (f"; SDP {e['sdp_trials']} trials, ranks {e['sdp_ranks']}, value diff <= "
               f"{e['sdp_value_diff_max']:.1e}" if e.get("sdp_trials") else "")
        lines.append(f"  {e['m']}x{e['n']} M={e['M']:>3} r0={e['r0']}: min-nuclear ranks "
                     f"{e['admm_rank_counts']} (gap <= {e['admm_gap_max']:.1e}); reduced from "
                     f"min-Frobenius R {e['red_lsq_R']['min']}..{e['red_lsq_R']['max']} (residual <= "
                     f"{e['red_lsq_residual_max']:.1e}); from the optimum R {e['red_opt_R']['max']}, "
                     f"value gap <= {e['red_opt_gap_max']:.1e}" + sdp)
    sz = summary["sizes"]["land"]
    lines.append(f"land (J2): {sz['m']}x{sz['n']}, M = {sz['M']}, {summary['solver']['starts']} "
                 f"starts per instance")
    for e in summary["land"]:
        if not e["starts"]:
            continue
        c = e["classes"]
        lines.append(f"  r={e['r']:>3} {'above' if e['above'] else 'below'} threshold: "
                     + ", ".join(f"{k} {v}" for k, v in c.items())
                     + f"; convex optimum ranks {e['conv_rank']}")
    lines.append("")
    lines.append("verdicts:")
    for v in summary["verdicts"]:
        lines.append(f"  J.{v['claim']}  {v['status']}  ({v['kind']}): {v['detail']}")
    lines.append(f"trials: {summary['units_found']} of {summary['units_expected']} "
                 f"({'complete' if summary['complete'] else 'INCOMPLETE'}), wall time "
                 f"{summary['wall_time'].get('wall_s', 0.0):.1f} s")
    return "\n".join(lines)
