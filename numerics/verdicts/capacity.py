"""Ledger verdicts read from committed C* and separability records (no experiment is re-run
here). The separability (E4, R2) entries are described at :func:`separability_entries`.

The ledger (:mod:`lorank.ledger`) calls :func:`ledger_entries`, which reads every
``results/cstar/*/summary.json``. The paper's ``C* ~ 1.35`` (:data:`proofs.claims.CLAIMED_CSTAR`)
can mean two things, and each is its own statement:

- **crossing** (``R1.cstar.<family>.p<p>.<run>``): the transition C*(p) sits at 1.35. Per
  (rank, aspect) group the size limit ``rho_inf`` decides, or, where the finite-size fit gives
  no interval (0 degrees of freedom, unidentified, or failing its chi2 test), the largest
  size's own interval, stated as a fallback (:func:`group_reading`). ``supported`` needs an
  equivalence test in every group: the 95% interval lies inside ``1.35 +- 0.05``
  (:data:`EQUIVALENCE_MARGIN`; TOST, each one-sided test at 2.5%); ``contradicted``: 1.35 lies
  outside the interval in every group; else ``open`` (an interval that contains 1.35 without
  the equivalence is only *consistent*). For E3 the verdict is taken across every (T, eps) of
  the record, and is ``undefined`` where the transition grows with size at a fixed budget and
  falls with the budget (:func:`e3_constant`).
- **sufficiency** (``R1.cstar.sufficiency.<family>.<run>``): every ``rho >= 1.35`` gives
  success with probability at least 0.95 (:func:`sufficiency_test`). A conservative
  sufficient constant is not a wrong one.

Examples
--------
>>> ledger_entries("/nonexistent")
[]
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import NamedTuple

from numerics.verdicts.evidence import evidence_path, measured_provenance
from proofs.claims import CLAIMED_CSTAR

__all__ = ["ledger_entries", "headline_variant", "reported_variants", "size_rows", "fit_view",
           "unidentified_reason", "cstar_entries", "e4_headline", "CommittedSummary", "committed_summaries",
           "measured_entry", "group_status", "separability_entries", "separability_transitions",
           "warren_count_bound", "warren_min_examples", "EQUIVALENCE_MARGIN", "SUFFICIENT_RATE",
           "group_reading", "sufficiency_test", "sufficiency_entries", "e3_constant"]

#: The equivalence margin of the crossing reading: "C* ~ 1.35" is read as |C* - 1.35| < 0.05.
#: The paper gives no error for its constant; 0.05 is our stated reading of "~", fixed before
#: any interval was compared with it. A two-sided 95% interval inside (1.30, 1.40) rejects both
#: one-sided hypotheses C* <= 1.30 and C* >= 1.40 at 2.5% each (TOST, conservative at 5%).
EQUIVALENCE_MARGIN = 0.05

#: The success probability the sufficiency reading asks for at every rho >= C*.
SUFFICIENT_RATE = 0.95

_FAMILY_TEXT = {
    "E1": "existence of a rank-r interpolant (LM with restarts; a lower bound on p_exist)",
    "E2": "one LM run from one random start reaches a global minimiser",
    "E3": "the standard LoRA recipe (B = 0, Gaussian A, gradient descent) interpolates",
}


class CommittedSummary(NamedTuple):
    """A committed summary as the ledger reads it: where it is, what it says, and the facts
    every entry quotes."""

    path: Path
    summary: dict
    evidence: str
    """The summary's path as ``results/<family>/<run>/summary.json`` (the entry's ``evidence``)."""
    device: str
    """The device name recorded by the run's first session."""
    wall_s: float
    """The run's wall time in seconds, as summarised."""

    @property
    def run(self) -> str:
        """The run's folder name (the last part of every entry id)."""
        return self.path.parent.name


def committed_summaries(results_dir, folder: str, summary_format: str | None = None):
    """The ``results_dir/<folder>/*/summary.json`` files, in name order (of the given
    ``format`` field, if one is given), as :class:`CommittedSummary`.

    >>> list(committed_summaries("/nonexistent", "cstar"))
    []
    """
    root = Path(results_dir)
    for path in sorted(root.glob(f"{folder}/*/summary.json")):
        try:
            summary = json.loads(path.read_text())
        except ValueError:  # reported by the ledger's evidence check (numerics.verdicts.evidence)
            continue
        if summary_format is not None and summary.get("format") != summary_format:
            continue
        evidence = evidence_path(root, path)
        env = (summary.get("environment") or [{}])[0]
        device = env.get("device_name") or env.get("device") or "?"
        wall = float((summary.get("wall_time") or {}).get("wall_s") or 0.0)
        yield CommittedSummary(path, summary, evidence, device, wall)


def measured_entry(entry_id: str, source: str, statement: str, status: str, detail: str,
                   record: CommittedSummary, routes: list | None = None, *,
                   claim_kind: str = "paper claim") -> dict:
    """A ledger entry resting on a committed record: one ``monte-carlo`` route whose answer is
    True for ``supported``, False for ``contradicted`` and None otherwise (unless ``routes``
    are given); ``expected`` is None, since a measurement that disagrees with a paper is a
    result, not a failure of the tool. ``claim_kind`` says what the entry tests (a paper's
    claim, our heuristic, a claim's scope or a check of our method; see
    :data:`lorank.ledger.CLAIM_KINDS`).

    >>> r = CommittedSummary(Path("x/run/summary.json"), {}, "x/run/summary.json", "cpu", 1.0)
    >>> measured_entry("R.x", "paper", "claim", "supported", "3 groups", r)["routes"][0]["answer"]
    True
    >>> measured_entry("R.x", "THEORY.md", "claim", "open", "-", r, claim_kind="our heuristic")["claim_kind"]
    'our heuristic'
    """
    if routes is None:
        routes = [{"name": "monte-carlo", "answer": {"supported": True, "contradicted": False}.get(status),
                   "detail": detail, "seconds": record.wall_s}]
    return {"id": entry_id, "source": source, "statement": statement, "status": status,
            "routes": routes, "evidence": record.evidence, "expected": None, "seconds": 0.0,
            "notes": "", "claim_kind": claim_kind, **measured_provenance(entry_id)}


def seed_and_device(summary: dict, record: CommittedSummary) -> str:
    """The tail most families append to each entry's statement: the run's global seed and
    device."""
    return f" [seed {summary['seeds']['global_seed']}; device {record.device}]"


def device_only(summary: dict, record: CommittedSummary) -> str:
    """The tail of families whose summaries name no global seed in ``seeds``: the device."""
    return f" [device {record.device}]"


