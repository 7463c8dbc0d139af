"""Ledger verdicts of the R3 rank sweeps, read from committed records (torch-free).

:mod:`numerics.engine.rademacher` runs the sweeps; this module holds what the ledger needs to turn a
committed ``results/rademacher/*/summary.json`` into verdicts without importing torch: the task
table, the per-setting claim rule and :func:`ledger_entries`.

Rule (per task and setting): the claim "rank one is optimal" (binary tasks) is *supported*
when the 95% interval of the paired difference ``err(1) - err(2)`` over seeds lies below 0,
*contradicted* when it lies above 0, *open* otherwise (ties included); "rank above one" (three
classes) the other way round. A run is supported or contradicted only if all its settings are.

Untestable (issue 12): with these structured features the fit depends on ``Delta`` only through
``A_head^T Delta`` (``K x n``), so every rank from ``min(K, rank Y)`` on gives the same fit by
construction, and "rank one is strictly better than rank two" can never be observed for a binary
task. The ``rank-one-optimal`` entries of this design are therefore ``untestable``, whatever the
per-setting numbers say (they are kept in the statement, as measured): ``binary-1-logit`` and
``binary-2-logit-pm`` tie exactly at every rank; ``binary-2-logit``'s ``err(1) > err(2)`` is an
artefact of squared loss on uncentred one-hot targets (``rank Y = 2``, centred rank 1; the
centred task ``binary-2-logit-pm`` ties), not a refutation. The claim is tested by the design of
:mod:`numerics.verdicts.rank_sweep` (Gaussian-iid features, a rank-r0 teacher).

>>> ledger_entries("/nonexistent")
[]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from numerics.verdicts.capacity import committed_summaries, measured_entry

__all__ = ["SUMMARY_FORMAT", "SOURCE", "TaskSpec", "TASKS", "claim_verdicts", "ledger_entries",
           "UNTESTABLE_REASON",
           "error_counts", "rate_interval"]

SUMMARY_FORMAT = "lorank.rademacher-summary/1"
SOURCE = "Rethinking the Rank Threshold (2026), R3: Rademacher bias-variance, rank one optimal for binary"


@dataclass(frozen=True)
class TaskSpec:
    """A classification task: ``K`` logits on ``classes`` balanced classes.

    ``targets``: ``"pm1"`` (one logit, ``+1`` for class 1 and ``-1`` for class 0), ``"onehot"``
    or ``"pm1-per-logit"`` (``+1`` on the true class's logit, ``-1`` elsewhere). ``number`` is the
    task's fixed index in record cells.
    """

    name: str
    number: int
    K: int
    classes: int
    targets: str
    prediction: str
    rank_Y: int
    centred_rank_Y: int


TASKS = {
    t.name: t for t in (
        TaskSpec("binary-1-logit", 1, 1, 2, "pm1", "sign(f)", 1, 1),
        TaskSpec("binary-2-logit", 2, 2, 2, "onehot", "argmax_k f_k", 2, 1),
        TaskSpec("3-class", 3, 3, 3, "onehot", "argmax_k f_k", 3, 2),
        TaskSpec("binary-2-logit-pm", 4, 2, 2, "pm1-per-logit", "argmax_k f_k", 1, 1),
    )
}
def error_counts(stats: dict, n_test: int) -> tuple[int, int]:
    """``(errors, test points)`` pooled over seeds, from a test-error summary (``mean`` over
    ``n`` seeds, each seed's error a count over ``n_test`` held-out points).

    >>> error_counts({"mean": 0.25, "n": 4}, 10)
    (10, 40)
    """
    total = int(stats["n"]) * int(n_test)
    k = stats["mean"] * total
    if abs(k - round(k)) > 1e-6 * max(1.0, total):
        raise ValueError(f"mean {stats['mean']!r} over {stats['n']} seeds x {n_test} points is "
                         f"not a count of errors")
    return int(round(k)), total


def rate_interval(successes: int, trials: int, confidence: float = 0.95) -> tuple[float, float]:
    """The Wilson score interval of a rate (:func:`numerics.estimation.estimate.wilson_interval`): always
    inside [0, 1], unlike ``mean +- t sd`` (a Student-t interval of error rates near 0 can reach
    below 0). No trials give the uninformative ``(0, 1)``.

    >>> lo, hi = rate_interval(0, 200)
    >>> lo == 0.0 and 0 < hi < 0.02
    True
    >>> [round(v, 4) for v in rate_interval(5, 10)]
    [0.2366, 0.7634]
    """
    from numerics.estimation.estimate import wilson_interval

    if trials <= 0:
        return (0.0, 1.0)
    lo, hi = wilson_interval(int(successes), int(trials), confidence)
    return (float(lo), float(hi))


def claim_verdicts(estimates: Sequence[dict]) -> list[dict]:
    """Per task with a claim and per setting, the status by the rules of the module docstring.

    >>> est = {"task": "3-class", "n_train": 16, "noise": 2.0,
    ...        "paired_err1_minus_err2": {"mean": 0.2, "lo": 0.1, "hi": 0.3, "n_positive": 9,
    ...                                   "n_negative": 0, "n_zero": 1, "n": 10}}
    >>> v = claim_verdicts([est])[0]
    >>> v["claim"], v["status"]
    ('rank-above-one', 'supported')
    """
    out = []
    for est in estimates:
        task = est["task"]
        d = est.get("paired_err1_minus_err2")
        claim = "rank-above-one" if TASKS[task].classes > 2 else "rank-one-optimal"
        where = f"n_train={est['n_train']}/class, noise={est['noise']:g}"
        if not d or d.get("lo") is None:
            status, why = "open", "no paired interval (needs ranks 1 and 2 and >= 2 seeds)"
        else:
            lo, hi = d["lo"], d["hi"]
            ties = " (every seed ties: err(1) = err(2))" if d["n_zero"] == d["n"] else ""
            if claim == "rank-one-optimal":
                status = "supported" if hi < 0 else "contradicted" if lo > 0 else "open"
            else:
                status = "supported" if lo > 0 else "contradicted" if hi < 0 else "open"
            why = (f"err(1) - err(2) = {d['mean']:+.4f}, 95% t [{lo:+.4f}, {hi:+.4f}] over "
                   f"{d['n']} seeds (+{d['n_positive']} / -{d['n_negative']} / ={d['n_zero']}){ties}")
        out.append({"task": task, "claim": claim, "n_train": est["n_train"], "noise": est["noise"],
                    "status": status, "sentence": f"{where}: {status}: {why}"})
    return out



# ------------------------------------------------------------------------------ ledger


#: Why each binary task of the structured design cannot test "rank one is optimal".
UNTESTABLE_REASON = {
    "binary-1-logit": ("untestable in this design: one logit, so rank(A_head^T Delta) <= K = 1 and "
                       "every rank r >= 1 gives the same fit by construction (err(1) = err(2) "
                       "for every seed)"),
    "binary-2-logit-pm": ("untestable in this design: the centred targets have rank 1, so the fit "
                          "is the same at every rank r >= 1 by construction"),
    "binary-2-logit": ("untestable in this design: err(1) > err(2) is an artefact of squared loss "
                       "on uncentred one-hot targets (rank Y = 2, centred rank 1; the centred task "
                       "binary-2-logit-pm ties), not a refutation; every r >= K = 2 ties by "
                       "construction, so rank one can never be strictly best"),
}


def _run_status(statuses: Sequence[str]) -> str:
    if statuses and all(s == "supported" for s in statuses):
        return "supported"
    if statuses and all(s == "contradicted" for s in statuses):
        return "contradicted"
    return "open"


def ledger_entries(results_dir) -> list[dict]:
    """Ledger entries from committed ``results/rademacher/*/summary.json`` (nothing is run).

    One entry per run and claim: ``R3.rank-one-optimal.<binary task>.<run>`` and
    ``R3.rank-above-one.3-class.<run>``, status by the rules of the module docstring, re-derived
    from the stored intervals (:func:`claim_verdicts`).

    >>> ledger_entries("/nonexistent")
    []
    """
    entries = []
    for record in committed_summaries(results_dir, "rademacher", SUMMARY_FORMAT):
        summary = record.summary
        verdicts = claim_verdicts([e for e in summary["estimates"] if "per_rank" in e])
        sizes = summary["sizes"]
        for task in dict.fromkeys(v["task"] for v in verdicts):
            vs = [v for v in verdicts if v["task"] == task]
            status = measured = _run_status([v["status"] for v in vs])
            claim = vs[0]["claim"]
            reason = UNTESTABLE_REASON.get(task) if claim == "rank-one-optimal" else None
            if reason:
                status = "untestable"
            text = ("held-out error is strictly lower at r = 1 than at r = 2"
                    if claim == "rank-one-optimal" else
                    "held-out error is strictly lower at r = 2 than at r = 1")
            entry = measured_entry(
                f"R3.{claim}.{task}.{record.run}", SOURCE,
                f"{task}: {text} (NTK-linearised last layer, structured features plus Gaussian "
                f"input noise, exact rank-r ridge least squares; m={sizes['m']}, n={sizes['n']}, "
                f"{summary['seeds']['n_seeds']} seeds, seed {summary['seeds']['global_seed']}, "
                f"device {record.device}). "
                + (f"{reason[0].upper()}{reason[1:]}; as measured (run: {measured}), per setting: "
                   if reason else "Per setting: ")
                + " | ".join(v["sentence"] for v in vs),
                status, (f"{reason}. " if reason else "") + f"{len(vs)} settings as measured: "
                + ", ".join(v["status"] for v in vs), record)
            entry["per_setting"] = [{"n_train": v["n_train"], "noise": v["noise"],
                                     "status": "untestable" if reason else v["status"],
                                     "measured": v["status"]} for v in vs]
            if reason:
                entry["reason"] = reason
            entries.append(entry)
    return entries
