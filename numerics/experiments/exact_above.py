"""exact-above family: certified real existence just above the dimension count (issue 16,
item 5), by the critical points of the distance from a random point
(:mod:`numerics.engine.homotopy_critical`), paired with E1[k] on the same instances.

``lorank exact-above`` runs it. Cells ``(m, n, r, M)`` with ``M = r(m+n-r) - d`` for ``d`` in
``--deficits`` (``rho = r(m+n-r)/M`` slightly above 1), Gaussian-iid features: trial ``t`` of a
cell is the very instance that trial ``t`` of ``lorank cstar --estimand lm`` sees at ``KN = M``
(the instance drawing of the exact family:
:func:`numerics.engine.capacity.instance_seed`, float64 on the CPU). The point ``theta0`` of
trial ``t`` is :func:`numerics.engine.homotopy_critical.theta0_of` (its own seed, from the
global seed, the cell and ``t``). Per trial:

- the decision (:func:`numerics.engine.homotopy_critical.critical_on_e1_instances`):
  ``certified``, and where certified ``real_count`` (real critical points) and ``exists``
  (``None`` where not: an uncertified instance is never counted); ``real_found``: a certified
  real critical point was found (a real solution exists, certified or not: the falsifiable
  check against E1);
- E1 on the same instance (estimand ``lm``, float64): ``e1_first_success`` and ``e1`` (E1[k]
  for k = 1..restarts), exactly as in :mod:`numerics.experiments.exact_existence`.

The critical count ``N`` of a cell is found once per run by monodromy (cached per process) and
written into every trial (``critical_points``), so a summary states it from the record.

Examples
--------
>>> cfg = FAMILY.config(sizes=((3, 3),), ranks=(1, 2), trials=4)
>>> FAMILY.cells(cfg)
[(3, 3, 1, 4), (3, 3, 2, 7)]
>>> FAMILY.from_spec(FAMILY.record_spec(cfg)) == cfg
True
>>> FAMILY.config(sizes=((2, 2),), deficits=(3,))
Traceback (most recent call last):
...
proofs.validation.InvalidArgument: --deficits value d=3 at --sizes 2x2, --ranks 1 leaves M = 0 conditions (r(m+n-r) = 3): need d < r(m+n-r)
"""

from __future__ import annotations

from dataclasses import dataclass

from proofs.validation import InvalidArgument

from .options import (MAX_ITERATIONS, MAX_RESTARTS, MAX_THREADS, MAX_TRIALS, at_most, device,
                      int_list, nonneg_int, option, show_sizes, sizes)
from .protocol import Family, check_memory

__all__ = ["FAMILY", "AboveConfig", "render_summary", "summarise"]

SUMMARY_FORMAT = "lorank.exact-above-summary/1"
#: The decision of :mod:`numerics.engine.homotopy_critical` (start solutions by monodromy,
#: alpha test of the Lagrange system, union over waypoint trackings). Version 2 adds a bound on
#: float64 rounding to every ``beta`` and decides in high precision the pairs of endpoints that
#: float64 cannot call one zero or two (:mod:`numerics.engine.homotopy_precise`); records of
#: version 1 are summarised as they are (their summary names version 1), never resumed.
CERTIFICATE = "critical-points/2"