def claim_entries(results_dir, folder: str, summary_format: str, prefix: str, claim_verdicts,
                  tail=seed_and_device) -> list[dict]:
    """One entry ``<prefix>.<claim>.<run>`` per claim of every committed
    ``results_dir/<folder>/*/summary.json``: ``claim_verdicts(summary)`` gives the claims
    (dicts with ``claim``, ``source``, ``text``, ``status``, ``detail``, ``kind``), re-derived
    from the stored numbers; ``tail(summary, record)`` is appended to each statement.

    >>> claim_entries("/nonexistent", "x", "f", "X", lambda s: [])
    []
    """
    entries = []
    for record in committed_summaries(results_dir, folder, summary_format):
        end = tail(record.summary, record)
        for v in claim_verdicts(record.summary):
            entries.append(measured_entry(f"{prefix}.{v['claim']}.{record.run}", v["source"],
                                          v["text"] + end, v["status"], v["detail"], record,
                                          claim_kind=v["kind"]))
    return entries


def group_status(positions) -> str:
    """``supported`` if every group's interval passes the equivalence test (position
    ``equivalent``: inside ``value +- EQUIVALENCE_MARGIN``), ``contradicted`` if the value lies
    outside every group's interval, else ``open`` (also with no groups, and where the value is
    only ``inside`` an interval: consistent, not shown equivalent).

    >>> group_status(["equivalent", "equivalent"]), group_status(["above", "below"]), group_status([])
    ('supported', 'contradicted', 'open')
    >>> group_status(["inside", "inside"])
    'open'
    """
    positions = list(positions)
    if positions and all(x == "equivalent" for x in positions):
        return "supported"
    if positions and all(x in ("above", "below") for x in positions):
        return "contradicted"
    return "open"


def headline_variant(summary: dict, family: str) -> str | None:
    """The variant of a family the ledger reports under the family's plain id: E1 with the most
    restarts, E2, or E3 at the largest budget and the strictest tolerance.

    >>> headline_variant({"estimands": {"E1[k=1]": {"family": "E1", "params": {"k": 1}},
    ...                                 "E1[k=4]": {"family": "E1", "params": {"k": 4}}}}, "E1")
    'E1[k=4]'
    """
    names = [(name, e["params"]) for name, e in summary["estimands"].items() if e["family"] == family]
    if not names:
        return None
    if family == "E1":
        return max(names, key=lambda x: x[1]["k"])[0]
    if family == "E3":
        return max(names, key=lambda x: (x[1]["T"], -x[1]["eps"]))[0]
    return names[0][0]


def reported_variants(summary: dict) -> list[tuple[str, str, str]]:
    """``(family, variant, id stem)`` of every variant the ledger (and the README) reports: the
    headline variant of E1, E2 and E3, and E3 at the largest budget for each other tolerance
    (stem ``E3.eps<eps>``), so that every C* row the README shows has its ledger entry.

    >>> s = {"estimands": {"E3[T=10,eps=1e-06]": {"family": "E3", "params": {"T": 10, "eps": 1e-06}},
    ...                    "E3[T=10,eps=0.001]": {"family": "E3", "params": {"T": 10, "eps": 0.001}},
    ...                    "E3[T=1,eps=0.001]": {"family": "E3", "params": {"T": 1, "eps": 0.001}}}}
    >>> reported_variants(s)
    [('E3', 'E3[T=10,eps=1e-06]', 'E3'), ('E3', 'E3[T=10,eps=0.001]', 'E3.eps0.001')]
    """
    out = []
    for family in ("E1", "E2", "E3"):
        head = headline_variant(summary, family)
        if head is None:
            continue
        out.append((family, head, family))
        if family == "E3":
            T = summary["estimands"][head]["params"]["T"]
            for name, e in summary["estimands"].items():
                if e["family"] == "E3" and e["params"]["T"] == T and name != head:
                    out.append((family, name, f"E3.eps{e['params']['eps']:g}"))
    return out


def unidentified_reason(fit: dict | None) -> str | None:
    """Why a finite-size fit (a ``ScalingFit`` dict of a summary) does not identify
    ``rho_inf``, or None if it does. Old summaries store such fits as numbers (e.g. ``rho_inf``
    -0.15 with interval [-197, 197] when ``nu`` sits on its cap); they are read as unidentified:
    a free exponent ``1/nu`` on a bound of :data:`numerics.estimation.estimate.EXPONENT_BOUNDS`, or a
    missing or non-finite ``rho_inf``, interval or standard error.

    >>> unidentified_reason({"model": "free nu", "nu": 50.0, "nu_fixed": False, "rho_inf": -0.15,
    ...                      "interval": [-197, 197], "se": 100.0})
    '1/nu sits at its bound 0.02: nu is not resolved, so rho_inf is not identified'
    >>> unidentified_reason({"model": "nu = 1", "nu": 1.0, "nu_fixed": True, "rho_inf": 1.0,
    ...                      "interval": [0.99, 1.01], "se": 0.005}) is None
    True
    """
    import math

    from numerics.estimation.estimate import EXPONENT_BOUNDS

    if not fit:
        return "no fit"
    if fit.get("identified") is False:
        return fit.get("reason") or "not identified"
    if not fit.get("nu_fixed"):
        nu = fit.get("nu")
        if nu is None or not math.isfinite(nu) or nu <= 0:
            return "the exponent nu is not finite, so rho_inf is not identified"
        w = 1.0 / nu
        for bound in EXPONENT_BOUNDS:
            if math.isclose(w, bound, rel_tol=1e-3):
                return f"1/nu sits at its bound {bound:g}: nu is not resolved, so rho_inf is not identified"
    values = [fit.get("rho_inf"), fit.get("se"), *(fit.get("interval") or [None, None])]
    if any(v is None or not math.isfinite(v) for v in values):
        return "rho_inf is not identified (no finite estimate, interval or standard error)"
    return None


def fit_view(fit: dict | None) -> dict:
    """A finite-size fit as the ledger and the README show it: its model with ``rho_inf`` and
    its interval, or both ``None`` with the reason when the fit is unidentified
    (:func:`unidentified_reason`).

    >>> fit_view({"model": "free nu", "nu": 50.0, "nu_fixed": False, "rho_inf": -0.15,
    ...           "interval": [-197, 197], "se": 100.0})["rho_inf"] is None
    True
    """
    why = unidentified_reason(fit)
    model = (fit or {}).get("model")
    if why:
        return {"model": model, "rho_inf": None, "interval": None, "identified": False, "reason": why}
    return {"model": model, "rho_inf": fit["rho_inf"], "interval": list(fit["interval"]),
            "identified": True, "reason": None}


def _size_key(s: dict) -> tuple:
    return (s["m"], s["n"], s["r"])


