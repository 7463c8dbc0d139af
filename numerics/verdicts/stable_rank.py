"""Ledger verdicts of the stable-rank probe (seed 003, THEORY.md section 4), torch-free.

:mod:`numerics.engine.stable_rank` measures; this module turns a summary into statuses by the
rules below (fixed, with their thresholds, before the committed run was made) and committed
``results/stable-rank/*/summary.json`` into ledger entries ``SR.<claim>.<run>``. What each entry
tests (``claim_kind``) is said per claim.

``sr-slower-than-r.<scaling>`` (paper claim: "sr(Delta) grows far slower than r", for each of
``alpha/r`` and ``alpha/sqrt(r)``)
    Read as: over the rank grid (ranks ``r >= 2``; ``sr = 1`` at ``r = 1`` by SR.bounds), ``sr``
    of the learned update grows at most like ``sqrt(r)``. Per trial, the least-squares slope of
    ``log sr(Delta)`` against ``log r``; its mean over trials with a 95% t interval.
    *supported*: the interval lies below :data:`FAR_SLOPE` (1/2, growth at most ``sqrt(r)``);
    *contradicted*: the interval lies above :data:`PROPORTIONAL_SLOPE` (0.9: growth close to
    proportional to ``r``); *open* otherwise, and when a trial diverged or fewer than two trials
    or two ranks ``>= 2`` were run. A slope is a statement about this grid and this task only
    (the task's teacher has its own stable rank, quoted with the verdict).
``sr-threshold-accuracy`` (paper claim: "accuracy falls once sr(W0 + Delta) drifts past a
task-dependent threshold")
    *untestable* in this setting, always: in the NTK-linearised task the loss depends on
    ``Delta`` alone (``<G_i, W0>`` cancels against the targets), while ``sr(W0 + Delta)`` depends
    on the arbitrary ``W0``; the seed does not define the threshold, and no reading of it in the
    linear setting is ours to invent. The rank correlation of ``sr(W0 + Delta)`` with the test
    loss is quoted as a description, not judged.
``sr-bounds`` (method check: SR.bounds and SR.product-rank at the experiment's sizes)
    *supported* if every trial's ``sr(Delta)`` lies in ``[1, r]`` and ``sr(W0 + Delta)`` in
    ``[1, d]`` up to :data:`BOUND_TOL` (relative), else *contradicted*.
``probe-trains`` (method check: the probe's updates were learned, not left at the start)
    *supported* if every trial stayed finite and ended with a lower training loss than it
    started with, else *contradicted*.

Examples
--------
>>> slope_status({"mean": 0.2, "lo": 0.1, "hi": 0.3})
'supported'
>>> slope_status({"mean": 1.0, "lo": 0.95, "hi": 1.05})
'contradicted'
>>> slope_status({"mean": 0.6, "lo": 0.4, "hi": 0.8})
'open'
>>> ledger_entries("/nonexistent")
[]
"""

from __future__ import annotations

from numerics.verdicts.capacity import claim_entries

__all__ = ["SUMMARY_FORMAT", "SOURCE", "METHOD_SOURCE", "FAR_SLOPE", "PROPORTIONAL_SLOPE",
           "BOUND_TOL", "slope_status", "claim_verdicts", "ledger_entries"]

SUMMARY_FORMAT = "lorank.stable-rank-summary/1"
SOURCE = "Stable rank of LoRA updates (seed 003), THEORY.md section 4"
METHOD_SOURCE = "lorank's stable-rank probe (numerics/engine/stable_rank.py)"

#: "Far slower than r": the slope of log sr(Delta) in log r lies below this (growth at most
#: like sqrt(r)), with its 95% interval. Fixed before any run.
FAR_SLOPE = 0.5
#: Growth close to proportional to r: the slope's interval lies above this.
PROPORTIONAL_SLOPE = 0.9
#: Relative slack of the numerical bounds 1 <= sr <= rank (float64 SVD).
BOUND_TOL = 1e-9

_TAGS = {"alpha/r": "alpha-over-r", "alpha/sqrt(r)": "alpha-over-sqrt-r"}


def slope_status(slope: dict | None) -> str:
    """``supported`` if the interval lies below :data:`FAR_SLOPE`, ``contradicted`` if it lies
    above :data:`PROPORTIONAL_SLOPE`, ``open`` otherwise (also without an interval).

    >>> slope_status({"mean": 0.2, "lo": None, "hi": None}), slope_status(None)
    ('open', 'open')
    """
    if not slope or slope.get("lo") is None:
        return "open"
    if slope["hi"] < FAR_SLOPE:
        return "supported"
    if slope["lo"] > PROPORTIONAL_SLOPE:
        return "contradicted"
    return "open"


def _iv(d, digits=3):
    from numerics.estimation.estimate import format_interval

    return format_interval(d, digits)

def _where(s: dict) -> str:
    sz, sol, ref = s["sizes"], s["solver"], s["references"]
    teacher = (f"sr(D*) = {_iv(ref['sr_teacher'])}" if ref.get("sr_teacher") else "")
    return (f"d = {sz['d']}, N = {sz['N']}, ranks {sz['ranks'][0]}..{sz['ranks'][-1]} "
            f"({len(sz['ranks'])} ranks), {s['seeds']['trials']} seeds; GD step {sol['lr']:g}, "
            f"{sol['steps']} steps, alpha = {sol['alpha']:g}, noise {sol['noise']:g}; {teacher}")