@dataclass(frozen=True)
class AboveConfig:
    """Everything that determines an exact-above run, and how it runs."""

    sizes: tuple = option(((2, 3), (2, 4)), "matrix sizes m x n, e.g. 2x5,3x4", sizes,
                          show=show_sizes)
    ranks: tuple = option((1,), "LoRA ranks r", int_list)
    deficits: tuple = option((1,), "codimension deficits d: M = r(m+n-r) - d conditions "
                             "(rho = r(m+n-r)/M above 1)", int_list)
    trials: int = option(200, "instances per cell", at_most(MAX_TRIALS))
    restarts: int = option(8, "LM starts of the paired E1 on each instance (E1[k] reported for "
                           "k = 1 .. restarts)", at_most(MAX_RESTARTS))
    max_iters: int = option(200, "Levenberg-Marquardt iterations per start of the paired E1",
                            at_most(MAX_ITERATIONS))
    start_seed: int = option(0, "seed of the random complex instance whose critical points "
                             "(found by monodromy) start every parameter homotopy of a cell",
                             nonneg_int)
    retries: int = option(1, "further trackings of an uncertified instance, through random "
                          "complex waypoints; decided from the union of its endpoints",
                          at_most(8))
    seed: int = option(0, "global seed; every trial (instance and theta0) is seeded from it, its "
                       "cell and its index", nonneg_int)
    device: str = option("cpu", "cpu, cuda or cuda:k (complex128 on either; instances are "
                         "drawn on the CPU)", device)
    batch_size: int = option(32, "trials per batch and per checkpoint", at_most(MAX_TRIALS),
                             role="run")
    threads: int = option(1, "torch CPU threads during the run", at_most(MAX_THREADS), role="run")


class _Above(Family):
    name = "exact-above"
    command = "exact-above"
    verdicts = "numerics.verdicts.exact_above"
    Config = AboveConfig
    summary_format = SUMMARY_FORMAT
    figure_stem = "exact_above"
    title = ("exact existence just above rho = 1 (critical points of the distance, homotopy "
             "continuation), paired with E1[k]")
    grid_fields = ("sizes", "ranks", "deficits")
    batch_invariant = False

    def validate(self, config) -> None:
        from numerics.engine.homotopy_critical import MAX_UNKNOWNS, lower_rank_excluded

        for m, n in config.sizes:
            for r in config.ranks:
                if r > min(m, n):
                    raise InvalidArgument(f"--ranks value r={r} exceeds min(m, n) = {min(m, n)} "
                                          f"for size {m}x{n}")
                D = r * (m + n - r)
                for d in config.deficits:
                    where = f"--deficits value d={d} at --sizes {m}x{n}, --ranks {r}"
                    M = D - d
                    if M < 1:
                        raise InvalidArgument(f"{where} leaves M = {M} conditions (r(m+n-r) = "
                                              f"{D}): need d < r(m+n-r)")
                    if not lower_rank_excluded(m, n, r, M):
                        raise InvalidArgument(f"{where}: M = {M} does not exceed (r-1)(m+n-r+1) "
                                              f"= {(r - 1) * (m + n - r + 1)}, so solutions of "
                                              "rank below r are not excluded")
                    if D + M > MAX_UNKNOWNS:
                        raise InvalidArgument(f"{where}: the Lagrange system has {D + M} "
                                              f"unknowns, more than {MAX_UNKNOWNS}")

    def preflight(self, config) -> None:
        check_memory(self.cells(config), config.device)

    def spec(self, config) -> dict:
        return {"format": "lorank.exact-above-experiment/1", "estimand": "e0-above",
                "sizes": [list(s) for s in config.sizes], "ranks": list(config.ranks),
                "deficits": list(config.deficits), "trials": config.trials,
                "restarts": config.restarts, "max_iters": config.max_iters,
                "start_seed": config.start_seed, "retries": config.retries,
                "seed": config.seed, "device": config.device, "features": "gaussian",
                "dtype": "float64", "certificate": CERTIFICATE, "theta0": "theta0_of/1"}

    def matches_legacy_spec(self, spec) -> bool:
        return False

    def from_spec(self, spec, **analysis):
        if not self.matches_spec(spec):
            raise InvalidArgument("the record's spec is not an exact-above spec")
        kw = dict(sizes=tuple(tuple(s) for s in spec["sizes"]), ranks=tuple(spec["ranks"]),
                  deficits=tuple(spec["deficits"]), trials=spec["trials"],
                  restarts=spec["restarts"], max_iters=spec["max_iters"],
                  start_seed=spec["start_seed"], retries=spec["retries"], seed=spec["seed"],
                  device=spec["device"])
        kw.update(analysis)
        return self.config(**kw)

    def cells(self, config):
        return [(m, n, r, r * (m + n - r) - d) for m, n in config.sizes for r in config.ranks
                for d in config.deficits]

    def run_batch(self, config, cell, trial_indices):
        from numerics.engine.capacity import run_trials
        from numerics.engine.homotopy_critical import critical_on_e1_instances
        from numerics.engine.solvers import LMConfig as SolverLM

        m, n, r, M = cell
        idx = list(trial_indices)
        e1 = run_trials("lm", tuple(cell), idx, global_seed=config.seed, device=config.device,
                        dtype="float64", restarts=config.restarts,
                        lm_config=SolverLM(max_iter=config.max_iters), sample_device="cpu",
                        cpu_threads=None)
        res = critical_on_e1_instances(m, n, r, M, idx, global_seed=config.seed,
                                       device=config.device, start_seed=config.start_seed,
                                       retries=config.retries)
        out = []
        for j, t in enumerate(idx):
            first = e1[j]["first_success"]
            ok = bool(res.certified[j])
            alpha = float(res.max_alpha[j])
            out.append({"trial": t, "critical_points": res.degree, "certified": ok,
                        "real_count": int(res.real_count[j]) if ok else None,
                        "exists": bool(res.real_count[j] >= 1) if ok else None,
                        "real_found": bool(res.real_found[j]),
                        "max_alpha": alpha if alpha < float("inf") else None,
                        "trackings": int(res.trackings[j]),
                        "e1_first_success": first,
                        "e1": [first is not None and first < k
                               for k in range(1, config.restarts + 1)]})
        return out

    def summarise(self, config, outcomes) -> dict:
        from numerics.experiments.records import run_provenance

        spec = getattr(outcomes, "spec", None) or {}
        return summarise(config, outcomes, certificate=spec.get("certificate", CERTIFICATE),
                         **run_provenance(outcomes))

    def render(self, summary: dict) -> str:
        return render_summary(summary)

    def figures(self, summary, stem):
        from numerics.estimation.plots import plot_exact_above

        return plot_exact_above(summary, stem)


