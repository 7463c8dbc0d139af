"""Ledger verdicts of the xent experiment (the cross-entropy LoRA recipe), torch-free.

The claim (paper: "with cross-entropy a PL argument removes the rank threshold"), read as an
optimisation claim: *where a rank-r separator exists, cross-entropy LoRA gradient descent drives
the loss to 0* (reaches a point with every margin positive). It is tested conditionally: only
trials whose instance has a certified separator count (planted labels: the teacher; random
labels: E4's certificate), at the largest step budget of the record.

The claim is asymptotic in the number of steps ("drives the loss to 0"), a record has finite
budgets ``T_1 < ... < T_max``. Rule (:func:`status_of_cells`), per cell with a certified
instance, at ``T_max``: *passes* if the 95% Wilson lower bound of ``P(recipe separates |
separator)`` is at least 0.95; *fails* if its upper bound is below 0.95 **and** the rate has
stopped rising (no more trials separate at ``T_max`` than at the budget before it: the failing
trials are stuck); *still rising* if the upper bound is below 0.95 but more trials separate at
``T_max`` than before (a larger budget may yet pass: a finite budget cannot refute an
asymptotic claim while the rate still moves); *undecided* otherwise. Status: ``supported`` if
every tested cell passes; ``contradicted`` if some cell fails; otherwise ``open``, with the
cells still rising named. Cells without a certified instance test nothing and are skipped
(counted in the detail); with no testable cell the status is ``open``. With a single budget
no cell can be shown to have stopped rising, so such a record is never ``contradicted``.
"""

from __future__ import annotations

from numerics.verdicts.capacity import committed_summaries, measured_entry

__all__ = ["SUMMARY_FORMAT", "LEVEL", "status_of_cells", "verdict", "ledger_entries"]

SUMMARY_FORMAT = "lorank.xent-summary/1"
SOURCE = ("Rethinking the Rank Threshold (2026), R2: 'with cross-entropy a PL argument removes "
          "the rank threshold' (read as an optimisation claim)")
#: The success probability the claim is read to promise (stated, not fitted).
LEVEL = 0.95


def _cell_state(cell, budget, previous) -> str:
    """``passes``, ``fails``, ``rising`` or ``undecided`` (module docstring).

    >>> c = {"budgets": {"10": {"successes": 5, "certified": 80, "wilson95": [0.03, 0.14]},
    ...                  "100": {"successes": 40, "certified": 80, "wilson95": [0.39, 0.61]}}}
    >>> _cell_state(c, "100", "10"), _cell_state(c, "10", None)
    ('rising', 'undecided')
    """
    x = cell["budgets"][budget]
    lo, hi = x["wilson95"]
    if lo >= LEVEL:
        return "passes"
    if hi < LEVEL:
        if previous is not None and x["successes"] <= cell["budgets"][previous]["successes"]:
            return "fails"
        if previous is not None:
            return "rising"
    return "undecided"


def status_of_cells(cells, budget, previous=None) -> tuple[str, str]:
    """The status and a one-line detail from the cells of a summary at ``budget`` (``previous``:
    the record's budget before it, or None).

    >>> ok = {"m": 8, "n": 8, "r": 1, "rho": 0.5, "budgets": {
    ...     "1": {"successes": 80, "certified": 80, "wilson95": [0.954, 1.0]},
    ...     "10": {"successes": 80, "certified": 80, "wilson95": [0.954, 1.0]}}}
    >>> stuck = {"m": 8, "n": 8, "r": 1, "rho": 0.1, "budgets": {
    ...     "1": {"successes": 10, "certified": 80, "wilson95": [0.07, 0.21]},
    ...     "10": {"successes": 10, "certified": 80, "wilson95": [0.07, 0.21]}}}
    >>> rising = {"m": 8, "n": 8, "r": 1, "rho": 0.1, "budgets": {
    ...     "1": {"successes": 2, "certified": 80, "wilson95": [0.007, 0.09]},
    ...     "10": {"successes": 10, "certified": 80, "wilson95": [0.07, 0.21]}}}
    >>> [status_of_cells(c, "10", "1")[0] for c in ([ok], [ok, stuck], [ok, rising])]
    ['supported', 'contradicted', 'open']
    >>> status_of_cells([ok, stuck], "10")[0]
    'open'
    """
    budget = str(budget)
    previous = None if previous is None else str(previous)
    tested = [c for c in cells if c["budgets"][budget]["certified"] > 0]
    skipped = len(cells) - len(tested)
    if not tested:
        return "open", (f"no cell has a certified separator ({skipped} cells skipped): the level "
                        f"{LEVEL} is untested")
    states = [_cell_state(c, budget, previous) for c in tested]
    if any(s == "fails" for s in states):
        status = "contradicted"
    elif all(s == "passes" for s in states):
        status = "supported"
    else:
        status = "open"

    def show(c, b):
        x = c["budgets"][b]
        return f"{x['successes']}/{x['certified']} [{x['wilson95'][0]:.3f}, {x['wilson95'][1]:.3f}]"

    per = "; ".join(f"{c['m']}x{c['n']} r={c['r']} rho={c['rho']:.3g}: {show(c, budget)}"
                    + (f" ({s}; T = {previous}: {c['budgets'][previous]['successes']})"
                       if s != "passes" and previous is not None else "")
                    for c, s in zip(tested, states))
    count = {k: sum(s == k for s in states) for k in ("passes", "fails", "rising", "undecided")}
    detail = (f"{count['passes']}/{len(tested)} cells pass (Wilson lower bound >= {LEVEL}), "
              f"{count['fails']} fail (upper bound < {LEVEL} and no more separated than at the "
              f"budget before), {count['rising']} still rising with T, {count['undecided']} "
              "undecided" + (f", {skipped} cells without a certified separator skipped"
                             if skipped else ""))
    return status, f"{detail}. At T = {budget}: {per}"


