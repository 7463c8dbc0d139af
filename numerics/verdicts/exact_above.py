"""Ledger verdicts of exact existence just above the dimension count (issue 16, item 5),
torch-free.

:mod:`numerics.experiments.exact_above` measures; this module turns a summary into statuses by
the rules below (fixed, with their thresholds, before the committed run was made) and committed
``results/exact-above/*/summary.json`` into ledger entries ``E0-ABOVE.<claim>.<run>``. Counts
of P(exists) are among *certified* instances; uncertified ones are reported, never counted.

What every entry assumes (the argument of :mod:`numerics.engine.homotopy_critical`): generic
Gaussian data, so ``y`` is a regular value and a non-empty real solution set has a point nearest
``theta0`` that is a real critical point; real solutions of rank ``< r`` are excluded by ``M >
(r-1)(m+n-r+1)`` (exact: EXA.lower-rank-excluded) and those outside the chart form a set of
lower dimension. What is machine-checked per instance: the alpha tests (float64) of the ``N``
endpoints, their distinctness and their real/non-real classes. What rests on numerics: the
critical count ``N`` of a cell (monodromy; recounted by a multihomogeneous and, where ``D + M
<= 15``, a total-degree homotopy: ``results/exact-above/second-route/``); a "no real
solution" decision needs all ``N``, an "exists" decision only its certified real critical point.

``certified`` (method check: the decision covers the instances it is run on)
    *supported* if every cell certifies at least :data:`CERTIFIED_BAR` of its instances; *open*
    otherwise (the uncertified ones are excluded, which may bias P(exists)).
``e1-found-has-critical-point`` (method check, falsifiable: every instance where E1 certified an
interpolant, a real solution, must have a certified real critical point)
    *supported* if no such instance lacks one (over all trials with an E1 success, certified or
    not) and there is at least one; *contradicted* otherwise (the argument or the certificate
    failed).
``e1-below-exact`` (method check: E1 is a lower bound)
    *supported* if no certified instance without a real solution has an E1 success at any k;
    *contradicted* otherwise.
``e1-shortfall`` (method check: E1's budget against the exact answer, "E1 never misses what
exists")
    At the largest k run, per cell, the fraction of certified instances where a real solution
    exists but E1[k] found none, with its Wilson interval. *supported* if every cell's upper
    end is below :data:`SHORTFALL_BOUND` (5%); *contradicted* if one cell's lower end is above;
    *open* otherwise.
``exists-above-dimension-count`` (our heuristic: the headline "the existence threshold sits at
rho = 1", read as: just above rho = 1 a real solution exists on most instances; a measurement,
not a claim of a paper)
    Per cell, P(exists | rho) with its Wilson 95% interval. *supported* if every cell's interval
    lies above :data:`TYPICAL` (1/2); *contradicted* if one lies below; *open* otherwise. The
    sentence lists the cells where P(exists) is certainly below 1 (rho above 1 not sufficient
    there) and those where every certified instance has a real solution.

Examples
--------
>>> shortfall_status([0.0, 0.03]), shortfall_status([0.06, 0.1]), shortfall_status(None)
('supported', 'contradicted', 'open')
>>> ledger_entries("/nonexistent")
[]
"""

from __future__ import annotations

from numerics.verdicts.capacity import claim_entries, device_only
from numerics.verdicts.exact_existence import (CERTIFIED_BAR, SHORTFALL_BOUND, TYPICAL,
                                               shortfall_status)

__all__ = ["SUMMARY_FORMAT", "SOURCE", "METHOD_SOURCE", "CERTIFIED_BAR", "SHORTFALL_BOUND",
           "TYPICAL", "shortfall_status", "claim_verdicts", "ledger_entries", "existence_curves"]

SUMMARY_FORMAT = "lorank.exact-above-summary/1"
SOURCE = ("THEORY.md section 2 (E0 exact existence at the dimension count), read just above it; "
          "issue 16 item 5")
METHOD_SOURCE = ("lorank's exact-above decision (numerics/engine/homotopy_critical.py: "
                 "alpha-certified critical points of the distance)")