def size_estimate(size: dict, p: float) -> dict:
    """One size's C*(p) estimate as the verdicts read it: the GLM value with its 95% profile
    interval where the fit is not degenerate and its estimate lies on the grid, else the grid
    bracket (the same choice as the summary's per-size verdicts).

    >>> size_estimate({"cells": [], "fit": None, "brackets": [{"p": 0.5, "bracket": [1.2, 1.4]}]}, 0.5)
    {'route': 'grid', 'value': None, 'interval': [1.2, 1.4]}
    """
    fit = size.get("fit") or {}
    rhos = [c["rho"] for c in size.get("cells", []) if c.get("trials")]
    point = next((pt for pt in fit.get("points") or [] if pt["p"] == p), None)
    if (fit and not fit.get("degenerate") and point is not None and point["rho"] is not None
            and rhos and min(rhos) <= point["rho"] <= max(rhos)):
        return {"route": "glm", "value": point["rho"], "interval": list(point["profile"])}
    br = next((b["bracket"] for b in size.get("brackets", []) if b["p"] == p), [None, None])
    return {"route": "grid", "value": None, "interval": list(br)}


def size_rows(summary: dict, variant: str, p_levels) -> list[dict]:
    """Per size of one variant: its trials, and per level ``p`` the C*(p) estimate
    (:func:`size_estimate`) and the position of the claimed value against *this size's*
    interval. The ledger entry of the variant carries these rows (``per_size``) and the
    README's C* table prints them.

    >>> size_rows({"estimands": {"E2": {"sizes": []}}}, "E2", [0.5])
    []
    """
    rows = []
    for s in summary["estimands"][variant]["sizes"]:
        row = {"m": s["m"], "n": s["n"], "r": s["r"], "trials": sum(c["trials"] for c in s["cells"]),
               "estimate": {}, "position": {}}
        for p in p_levels:
            row["estimate"][f"{p:g}"] = size_estimate(s, p)
            row["position"][f"{p:g}"] = next((v["position"] for v in s.get("verdicts", [])
                                              if v["p"] == p), "undetermined")
        rows.append(row)
    return rows


def _position(interval, route: str, value: float) -> str:
    """``equivalent``, ``inside``, ``above``, ``below`` or ``undetermined`` for ``value``
    against a 95% interval (a grid bracket with an open side can exclude, never confirm)."""
    import math

    from numerics.estimation.estimate import verdict_on

    lo, hi = (None, None) if interval is None else interval
    if route == "grid":
        if lo is None and hi is None:
            return "undetermined"
        pos = verdict_on((0.0 if lo is None else lo, math.inf if hi is None else hi), value).position
        if pos == "inside" and (lo is None or hi is None):
            return "undetermined"
    else:
        pos = verdict_on(interval, value).position
    if (pos == "inside" and value - EQUIVALENCE_MARGIN <= lo and hi <= value + EQUIVALENCE_MARGIN):
        return "equivalent"
    return pos


def _show(interval, route: str) -> str:
    lo, hi = interval
    f = lambda v: "-" if v is None else f"{v:.3f}"  # noqa: E731
    return f"({f(lo)}, {f(hi)}] (grid bracket)" if route == "grid" else f"[{f(lo)}, {f(hi)}] (GLM profile)"


def group_reading(summary: dict, variant: str, group: dict, value: float | None = None) -> dict:
    """The crossing reading of one (rank, aspect) group of a stored summary at its level ``p``,
    applying the extrapolation rules at read time (the stored fits stay as they are):

    - the fit the summary's rule picks (free ``nu`` when identified with a degree of freedom
      left, else ``nu = 1``) gives the size limit's interval only if it has at least one degree
      of freedom, is identified and passes its chi2 test (p >= 0.01;
      :func:`numerics.estimation.estimate.extrapolation_problem`);
    - otherwise the group falls back to the largest size's own interval (GLM profile or grid
      bracket, :func:`size_estimate`), and says so (``fallback``).

    Returns a dict with ``r``, ``aspect``, ``p``, ``position`` (``equivalent``, ``inside``,
    ``above``, ``below``, ``undetermined``), ``interval``, ``route``, ``model``, ``fit`` and
    ``free_nu`` (:func:`fit_view`), ``fallback`` (why the limit gave no interval, or None) and
    ``sentence``.

    >>> summ = {"estimands": {"E2": {"sizes": [{"m": 64, "n": 64, "r": 1, "cells": [], "fit": None,
    ...         "brackets": [{"p": 0.5, "bracket": [0.9, 1.1]}]}]}}}
    >>> g = {"r": 1, "aspect": "1:1", "p": 0.5, "fit": {"free": None, "fixed_nu1": {"model": "nu = 1",
    ...      "nu": 1.0, "nu_fixed": True, "rho_inf": 1.0, "interval": [0.99, 1.01], "se": 0.005,
    ...      "df": 2, "chi2": 10.3, "pvalue": 0.0058, "identified": True}}}
    >>> rd = group_reading(summ, "E2", g, 1.35)
    >>> rd["position"], rd["route"], rd["fallback"][:33]
    ('above', 'largest size 64x64 (grid bracket)', 'the finite-size fit (nu = 1) fail')
    """
    from numerics.estimation.estimate import MIN_EXTRAPOLATION_DF, extrapolation_problem

    value = CLAIMED_CSTAR.as_float if value is None else float(value)
    p = group["p"]
    fit = group.get("fit") or {}
    free, fixed = fit.get("free"), fit.get("fixed_nu1")
    chosen = None
    if free and unidentified_reason(free) is None and (free.get("df") or 0) >= MIN_EXTRAPOLATION_DF:
        chosen = free
    elif fixed:
        chosen = fixed
    if chosen is None:
        problem = "fewer than 2 sizes with a finite estimate: no finite-size fit"
    else:
        why = unidentified_reason(chosen) if (chosen.get("df") or 0) >= MIN_EXTRAPOLATION_DF else None
        why = why or extrapolation_problem(chosen)
        problem = None if why is None else f"the finite-size fit ({chosen['model']}) {_gives_no(why)}"
    out = {"r": group["r"], "aspect": group["aspect"], "p": p,
           "model": chosen["model"] if chosen else None,
           "fit": None if chosen is None else ({**fit_view(chosen), "identified": False,
                                                "rho_inf": None, "interval": None,
                                                "reason": problem} if problem else fit_view(chosen)),
           "free_nu": fit_view(free) if free else None}
    if problem is None:
        interval, route = list(chosen["interval"]), f"size limit rho_inf ({chosen['model']})"
        where = f"r={group['r']}, aspect {group['aspect']}: rho_inf {_show(interval, 'glm')[:-14]} ({chosen['model']})"
        out["fallback"] = None
        pos = _position(interval, "glm", value)
    else:
        sizes = [s for s in summary["estimands"][variant]["sizes"]
                 if s["r"] == group["r"] and _aspect_of(s) == group["aspect"]]
        if not sizes:
            interval, route, pos, where = None, "none", "undetermined", "no size"
        else:
            big = max(sizes, key=lambda s: (min(s["m"], s["n"]), s["m"] * s["n"]))
            est = size_estimate(big, p)
            interval = est["interval"]
            route = f"largest size {big['m']}x{big['n']} ({'GLM profile' if est['route'] == 'glm' else 'grid bracket'})"
            pos = _position(interval, est["route"], value)
            where = (f"r={group['r']}, aspect {group['aspect']}: no size limit ({problem}); fallback to "
                     f"the largest size {big['m']}x{big['n']}: {_show(interval, est['route'])}")
        out["fallback"] = problem
    side = {"above": f" ({value:g} lies above the interval: the data put it lower than {value:g})",
            "below": f" ({value:g} lies below the interval: the data put it higher than {value:g})",
            "equivalent": f" (inside {value:g} +- {EQUIVALENCE_MARGIN:g}: equivalent)",
            "inside": f" ({value:g} inside, not equivalent: consistent only)"}.get(pos, "")
    out.update(position=pos, interval=interval, route=route,
               sentence=f"{where} -> {pos}{side}")
    return out


