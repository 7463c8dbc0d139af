"""Ledger verdicts of E0, certified real existence at rho = 1 (issue 16), torch-free.

:mod:`numerics.experiments.exact_existence` measures; this module turns a summary into statuses
by the rules below (fixed, with their thresholds, before the committed run was made) and
committed ``results/exact-existence/*/summary.json`` into ledger entries ``E0.<claim>.<run>``.
Every count is among *certified* instances; uncertified ones are reported, never counted.

``odd-degree-exists`` (method check: a measured check of the exact statement
EX.parity-odd-degree)
    In every cell of odd degree, every certified instance has a real solution. *supported* if
    so and at least one odd-degree instance was certified; *contradicted* if one certified
    odd-degree instance has none (then the certificate or the statement's genericity
    assumption failed); *open* with no certified odd-degree instance.
``exists-at-dimension-count`` (our heuristic: the headline "the existence threshold sits at
rho = 1", read as: at rho = 1 a real solution exists on most instances)
    Per cell, P(exists | rho = 1) with its Wilson 95% interval. *supported* if every cell's
    interval lies above :data:`TYPICAL` (1/2); *contradicted* if one cell's lies below; *open*
    otherwise. P(exists) < 1 in an even-degree cell says that rho = 1 is not yet sufficient
    there (the sentence quotes those cells).
``certified`` (method check: E0 decides the instances it is run on)
    *supported* if every cell certifies at least :data:`CERTIFIED_BAR` of its instances;
    *open* otherwise (the uncertified ones are excluded, which may bias P(exists)).
``e1-below-e0`` (method check: E1 is a lower bound)
    *supported* if no certified instance without a real solution has an E1 success at any k
    (E1's certificate and E0's agree); *contradicted* otherwise.
``e1-shortfall`` (method check: the solver budget of E1 against the exact answer)
    At the largest k run, the fraction of existing solutions that E1[k] misses, per cell, with
    its Wilson interval. *supported* if every cell's upper end is below
    :data:`SHORTFALL_BOUND` (5%); *contradicted* if one cell's lower end is above it; *open*
    otherwise. The sentence gives the shortfall at k = 1, 2, 4, 8.
``kac-rice`` (method check: E0's real counts against an independent exact route)
    Per cell with r = 1, the Kac-Rice / integral-geometry expectation of the number of real
    solutions (:func:`proofs.exact_existence.expected_real_count_r1`, which assumes exactly our
    Gaussian instance law) against the mean certified real count, with a t interval at the
    simultaneous level ``1 - 0.05 / cells`` (Bonferroni). *supported* if every interval holds
    the expectation; *contradicted* if one does not; *open* with no cell of two or more
    certified instances. (Conditioning on certification could bias the mean if the
    uncertified instances were many; the ``certified`` entry says how many.)

Examples
--------
>>> shortfall_status([0.0, 0.03]), shortfall_status([0.06, 0.1]), shortfall_status([0.02, 0.07])
('supported', 'contradicted', 'open')
>>> ledger_entries("/nonexistent")
[]
"""

from __future__ import annotations

from numerics.verdicts.capacity import claim_entries, device_only

__all__ = ["SUMMARY_FORMAT", "SOURCE", "METHOD_SOURCE", "CERTIFIED_BAR", "SHORTFALL_BOUND",
           "TYPICAL", "shortfall_status", "claim_verdicts", "ledger_entries"]

SUMMARY_FORMAT = "lorank.exact-existence-summary/1"
SOURCE = "THEORY.md section 2 (E0 exact existence at the dimension count); issue 16"
METHOD_SOURCE = "lorank's E0 (numerics/engine/homotopy.py, alpha-certified homotopy continuation)"
#: The fraction of instances each cell must certify (issue 16: "more than 99%").
CERTIFIED_BAR = 0.99
#: The largest acceptable fraction of existing solutions that E1 at its full restart budget
#: misses. Fixed before any run.
SHORTFALL_BOUND = 0.05
#: "Most instances": P(exists | rho = 1) above this.
TYPICAL = 0.5
#: Family-wise level of the Kac-Rice comparison (Bonferroni over cells).
KAC_RICE_LEVEL = 0.05