FAMILY = _Above()


def summarise(config, outcomes, *, wall=None, environment=None, certificate=CERTIFICATE) -> dict:
    """The summary of an exact-above run (torch-free): per cell, ``N``, the certification
    count, P(exists) among certified instances, the mean real critical count, E1[k] and its
    paired shortfall, and the check "every E1 success has a certified real critical point"."""
    from numerics.estimation.estimate import mean_t_interval, wilson_or_none

    cells = []
    found = 0
    for cell in FAMILY.cells(config):
        rows = list(outcomes.get(tuple(cell), []))
        found += len(rows)
        m, n, r, M = cell
        D = r * (m + n - r)
        cert = [o for o in rows if o["certified"]]
        T = len(cert)
        exists = sum(bool(o["exists"]) for o in cert)
        e1 = {}
        for k in range(1, config.restarts + 1):
            ok = [o["e1"][k - 1] for o in cert]
            s = sum(ok)
            missed = sum(bool(o["exists"]) and not x for o, x in zip(cert, ok))
            contra = sum(x and not o["exists"] for o, x in zip(cert, ok))
            e1[str(k)] = {"successes": s, "trials": T, "wilson": wilson_or_none(s, T),
                          "missed": missed, "shortfall": (missed / T) if T else None,
                          "shortfall_wilson": wilson_or_none(missed, T),
                          "contradictions": contra}
        # the falsifiable check over every trial (certified or not): an E1 interpolant is a
        # real solution, so a real critical point must have been certified
        e1_any = [o for o in rows if o["e1_first_success"] is not None]
        counts = [o["real_count"] for o in cert]
        hist: dict = {}
        for c in counts:
            hist[str(c)] = hist.get(str(c), 0) + 1
        Ns = sorted({o["critical_points"] for o in rows})
        cells.append({
            "m": m, "n": n, "r": r, "M": M, "d": D - M, "rho": D / M,
            # one N per cell; None where no trial of the cell has run (a partial record)
            "critical_points": Ns[0] if len(Ns) == 1 else (Ns or None),
            "trials": len(rows), "certified": T, "uncertified": len(rows) - T,
            "uncertified_trials": [o["trial"] for o in rows if not o["certified"]][:50],
            "certified_after_retry": sum(o["trackings"] > 1 for o in cert),
            "exists": {"successes": exists, "trials": T, "wilson": wilson_or_none(exists, T)},
            "real_count": mean_t_interval(counts) if counts else None,
            "real_count_histogram": dict(sorted(hist.items(), key=lambda kv: int(kv[0]))),
            "e1": e1,
            "e1_found": len(e1_any),
            "e1_found_without_real_critical_point": sum(not o["real_found"] for o in e1_any),
            "max_alpha": max((o["max_alpha"] for o in cert if o["max_alpha"] is not None),
                             default=None)})
    expected = len(FAMILY.cells(config)) * config.trials
    summary = {"format": SUMMARY_FORMAT, "family": FAMILY.name, "estimand": "E0-above",
               "definition": ("E0-above: a real matrix of rank <= r meets M = r(m+n-r) - d "
                              "affine conditions (rho slightly above 1), decided by finding every "
                              "complex critical point of the distance from a random point theta0 "
                              "in the chart Delta = [I_r; U'] V^T (homotopy continuation, "
                              "alpha-certified in float64); among certified instances only. "
                              "E1[k]: Levenberg-Marquardt with k restarts finds a certified "
                              "interpolant on the same instance."),
               "config": {"sizes": [list(s) for s in config.sizes], "ranks": list(config.ranks),
                          "deficits": list(config.deficits), "trials": config.trials,
                          "restarts": config.restarts, "max_iters": config.max_iters,
                          "start_seed": config.start_seed, "retries": config.retries,
                          "seed": config.seed, "device": config.device,
                          "features": "gaussian"},
               "cells": cells, "trials_expected": expected, "trials_found": found,
               "complete": found == expected,
               "wall_time": wall or {"wall_s": 0.0}, "environment": environment,
               "certificate": certificate}
    from numerics.verdicts.exact_above import claim_verdicts

    summary["verdicts"] = claim_verdicts(summary)
    return summary


