"""Ledger verdicts of the PL* experiments, read from committed records (torch-free).

:mod:`numerics.engine.pl` runs the experiments; this module turns a committed
``results/pl/*/summary.json`` into ledger entries without importing torch (the ledger of
``lorank check`` must not need a GPU stack). The status rules are in :func:`ledger_entries`.
"""

from __future__ import annotations

from numerics.verdicts.capacity import committed_summaries, measured_entry
from proofs.exact_rank import PL_RECORD_SIZES, statement_id

__all__ = ["SUMMARY_FORMAT", "ledger_entries"]

#: the format tag of a PL* summary (written by :func:`numerics.engine.pl.summarise_pl`)
SUMMARY_FORMAT = "lorank.pl-summary/1"
SOURCE = "Rethinking the Rank Threshold (2026), R2: PL* for squared loss"


# --------------------------------------------------------------------------------------------
# Ledger


def _cell_consistent(x: dict) -> bool:
    lo, hi = x["wilson95"]
    return lo >= 0.9 if x["expected_positive"] else hi <= 0.1


def _cell_contrary(x: dict) -> bool:
    lo, hi = x["wilson95"]
    return hi < 0.5 if x["expected_positive"] else x["positive"] > 0


def _positivity_status(groups, kind) -> tuple[str, str]:
    cells = [(g, c) for g in groups for c in g["cells"]]
    if not cells:
        return "open", "no cells"
    contrary = [(g, c) for g, c in cells if _cell_contrary(c[kind])]
    consistent = all(_cell_consistent(c[kind]) for _, c in cells)
    both_sides = all(any(c[kind]["expected_positive"] for c in g["cells"])
                     and any(not c[kind]["expected_positive"] for c in g["cells"])
                     for g in groups if g["cells"])
    if contrary:
        status = "contradicted"
    elif consistent and both_sides:
        status = "supported"
    else:
        status = "open"
    parts = []
    for g in groups:
        if not g["cells"]:
            continue
        per = ", ".join(f"rho={c['rho']:.3g}:{c[kind]['positive']}/{c[kind]['trials']}"
                        for c in g["cells"])
        parts.append(f"{g['m']}x{g['n']} r={g['r']} [{per}]")
    detail = (f"{len(contrary)} cells on the wrong side, "
              f"{sum(_cell_consistent(c[kind]) for _, c in cells)}/{len(cells)} cells with the "
              f"Wilson interval on the expected side (lower >= 0.9 or upper <= 0.1)")
    return status, detail + ". P(mu>0) per cell: " + "; ".join(parts)


def _relation_to_proof(groups, kind: str, rtol) -> str:
    """What the measured positivity entry is, next to the exact-rank proof: the sizes whose
    generic positivity is proved (ledger ids), and every cell expected positive with a trial
    called zero, with the ratio ``mu / lambda_max`` that fell under the float cutoff.

    >>> cell = {"rho": 1.0, "M": 15, "random": {"expected_positive": True, "positive": 3,
    ...         "trials": 4, "max_by_max_called_zero": 2e-11}}
    >>> zero = {"rho": 0.5, "M": 30, "random": {"expected_positive": False, "positive": 0,
    ...         "trials": 4, "max_by_max_called_zero": 6e-17}}
    >>> g = {"m": 8, "n": 8, "r": 1, "cells": [zero, cell]}
    >>> print(_relation_to_proof([g], "random", 1e-10))  # doctest: +NORMALIZE_WHITESPACE
    Relation to the proof: for M <= r(m+n-r), mu > 0 generically (with probability 1 for
    Gaussian features and points) is proved by exact rank of J over prime fields in
    R2.pl-star-generic.8x8.r1; this Monte Carlo entry is the second, illustrative route and its
    status rule is unchanged. Trials called zero where positivity is expected: 8x8 r=1 rho=1 (M =
    15): 1/4, largest mu/lambda_max among them 2e-11, under the float cutoff 1e-10 (largest
    mu/lambda_max in the cells where mu = 0 is forced: 6e-17); a numerical event of the float
    threshold, not evidence against the proved statement
    """
    proved = [statement_id(g["m"], g["n"], g["r"]) for g in groups
              if (g["m"], g["n"], g["r"]) in PL_RECORD_SIZES]
    uncovered = [f"{g['m']}x{g['n']} r={g['r']}" for g in groups
                 if (g["m"], g["n"], g["r"]) not in PL_RECORD_SIZES]
    text = ("Relation to the proof: for M <= r(m+n-r), mu > 0 generically (with probability 1 "
            "for Gaussian features and points) is proved by exact rank of J over prime fields in "
            + (", ".join(proved) if proved else "no ledger statement at these sizes")
            + (f" (no exact-rank statement covers {', '.join(uncovered)}; "
               "proofs.exact_rank.certify_generic_rank decides one)" if uncovered else "")
            + "; this Monte Carlo entry is the second, illustrative route and its status rule "
            "is unchanged")
    if kind != "random":
        return text
    zeros = [c[kind]["max_by_max_called_zero"] for g in groups for c in g["cells"]
             if not c[kind]["expected_positive"] and c[kind].get("max_by_max_called_zero") is not None]
    forced = (f" (largest mu/lambda_max in the cells where mu = 0 is forced: {max(zeros):.2g})"
              if zeros else "")
    events = []
    for g in groups:
        for c in g["cells"]:
            x = c[kind]
            if x["expected_positive"] and x["positive"] < x["trials"]:
                events.append(
                    f"{g['m']}x{g['n']} r={g['r']} rho={c['rho']:.3g} (M = {c['M']}): "
                    f"{x['trials'] - x['positive']}/{x['trials']}, largest mu/lambda_max among "
                    f"them {x['max_by_max_called_zero']:.2g}, under the float cutoff {rtol:g}"
                    + forced)
    if events:
        text += (". Trials called zero where positivity is expected: " + "; ".join(events)
                 + ("; a numerical event of the float threshold, not evidence against the "
                    "proved statement" if proved and not uncovered else ""))
    return text