def _gives_no(why: str) -> str:
    return ("fails its test: " + why[len("the fit fails its goodness-of-fit test: "):]
            if why.startswith("the fit fails") else "is not identified: " + why)


def _aspect_of(s: dict) -> str:
    from math import gcd

    if s.get("aspect"):
        return s["aspect"]
    g = gcd(s["m"], s["n"])  # as numerics.estimation.sweep names it
    return f"{s['m'] // g}:{s['n'] // g}"


def _variant_crossing(summary: dict, variant: str, p: float) -> tuple[str, list[dict]] | None:
    est = summary["estimands"][variant]
    groups = [fs for fs in est.get("finite_size", []) if fs["p"] == p]
    if not groups:
        return None
    readings = [group_reading(summary, variant, g) for g in groups]
    return group_status(r["position"] for r in readings), readings


def _disjoint_above(a, b) -> bool:
    """Interval ``a`` lies entirely above interval ``b`` (None ends read as unbounded)."""
    return a[0] is not None and b[1] is not None and a[0] > b[1]


def e3_constant(summary: dict, p: float) -> dict:
    """Whether the recipe's C*(p) is one constant across the record's (T, eps) variants.

    Rule: the constant is ``undefined`` when, in the record, (a) at a fixed (T, eps) the
    transition grows with size (in some (rank, aspect) group the largest size's 95% interval
    lies entirely above the smallest size's) and (b) at a fixed size and eps it falls with the
    budget (the interval at a larger T lies entirely below the one at a smaller T): there is
    then no size-independent constant at a fixed budget, and the record (a few budgets, no
    model of the T-dependence) gives no T -> infinity limit. Otherwise the per-variant crossing
    statuses are combined: ``supported`` if all are, ``contradicted`` if all are, else ``open``.

    Returns ``status``, ``reason``, ``variants`` (name, status, group positions), ``grows`` and
    ``falls`` (examples, as text).

    >>> e3_constant({"estimands": {}}, 0.5)["status"]
    'open'
    """
    names = sorted((n for n, e in summary["estimands"].items() if e["family"] == "E3"),
                   key=lambda n: (summary["estimands"][n]["params"]["eps"],
                                  summary["estimands"][n]["params"]["T"]))
    variants, grows, falls = [], [], []
    for name in names:
        got = _variant_crossing(summary, name, p)
        if got is not None:
            variants.append({"variant": name, "status": got[0],
                             "groups": [f"r={g['r']} {g['aspect']}: {g['position']}" for g in got[1]]})
        sizes = summary["estimands"][name]["sizes"]
        by_group: dict = {}
        for s in sizes:
            by_group.setdefault((s["r"], _aspect_of(s)), []).append(s)
        for (r, aspect), group in by_group.items():
            if len(group) < 2:
                continue
            group = sorted(group, key=lambda s: min(s["m"], s["n"]))
            small, big = size_estimate(group[0], p), size_estimate(group[-1], p)
            if _disjoint_above(big["interval"], small["interval"]):
                grows.append(f"{name} r={r} {aspect}: {group[0]['m']}x{group[0]['n']} "
                             f"{_show(small['interval'], small['route'])} < {group[-1]['m']}x{group[-1]['n']} "
                             f"{_show(big['interval'], big['route'])}")
    by_eps: dict = {}
    for name in names:
        prm = summary["estimands"][name]["params"]
        by_eps.setdefault(prm["eps"], []).append((prm["T"], name))
    for eps, items in by_eps.items():
        items.sort()
        for (t1, n1), (t2, n2) in zip(items, items[1:]):
            for s1 in summary["estimands"][n1]["sizes"]:
                s2 = next((x for x in summary["estimands"][n2]["sizes"] if _size_key(x) == _size_key(s1)), None)
                if s2 is None:
                    continue
                a, b = size_estimate(s1, p), size_estimate(s2, p)
                if _disjoint_above(a["interval"], b["interval"]):
                    falls.append(f"eps={eps:g} {s1['m']}x{s1['n']} r={s1['r']}: T={t1} "
                                 f"{_show(a['interval'], a['route'])} > T={t2} {_show(b['interval'], b['route'])}")
    if grows and falls:
        status = "undefined"
        reason = (f"no size-independent constant: at a fixed (T, eps) the transition grows with size "
                  f"({len(grows)} cases, e.g. {grows[0]}) and at a fixed size it falls with T "
                  f"({len(falls)} cases, e.g. {falls[0]}); no T -> infinity extrapolation is made")
    else:
        st = [v["status"] for v in variants]
        status = ("supported" if st and all(x == "supported" for x in st) else
                  "contradicted" if st and all(x == "contradicted" for x in st) else "open")
        reason = ("the per-variant crossing verdicts agree" if status != "open"
                  else "the per-variant crossing verdicts differ or are open")
    return {"status": status, "reason": reason, "variants": variants, "grows": grows, "falls": falls}


