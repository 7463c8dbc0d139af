"""Ledger verdicts of the R3 rank sweep with a rank-r0 teacher (torch-free).

:mod:`numerics.engine.rank_sweep` runs the sweep and computes, per setting ``(r0, N, sigma)``,
paired differences of held-out error over seeds; this module turns them into statuses, and
committed ``results/rank-sweep/*/summary.json`` into ledger entries. Three claims:

``rank-one-optimal`` (the paper's R3 claim, "rank one is optimal for binary tasks", read with a
teacher of rank r0; every task here is binary):
    per setting *supported* if ``err(r) - err(1) > 0`` for every ``r > 1`` (each a one-sided t
    test at 95% over seeds; all must reject, an intersection-union test, which needs no
    multiplicity correction); *contradicted* if some ``r > 1`` has ``err(1) - err(r) > 0``
    (one-sided, Bonferroni over the ``R - 1`` ranks); *open* otherwise. Expected supported when
    ``r0 = 1``; the entries are split by ``r0``.
``variance-side`` (THEORY.md's reading of the ``sqrt(r)`` term, our heuristic): per setting
    *supported* if ``err(r) - err(r0) > 0`` for every ``r > r0`` (intersection-union as above);
    *contradicted* if some ``r > r0`` has ``err(r0) - err(r) > 0`` (Bonferroni); *open* else.
``optimal-rank-tracks-teacher`` (our heuristic: "the optimal rank tracks the teacher's rank, not
    the number of classes", which is 2 in every setting): per setting *supported* if the
    variance side holds and ``err(r) - err(r0) > 0`` for every ``r < r0`` (the bias side), so r0
    is the strict minimiser; *contradicted* if some ``r != r0`` has ``err(r0) - err(r) > 0``
    (Bonferroni); *open* otherwise.

Over a run's settings a claim is supported (contradicted) if every setting is, open otherwise.

Examples
--------
>>> d = lambda pos: {"positive": pos, "mean": 0.01 if pos else 0.0, "lower": 0.001 if pos else -0.01}
>>> est = {"r0": 1, "n_train": 100, "noise": 0.5, "vs_rank_one": {"2": d(True), "3": d(True)},
...        "beats_rank_one": {"2": d(False), "3": d(False)}, "variance_side": {"2": d(True), "3": d(True)},
...        "bias_side": {}, "beats_teacher_rank": {"2": d(False), "3": d(False)}}
>>> [(v["claim"], v["status"]) for v in claim_verdicts([est])]
[('rank-one-optimal', 'supported'), ('variance-side', 'supported'), ('optimal-rank-tracks-teacher', 'supported')]
>>> ledger_entries("/nonexistent")
[]
"""

from __future__ import annotations

from typing import Sequence

from numerics.verdicts.capacity import committed_summaries, measured_entry

__all__ = ["SUMMARY_FORMAT", "PAPER_SOURCE", "HEURISTIC_SOURCE", "CLAIMS", "setting_status",
           "claim_verdicts", "ledger_entries"]

SUMMARY_FORMAT = "lorank.rank-sweep-summary/1"
PAPER_SOURCE = ("Rethinking the Rank Threshold (2026), R3: rank one is optimal for binary tasks "
                "(paper claim)")
HEURISTIC_SOURCE = ("THEORY.md section 2, R3: bias saturated at the teacher rank r0 and a sqrt(r) "
                    "variance term (our heuristic, not a paper claim)")
CLAIMS = ("rank-one-optimal", "variance-side", "optimal-rank-tracks-teacher")


def _all_positive(tests: dict) -> bool:
    return bool(tests) and all(t["positive"] for t in tests.values())


def _any_positive(tests: dict) -> list:
    return [r for r, t in tests.items() if t["positive"]]