def _w(x):
    return "-" if x is None else f"[{x[0]:.3f}, {x[1]:.3f}]"


def render_summary(summary: dict) -> str:
    """A readable table of an exact-above summary."""
    from numerics.estimation.estimate import format_interval

    c0 = summary["config"]
    lines = [f"E0 above rho = 1 (seed {c0['seed']}, {c0['trials']} instances per cell, E1 with "
             f"{c0['restarts']} restarts on the same instances); N: complex critical points; "
             "P = successes/certified [Wilson 95%]; shortfall: a real solution exists, E1[k] "
             "finds none"]
    lines.append(f"  {'cell':>12} {'rho':>6} {'N':>5}  {'cert':>9}  {'P(exists)':>24}  "
                 f"{'real crit. [95% t]':>22}  E1[k] shortfall k=1,2,4,8")
    for c in summary["cells"]:
        e0 = c["exists"]
        ks = [k for k in ("1", "2", "4", "8") if k in c["e1"]]
        short = "  ".join(f"{c['e1'][k]['missed']}" for k in ks)
        rc = format_interval(c["real_count"], 3) if c["real_count"] else "-"
        lines.append(f"  {c['m']:>4}x{c['n']:<2}r{c['r']:<1}M{c['M']:<3} {c['rho']:>6.3f} "
                     f"{'-' if c['critical_points'] is None else str(c['critical_points']):>5}  {c['certified']:>4}/{c['trials']:<4}  "
                     f"{e0['successes']:>4}/{e0['trials']:<4} {_w(e0['wilson']):>14}  {rc:>22}  "
                     f"{short}")
    lines.append("")
    lines.append("verdicts:")
    for v in summary["verdicts"]:
        lines.append(f"  E0-ABOVE.{v['claim']}  {v['status']}  ({v['kind']}): {v['detail']}")
    lines.append(f"trials: {summary['trials_found']} of {summary['trials_expected']} "
                 f"({'complete' if summary['complete'] else 'INCOMPLETE'}), wall time "
                 f"{summary['wall_time'].get('wall_s', 0.0):.1f} s")
    return "\n".join(lines)