def shortfall_status(interval) -> str:
    """``supported`` if the interval lies below :data:`SHORTFALL_BOUND`, ``contradicted`` if
    above, ``open`` otherwise (also without an interval)."""
    if not interval:
        return "open"
    if interval[1] < SHORTFALL_BOUND:
        return "supported"
    if interval[0] > SHORTFALL_BOUND:
        return "contradicted"
    return "open"


def _w(x):
    return "-" if x is None else f"[{x[0]:.3f}, {x[1]:.3f}]"


def _name(c):
    return f"{c['m']}x{c['n']} r={c['r']} (degree {c['degree']})"


def _where(s: dict) -> str:
    c = s["config"]
    return (f"{c['trials']} Gaussian instances per cell at rho = 1, seed {c['seed']}, E1 with "
            f"{c['restarts']} LM restarts of {c['max_iters']} iterations on the same instances; "
            f"sizes {', '.join(f'{m}x{n}' for m, n in c['sizes'])}")


def _simultaneous(cell, cells):
    """The t interval of the mean real count at level 1 - KAC_RICE_LEVEL / cells, from the
    stored histogram (exact: the counts are integers)."""
    from numerics.estimation.estimate import mean_t_interval

    values = [int(k) for k, v in cell["real_count_histogram"].items() for _ in range(v)]
    if len(values) < 2:
        return None
    return mean_t_interval(values, 1 - KAC_RICE_LEVEL / max(1, cells))