def _done(sc: dict) -> list:
    """The ranks with at least one finite trial (their statistics are over the finite ones)."""
    return [p for p in sc["per_rank"] if p["trials"] and p["finite"]]


def _diverged(sc: dict) -> int:
    return sum(p["trials"] - p["finite"] for p in sc["per_rank"] if p["trials"])


def claim_verdicts(summary: dict) -> list[dict]:
    """Every claim's status, kind, source and sentence, from a summary (rules of the module
    docstring)."""
    s = summary
    out = []
    where = _where(s)
    ran = [sc for sc in s["scalings"] if any(p["trials"] for p in sc["per_rank"])]
    scalings = [sc for sc in ran if _done(sc)]
    for sc in ran:
        done = _done(sc)
        diverged = _diverged(sc)
        slope = sc.get("slope")
        status = "open" if diverged else slope_status(slope)
        top = done[-1] if done else None
        shown = (f"slope of log sr(Delta) against log r over r = {sc['slope_ranks'][0]}.."
                 f"{sc['slope_ranks'][-1]}: {_iv(slope)} (95% t over seeds; per-seed range "
                 f"{sc['slope_range'][0]:.3f} to {sc['slope_range'][1]:.3f})" if slope else
                 "no slope (fewer than two ranks >= 2 or no complete seed)")
        out.append({
            "claim": f"sr-slower-than-r.{_TAGS[sc['scaling']]}", "kind": "paper claim",
            "source": SOURCE, "status": status,
            "text": (f"sr(Delta) of the learned LoRA update grows far slower than the nominal rank r, "
                     f"scaling {sc['scaling']}, read as growth at most like sqrt(r) (slope < "
                     f"{FAR_SLOPE:g} with its interval; contradicted above {PROPORTIONAL_SLOPE:g}): "
                     f"{shown}"
                     + (f"; at r = {top['r']}: sr(Delta) = {_iv(top['sr_delta'])}" if top else "")
                     + (f"; {diverged} trials diverged" if diverged else "") + f"; {where}"),
            "detail": f"slope {_iv(slope) if slope else 'none'}: {status}"})
    if scalings:
        rho = ", ".join(f"{sc['scaling']}: {sc['spearman_srw_test']:+.3f}" for sc in scalings
                        if "spearman_srw_test" in sc)
        out.append({
            "claim": "sr-threshold-accuracy", "kind": "paper claim", "source": SOURCE,
            "status": "untestable",
            "text": ("accuracy falls once sr(W0 + Delta) drifts past a task-dependent threshold: "
                     "untestable here: in the NTK-linearised task the loss depends on Delta alone "
                     "(<G_i, W0> cancels against the targets) while sr(W0 + Delta) depends on the "
                     "arbitrary W0, and the seed does not define the threshold; described only: "
                     f"Spearman correlation of sr(W0 + Delta) with the test loss over ranks and "
                     f"seeds {rho or 'not computed'}; sr(W0) = {_iv(s['references']['sr_w0'])}; "
                     f"{where}"),
            "detail": "no threshold is defined in the linear setting"})
        bad = []
        for sc in scalings:
            for p in _done(sc):
                r, d = p["r"], s["sizes"]["d"]
                if not (1 - BOUND_TOL <= p["sr_delta_min"] and p["sr_delta_max"] <= r * (1 + BOUND_TOL)):
                    bad.append(f"{sc['scaling']} r={r}: sr(Delta) {p['sr_delta_min']:.6g}..{p['sr_delta_max']:.6g}")
                if not (1 - BOUND_TOL <= p["sr_w_min"] and p["sr_w_max"] <= d * (1 + BOUND_TOL)):
                    bad.append(f"{sc['scaling']} r={r}: sr(W0 + Delta) {p['sr_w_min']:.6g}..{p['sr_w_max']:.6g}")
        worst = max(p["sr_delta_max"] / p["r"] for sc in scalings for p in _done(sc))
        out.append({
            "claim": "sr-bounds", "kind": "method check", "source": METHOD_SOURCE,
            "status": "contradicted" if bad else "supported",
            "text": (f"every measured sr(Delta) lies in [1, r] and sr(W0 + Delta) in [1, d] "
                     f"(SR.bounds, SR.product-rank) to {BOUND_TOL:g} relative: largest "
                     f"sr(Delta)/r {worst:.4f}" + (f"; outside: {'; '.join(bad[:3])}" if bad else "")
                     + f"; {where}"),
            "detail": f"{len(bad)} cells outside the bounds"})
        trials = sum(p["trials"] for sc in ran for p in sc["per_rank"])
        good = sum(min(p["decreased"], p["finite"]) for sc in scalings for p in _done(sc))
        worst_end = max(p["train_end"]["mean"] for sc in scalings for p in _done(sc))
        out.append({
            "claim": "probe-trains", "kind": "method check", "source": METHOD_SOURCE,
            "status": "supported" if good == trials else "contradicted",
            "text": (f"every trial stays finite and lowers its training loss: {good} of {trials}; "
                     f"largest mean final training loss (relative to the loss of Delta = 0) "
                     f"{worst_end:.3f}; {where}"),
            "detail": f"{good} of {trials} trials trained"})
    return out


def ledger_entries(results_dir) -> list[dict]:
    """One entry ``SR.<claim>.<run>`` per claim of every committed
    ``results_dir/stable-rank/*/summary.json``, statuses re-derived from the stored numbers.

    >>> ledger_entries("/nonexistent")
    []
    """
    return claim_entries(results_dir, "stable-rank", SUMMARY_FORMAT, "SR", claim_verdicts)
