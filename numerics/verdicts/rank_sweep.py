"""Ledger verdicts of the R3 rank sweep with a rank-r0 teacher (torch-free).

:mod:`numerics.engine.rank_sweep` runs the sweep and computes, per setting ``(r0, N, sigma)``,
paired differences of held-out error over seeds; this module turns them into statuses, and
committed ``results/rank-sweep/*/summary.json`` into ledger entries. Four claims:

``rank-one-optimal`` (the paper's R3 claim, "rank one is optimal for binary tasks"; the paper
    conditions it on the bias being saturated at rank one, which holds here for ``r0 = 1`` only:
    for ``r0 = 2, 3`` the entries test the broader reading "rank one is optimal for every binary
    task" on tasks whose bias is not saturated at rank one, and say so): per setting *supported*
    if ``err(r) - err(1) > 0`` for every ``r > 1`` (each a one-sided t test at 95% over seeds;
    all must reject, an intersection-union test, which needs no multiplicity correction);
    *contradicted* if some ``r > 1`` has ``err(1) - err(r) > 0`` (one-sided, Bonferroni over the
    ``R - 1`` ranks); *open* otherwise. The entries are split by ``r0``.
``variance-side`` (THEORY.md's reading of the ``sqrt(r)`` term, our heuristic): per setting
    *supported* if ``err(r) - err(r0) > 0`` for every ``r > r0`` (intersection-union as above);
    *contradicted* if some ``r > r0`` has ``err(r0) - err(r) > 0`` (Bonferroni); *open* else.
``optimal-rank-at-most-teacher`` (THEORY.md R3: the paper's Rademacher bias-variance argument
    applied with the bias saturated at ``r0`` predicts ``r* <= r0``; the argument's own
    prediction, of which the paper states the case ``r0 = 1``): per setting *supported* if the
    variance side holds (every ``r > r0`` one-sided above ``r0``) and the bootstrap interval of
    ``argmin_r`` lies within ``[1, r0]``; *contradicted* if some ``r > r0`` has ``err(r0) -
    err(r) > 0`` (Bonferroni); *open* otherwise.
``optimal-rank-tracks-teacher`` (our heuristic: "the optimal rank is the teacher's rank, not
    the number of classes", which is 2 in every setting; stronger than ``r* <= r0``): per
    setting *supported* if the variance side holds and ``err(r) - err(r0) > 0`` for every
    ``r < r0`` (the bias side), so r0 is the strict minimiser; *contradicted* if some ``r !=
    r0`` has ``err(r0) - err(r) > 0`` (Bonferroni); *open* otherwise.

How well the fits are certified comes first. Every fit (one start, one seed, one rank) either
meets the solver's stopping tolerance or runs into the iteration cap. A setting's verdict on a
claim rests on the fits at the ranks the claim compares (``r >= r0`` for ``variance-side``, every
rank for the others, whose argmin or comparison with rank one uses them all). If more than
:data:`CAP_SHARE_MAX` of those fits hit the cap, or the record does not say, the setting's
status is *open*, with the reason and what the tests alone would have said. Every sentence
states the certificate: the number of starts, the share of fits at the cap and the share of
(seed, rank) fits whose starts all reach the best objective (the problem is not convex below full
rank, so starts that disagree have found different stationary points; the best one is kept).

Over a run's settings a claim is supported (contradicted) if every setting is, open otherwise.

Examples
--------
>>> d = lambda pos: {"positive": pos, "mean": 0.01 if pos else 0.0, "lower": 0.001 if pos else -0.01}
>>> cert = lambda r: {"r": r, "seeds": 5, "starts": 3, "fits": 15, "fits_capped": 0, "cap": 100,
...                   "seeds_all_starts_agree": 5, "grad_rel_max": 1e-9, "iterations_max": 40}
>>> est = {"r0": 1, "n_train": 100, "noise": 0.5, "vs_rank_one": {"2": d(True), "3": d(True)},
...        "beats_rank_one": {"2": d(False), "3": d(False)}, "variance_side": {"2": d(True), "3": d(True)},
...        "bias_side": {}, "beats_teacher_rank": {"2": d(False), "3": d(False)},
...        "optimal_rank": {"r_star": 1, "interval": [1, 1]}, "per_rank": [cert(1), cert(2), cert(3)]}
>>> [(v["claim"], v["status"]) for v in claim_verdicts([est])]  # doctest: +NORMALIZE_WHITESPACE
[('rank-one-optimal', 'supported'), ('variance-side', 'supported'),
 ('optimal-rank-at-most-teacher', 'supported'), ('optimal-rank-tracks-teacher', 'supported')]
>>> est["per_rank"][2]["fits_capped"] = 3  # 3 of 45 fits at the cap: more than 1%
>>> v = claim_verdicts([est])[0]
>>> v["status"], "hit the iteration cap" in v["sentence"]
('open', True)
>>> ledger_entries("/nonexistent")
[]
"""