def claim_verdicts(summary: dict) -> list[dict]:
    """Every claim's status, kind, source and sentence, from a summary (rules of the module
    docstring)."""
    s = summary
    where = _where(s)
    cells = [c for c in s["cells"] if c["trials"]]
    if not cells:
        return []
    out = []
    odd = [c for c in cells if c["degree_odd"] and c["certified"]]
    bad = [c for c in odd if c["e0"]["successes"] < c["e0"]["trials"]]
    shown = "; ".join(f"{_name(c)}: {c['e0']['successes']}/{c['e0']['trials']}" for c in odd)
    out.append({
        "claim": "odd-degree-exists", "kind": "method check", "source": METHOD_SOURCE,
        "status": "contradicted" if bad else ("supported" if odd else "open"),
        "text": ("where the degree is odd, every certified instance at rho = 1 has a real "
                 "solution (the measured side of EX.parity-odd-degree): " + (shown or "no odd-degree "
                 "cell certified") + f"; {where}"),
        "detail": (f"{len(bad)} odd-degree cells with a certified instance lacking a real solution"
                   if bad else f"{sum(c['certified'] for c in odd)} certified odd-degree instances, "
                   "all with a real solution")})
    with_t = [c for c in cells if c["certified"]]
    low = [c for c in with_t if c["e0"]["wilson"][1] < TYPICAL]
    high = [c for c in with_t if c["e0"]["wilson"][0] > TYPICAL]
    even_short = [c for c in with_t if not c["degree_odd"] and c["e0"]["wilson"][1] < 1]
    status = ("contradicted" if low else "supported" if with_t and len(high) == len(with_t)
              else "open")
    table = "; ".join(f"{_name(c)}: {c['e0']['successes']}/{c['e0']['trials']} "
                      f"{_w(c['e0']['wilson'])}" for c in with_t)
    out.append({
        "claim": "exists-at-dimension-count", "kind": "our heuristic", "source": SOURCE,
        "status": status,
        "text": (f"at rho = 1 a real rank-<= r solution exists on most instances (P(exists) > "
                 f"{TYPICAL:g} with its Wilson 95% interval, in every cell): {table}"
                 + (f"; below 1 (rho = 1 not yet sufficient) in "
                    f"{', '.join(_name(c) for c in even_short)}" if even_short else "")
                 + f"; {where}"),
        "detail": f"{len(high)} of {len(with_t)} cells above {TYPICAL:g}, {len(low)} below"})
    rates = [(c, c["certified"] / c["trials"]) for c in cells]
    under = [(c, x) for c, x in rates if x < CERTIFIED_BAR]
    out.append({
        "claim": "certified", "kind": "method check", "source": METHOD_SOURCE,
        "status": "open" if under else "supported",
        "text": (f"E0 certifies at least {CERTIFIED_BAR:.0%} of the instances of every cell: "
                 + "; ".join(f"{_name(c)}: {c['certified']}/{c['trials']}" for c, _ in rates)
                 + f"; {where}"),
        "detail": (f"{len(under)} cells below {CERTIFIED_BAR:.0%}" if under else
                   f"{sum(c['certified'] for c in cells)} of {sum(c['trials'] for c in cells)} "
                   "instances certified")})
    top = str(s["config"]["restarts"])
    contra = sum(c["e1"][top]["contradictions"] for c in with_t)
    out.append({
        "claim": "e1-below-e0", "kind": "method check", "source": METHOD_SOURCE,
        "status": "contradicted" if contra else ("supported" if with_t else "open"),
        "text": (f"E1 (k <= {top} restarts) never certifies an interpolant on an instance where "
                 f"E0 certifies that no real solution exists: {contra} such instances; {where}"),
        "detail": f"{contra} contradictions"})
    per = []
    statuses = []
    for c in with_t:
        x = c["e1"][top]
        iv = x["missed_of_existing"]
        statuses.append(shortfall_status(iv))
        ks = [k for k in ("1", "2", "4", "8") if k in c["e1"]]
        per.append(f"{_name(c)}: E1[{top}] misses {x['missed']} of {c['e0']['successes']} "
                   f"{_w(iv)} (shortfall at k = {','.join(ks)}: "
                   + ", ".join(f"{c['e1'][k]['shortfall']:.3f}" for k in ks) + ")")
    status = ("contradicted" if "contradicted" in statuses else
              "supported" if statuses and all(x == "supported" for x in statuses) else "open")
    out.append({
        "claim": "e1-shortfall", "kind": "method check", "source": METHOD_SOURCE,
        "status": status,
        "text": (f"E1 with {top} restarts misses less than {SHORTFALL_BOUND:.0%} of the existing "
                 f"solutions in every cell (missed / existing, Wilson 95%): " + "; ".join(per)
                 + f"; {where}"),
        "detail": f"{statuses.count('supported')} cells below, {statuses.count('contradicted')} "
                  f"above {SHORTFALL_BOUND:.0%}"})
    kr = [c for c in with_t if c.get("kac_rice") is not None and c["certified"] >= 2]
    misses, parts = [], []
    for c in kr:
        iv = _simultaneous(c, len(kr))
        inside = iv["lo"] <= c["kac_rice"] <= iv["hi"]
        if not inside:
            misses.append(c)
        parts.append(f"{_name(c)}: Kac-Rice {c['kac_rice']:.4f}, E0 mean {iv['mean']:.4f} "
                     f"[{iv['lo']:.4f}, {iv['hi']:.4f}]" + ("" if inside else " (outside)"))
    out.append({
        "claim": "kac-rice", "kind": "method check",
        "source": "proofs.exact_existence.expected_real_count_r1 (integral geometry) against E0",
        "status": "contradicted" if misses else ("supported" if kr else "open"),
        "text": (f"the mean number of certified real solutions equals the Kac-Rice / integral-"
                 f"geometry expectation sqrt(pi) Gamma((m+n-1)/2) / (Gamma(m/2) Gamma(n/2)) in "
                 f"every r = 1 cell (t intervals at the simultaneous level "
                 f"{1 - KAC_RICE_LEVEL:.2f}, Bonferroni over {len(kr)} cells): " + "; ".join(parts)
                 + f"; {where}"),
        "detail": f"{len(kr) - len(misses)} of {len(kr)} cells consistent"})
    return out


def ledger_entries(results_dir) -> list[dict]:
    """One entry ``E0.<claim>.<run>`` per claim of every committed
    ``results_dir/exact-existence/*/summary.json``, statuses re-derived from the stored numbers.

    >>> ledger_entries("/nonexistent")
    []
    """
    return claim_entries(results_dir, "exact-existence", SUMMARY_FORMAT, "E0", claim_verdicts, tail=device_only)
