"""exact-existence family: estimand E0, certified real existence at rho = 1 (issue 16), paired
with E1[k] on the same instances.

``lorank exact`` runs it. The cells are those of the C* sweeps at ``rho = 1``: ``(m, n, r, M)``
with ``M = r(m+n-r)`` and Gaussian-iid features, so trial ``t`` of a cell is the very instance
that trial ``t`` of ``lorank cstar --estimand lm`` sees at ``KN = M`` (seeds from the global
seed, the cell and the index; drawn in float64 on the CPU whatever the device). Per trial:

- E0 (:func:`numerics.engine.homotopy.solve_rank_one`): every complex solution by a parameter
  homotopy, alpha-certified; ``certified``, and where certified ``real_count`` and ``exists``
  (``None`` where not: an uncertified instance is never counted either way);
- E1 on the same instance (:func:`numerics.engine.capacity.run_trials`, estimand ``lm``, float64
  on the run's device with the instance drawn on the CPU): ``e1_first_success`` (the first
  restart that certified an interpolant, or None) and ``e1`` (E1[k] for k = 1..restarts: a
  success within the first k starts).

The summary (:func:`summarise`) has one entry per cell with ``successes``, ``trials`` and
``wilson`` for E0 (among certified instances) and for every E1[k], the paired shortfall
(instances where E0 certifies a real solution and E1[k] found none), the mean real count with a
95% t interval, and the Kac-Rice expectation of the real count
(:func:`proofs.exact_existence.expected_real_count_r1`). The verdict rules are in
:mod:`numerics.verdicts.exact_existence`.

Why a command of its own and not ``lorank cstar --estimand e0``: the cstar families share one
default per flag, and cstar's defaults (sizes up to 16x16, whose degree at r = 1 is 1.6e8;
three restarts; a rho grid) do not fit E0, whose rho is 1 by definition and whose paired E1
needs eight restarts. The grid flags (``--sizes``, ``--ranks``, ``--trials``, ``--seed``,
``--device``) parse exactly as cstar's do, and the cell keys are the same.

At r = 1 E0 is :func:`numerics.engine.homotopy.solve_rank_one` (the committed CPU run); at
r >= 2 it is :func:`numerics.engine.homotopy_rank.solve_rank` (``Delta = [I; U'] V^T``, start
solutions found once per size by monodromy loops until they number the degree). Both certify
as :mod:`numerics.engine.homotopy_certify` says (a second chart for endpoints that fail in the
first; an uncertified instance is tracked again from ``--retries`` other start instances and
decided from the union of its endpoints). Records made before that certificate (spec without
``"certificate"``) are read and summarised as they are, never resumed by this version.

Batched runs are not bitwise equal to one-trial runs (batched complex products may round their
last bits differently); every decision agrees (the contract tests compare them so).

Examples
--------
>>> cfg = FAMILY.config(sizes=((2, 3), (3, 3)), trials=4)
>>> FAMILY.cells(cfg)
[(2, 3, 1, 4), (3, 3, 1, 5)]
>>> FAMILY.from_spec(FAMILY.record_spec(cfg)) == cfg
True
>>> FAMILY.cells(FAMILY.config(sizes=((3, 3), (3, 4)), ranks=(1, 2)))
[(3, 3, 1, 5), (3, 3, 2, 8), (3, 4, 1, 6), (3, 4, 2, 10)]
>>> FAMILY.config(sizes=((7, 8),), ranks=(2,))
Traceback (most recent call last):
...
proofs.validation.InvalidArgument: --sizes 7x8 at r = 2 has degree above 20000 (paths per instance), more than E0 tracks
"""

from __future__ import annotations

from dataclasses import dataclass

from proofs.validation import InvalidArgument

from .options import (MAX_ITERATIONS, MAX_RESTARTS, MAX_THREADS, MAX_TRIALS, at_most, choice,
                      device, int_list, nonneg_int, option, show_sizes, sizes)
from .protocol import Family, check_memory, memory_limit