from __future__ import annotations

from typing import Sequence

from numerics.verdicts.capacity import committed_summaries, measured_entry

__all__ = ["SUMMARY_FORMAT", "PAPER_SOURCE", "ARGUMENT_SOURCE", "HEURISTIC_SOURCE", "CLAIMS",
           "CAP_SHARE_MAX", "pooled_certificate", "claim_ranks", "fit_gate", "setting_status",
           "rank_one_text",
           "claim_verdicts", "ledger_entries"]

SUMMARY_FORMAT = "lorank.rank-sweep-summary/2"
PAPER_SOURCE = ("Rethinking the Rank Threshold (2026), R3: rank one is optimal for binary tasks "
                "(paper claim)")
ARGUMENT_SOURCE = ("THEORY.md section 2, R3: the paper's Rademacher bias-variance argument (risk "
                   "bound b(r) + 2 Rad_N(F_r), variance term growing like sqrt(r)) applied with the "
                   "bias saturated at the teacher rank r0, which predicts r* <= r0 (the argument's "
                   "own prediction, applied by THEORY.md; the paper states only the case r0 = 1, "
                   "so this is neither a sentence of the paper nor our heuristic)")
HEURISTIC_SOURCE = ("THEORY.md section 2, R3: bias saturated at the teacher rank r0 and a sqrt(r) "
                    "variance term (our heuristic, not a paper claim)")
CLAIMS = ("rank-one-optimal", "variance-side", "optimal-rank-at-most-teacher",
          "optimal-rank-tracks-teacher")
#: The largest share of a verdict's fits that may stop at the iteration cap (not at the
#: stopping tolerance) before the verdict is held open.
CAP_SHARE_MAX = 0.01


def pooled_certificate(per_rank: list, ranks=None) -> dict:
    """The fit certificates of a setting's ranks (``per_rank`` of its summary, from
    :func:`numerics.engine.rank_sweep.fit_certificate`) pooled over ``ranks`` (default all): fits
    and fits at the cap, the share of (seed, rank) pairs whose starts all agree, the fewest and
    the most starts, the mean number of starts that reach the best objective (of the mean number
    of starts), the largest relative gradient and number of sweeps.

    >>> pr = [{"r": 1, "seeds": 2, "starts": 2, "fits": 4, "fits_capped": 0, "cap": 100,
    ...        "seeds_all_starts_agree": 2, "grad_rel_max": 1e-9, "iterations_max": 30},
    ...       {"r": 2, "seeds": 2, "starts": 3, "fits": 6, "fits_capped": 3, "cap": 100,
    ...        "seeds_all_starts_agree": 0, "grad_rel_max": 1e-7, "iterations_max": 100}]
    >>> p = pooled_certificate(pr)
    >>> p["cap_share"], p["agree_share"], p["starts_min"], p["starts_max"], p["ranks"]
    (0.3, 0.5, 2, 3, [1, 2])
    >>> pooled_certificate(pr, ranks=[1])["cap_share"]
    0.0
    """
    sel = [p for p in per_rank if ranks is None or p["r"] in ranks]
    if not sel or any("fits_capped" not in p for p in sel):
        return {"ranks": [p["r"] for p in sel], "fits": None, "fits_capped": None,
                "starts_agreeing_mean": None, "starts_mean": None,
                "cap_share": None, "agree_share": None, "starts_min": None, "starts_max": None,
                "cap": None, "grad_rel_max": None, "iterations_max": None}
    fits = sum(p["fits"] for p in sel)
    capped = sum(p["fits_capped"] for p in sel)
    seeds = sum(p["seeds"] for p in sel)
    agreeing = (sum(p["starts_agreeing_mean"] * p["seeds"] for p in sel) / seeds
                if all("starts_agreeing_mean" in p for p in sel) else None)
    return {"ranks": [p["r"] for p in sel], "fits": fits, "fits_capped": capped,
            "starts_agreeing_mean": agreeing, "starts_mean": fits / seeds,
            "cap_share": capped / fits, "cap": sel[0]["cap"],
            "agree_share": sum(p["seeds_all_starts_agree"] for p in sel) / seeds,
            "starts_min": min(p["starts"] for p in sel), "starts_max": max(p["starts"] for p in sel),
            "grad_rel_max": max(p["grad_rel_max"] for p in sel),
            "iterations_max": max(p["iterations_max"] for p in sel)}