# The thresholds and the shortfall rule are E0's (numerics/verdicts/exact_existence.py), fixed
# there before any run: CERTIFIED_BAR (each cell certifies more than 99%), SHORTFALL_BOUND (5% of
# the instances where a real solution exists missed by E1 at its full budget), TYPICAL (1/2,
# "most instances").


def _w(x):
    return "-" if x is None else f"[{x[0]:.3f}, {x[1]:.3f}]"


def _name(c):
    return f"{c['m']}x{c['n']} r={c['r']} M={c['M']} (rho {c['rho']:.3f}, N {c['critical_points']})"


def _where(s: dict) -> str:
    c = s["config"]
    return (f"{c['trials']} Gaussian instances per cell, deficits d = "
            f"{','.join(str(d) for d in c['deficits'])}, seed {c['seed']}, E1 with "
            f"{c['restarts']} LM restarts of {c['max_iters']} iterations on the same instances; "
            "assumes generic data (regular value; rank < r excluded exactly; solutions outside "
            "the chart of lower dimension)")


def claim_verdicts(summary: dict) -> list[dict]:
    """Every claim's status, kind, source and sentence, from a summary (rules of the module
    docstring)."""
    s = summary
    where = _where(s)
    cells = [c for c in s["cells"] if c["trials"]]
    if not cells:
        return []
    out = []
    rates = [(c, c["certified"] / c["trials"]) for c in cells]
    under = [c for c, x in rates if x < CERTIFIED_BAR]
    out.append({
        "claim": "certified", "kind": "method check", "source": METHOD_SOURCE,
        "status": "open" if under else "supported",
        "text": (f"the critical-point decision certifies at least {CERTIFIED_BAR:.0%} of the "
                 "instances of every cell: "
                 + "; ".join(f"{_name(c)}: {c['certified']}/{c['trials']}" for c, _ in rates)
                 + f"; {where}"),
        "detail": (f"{len(under)} cells below {CERTIFIED_BAR:.0%}" if under else
                   f"{sum(c['certified'] for c in cells)} of {sum(c['trials'] for c in cells)} "
                   "instances certified")})
    found = sum(c["e1_found"] for c in cells)
    lacking = sum(c["e1_found_without_real_critical_point"] for c in cells)
    out.append({
        "claim": "e1-found-has-critical-point", "kind": "method check", "source": METHOD_SOURCE,
        "status": "contradicted" if lacking else ("supported" if found else "open"),
        "text": ("every instance where E1 certified an interpolant (a real solution) has a "
                 f"certified real critical point of the distance: {found} instances with an E1 "
                 f"success, {lacking} without a certified real critical point; {where}"),
        "detail": f"{lacking} of {found} lacking"})
    with_t = [c for c in cells if c["certified"]]
    top = str(s["config"]["restarts"])
    contra = sum(c["e1"][top]["contradictions"] for c in with_t)
    out.append({
        "claim": "e1-below-exact", "kind": "method check", "source": METHOD_SOURCE,
        "status": "contradicted" if contra else ("supported" if with_t else "open"),
        "text": (f"E1 (k <= {top} restarts) never certifies an interpolant on an instance "
                 f"certified to have no real solution: {contra} such instances; {where}"),
        "detail": f"{contra} contradictions"})
    per, statuses = [], []
    for c in with_t:
        x = c["e1"][top]
        statuses.append(shortfall_status(x["shortfall_wilson"]))
        ks = [k for k in ("1", "2", "4", "8") if k in c["e1"]]
        per.append(f"{_name(c)}: E1[{top}] misses {x['missed']} of {c['certified']} "
                   f"{_w(x['shortfall_wilson'])} (shortfall at k = {','.join(ks)}: "
                   + ", ".join(f"{c['e1'][k]['shortfall']:.3f}" for k in ks) + ")")
    status = ("contradicted" if "contradicted" in statuses else
              "supported" if statuses and all(x == "supported" for x in statuses) else "open")
    out.append({
        "claim": "e1-shortfall", "kind": "method check", "source": METHOD_SOURCE,
        "status": status,
        "text": (f"just above rho = 1, E1 with {top} restarts misses a real solution that exists "
                 f"on less than {SHORTFALL_BOUND:.0%} of the instances of every cell (missed / "
                 "certified, Wilson 95%): " + "; ".join(per) + f"; {where}"),
        "detail": f"{statuses.count('supported')} cells below, {statuses.count('contradicted')} "
                  f"above {SHORTFALL_BOUND:.0%}"})
    low = [c for c in with_t if c["exists"]["wilson"][1] < TYPICAL]
    high = [c for c in with_t if c["exists"]["wilson"][0] > TYPICAL]
    short = [c for c in with_t if c["exists"]["successes"] < c["exists"]["trials"]]
    full = [c for c in with_t if c["exists"]["successes"] == c["exists"]["trials"]]
    table = "; ".join(f"{_name(c)}: {c['exists']['successes']}/{c['exists']['trials']} "
                      f"{_w(c['exists']['wilson'])}" for c in with_t)
    out.append({
        "claim": "exists-above-dimension-count", "kind": "our heuristic", "source": SOURCE,
        "status": ("contradicted" if low else "supported" if with_t and len(high) == len(with_t)
                   else "open"),
        "text": (f"just above rho = 1 a real rank-<= r solution exists on most instances "
                 f"(P(exists) > {TYPICAL:g} with its Wilson 95% interval, in every cell): {table}"
                 + (f"; an instance without one in {', '.join(_name(c) for c in short)}"
                    if short else "")
                 + (f"; every certified instance has one in {len(full)} cells" if full else "")
                 + f"; {where}"),
        "detail": f"{len(high)} of {len(with_t)} cells above {TYPICAL:g}, {len(low)} below"})
    return out