__all__ = ["FAMILY", "ExactConfig", "render_summary", "MAX_DEGREE", "summarise"]

#: The largest degree (complex solutions, hence paths per instance) a cell may have.
MAX_DEGREE = 20_000
#: The certificate of :mod:`numerics.engine.homotopy_certify` (records without it in their spec
#: were made by the tracking-chart-only certificate of lorank 0.5.0 and are never resumed).
CERTIFICATE = "charts+union/2"
#: At r >= 2 the degree is computed only for m + n up to this (its product has n - r factors).
MAX_SUM_R2 = 400
SUMMARY_FORMAT = "lorank.exact-existence-summary/1"


@dataclass(frozen=True)
class ExactConfig:
    """Everything that determines an E0 run, and how it runs."""

    sizes: tuple = option(((2, 2), (2, 3), (3, 3), (2, 4), (3, 4)),
                          "matrix sizes m x n, e.g. 3x3,4x5 (each cell has degree C(m+n-2, m-1) "
                          f"paths per instance at r = 1, at most {MAX_DEGREE})", sizes,
                          show=show_sizes)
    ranks: tuple = option((1,), "LoRA ranks r, rho fixed at 1 (M = r(m+n-r)); r >= 2 finds its "
                          "start solutions once per size by monodromy", int_list)
    trials: int = option(200, "instances per cell", at_most(MAX_TRIALS))
    restarts: int = option(8, "LM starts of the paired E1 on each instance (E1[k] reported for "
                           "k = 1 .. restarts)", at_most(MAX_RESTARTS))
    max_iters: int = option(200, "Levenberg-Marquardt iterations per start of the paired E1",
                            at_most(MAX_ITERATIONS))
    start_seed: int = option(0, "seed of the random complex start instance of the parameter "
                             "homotopy (one per size)", nonneg_int)
    retries: int = option(1, "further trackings of an uncertified instance, from the start "
                          "instances of seeds start_seed + 1, ...; decided from the union of its "
                          "endpoints", at_most(8))
    tracking_chart: str = option("identity", "chart the paths of r >= 2 are tracked in: "
                                 "identity (Delta = [I; U'] V^T, the committed v2 runs) or random "
                                 "(a random complex unitary change of rows per tracking, fewer "
                                 "failed paths; endpoints certified alike); r = 1 tracks in its "
                                 "own chart", choice("identity", "random"),
                                 choices=("identity", "random"))
    seed: int = option(0, "global seed; every trial is seeded from it, its cell and its index",
                       nonneg_int)
    device: str = option("cpu", "cpu, cuda or cuda:k (float64/complex128 on either; instances "
                         "are drawn on the CPU)", device)
    batch_size: int = option(64, "trials per batch and per checkpoint", at_most(MAX_TRIALS),
                             role="run")
    max_paths: int = option(100_000, "homotopy paths tracked at once (a batch is cut so that "
                            "trials x degree stays below, at least one trial)",
                            at_most(10**9), role="run")
    threads: int = option(1, "torch CPU threads during the run", at_most(MAX_THREADS), role="run")


def _r1_degree_capped(m, n, cap=MAX_DEGREE):
    """``C(m+n-2, m-1)``, or the first partial product above ``cap`` (so that a huge size is
    refused at once instead of computing a huge binomial).

    >>> _r1_degree_capped(8, 8), _r1_degree_capped(10**9, 10**9) > MAX_DEGREE
    (3432, True)
    """
    a, b = sorted((m - 1, n - 1))
    c = 1
    for i in range(1, a + 1):
        c = c * (b + i) // i
        if c > cap:
            return c
    return c


def _degree(m, n, r):
    from proofs.exact_existence import determinantal_degree

    return determinantal_degree(m, n, r)