def setting_status(claim: str, est: dict) -> tuple[str, str]:
    """The status of ``claim`` in one setting and why (rules of the module docstring).

    >>> t = lambda pos: {"positive": pos, "mean": 0.0, "lower": 0.0}
    >>> setting_status("rank-one-optimal", {"vs_rank_one": {"2": t(False)},
    ...                                     "beats_rank_one": {"2": t(True)}})[0]
    'contradicted'
    >>> setting_status("variance-side", {"variance_side": {}, "beats_teacher_rank": {}})[0]
    'open'
    """
    if claim == "rank-one-optimal":
        if _all_positive(est["vs_rank_one"]):
            return "supported", "err(r) > err(1) for every r > 1"
        better = _any_positive(est["beats_rank_one"])
        if better:
            return "contradicted", f"err(r) < err(1) at r = {', '.join(better)}"
        return "open", "neither"
    beats = est.get("beats_teacher_rank") or {}
    if claim == "variance-side":
        above = {r: t for r, t in beats.items() if int(r) > est.get("r0", 0)}
        if _all_positive(est.get("variance_side") or {}):
            return "supported", "err(r) > err(r0) for every r > r0"
        better = _any_positive(above)
        if better:
            return "contradicted", f"err(r) < err(r0) at r = {', '.join(better)}"
        return "open", "neither"
    if claim == "optimal-rank-tracks-teacher":
        bias = est.get("bias_side") or {}
        if _all_positive(est.get("variance_side") or {}) and (not bias or _all_positive(bias)):
            return "supported", "r0 is the strict minimiser (both sides)"
        better = _any_positive(beats)
        if better:
            return "contradicted", f"err(r) < err(r0) at r = {', '.join(better)}"
        return "open", "neither"
    raise ValueError(f"unknown claim {claim!r}")


def _sentence(est: dict) -> str:
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
    return "; ".join(parts)


def claim_verdicts(estimates: Sequence[dict]) -> list[dict]:
    """Per setting with data and per claim, the status and a sentence with the numbers."""
    out = []
    for est in estimates:
        if "vs_rank_one" not in est:
            continue
        for claim in CLAIMS:
            status, why = setting_status(claim, est)
            out.append({"claim": claim, "r0": est["r0"], "n_train": est["n_train"],
                        "noise": est["noise"], "status": status,
                        "sentence": f"{_sentence(est)}: {status} ({why})"})
    return out


def _run_status(statuses) -> str:
    statuses = list(statuses)
    if statuses and all(s == "supported" for s in statuses):
        return "supported"
    if statuses and all(s == "contradicted" for s in statuses):
        return "contradicted"
    return "open"


_TEXT = {
    "rank-one-optimal": "held-out error at r = 1 is strictly below every r > 1",
    "variance-side": "held-out error rises beyond the teacher's rank: err(r) > err(r0) for every r > r0",
    "optimal-rank-tracks-teacher": ("the optimal rank is the teacher's rank r0 (error higher below "
                                    "and above r0), not the number of classes (2)"),
}


def ledger_entries(results_dir) -> list[dict]:
    """Entries from committed ``results/rank-sweep/*/summary.json`` (nothing is run):
    ``R3.rank-sweep.rank-one-optimal.r0-<k>.<run>`` per teacher rank,
    ``R3.rank-sweep.variance-side.<run>`` and ``R3.rank-sweep.optimal-rank-tracks-teacher.<run>``,
    statuses re-derived from the stored tests by :func:`claim_verdicts`.

    >>> ledger_entries("/nonexistent")
    []
    """
    entries = []
    for record in committed_summaries(results_dir, "rank-sweep", SUMMARY_FORMAT):
        s = record.summary
        verdicts = claim_verdicts(s["estimates"])
        sz = s["sizes"]
        where = (f"Gaussian-iid features m={sz['m']}, n={sz['n']}, binary labels from a rank-r0 "
                 f"teacher with label noise, centred squared loss fitted by alternating least "
                 f"squares at r = 1..{sz['max_rank']}; {s['seeds']['n_seeds']} seeds, seed "
                 f"{s['seeds']['global_seed']}, device {record.device}")
        groups = [(f"R3.rank-sweep.rank-one-optimal.r0-{k}", "rank-one-optimal", PAPER_SOURCE,
                   [v for v in verdicts if v["claim"] == "rank-one-optimal" and v["r0"] == k])
                  for k in sz["teacher_ranks"]]
        groups += [(f"R3.rank-sweep.{c}", c, HEURISTIC_SOURCE, [v for v in verdicts if v["claim"] == c])
                   for c in ("variance-side", "optimal-rank-tracks-teacher")]
        for prefix, claim, source, vs in groups:
            status = _run_status(v["status"] for v in vs)
            entry = measured_entry(
                f"{prefix}.{record.run}", source,
                f"{_TEXT[claim]} ({where}). Per setting: " + " | ".join(v["sentence"] for v in vs),
                status, f"{len(vs)} settings: " + ", ".join(v["status"] for v in vs), record,
                claim_kind="our heuristic" if source == HEURISTIC_SOURCE else "paper claim")
            entry["per_setting"] = [{"r0": v["r0"], "n_train": v["n_train"], "noise": v["noise"],
                                     "status": v["status"]} for v in vs]
            entries.append(entry)
    return entries