def claim_ranks(claim: str, est: dict) -> list:
    """The ranks whose fits a setting's verdict on ``claim`` rests on: ``r >= r0`` for
    ``variance-side``, every fitted rank for the others.

    >>> pr = [{"r": r} for r in (1, 2, 3, 4)]
    >>> claim_ranks("variance-side", {"r0": 2, "per_rank": pr}), claim_ranks("rank-one-optimal", {"r0": 2, "per_rank": pr})
    ([2, 3, 4], [1, 2, 3, 4])
    """
    ranks = [p["r"] for p in est.get("per_rank") or []]
    if claim == "variance-side":
        return [r for r in ranks if r >= est["r0"]]
    return ranks


def fit_gate(claim: str, est: dict) -> tuple[dict, str | None]:
    """The pooled fit certificate of ``claim``'s ranks in one setting, and the reason the
    setting's verdict must stay open (None if the fits are certified well enough: at most
    :data:`CAP_SHARE_MAX` of them at the cap).

    >>> fit_gate("variance-side", {"r0": 1, "per_rank": [{"r": 1}]})[1]
    'the record does not say how many fits hit the iteration cap'
    """
    cert = pooled_certificate(est.get("per_rank") or [], claim_ranks(claim, est))
    if cert["cap_share"] is None:
        return cert, "the record does not say how many fits hit the iteration cap"
    if cert["cap_share"] > CAP_SHARE_MAX:
        return cert, (f"{100 * cert['cap_share']:.1f}% of the {cert['fits']} fits at r = "
                      f"{_ranks(cert['ranks'])} hit the iteration cap of {cert['cap']} sweeps "
                      f"(more than {100 * CAP_SHARE_MAX:g}%): not converged")
    return cert, None


def _ranks(rs) -> str:
    rs = list(rs)
    if len(rs) > 2 and rs == list(range(rs[0], rs[-1] + 1)):
        return f"{rs[0]}..{rs[-1]}"
    return ", ".join(str(r) for r in rs)


def _all_positive(tests: dict) -> bool:
    return bool(tests) and all(t["positive"] for t in tests.values())


def _any_positive(tests: dict) -> list:
    return [r for r, t in tests.items() if t["positive"]]


def _tests_status(claim: str, est: dict) -> tuple[str, str]:
    """The status the paired tests give, before the fits' certificate is looked at."""
    if claim == "rank-one-optimal":
        if _all_positive(est["vs_rank_one"]):
            return "supported", "err(r) > err(1) for every r > 1"
        better = _any_positive(est["beats_rank_one"])
        if better:
            return "contradicted", f"err(r) < err(1) at r = {', '.join(better)}"
        return "open", "neither"
    r0 = est.get("r0", 0)
    beats = est.get("beats_teacher_rank") or {}
    above = {r: t for r, t in beats.items() if int(r) > r0}
    variance = _all_positive(est.get("variance_side") or {})
    if claim == "variance-side":
        if variance:
            return "supported", "err(r) > err(r0) for every r > r0"
        better = _any_positive(above)
        if better:
            return "contradicted", f"err(r) < err(r0) at r = {', '.join(better)}"
        return "open", "neither"
    if claim == "optimal-rank-at-most-teacher":
        iv = (est.get("optimal_rank") or {}).get("interval")
        inside = iv is not None and 1 <= iv[0] and iv[1] <= r0
        if variance and inside:
            return "supported", (f"err(r) > err(r0) for every r > r0 and the bootstrap interval of "
                                 f"argmin r, [{iv[0]}, {iv[1]}], lies within [1, {r0}]")
        better = _any_positive(above)
        if better:
            return "contradicted", f"err(r) < err(r0) at r = {', '.join(better)} > r0"
        missing = ([] if variance else ["err(r) > err(r0) not shown for every r > r0"]) + (
            [] if inside else [f"the bootstrap interval of argmin r, {iv}, is not within [1, {r0}]"])
        return "open", "neither: " + "; ".join(missing)
    if claim == "optimal-rank-tracks-teacher":
        bias = est.get("bias_side") or {}
        if variance and (not bias or _all_positive(bias)):
            return "supported", "r0 is the strict minimiser (both sides)"
        better = _any_positive(beats)
        if better:
            return "contradicted", f"err(r) < err(r0) at r = {', '.join(better)}"
        return "open", "neither"
    raise ValueError(f"unknown claim {claim!r}")