class _Exact(Family):
    name = "exact-existence"
    command = "exact"
    verdicts = "numerics.verdicts.exact_existence"
    Config = ExactConfig
    summary_format = SUMMARY_FORMAT
    figure_stem = "exact_existence"
    title = "E0: certified real existence at rho = 1 (homotopy continuation), paired with E1[k]"
    grid_fields = ("sizes", "ranks")
    batch_invariant = False

    def validate(self, config) -> None:
        for m, n in config.sizes:
            for r in config.ranks:
                if r > min(m, n):
                    raise InvalidArgument(f"--ranks value r={r} exceeds min(m, n) = {min(m, n)} "
                                          f"for size {m}x{n}")
                if r == 1:
                    d = _r1_degree_capped(m, n)
                elif r == min(m, n):
                    d = 1   # M = mn: a square linear system
                else:
                    if m + n > MAX_SUM_R2:
                        raise InvalidArgument(f"--sizes {m}x{n} with --ranks {r}: at r >= 2 sizes "
                                              f"with m + n above {MAX_SUM_R2} are not supported")
                    d = _degree(m, n, r)
                if d > MAX_DEGREE:
                    raise InvalidArgument(f"--sizes {m}x{n} at r = {r} has degree above "
                                          f"{MAX_DEGREE} (paths per instance), more than E0 tracks")

    def preflight(self, config) -> None:
        check_memory(self.cells(config), config.device)
        # the tracker holds about 40 complex M x M-sized tensors per path (RK4 + corrector)
        worst = max((self._paths_at_once(config, c), c) for c in self.cells(config))
        paths, (m, n, r, M) = worst
        need = 40 * 16 * paths * (M * M + M * max(m, n))
        if need > memory_limit(config.device) // 2:
            raise InvalidArgument(f"--max-paths {config.max_paths} at --sizes {m}x{n} needs about "
                                  f"{need / 2**30:.2g} GiB, more than half the memory of "
                                  f"{config.device}: lower --max-paths")

    def _paths_at_once(self, config, cell):
        d = _degree(cell[0], cell[1], cell[2])
        return d * max(1, min(config.batch_size, config.trials, config.max_paths // d))

    def spec(self, config) -> dict:
        return {"format": "lorank.exact-existence-experiment/1", "estimand": "e0",
                "sizes": [list(s) for s in config.sizes], "ranks": list(config.ranks),
                "trials": config.trials, "restarts": config.restarts,
                "max_iters": config.max_iters, "start_seed": config.start_seed,
                "seed": config.seed, "device": config.device, "features": "gaussian",
                "dtype": "float64", "certificate": CERTIFICATE, "retries": config.retries,
                # only where it is not the chart every earlier record was tracked in, so that
                # those records' specs (and resumes) are unchanged
                **({"tracking_chart": config.tracking_chart}
                   if config.tracking_chart != "identity" else {})}

    def matches_legacy_spec(self, spec) -> bool:
        return False

    def from_spec(self, spec, **analysis):
        if not self.matches_spec(spec):
            raise InvalidArgument("the record's spec is not an exact-existence spec")
        kw = dict(sizes=tuple(tuple(s) for s in spec["sizes"]), ranks=tuple(spec["ranks"]),
                  trials=spec["trials"], restarts=spec["restarts"], max_iters=spec["max_iters"],
                  start_seed=spec["start_seed"], seed=spec["seed"], device=spec["device"],
                  retries=spec.get("retries", 0),
                  tracking_chart=spec.get("tracking_chart", "identity"))
        kw.update(analysis)
        return self.config(**kw)

    def cells(self, config):
        return [(m, n, r, r * (m + n - r)) for m, n in config.sizes for r in config.ranks]

    def run_batch(self, config, cell, trial_indices):
        from numerics.engine.capacity import run_trials
        from numerics.engine.homotopy import e0_on_e1_instances
        from numerics.engine.homotopy_rank import e0_rank_on_e1_instances
        from numerics.engine.solvers import LMConfig as SolverLM

        m, n, r, M = cell
        d = _degree(m, n, r)
        step = max(1, config.max_paths // d)
        idx = list(trial_indices)
        e1 = run_trials("lm", tuple(cell), idx, global_seed=config.seed, device=config.device,
                        dtype="float64", restarts=config.restarts,
                        lm_config=SolverLM(max_iter=config.max_iters), sample_device="cpu",
                        cpu_threads=None)
        out = []
        for start in range(0, len(idx), step):
            chunk = idx[start:start + step]
            if r == 1:
                res = e0_on_e1_instances(m, n, chunk, global_seed=config.seed,
                                         device=config.device, start_seed=config.start_seed,
                                         retries=config.retries)
            else:
                res = e0_rank_on_e1_instances(m, n, r, chunk, global_seed=config.seed,
                                              device=config.device, start_seed=config.start_seed,
                                              retries=config.retries, chart=config.tracking_chart)
            tracks = res.trackings.cpu().tolist()
            rech = res.recharted.cpu().tolist()
            cert = res.certified.cpu().tolist()
            real = res.real_count.cpu().tolist()
            alpha = res.max_alpha.cpu().tolist()
            for j, t in enumerate(chunk):
                first = e1[start + j]["first_success"]
                ok = bool(cert[j])
                out.append({"trial": t, "certified": ok,
                            "real_count": int(real[j]) if ok else None,
                            "exists": bool(real[j] >= 1) if ok else None,
                            "max_alpha": float(alpha[j]) if alpha[j] < float("inf") else None,
                            "e1_first_success": first,
                            "trackings": int(tracks[j]), "recharted": int(rech[j]),
                            "e1": [first is not None and first < k
                                   for k in range(1, config.restarts + 1)]})
        return out

    def summarise(self, config, outcomes) -> dict:
        from numerics.experiments.records import run_provenance

        return summarise(config, outcomes, **run_provenance(outcomes))

    def render(self, summary: dict) -> str:
        return render_summary(summary)

    def figures(self, summary, stem):
        from numerics.estimation.plots import plot_exact_existence

        return plot_exact_existence(summary, stem)


FAMILY = _Exact()


def summarise(config, outcomes, *, wall=None, environment=None) -> dict:
    """The summary of an E0 run (torch-free): per cell, E0 and E1[k] with Wilson intervals
    among certified instances, the paired shortfall, real counts against Kac-Rice, and the
    verdicts of :mod:`numerics.verdicts.exact_existence`."""
    from numerics.estimation.estimate import mean_t_interval, wilson_or_none
    from proofs.exact_existence import expected_real_count_r1

    cells = []
    found = 0
    for cell in FAMILY.cells(config):
        rows = list(outcomes.get(tuple(cell), []))
        found += len(rows)
        m, n, r, M = cell
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
                          "missed_of_existing": wilson_or_none(missed, exists) if exists else None,
                          "contradictions": contra}
        counts = [o["real_count"] for o in cert]
        hist: dict = {}
        for c in counts:
            hist[str(c)] = hist.get(str(c), 0) + 1
        d = _degree(m, n, r)
        cells.append({
            "m": m, "n": n, "r": r, "M": M, "rho": 1.0, "degree": d, "degree_odd": d % 2 == 1,
            "trials": len(rows), "certified": T, "uncertified": len(rows) - T,
            "uncertified_trials": [o["trial"] for o in rows if not o["certified"]][:50],
            "e0": {"successes": exists, "trials": T, "wilson": wilson_or_none(exists, T)},
            "real_count": mean_t_interval(counts) if counts else None,
            "real_count_histogram": dict(sorted(hist.items(), key=lambda kv: int(kv[0]))),
            "real_count_max": max(counts) if counts else None,
            "kac_rice": float(expected_real_count_r1(m, n)) if r == 1 else None,
            "e1": e1,
            "max_alpha": max((o["max_alpha"] for o in cert if o["max_alpha"] is not None),
                             default=None)})
        if rows and "trackings" in rows[0]:
            # records with the certificate of numerics.engine.homotopy_certify
            cells[-1]["certified_after_retry"] = sum(o["trackings"] > 1 for o in cert)
            cells[-1]["with_recharted_endpoints"] = sum(o["recharted"] > 0 for o in cert)
    expected = len(FAMILY.cells(config)) * config.trials
    summary = {"format": SUMMARY_FORMAT, "family": FAMILY.name, "estimand": "E0",
               "definition": ("E0: a real matrix of rank <= r meets the M = r(m+n-r) affine "
                              "conditions (rho = 1), decided by finding every complex solution "
                              "(homotopy continuation, alpha-certified in float64); among "
                              "certified instances only. E1[k]: Levenberg-Marquardt with k "
                              "restarts finds a certified interpolant on the same instance."),
               "config": {"sizes": [list(s) for s in config.sizes], "ranks": list(config.ranks),
                          "trials": config.trials, "restarts": config.restarts,
                          "max_iters": config.max_iters, "start_seed": config.start_seed,
                          "seed": config.seed, "device": config.device,
                          "features": "gaussian"},
               "cells": cells, "trials_expected": expected, "trials_found": found,
               "complete": found == expected,
               "wall_time": wall or {"wall_s": 0.0}, "environment": environment}
    from numerics.verdicts.exact_existence import claim_verdicts

    spec = getattr(outcomes, "spec", None) or {}
    if "certificate" in spec:
        summary["certificate"] = {"version": spec["certificate"], "retries": spec["retries"]}
        if "tracking_chart" in spec:     # absent: the identity chart (every earlier record)
            summary["certificate"]["tracking_chart"] = spec["tracking_chart"]
    summary["verdicts"] = claim_verdicts(summary)
    return summary


def _w(x):
    return "-" if x is None else f"[{x[0]:.3f}, {x[1]:.3f}]"


def render_summary(summary: dict) -> str:
    """A readable table of an E0 summary."""
    from numerics.estimation.estimate import format_interval

    c0 = summary["config"]
    lines = [f"E0 at rho = 1 (seed {c0['seed']}, {c0['trials']} instances per cell, E1 with "
             f"{c0['restarts']} restarts on the same instances); P = successes/certified "
             "[Wilson 95%]; shortfall: E0 certifies a real solution, E1[k] finds none"]
    cert = summary.get("certificate")
    if cert:
        lines.append(f"certificate {cert['version']}, {cert['retries']} retries, r >= 2 tracked in "
                     f"the {cert.get('tracking_chart', 'identity')} chart")
    lines.append(f"  {'cell':>9} {'deg':>5}  {'cert':>9}  {'P(exists)':>24}  "
                 f"{'real count [95% t]':>22}  {'Kac-Rice':>8}  E1[k] shortfall k=1,2,4,8")
    for c in summary["cells"]:
        e0 = c["e0"]
        ks = [k for k in ("1", "2", "4", "8") if k in c["e1"]]
        short = "  ".join(f"{c['e1'][k]['missed']}" for k in ks)
        rc = format_interval(c["real_count"], 3) if c["real_count"] else "-"
        kr = f"{c['kac_rice']:.3f}" if c["kac_rice"] is not None else "-"
        lines.append(f"  {c['m']:>4}x{c['n']:<2}r{c['r']:<1} {c['degree']:>5}  {c['certified']:>4}/{c['trials']:<4}  "
                     f"{e0['successes']:>4}/{e0['trials']:<4} {_w(e0['wilson']):>14}  {rc:>22}  "
                     f"{kr:>8}  {short}")
    lines.append("")
    lines.append("verdicts:")
    for v in summary["verdicts"]:
        lines.append(f"  E0.{v['claim']}  {v['status']}  ({v['kind']}): {v['detail']}")
    lines.append(f"trials: {summary['trials_found']} of {summary['trials_expected']} "
                 f"({'complete' if summary['complete'] else 'INCOMPLETE'}), wall time "
                 f"{summary['wall_time'].get('wall_s', 0.0):.1f} s")
    return "\n".join(lines)