def _entry(record: CommittedSummary, family: str, variant: str, stem: str, p: float) -> dict | None:
    summary = record.summary
    est = summary["estimands"][variant]
    got = _variant_crossing(summary, variant, p)
    if got is None:
        return None
    status, readings = got
    positions = [g["position"] for g in readings]
    sizes = sorted({f"{s['m']}x{s['n']}" for s in est["sizes"]}, key=lambda t: [int(v) for v in t.split("x")])
    details = " | ".join(g["sentence"] for g in readings)
    unident = [f"r={g['r']}, aspect {g['aspect']}: free-nu fit unidentified ({g['free_nu']['reason']})"
               for g in readings if g["free_nu"] and not g["free_nu"]["identified"]]
    across = ""
    variant_status = status
    if family == "E3":
        const = e3_constant(summary, p)
        status = const["status"]
        across = (f" Across all (T, eps) of the record the verdict is {status}: {const['reason']}. "
                  f"Per variant: " + "; ".join(f"{v['variant']} {v['status']}" for v in const["variants"])
                  + f". This entry's groups and per_size rows show {variant} only (alone: {variant_status}).")
    v = CLAIMED_CSTAR.value
    lo, hi = CLAIMED_CSTAR.as_float - EQUIVALENCE_MARGIN, CLAIMED_CSTAR.as_float + EQUIVALENCE_MARGIN
    entry = measured_entry(
        f"R1.cstar.{stem}.p{p:g}.{record.run}",
        f"{CLAIMED_CSTAR.source}: {CLAIMED_CSTAR.symbol} ~ {v} (crossing reading)",
        f"Crossing reading: the transition C*({p:g}) of {family} ({_FAMILY_TEXT[family]}; variant "
        f"{variant}) is at {v} under {summary['experiment']['features']} features "
        f"[sizes {', '.join(sizes)}; {summary['trials_found']} trials; "
        f"seed {summary['experiment']['seed']}; device {record.device}]. Rule: per (rank, aspect) "
        f"group, the size limit rho_inf (a finite-size fit with >= 1 df, identified, chi2 p >= 0.01), "
        f"else the largest size's own interval, stated as a fallback; supported only by an "
        f"equivalence test (TOST, margin {EQUIVALENCE_MARGIN:g}: every group's 95% interval inside "
        f"[{lo:g}, {hi:g}]), contradicted if {v} is outside every group's interval, else open "
        f"('inside' without equivalence is only consistent); the per-size positions (per_size) "
        f"describe single sizes only. Per group: {details}"
        + (f". Not identified, so not used: {'; '.join(unident)}" if unident else "") + "." + across,
        status, f"{len(readings)} (rank, aspect) groups: {', '.join(positions)}", record)
    entry["reading"] = "crossing"
    entry["variant"] = variant
    entry["variant_status"] = variant_status
    entry["groups"] = readings
    entry["per_size"] = [{"m": row["m"], "n": row["n"], "r": row["r"],
                          "estimate": row["estimate"][f"{p:g}"], "position": row["position"][f"{p:g}"]}
                         for row in size_rows(summary, variant, [p])]
    return entry


def sufficiency_test(cells, value: float | None = None, rate: float = SUFFICIENT_RATE,
                     confidence: float = 0.95, can_contradict: bool = True) -> dict:
    """The sufficiency reading: does every ``rho >= value`` give success with probability at
    least ``rate``? A one-sided test on the cells at and above ``value``, with exact
    (Clopper-Pearson) one-sided bounds:

    - ``supported`` if every such cell's one-sided ``confidence`` lower bound is ``>= rate``
      (an intersection-union test: level ``1 - confidence`` with no multiplicity correction);
    - ``contradicted`` if some cell's one-sided upper bound at level ``confidence`` with a
      Bonferroni correction over the k cells tested (``1 - (1 - confidence) / k``) is below
      ``rate`` (never when ``can_contradict`` is False: a lower-bound estimand such as E1 cannot
      contradict);
    - else ``open`` (also with no cell at or above ``value``).

    ``cells``: dicts with ``rho``, ``successes``, ``trials`` (and optionally ``m``, ``n``,
    ``r`` for the text). Returns ``status``, ``tested`` (cells), ``weakest`` (the cell with the
    smallest lower bound) and ``detail``.

    >>> cells = [{"rho": 1.4, "successes": 200, "trials": 200}, {"rho": 1.2, "successes": 3, "trials": 200}]
    >>> sufficiency_test(cells, 1.35)["status"]      # the cell below 1.35 is not tested
    'supported'
    >>> sufficiency_test(cells + [{"rho": 1.5, "successes": 195, "trials": 200}], 1.35)["status"]
    'open'
    >>> sufficiency_test(cells + [{"rho": 1.5, "successes": 150, "trials": 200}], 1.35)["status"]
    'contradicted'
    """
    from numerics.estimation.estimate import clopper_pearson_bound

    value = CLAIMED_CSTAR.as_float if value is None else float(value)
    tested = [dict(c) for c in cells if c.get("trials") and c["rho"] >= value]
    k = len(tested)
    if not k:
        return {"status": "open", "tested": 0, "weakest": None,
                "detail": f"no cell with trials at rho >= {value:g}"}
    upper_conf = 1.0 - (1.0 - confidence) / k
    for c in tested:
        c["lower"] = clopper_pearson_bound(c["successes"], c["trials"], "lower", confidence)
        c["upper"] = clopper_pearson_bound(c["successes"], c["trials"], "upper", upper_conf)
    weakest = min(tested, key=lambda c: c["lower"])
    failing = [c for c in tested if c["upper"] < rate]
    name = lambda c: (f"{c['m']}x{c['n']} r={c['r']} " if "m" in c else "") + f"rho={c['rho']:.3f}"  # noqa: E731
    if all(c["lower"] >= rate for c in tested):
        status = "supported"
    elif failing and can_contradict:
        status = "contradicted"
    else:
        status = "open"
    below = sum(c["lower"] < rate for c in tested)
    detail = (f"{k} cells at rho >= {value:g}; {k - below} with a one-sided {100 * confidence:g}% "
              f"Clopper-Pearson lower bound >= {rate:g}; weakest {name(weakest)}: "
              f"{weakest['successes']}/{weakest['trials']} (lower bound {weakest['lower']:.4f})")
    if failing:
        worst = min(failing, key=lambda c: c["upper"])
        detail += (f"; {len(failing)} cells with a Bonferroni upper bound (level "
                   f"{100 * upper_conf:.4g}%) below {rate:g}, e.g. {name(worst)}: "
                   f"{worst['successes']}/{worst['trials']} (upper bound {worst['upper']:.4f})")
        if not can_contradict:
            detail += " (not evidence against: this estimand is a lower bound)"
    return {"status": status, "tested": k, "weakest": {key: weakest[key] for key in weakest}, "detail": detail}


def _cells_of(summary: dict, variant: str) -> list[dict]:
    return [{"m": s["m"], "n": s["n"], "r": s["r"], "rho": c["rho"], "successes": c["successes"],
             "trials": c["trials"]} for s in summary["estimands"][variant]["sizes"] for c in s["cells"]]