def setting_status(claim: str, est: dict) -> tuple[str, str]:
    """The status of ``claim`` in one setting and why (rules of the module docstring): the
    paired tests' status, held open if the fits it rests on hit the iteration cap too often.

    >>> t = lambda pos: {"positive": pos, "mean": 0.0, "lower": 0.0}
    >>> pr = [{"r": r, "seeds": 4, "starts": 2, "fits": 8, "fits_capped": 0, "cap": 50,
    ...        "seeds_all_starts_agree": 4, "grad_rel_max": 1e-9, "iterations_max": 9} for r in (1, 2)]
    >>> setting_status("rank-one-optimal", {"r0": 2, "vs_rank_one": {"2": t(False)},
    ...                                     "beats_rank_one": {"2": t(True)}, "per_rank": pr})[0]
    'contradicted'
    >>> setting_status("variance-side", {"r0": 1, "variance_side": {}, "beats_teacher_rank": {},
    ...                                  "per_rank": pr})[0]
    'open'
    """
    status, why = _tests_status(claim, est)
    _, reason = fit_gate(claim, est)
    if reason is not None:
        return "open", f"{reason}; the tests alone say {status} ({why})"
    return status, why


def _certificate_text(cert: dict) -> str:
    if cert["cap_share"] is None:
        return "fits: no record of cap hits or start agreement"
    starts = (f"{cert['starts_max']}" if cert["starts_min"] == cert["starts_max"]
              else f"{cert['starts_min']}-{cert['starts_max']}")
    return (f"fits at r = {_ranks(cert['ranks'])}: best of {starts} starts; "
            f"{100 * cert['cap_share']:.1f}% of {cert['fits']} hit the cap of {cert['cap']} sweeps; "
            f"starts all agree in {100 * cert['agree_share']:.0f}% of seed-rank fits"
            + ("" if cert["starts_agreeing_mean"] is None else
               f", on average {cert['starts_agreeing_mean']:.1f} of {cert['starts_mean']:.1f} "
               f"reach the best"))


def _sentence(est: dict, claim: str) -> str:
    opt = est.get("optimal_rank") or {}
    parts = [f"r0={est['r0']}, N={est['n_train']}, sigma={est['noise']:g}"]
    if opt:
        parts.append(f"argmin r = {opt['r_star']} (bootstrap 95% [{opt['interval'][0]}, {opt['interval'][1]}])")
    vs = est.get("variance_side") or {}
    if vs:
        parts.append("err(r)-err(r0) lower bounds: " + ", ".join(
            f"r={r}: {t['mean']:+.4f} (>= {t['lower']:+.4f})" for r, t in vs.items()
            if t.get("lower") is not None))
    bs = est.get("bias_side") or {}
    if bs:
        parts.append("bias side: " + ", ".join(
            f"r={r}: {t['mean']:+.4f} (>= {t['lower']:+.4f})" for r, t in bs.items()
            if t.get("lower") is not None))
    parts.append(_certificate_text(fit_gate(claim, est)[0]))
    return "; ".join(parts)


def claim_verdicts(estimates: Sequence[dict]) -> list[dict]:
    """Per setting with data and per claim, the status, the fit certificate it rests on and a
    sentence with the numbers."""
    out = []
    for est in estimates:
        if "vs_rank_one" not in est:
            continue
        for claim in CLAIMS:
            status, why = setting_status(claim, est)
            cert, _ = fit_gate(claim, est)
            out.append({"claim": claim, "r0": est["r0"], "n_train": est["n_train"],
                        "noise": est["noise"], "status": status,
                        "cap_share": cert["cap_share"], "agree_share": cert["agree_share"],
                        "sentence": f"{_sentence(est, claim)}: {status} ({why})"})
    return out


def _run_status(statuses) -> str:
    statuses = list(statuses)
    if statuses and all(s == "supported" for s in statuses):
        return "supported"
    if statuses and all(s == "contradicted" for s in statuses):
        return "contradicted"
    return "open"


