"""Ledger verdicts of the xent experiment (the cross-entropy LoRA recipe), torch-free.

The claim (paper: "with cross-entropy a PL argument removes the rank threshold"), read as an
optimisation claim: *where a rank-r separator exists, cross-entropy LoRA gradient descent drives
the loss to 0* (reaches a point with every margin positive). It is tested conditionally: only
trials whose instance has a certified separator count (planted labels: the teacher; random
labels: E4's certificate), at the largest step budget of the record.

Rule (:func:`status_of_cells`): ``supported`` if in every cell with a certified instance the 95%
Wilson lower bound of ``P(recipe separates | separator)`` is at least 0.95; ``contradicted`` if in
some cell its upper bound is below 0.95; otherwise ``open``. Cells without a certified instance
test nothing and are skipped (counted in the detail); with no testable cell the status is
``open``.
"""

from __future__ import annotations

from numerics.verdicts.capacity import committed_summaries, measured_entry

__all__ = ["SUMMARY_FORMAT", "LEVEL", "status_of_cells", "verdict", "ledger_entries"]

SUMMARY_FORMAT = "lorank.xent-summary/1"
SOURCE = ("Rethinking the Rank Threshold (2026), R2: 'with cross-entropy a PL argument removes "
          "the rank threshold' (read as an optimisation claim)")
#: The success probability the claim is read to promise (stated, not fitted).
LEVEL = 0.95


def status_of_cells(cells, budget) -> tuple[str, str]:
    """The status and a one-line detail from the cells of a summary at ``budget``.

    >>> ok = {"m": 8, "n": 8, "r": 1, "rho": 0.5, "budgets": {"10": {"successes": 80, "certified": 80, "wilson95": [0.954, 1.0]}}}
    >>> bad = {"m": 8, "n": 8, "r": 1, "rho": 0.1, "budgets": {"10": {"successes": 10, "certified": 80, "wilson95": [0.07, 0.21]}}}
    >>> status_of_cells([ok], "10")[0], status_of_cells([ok, bad], "10")[0]
    ('supported', 'contradicted')
    """
    budget = str(budget)
    tested = [c for c in cells if c["budgets"][budget]["certified"] > 0]
    skipped = len(cells) - len(tested)
    if not tested:
        return "open", (f"no cell has a certified separator ({skipped} cells skipped): the level "
                        f"{LEVEL} is untested")
    lows = [c["budgets"][budget]["wilson95"][0] for c in tested]
    highs = [c["budgets"][budget]["wilson95"][1] for c in tested]
    if any(h < LEVEL for h in highs):
        status = "contradicted"
    elif all(lo >= LEVEL for lo in lows):
        status = "supported"
    else:
        status = "open"
    per = "; ".join(f"{c['m']}x{c['n']} r={c['r']} rho={c['rho']:.3g}: "
                    f"{c['budgets'][budget]['successes']}/{c['budgets'][budget]['certified']} "
                    f"[{c['budgets'][budget]['wilson95'][0]:.3f}, {c['budgets'][budget]['wilson95'][1]:.3f}]"
                    for c in tested)
    detail = (f"{sum(lo >= LEVEL for lo in lows)}/{len(tested)} cells with Wilson lower bound >= "
              f"{LEVEL}, {sum(h < LEVEL for h in highs)} with upper bound < {LEVEL}"
              + (f", {skipped} cells without a certified separator skipped" if skipped else ""))
    return status, f"{detail}. At T = {budget}: {per}"


def verdict(summary: dict) -> dict:
    """``{"status", "budget", "text"}`` of a summary (the text states the reading, the budget and
    the conditioning)."""
    budget = str(max(summary["budgets"]))
    exp = summary["experiment"]
    status, detail = status_of_cells(summary["cells"], budget)
    kind = (f"planted rank-{exp['teacher_rank']} teacher labels (separable by construction)"
            if exp["labels"] == "planted" else
            "random labels on instances certified separable by E4's Gauss-Newton solver "
            f"({exp['restarts']} starts x {exp['max_iters']} iterations)")
    text = (f"Where a rank-r separator exists, cross-entropy LoRA gradient descent (B = 0, A iid "
            f"N(0, 1/n), {exp['step_rule']}) reaches all margins positive (float64 certificate) "
            f"within T = {budget} steps with probability >= {LEVEL}; conditional on a certified "
            f"separator: {kind}. {detail}")
    return {"status": status, "budget": int(budget), "text": text}


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
                                      v["status"], v["text"].split(". ")[-1], record))
    return entries