def sufficiency_entries(record: CommittedSummary) -> list[dict]:
    """The sufficiency entries of one committed C* summary: ``R1.cstar.sufficiency.E1`` (the
    headline E1 variant, most restarts: a lower bound on p_exist, so it can support existence,
    never contradict it), ``...E2`` and one ``...E3.T<T>.eps<eps>`` per (T, eps) variant of the
    recipe (each budget is its own recipe; one entry each, so no budget is picked for the
    others), all followed by ``.<run>``. Rule: :func:`sufficiency_test`.

    >>> r = CommittedSummary(Path("x/run/summary.json"), {"estimands": {}}, "x", "cpu", 0.0)
    >>> sufficiency_entries(r)
    []
    """
    summary = record.summary
    out = []
    todo = []
    for family in ("E1", "E2"):
        head = headline_variant(summary, family)
        if head is not None:
            todo.append((family, head, f"R1.cstar.sufficiency.{family}.{record.run}"))
    e3 = sorted((n for n, e in summary["estimands"].items() if e["family"] == "E3"),
                key=lambda n: (summary["estimands"][n]["params"]["T"], -summary["estimands"][n]["params"]["eps"]))
    for name in e3:
        prm = summary["estimands"][name]["params"]
        todo.append(("E3", name, f"R1.cstar.sufficiency.E3.T{prm['T']}.eps{prm['eps']:g}.{record.run}"))
    v = CLAIMED_CSTAR.value
    for family, variant, entry_id in todo:
        test = sufficiency_test(_cells_of(summary, variant), can_contradict=family != "E1")
        sizes = len(summary["estimands"][variant]["sizes"])
        meaning = {"E1": "a rank-r interpolant exists (E1 is a lower bound on p_exist: a high E1 "
                         "rate supports the sufficiency of existence; a low one says nothing against it)",
                   "E2": "one LM run from one random start reaches a global minimiser",
                   "E3": f"the LoRA recipe with this budget and tolerance ({variant}) interpolates"}[family]
        entry = measured_entry(
            entry_id,
            f"{CLAIMED_CSTAR.source}: {CLAIMED_CSTAR.symbol} ~ {v}, read as a sufficient condition "
            f"r(m+n-r) > {CLAIMED_CSTAR.symbol} K N (sufficiency reading)",
            f"Sufficiency reading (not where the transition is): every rho = r(m+n-r)/(KN) >= {v} gives "
            f"success with probability >= {SUFFICIENT_RATE:g}, success meaning: {meaning} "
            f"[{sizes} (size, rank) pairs of {record.run}; {summary['experiment']['features']} features; "
            f"seed {summary['experiment']['seed']}; device {record.device}]. Rule: one-sided test on "
            f"every cell at rho >= {v}: supported if every cell's one-sided 95% Clopper-Pearson lower "
            f"bound is >= {SUFFICIENT_RATE:g} (intersection-union test), contradicted if some cell's "
            f"one-sided upper bound (95%, Bonferroni over the cells) is < {SUFFICIENT_RATE:g}"
            + (" (not possible for E1)" if family == "E1" else "") + ", else open. A conservative "
            f"sufficient constant is not a wrong one: this says nothing on where the transition is. "
            f"Result: {test['detail']}.",
            test["status"], test["detail"], record)
        entry["reading"] = "sufficiency"
        entry["variant"] = variant
        entry["cells_tested"] = test["tested"]
        out.append(entry)
    return out


def cstar_entries(record: CommittedSummary) -> list[dict]:
    """The entries of one committed C* summary: the crossing entries per reported variant
    (:func:`reported_variants`) and level p, then the sufficiency entries
    (:func:`sufficiency_entries`)."""
    entries = []
    for family, variant, stem in reported_variants(record.summary):
        for p in record.summary["method"]["p_levels"]:
            entry = _entry(record, family, variant, stem, p)
            if entry is not None:
                entries.append(entry)
    return entries + sufficiency_entries(record)


def ledger_entries(results_dir) -> list[dict]:
    """One entry per committed C* summary, reported variant and level p, then the E4 entries
    (:func:`separability_entries`)."""
    entries = []
    for record in committed_summaries(results_dir, "cstar"):
        entries += cstar_entries(record)
    return entries + separability_entries(results_dir)


# --------------------------------------------------------------------------------------------
# R2: separability (E4) and "PL removes the rank threshold" for cross-entropy.
#
# Read from results/separability/*/summary.json (written by `lorank separability`): the sweep
# summary of numerics.estimation.sweep.summarise with estimand "logistic", plus the keys "canonical" (direct
# certificates at canonical few-shot sizes) and "references".


def warren_count_bound(N: int, p: int):
    """Upper bound on ``p_sep`` from counting sign patterns: ``min(1, (8 e N / p)^p / 2^N)``.

    Warren (1968): ``N >= p`` polynomials of degree ``D`` in ``p`` variables have at most
    ``(4 e D N / p)^p`` strict sign patterns. The margins ``<G_i, B A>`` are ``N`` quadratics in
    the ``p = r (m + n)`` entries of ``(B, A)``; fair labels independent of ``G`` hit one of
    them with probability at most that count over ``2^N``. Computed with mpmath (50 digits).

    >>> float(warren_count_bound(1000, 16)) < 1e-200, warren_count_bound(10, 16)
    (True, 1)
    """
    import mpmath

    if N < p:
        return 1
    with mpmath.workdps(50):
        value = (8 * mpmath.e * N / p) ** p / mpmath.mpf(2) ** N
        return 1 if value >= 1 else value


def warren_min_examples(p: int, q: float = 0.5) -> int:
    """The least ``N`` with :func:`warren_count_bound` ``<= q``: from there on, at most a
    fraction ``q`` of label vectors is separable by any rank-r update (proved, not sampled).

    >>> warren_min_examples(16)
    119
    >>> import math   # the same by float logs: log((8 e N / p)^p / 2^N) <= log(1/2) first at 119
    >>> [16 * math.log(8 * math.e * N / 16) - N * math.log(2) <= math.log(0.5) for N in (118, 119)]
    [False, True]
    """
    lo, hi = p, 2 * p
    while warren_count_bound(hi, p) > q:
        lo, hi = hi, 2 * hi
    while hi - lo > 1:  # the bound decreases in N on [p, inf) once below 1 (N >= p / ln 2)
        mid = (lo + hi) // 2
        if warren_count_bound(mid, p) <= q:
            hi = mid
        else:
            lo = mid
    return hi


def e4_headline(summary: dict) -> str | None:
    names = [(name, e["params"]) for name, e in summary["estimands"].items()
             if e.get("family") == "E4" and e["params"].get("T") == summary["experiment"]["max_iters"]]
    return max(names, key=lambda x: x[1]["k"])[0] if names else None


def _fmt_interval(lo, hi) -> str:
    f = lambda v: "-" if v is None else f"{v:.3f}"  # noqa: E731
    return f"[{f(lo)}, {f(hi)}]"


def separability_transitions(summary: dict, p: float = 0.5) -> list[dict]:
    """Per size of the headline E4 variant: the GLM ``C_sep(p)`` with its profile interval and
    the grid bracket.

    >>> separability_transitions({"estimands": {}, "experiment": {"max_iters": 1}})
    []
    """
    name = e4_headline(summary)
    if name is None:
        return []
    out = []
    for s in summary["estimands"][name]["sizes"]:
        fit = s.get("fit") or {}
        pt = next((q for q in fit.get("points") or [] if q["p"] == p), None)
        br = next((b["bracket"] for b in s.get("brackets", []) if b["p"] == p), [None, None])
        usable = pt is not None and not fit.get("degenerate") and pt.get("rho") is not None
        vd = next((v for v in s.get("verdicts", []) if v["p"] == p), {})
        out.append({"m": s["m"], "n": s["n"], "r": s["r"], "p": p,
                    "glm": pt["rho"] if usable else None,
                    "profile": (pt.get("profile") if usable else None) or [None, None],
                    "bracket": br, "interval_route": vd.get("interval_route")})
    return out