_TEXT = {
    "variance-side": "held-out error rises beyond the teacher's rank: err(r) > err(r0) for every r > r0",
    "optimal-rank-at-most-teacher": ("the optimal rank is at most the teacher's rank: err(r) > "
                                     "err(r0) for every r > r0 and argmin r (bootstrap 95%) within "
                                     "[1, r0]"),
    "optimal-rank-tracks-teacher": ("the optimal rank is the teacher's rank r0 (error higher below "
                                    "and above r0), not the number of classes (2)"),
}


def rank_one_text(r0: int) -> str:
    """The statement of a ``rank-one-optimal`` entry for teacher rank ``r0``: the paper's
    condition (bias saturated at rank one) holds for ``r0 = 1``; for ``r0 > 1`` the entry tests
    the broader reading, and says so.

    >>> "every binary task" in rank_one_text(2), "every binary task" in rank_one_text(1)
    (True, False)
    """
    if r0 == 1:
        return ("held-out error at r = 1 is strictly below every r > 1, on a binary task whose "
                "bias is saturated at rank one (rank-1 teacher: the paper's condition for rank-one "
                "optimality)")
    return (f"held-out error at r = 1 is strictly below every r > 1, on a binary task with a "
            f"rank-{r0} teacher, whose bias is not saturated at rank one: this tests the reading "
            f"'rank one is optimal for every binary task'; the paper conditions rank-one "
            f"optimality on the bias being saturated at rank one, which fails here, so a "
            f"contradiction refutes that reading, not the conditional claim")


def ledger_entries(results_dir) -> list[dict]:
    """Entries from committed ``results/rank-sweep/*/summary.json`` (nothing is run):
    ``R3.rank-sweep.rank-one-optimal.r0-<k>.<run>`` per teacher rank (a paper claim),
    ``R3.rank-sweep.variance-side.<run>`` (our heuristic),
    ``R3.rank-sweep.optimal-rank-at-most-teacher.<run>`` (the argument's prediction) and
    ``R3.rank-sweep.optimal-rank-tracks-teacher.<run>`` (our heuristic), statuses re-derived from
    the stored tests and fit certificates by :func:`claim_verdicts`.

    >>> ledger_entries("/nonexistent")
    []
    """
    entries = []
    for record in committed_summaries(results_dir, "rank-sweep", SUMMARY_FORMAT):
        s = record.summary
        verdicts = claim_verdicts(s["estimates"])
        sz = s["sizes"]
        sol = s.get("solver") or {}
        where = (f"Gaussian-iid features m={sz['m']}, n={sz['n']}, binary labels from a rank-r0 "
                 f"teacher with label noise, centred squared loss fitted by alternating least "
                 f"squares at r = 1..{sz['max_rank']} (best of the starts, each run to a relative "
                 f"decrease of {sol.get('stop_rtol', '?')} per sweep or the cap of "
                 f"{sol.get('iters', '?')} sweeps); {s['seeds']['n_seeds']} seeds, seed "
                 f"{s['seeds']['global_seed']}, device {record.device}")
        groups = [(f"R3.rank-sweep.rank-one-optimal.r0-{k}", "rank-one-optimal", PAPER_SOURCE,
                   rank_one_text(k),
                   [v for v in verdicts if v["claim"] == "rank-one-optimal" and v["r0"] == k])
                  for k in sz["teacher_ranks"]]
        groups += [(f"R3.rank-sweep.{c}", c, source, _TEXT[c], [v for v in verdicts if v["claim"] == c])
                   for c, source in (("variance-side", HEURISTIC_SOURCE),
                                     ("optimal-rank-at-most-teacher", ARGUMENT_SOURCE),
                                     ("optimal-rank-tracks-teacher", HEURISTIC_SOURCE))]
        for prefix, claim, source, text, vs in groups:
            status = _run_status(v["status"] for v in vs)
            entry = measured_entry(
                f"{prefix}.{record.run}", source,
                f"{text} ({where}). Per setting: " + " | ".join(v["sentence"] for v in vs),
                status, f"{len(vs)} settings: " + ", ".join(v["status"] for v in vs), record,
                claim_kind="our heuristic" if source == HEURISTIC_SOURCE else "paper claim")
            entry["per_setting"] = [{"r0": v["r0"], "n_train": v["n_train"], "noise": v["noise"],
                                     "status": v["status"], "cap_share": v["cap_share"],
                                     "agree_share": v["agree_share"]} for v in vs]
            entries.append(entry)
    return entries