def ledger_entries(results_dir) -> list[dict]:
    """One entry ``E0-ABOVE.<claim>.<run>`` per claim of every committed
    ``results_dir/exact-above/*/summary.json``, statuses re-derived from the stored numbers.

    >>> ledger_entries("/nonexistent")
    []
    """
    return claim_entries(results_dir, "exact-above", SUMMARY_FORMAT, "E0-ABOVE", claim_verdicts, tail=device_only)


E0_CERTIFICATE = "charts+union/2"   # numerics.experiments.exact_existence.CERTIFICATE (torch-free copy)


def existence_curves(results_dir) -> dict:
    """P(a real solution exists) against rho per size, from rho = 1 to just above it: for every
    size (m, n, r) of a committed exact-above summary that a committed E0 summary (certificate
    :data:`E0_CERTIFICATE`, the current one; of those, the cell with the most certified
    instances, ties to the first run by name) also has, the points ``(rho, successes, trials,
    wilson, record)`` sorted by rho, rho = 1 from E0 and the rest from exact-above (one point per
    deficit d; a cell run twice gives two points at one rho). Different instances at each rho:
    E0's cells have M = r(m+n-r) conditions, exact-above's M - d. Counts are among certified
    instances; cells without any are left out.

    >>> existence_curves("/nonexistent")
    {}
    """
    import json
    from pathlib import Path

    root = Path(results_dir)
    e0 = {}
    for path in sorted(root.glob("exact-existence/*/summary.json")):
        s = json.loads(path.read_text())
        if (s.get("certificate") or {}).get("version") != E0_CERTIFICATE:
            continue
        for c in s["cells"]:
            key, a = (c["m"], c["n"], c["r"]), c["e0"]
            if a["trials"] and (key not in e0 or a["trials"] > e0[key][2]):
                e0[key] = (1.0, a["successes"], a["trials"], tuple(a["wilson"]),
                           f"exact-existence/{path.parent.name}")
    curves = {}
    for path in sorted(root.glob("exact-above/*/summary.json")):
        for c in json.loads(path.read_text())["cells"]:
            key, b = (c["m"], c["n"], c["r"]), c["exists"]
            if key in e0 and b["trials"]:
                curves.setdefault(key, [e0[key]]).append(
                    (c["rho"], b["successes"], b["trials"], tuple(b["wilson"]),
                     f"exact-above/{path.parent.name}"))
    return {key: sorted(pts) for key, pts in sorted(curves.items())}