def _gd_status(groups) -> tuple[str, str]:
    rows = [c["gd"][k] for g in groups for c in g["cells"] for k in ("random", "lora")
            if c.get("gd") and c["gd"].get(k)]
    if not rows:
        return "open", "no trajectories"
    steps = sum(x["steps_checked"] for x in rows)
    ok = sum(x["steps_ok"] for x in rows)
    pos = sum(x["steps_mu_positive"] for x in rows)
    within = sum(x["violations_within_step_rule"] for x in rows)
    traj = sum(x["trajectories"] for x in rows)
    cum = sum(x["trajectories_cumulative_ok"] for x in rows)
    if ok == steps and pos > 0:
        status = "supported"
    elif within > 0:
        status = "contradicted"
    else:
        status = "open"
    return status, (f"{ok}/{steps} steps pass the per-step bound ({pos} with mu > 0); "
                    f"{cum}/{traj} trajectories satisfy the cumulative bound; "
                    f"{steps - ok} violations, {within} of them with eta*beta <= 1 at both ends")


def ledger_entries(results_dir) -> list[dict]:
    """Ledger entries from committed PL* records: ``results_dir/pl/*/summary.json`` (nothing is
    re-run). Three entries per run (``<run>`` is the folder name):

    - ``R2.pl-star.positivity.<run>``: at random points ``mu > 0`` iff ``M <= r(m+n-r)``. The
      positive side is *proved* for generic points by exact rank (ledger ids
      ``R2.pl-star-generic.<m>x<n>.r<r>``, :mod:`proofs.exact_rank`); the zero side by
      ``R2.rank-J``. This entry is the illustrative Monte Carlo route; its text names the proof
      and every trial called zero where positivity is expected (a float-threshold event: ``mu``
      under ``positivity_rtol * lambda_max``), and its status rule is not changed by the proof.
    - ``R2.pl-star.lora-start.<run>``: at the LoRA start (``B = 0``) ``mu > 0`` iff ``M <= r m``.
    - ``R2.gd-rate.<run>``: along GD with the stated step rule, ``L_{t+1} <= (1 - eta mu_t) L_t``.

    Status rules (conservative):

    - positivity entries: ``supported`` iff every cell's 95% Wilson interval of ``P(mu > 0)``
      lies on the expected side (lower end >= 0.9 where positivity is expected, upper end
      <= 0.1 where it is not; about 35 trials per cell are needed for this) and every (size,
      rank) group has cells on both sides of the threshold; ``contradicted`` iff some cell
      expected positive has upper end < 0.5, or some cell expected zero has any positive
      ``mu`` (the rank bound is a theorem, so this would mean the positivity rule or the
      kernel is wrong); otherwise ``open``.
    - GD rate: ``supported`` iff every checked step of every trajectory passes and some checked
      step had ``mu > 0``; ``contradicted`` iff some step fails although ``eta beta <= 1`` at both
      of its ends (``beta`` bounds the Hessian norm at the ends only, so this is strong but not
      conclusive evidence); otherwise ``open`` (violations only where the step exceeded
      ``1 / beta``, where the PL rate is not promised).

    Examples
    --------
    >>> ledger_entries("/nonexistent")
    []
    """
    entries = []
    for record in committed_summaries(results_dir, "pl", SUMMARY_FORMAT):
        summary, run = record.summary, record.run
        groups = summary["groups"]
        exp = summary["experiment"]
        sizes = ", ".join(f"{g['m']}x{g['n']} r={g['r']}" for g in groups)
        where = (f"[{sizes}; {summary['trials_found']} trials; seed {exp['seed']}; "
                 f"device {record.device}]")
        specs = [
            ("R2.pl-star.positivity", "random",
             "At random points (B, A iid N(0, s^2)) the PL* constant mu = lambda_min(J J^T) of "
             "squared loss is positive iff M <= r(m+n-r), i.e. rho >= 1 (rank J <= r(m+n-r))"),
            ("R2.pl-star.lora-start", "lora",
             "At the LoRA start (B = 0, Gaussian A) mu = lambda_min(J J^T) is positive iff M <= r m"),
        ]
        for prefix, kind, text in specs:
            status, detail = _positivity_status(groups, kind)
            relation = (" " + _relation_to_proof(groups, kind, exp.get("positivity_rtol")) + "."
                        if kind == "random" else "")
            entries.append(measured_entry(f"{prefix}.{run}", SOURCE,
                                          f"{text} {where}. {detail}.{relation}",
                                          status, detail.split(". ")[0], record))
        status, detail = _gd_status(groups)
        text = (f"Full-batch GD on (B, A), eta = {exp['gd_c']:g}/beta_0 (beta = lambda_max(JJ^T) "
                f"+ ||calA^*(R)||_2): L_(t+1) <= (1 - eta mu_t) L_t at every step {where}. {detail}")
        entries.append(measured_entry(f"R2.gd-rate.{run}", SOURCE, text, status, detail, record))
    return entries