def verdict(summary: dict) -> dict:
    """``{"status", "budget", "text"}`` of a summary (the text states the reading, the budget and
    the conditioning)."""
    budgets = sorted(summary["budgets"])
    budget = str(budgets[-1])
    previous = str(budgets[-2]) if len(budgets) > 1 else None
    exp = summary["experiment"]
    status, detail = status_of_cells(summary["cells"], budget, previous)
    kind = (f"planted rank-{exp['teacher_rank']} teacher labels (separable by construction)"
            if exp["labels"] == "planted" else
            "random labels on instances certified separable by E4's Gauss-Newton solver "
            f"({exp['restarts']} starts x {exp['max_iters']} iterations)")
    text = (f"Where a rank-r separator exists, cross-entropy LoRA gradient descent (B = 0, A iid "
            f"N(0, 1/n), {exp['step_rule']}) drives the loss to 0: it reaches all margins "
            f"positive (float64 certificate) with probability >= {LEVEL}, read at the record's "
            f"budgets T = {', '.join(str(b) for b in budgets)}; conditional on a certified "
            f"separator: {kind}. {detail}. {context(summary)}")
    return {"status": status, "budget": int(budget), "text": text, "detail": detail.split(". ")[0]}


def context(summary: dict) -> str:
    """What the record adds beyond the verdict: the range of the median minimum Lojasiewicz
    ratio ``||grad L|| / L`` over the trajectory (bounded away from 0 along the run is what a
    Lojasiewicz-type argument needs) and the squared-loss recipe (E3) on the same instances,
    whose signs are certified only where it interpolates.

    >>> context({"budgets": [10], "cells": []})
    'Lojasiewicz ratio: no certified cell.'
    """
    budget = str(max(summary["budgets"]))
    cells = [c for c in summary["cells"] if c.get("min_loj_ratio")]
    if not cells:
        return "Lojasiewicz ratio: no certified cell."
    lo = min(cells, key=lambda c: c["min_loj_ratio"]["q50"])
    hi = max(cells, key=lambda c: c["min_loj_ratio"]["q50"])
    below = [c for c in summary["cells"] if c["rho"] < 1]
    above = [c for c in summary["cells"] if c["rho"] >= 1]

    def e3(group):
        k = sum(c["budgets"][budget]["e3_sign_certified"] for c in group)
        n = sum(c["budgets"][budget]["certified"] for c in group)
        return f"{k}/{n}"

    return (f"Min over the trajectory of ||grad L|| / L, median per cell: from "
            f"{lo['min_loj_ratio']['q50']:.3g} ({lo['m']}x{lo['n']} r={lo['r']} rho={lo['rho']:.3g}) "
            f"to {hi['min_loj_ratio']['q50']:.3g} ({hi['m']}x{hi['n']} r={hi['r']} "
            f"rho={hi['rho']:.3g}). The squared-loss "
            f"recipe (E3, same instances and start, targets s) has every sign certified at "
            f"T = {budget} in {e3(below)} trials at rho < 1 and {e3(above)} at rho >= 1 (it must "
            f"interpolate to be certified, which needs rho >= 1).")


def ledger_entries(results_dir) -> list[dict]:
    """One entry ``R2.xent-recipe.<run>`` per committed ``results_dir/xent/*/summary.json``.

    >>> ledger_entries("/nonexistent")
    []
    """
    entries = []
    for record in committed_summaries(results_dir, "xent", SUMMARY_FORMAT):
        summary, run = record.summary, record.run
        v = verdict(summary)
        exp = summary["experiment"]
        sizes = ", ".join(f"{m}x{n} r={r}" for m, n, r in exp["sizes"])
        where = (f"[{sizes}; {summary['trials_found']} trials; seed {exp['seed']}; "
                 f"device {record.device}]")
        entries.append(measured_entry(f"R2.xent-recipe.{run}", SOURCE, f"{v['text']} {where}",
                                      v["status"], v["detail"], record))
    return entries