def _capacity_shown(summary: dict) -> tuple[bool, list[str]]:
    """Whether every size has a cell below the interpolation count (``rho < 1``) where E4
    certifies a separator for at least half of the instances (Wilson lower bound ``>= 1/2``):
    rank-r separators of random labels exist at more examples than rank-r interpolants. E4's
    certificates are proofs of existence, so this direction is sound."""
    name = e4_headline(summary)
    shown, notes = True, []
    for s in summary["estimands"][name]["sizes"]:
        good = [c for c in s["cells"] if c.get("trials") and c["rho"] < 1
                and c["wilson"][0] is not None and c["wilson"][0] >= 0.5]
        if good:
            c = min(good, key=lambda c: c["rho"])
            notes.append(f"{s['m']}x{s['n']} r={s['r']}: {c['successes']}/{c['trials']} certified "
                         f"at rho={c['rho']:.3f}")
        else:
            shown = False
            notes.append(f"{s['m']}x{s['n']} r={s['r']}: no cell below rho = 1 with p_sep >= 1/2 "
                         "certified")
    return shown, notes


#: Sources of the separability entries: Cover's 1/2 is our heuristic, not the paper's claim.
COVER_SOURCE = ("THEORY.md R2: Cover's count (Cover 1965) for a linear class of dimension "
                "d = r(m+n-r), rho = 1/2 (our heuristic reference, not a claim of the paper)")
SCOPE_SOURCE = ("Rethinking the Rank Threshold (2026), R2: 'in the cross-entropy setting the PL "
                "inequality removes the rank threshold entirely': the scope of its hypothesis")
BUDGET_SOURCE = "lorank's E4 solver (damped Gauss-Newton with restarts): its budget dependence"


def _cover_status(positions) -> tuple[str, str]:
    """Cover's 1/2 against C_sep(0.5) of E4, whose transition is an *upper* bound on the true
    one (E4 is a lower bound on p_sep): ``contradicted`` if 1/2 lies above the interval in every
    group (then the true transition is below 1/2 too: sound whatever the solver misses);
    otherwise ``open`` -- an interval at or above 1/2 bounds the true transition only from
    above, so neither "equal" nor "above 1/2" can be concluded from it.

    >>> _cover_status(["above", "above"])[0], _cover_status(["equivalent"])[0], _cover_status([])[0]
    ('contradicted', 'open', 'open')
    """
    positions = list(positions)
    if positions and all(x == "above" for x in positions):
        return "contradicted", "1/2 lies above the 95% interval of every group"
    if not positions:
        return "open", "no (rank, aspect) group"
    return "open", ("some group's interval reaches 1/2 or above: E4's C_sep bounds the true "
                    "transition only from above, so this cannot support 1/2")


def _trend_points(summary: dict, axis: str, p: float = 0.5) -> dict:
    """``{(m, n, r): [(x, rho, profile), ...]}`` of the summary's trend along ``axis``
    (``"restarts k"`` or ``"budget T"``), sorted by ``x``."""
    out = {}
    for tr in summary.get("trends") or []:
        if tr.get("axis") == axis and tr.get("p") == p:
            pts = sorted(((q["x"], q.get("rho"), q.get("profile")) for q in tr["points"]),
                         key=lambda q: q[0])
            out[(tr["m"], tr["n"], tr["r"])] = pts
    return out


def _last_doubling(points) -> dict | None:
    """The move of C_sep from the setting ``x_last / 2`` (or the nearest below it) to
    ``x_last``, against the half-width of the final 95% profile interval; ``None`` when the
    trend has fewer than two settings.

    >>> d = _last_doubling([(1, 0.34, [0.33, 0.35]), (2, 0.33, [0.32, 0.34]), (4, 0.329, [0.327, 0.331])])
    >>> (d["from"], d["to"], round(d["move"], 4), round(d["half_width"], 4), d["settled"])
    (2, 4, 0.001, 0.002, True)
    """
    if len(points) < 2:
        return None
    x_last, rho_last, prof_last = points[-1]
    earlier = [q for q in points[:-1] if q[0] <= x_last / 2] or [points[-2]]
    x0, rho0, _ = earlier[-1]
    if rho_last is None or rho0 is None or not prof_last or None in prof_last:
        return {"from": x0, "to": x_last, "move": None, "half_width": None, "settled": None}
    move = rho0 - rho_last
    half = (prof_last[1] - prof_last[0]) / 2
    return {"from": x0, "to": x_last, "move": move, "half_width": half,
            "settled": abs(move) < half}


def budget_convergence(summary: dict, p: float = 0.5) -> tuple[str, list[str]]:
    """Whether E4's ``C_sep(p)`` has stopped moving with the solver's budget, per size: the last
    doubling of the iteration budget T and of the number of starts k must each move it by less
    than the 95% profile half-width of the final estimate (the statistical resolution of the
    record). ``supported`` if every size has settled on both axes, ``contradicted`` if some
    size still moves on some axis, ``open`` if some move cannot be measured (a degenerate or
    missing fit) and none is seen to move.

    >>> s = {"trends": [{"axis": "restarts k", "p": 0.5, "m": 8, "n": 8, "r": 1, "points": [
    ...     {"x": 1, "rho": 0.36, "profile": [0.35, 0.37]}, {"x": 2, "rho": 0.35, "profile": [0.345, 0.355]}]},
    ...     {"axis": "budget T", "p": 0.5, "m": 8, "n": 8, "r": 1, "points": [
    ...     {"x": 50, "rho": 0.351, "profile": [0.34, 0.36]}, {"x": 100, "rho": 0.35, "profile": [0.345, 0.355]}]}]}
    >>> budget_convergence(s)[0]
    'contradicted'
    """
    by_k, by_t = _trend_points(summary, "restarts k", p), _trend_points(summary, "budget T", p)
    states, notes = [], []
    for key in sorted(set(by_k) | set(by_t)):
        parts, state = [], "settled"
        for label, pts in (("k", by_k.get(key, [])), ("T", by_t.get(key, []))):
            d = _last_doubling(pts)
            shown = [q for q in pts if q[0] & (q[0] - 1) == 0 or q is pts[-1]] if label == "k" else pts
            trend = ", ".join(f"{label}={x}: " + ("-" if rho is None else f"{rho:.3f}")
                              for x, rho, _ in shown)
            if d is None or d["settled"] is None:
                state = "moving" if state == "moving" else "undetermined"
                parts.append(f"{trend} (last move not measurable)")
                continue
            if not d["settled"]:
                state = "moving"
            parts.append(f"{trend} (move {label}={d['from']}->{d['to']}: {d['move']:+.4f}, "
                         f"half-width {d['half_width']:.4f}: "
                         f"{'settled' if d['settled'] else 'still moving'})")
        states.append(state)
        notes.append(f"{key[0]}x{key[1]} r={key[2]}: {state}; " + "; ".join(parts))
    if not states:
        return "open", ["no budget or restart trend in the record"]
    if all(s == "settled" for s in states):
        return "supported", notes
    if any(s == "moving" for s in states):
        return "contradicted", notes
    return "open", notes


def separability_entries(results_dir) -> list[dict]:
    """Ledger entries ``R2.E4-transition.<run>`` (our heuristic), ``R2.separability-scope.<run>``
    (the scope of the paper's PL claim) and ``R2.E4-solver-budget.<run>`` (a check of our
    method).

    Rules. E4-transition: Cover's ``rho = 1/2`` (our heuristic, THEORY.md) against the 95%
    interval of ``C_sep(0.5)`` per (rank, aspect) group (finite-size ``rho_inf``, or the largest
    size's grid bracket), read as an upper bound (:func:`_cover_status`).
    separability-scope: the paper's "PL removes the rank threshold entirely" needs labels that
    a rank-r update separates; its reading "for any labels at every N" is not the paper's
    claim (no finite-parameter class, full-rank updates included, separates arbitrary labels
    beyond its capacity) and is not tested as one. The entry measures the hypothesis's reach
    for fair random labels: ``supported`` if E4 certifies separators for at least half the
    instances at some rho < 1 at every size (certificates: sound) -- the cross-entropy
    threshold lies below squared loss's rho = 1 -- with the Warren count (proved) bounding it
    from the other side; ``open`` otherwise. The optimisation claim itself is
    ``R2.xent-recipe.*``. E4-solver-budget: :func:`budget_convergence`.

    >>> separability_entries("/nonexistent")
    []
    """
    entries = []
    for record in committed_summaries(results_dir, "separability"):
        summary, run = record.summary, record.run
        name = e4_headline(summary)
        if name is None:
            continue
        est = summary["estimands"][name]
        params = est.get("params") or {}
        where = (f"[{summary['trials_found']} trials; seed {summary['experiment']['seed']}; "
                 f"device {record.device}; variant {name}: the record's largest solver budget, "
                 f"{params.get('k')} starts x {params.get('T')} iterations]")
        groups = [fs for fs in est.get("finite_size", []) if fs["p"] == 0.5]
        positions = [g["verdict"]["position"] for g in groups]
        status, why = _cover_status(positions)
        per_size = "; ".join(
            f"{t['m']}x{t['n']} r={t['r']}: "
            + (f"{t['glm']:.3f} {_fmt_interval(*t['profile'])}" if t["glm"] is not None else "GLM -")
            + f", bracket {_fmt_interval(*t['bracket'])}"
            for t in separability_transitions(summary, 0.5))
        entries.append(measured_entry(
            f"R2.E4-transition.{run}", COVER_SOURCE,
            f"Our heuristic: the separability transition of fair +-1 labels by a rank-r update "
            f"sits at Cover's rho = 1/2. Tested with C_sep(0.5) of E4 (Gaussian features, a "
            f"rank-r separator found by Gauss-Newton on the logistic loss and certified in "
            f"float64; E4 is a lower bound on p_sep, so C_sep is an upper bound on the "
            f"transition and only '1/2 lies above it' is conclusive) {where}. C_sep(0.5) per "
            f"size (GLM, 95% profile; grid bracket): {per_size}. Per group: "
            + " | ".join(g["verdict"]["sentence"] for g in groups) + f". Rule: {why}.",
            status, f"{len(groups)} (rank, aspect) groups: {', '.join(positions)}", record,
            claim_kind="our heuristic"))
        shown, notes = _capacity_shown(summary)
        canon = summary.get("canonical") or []
        canon_text = "; ".join(
            f"{c['m']}x{c['n']} r={c['r']} N={c['N']} (rho={c['rho']:.1f}, r max(m,n) >= N: "
            f"{c['sufficient']}): {c['certified']}/{c['trials']} certified in {c['dtype']}"
            for c in canon) or "none recorded"
        warren = []
        for (m, n, r) in sorted({(s["m"], s["n"], s["r"]) for s in est["sizes"]} | {(768, 768, 1)}):
            Nw = warren_min_examples(r * (m + n))
            warren.append(f"{m}x{n} r={r}: N >= {Nw} (rho <= {r * (m + n - r) / Nw:.3f})")
        routes = [{"name": "monte-carlo", "answer": True if shown else None,
                   "detail": "every size has a cell at rho < 1 with p_sep >= 1/2 certified" if shown
                   else "some size has no cell at rho < 1 with p_sep >= 1/2 certified",
                   "seconds": record.wall_s},
                  {"name": "warren-count", "answer": True,
                   "detail": "proved: p_sep <= 1/2 beyond the N listed", "seconds": 0.0}]
        entries.append(measured_entry(
            f"R2.separability-scope.{run}", SCOPE_SOURCE,
            f"Scope of the claim: cross-entropy training can drive the loss to 0 only on labels "
            f"that some rank-r update separates, so the claim is read as conditional on a "
            f"separator and tested as an optimisation claim in R2.xent-recipe.*; its reading "
            f"'for any labels at every N' is not the paper's and is not tested as a claim here "
            f"(no finite-parameter class, full-rank updates included, separates arbitrary labels "
            f"beyond its capacity). For fair random labels the hypothesis holds well below the "
            f"interpolation count rho = 1 of squared loss: E4 certifies separators for at least "
            f"half the instances at {'; '.join(notes)} {where}; and it fails for most label "
            f"vectors beyond the Warren count (proved: at most half are separable once "
            + "; ".join(warren) + f"). Certified at the canonical few-shot size (r max(m, n) >= N "
            f"makes a separator exist, proved): {canon_text}.",
            "supported" if shown else "open", routes[0]["detail"], record, routes=routes,
            claim_kind="scope"))
        b_status, b_notes = budget_convergence(summary)
        entries.append(measured_entry(
            f"R2.E4-solver-budget.{run}", BUDGET_SOURCE,
            f"C_sep(0.5) of E4 has stopped moving with the solver's budget: the last doubling of "
            f"the Gauss-Newton iterations T (truncations of the same runs) and of the starts k "
            f"each move it by less than the 95% profile half-width of the final estimate, at "
            f"every size {where}. Where it still moves, the record's C_sep is an upper bound "
            f"that more budget would lower, not the capacity. Per size: " + " | ".join(b_notes),
            b_status, f"{len(b_notes)} sizes", record, claim_kind="method check"))
    return entries
