"""Ledger verdicts of the learnable-rank probe (seed 004, THEORY.md section 5), torch-free.

:mod:`numerics.engine.learnable_rank` measures; this module turns a summary into statuses by the
rules below (fixed, with their thresholds, before the committed run was made) and committed
``results/learnable-rank/*/summary.json`` into ledger entries ``LR.<claim>.<run>``.

``learned-rank.<task>.lam-<lambda>`` (paper claim: "the learned rank on binary NTK tasks
collapses to 1 and on K-class tasks stays near K", one entry per task and L1 weight lambda)
    The learned rank (live gates at the end) per seed; its mean over seeds with a 95% t interval.
    The band the theory predicts is fixed before any run
    (:func:`numerics.engine.learnable_rank.theory_band`): binary (one logit) ``[1, 1]``;
    ``C >= 3`` classes ``[C - 1, C]`` ("near K" read as ``K - 1`` (centred softmax gradients) or
    ``K``). Ranks are integers, so a mean is read against the band widened by
    :data:`ROUNDING` (1/2) on each side: *supported* if the interval lies inside
    ``[lo - 1/2, hi + 1/2]``; *contradicted* if it lies entirely outside it; *open* otherwise, and
    whenever some seed of the task did not fit its training set (accuracy below
    :data:`FIT_ACCURACY`) or diverged, or fewer than two seeds ran, or no gate reached zero in
    any seed (the L1 weight did not engage: a count of gates that were never pruned measures
    the start, not the task; added after the first committed run showed such entries judged
    contradicted). A learned rank always
    depends on lambda (larger lambda prunes more); the entry names the lambda it was measured at.
``probe-fits`` (method check: the learned ranks belong to classifiers that fit)
    *supported* if every seed of every task reaches training accuracy at least
    :data:`FIT_ACCURACY` with finite weights, else *contradicted*.
``pruning-exact`` (method check: pruning dead components keeps the function)
    *supported* if the last pruning changed no training logit by more than :data:`PRUNE_TOL`
    relative to the largest logit, in every trial, else *contradicted*.
``learned-rank-counts`` (method check: the live-gate count bounds the update's rank)
    *supported* if the numerical rank of ``Delta`` never exceeds the learned rank, else
    *contradicted*.

Examples
--------
>>> band_status({"mean": 1.0, "lo": 1.0, "hi": 1.0}, (1, 1))
'supported'
>>> band_status({"mean": 3.0, "lo": 2.6, "hi": 3.4}, (1, 1))
'contradicted'
>>> band_status({"mean": 1.4, "lo": 0.9, "hi": 1.9}, (1, 1))
'open'
>>> ledger_entries("/nonexistent")
[]
"""

from __future__ import annotations

from numerics.verdicts.capacity import claim_entries

__all__ = ["SUMMARY_FORMAT", "SOURCE", "METHOD_SOURCE", "ROUNDING", "FIT_ACCURACY", "PRUNE_TOL",
           "band_status", "claim_verdicts", "ledger_entries"]

SUMMARY_FORMAT = "lorank.learnable-rank-summary/1"
SOURCE = "Learnable rank for LoRA (seed 004), THEORY.md section 5"
METHOD_SOURCE = "lorank's learnable-rank probe (numerics/engine/learnable_rank.py)"

#: Integer ranks: a mean is read against the band widened by this on each side.
ROUNDING = 0.5
#: A seed fits when its training accuracy is at least this.
FIT_ACCURACY = 0.9
#: Largest change of a training logit by the final pruning, relative to the largest logit.
PRUNE_TOL = 1e-12


def band_status(interval: dict | None, band) -> str:
    """``supported`` if ``[lo, hi]`` lies inside ``[band_lo - 1/2, band_hi + 1/2]``,
    ``contradicted`` if it lies entirely outside, ``open`` otherwise (also without an interval).

    >>> band_status({"mean": 4.0, "lo": None, "hi": None}, (4, 5)), band_status(None, (1, 1))
    ('open', 'open')
    >>> band_status({"mean": 4.2, "lo": 3.9, "hi": 4.5}, (4, 5))
    'supported'
    """
    if not interval or interval.get("lo") is None:
        return "open"
    lo, hi = band[0] - ROUNDING, band[1] + ROUNDING
    if lo <= interval["lo"] and interval["hi"] <= hi:
        return "supported"
    if interval["hi"] < lo or interval["lo"] > hi:
        return "contradicted"
    return "open"


def _iv(d, digits=2):
    from numerics.estimation.estimate import format_interval

    return format_interval(d, digits)

def _tag(t: dict) -> str:
    return ("binary" if t["classes"] == 2 else f"C{t['classes']}") + f".lam-{t['lam']:g}"


def _where(s: dict) -> str:
    sz, sol = s["sizes"], s["solver"]
    return (f"n = {sz['n']}, m = {sz['m']}, {sz['per_class']} examples per class, initial rank "
            f"{sz['rank']}, {s['seeds']['trials']} seeds; {sol.get('optimizer', 'adam')} step "
            f"{sol['lr']:g} on A, B (wd "
            f"{sol['wd']:g}), gate step {sol['gate_lr']:g}, {sol['steps']} steps, prune after "
            f"{sol['patience']} dead steps every {sol['prune_every']}")


def claim_verdicts(summary: dict) -> list[dict]:
    """Every claim's status, kind, source and sentence, from a summary (rules of the module
    docstring)."""
    s = summary
    done = [t for t in s["tasks"] if t["trials"]]
    out = []
    where = _where(s)
    for t in done:
        fits = t["train_acc_min"] >= FIT_ACCURACY and t["finite"] == t["trials"]
        initial = s["sizes"]["rank"]
        engaged = t["learned_rank_counts"] != {str(initial): t["trials"]}
        status = band_status(t["learned_rank"], t["band"]) if fits and engaged else "open"
        lo, hi = t["band"]
        band = f"[{lo}, {hi}]" if lo != hi else f"{lo}"
        counts = ", ".join(f"{k}: {v}" for k, v in t["learned_rank_counts"].items())
        dcounts = ", ".join(f"{k}: {v}" for k, v in t["delta_rank_counts"].items())
        task = ("binary, one logit" if t["classes"] == 2 else
                f"{t['classes']} classes, {t['logits']} logits")
        out.append({
            "claim": f"learned-rank.{_tag(t)}", "kind": "paper claim", "source": SOURCE,
            "status": status,
            "text": (f"the learned rank of a gated LoRA layer (SoRA form, proximal L1 on the gates, "
                     f"lambda = {t['lam']:g}) on an NTK-linearised {task} task is "
                     + ("1" if t["classes"] == 2 else "near K") + f", read as the band {band} "
                     f"widened by {ROUNDING:g} for the 95% t interval of the mean: learned rank "
                     f"{_iv(t['learned_rank'])} (seeds per rank {counts}); numerical rank of Delta "
                     f"(seeds per rank {dcounts}); train accuracy {_iv(t['train_acc'], 3)} (min "
                     f"{t['train_acc_min']:.3f}), test {_iv(t['test_acc'], 3)}"
                     + ("" if fits else f"; some seed below {FIT_ACCURACY:g} training accuracy or "
                        "diverged: not judged")
                     + ("" if engaged else f"; no gate reached zero in any seed (every seed kept "
                        f"all {initial} components): the L1 weight did not engage within the step "
                        "budget, so the count of live gates says nothing about the rank the task "
                        "needs: not judged") + f"; {where}"),
            "detail": f"learned rank {_iv(t['learned_rank'])} against {band}: {status}"})
    if done:
        bad = [_tag(t) for t in done if t["train_acc_min"] < FIT_ACCURACY or t["finite"] < t["trials"]]
        out.append({
            "claim": "probe-fits", "kind": "method check", "source": METHOD_SOURCE,
            "status": "contradicted" if bad else "supported",
            "text": (f"every seed reaches training accuracy >= {FIT_ACCURACY:g} with finite weights: "
                     + ", ".join(f"{_tag(t)} min {t['train_acc_min']:.3f}" for t in done)
                     + (f"; failing: {', '.join(bad)}" if bad else "") + f"; {where}"),
            "detail": f"{len(bad)} tasks with a seed that does not fit"})
        worst = max(t["prune_change_max"] for t in done)
        out.append({
            "claim": "pruning-exact", "kind": "method check", "source": METHOD_SOURCE,
            "status": "supported" if worst <= PRUNE_TOL else "contradicted",
            "text": (f"pruning components whose gate is 0 keeps the layer's function: largest "
                     f"change of a training logit by the final pruning {worst:.1e} of the largest "
                     f"logit (limit {PRUNE_TOL:g}); {where}"),
            "detail": f"largest relative change {worst:.1e}"})
        above = sum(t["delta_above_learned"] for t in done)
        out.append({
            "claim": "learned-rank-counts", "kind": "method check", "source": METHOD_SOURCE,
            "status": "supported" if above == 0 else "contradicted",
            "text": (f"the numerical rank of Delta = s B diag(g) A never exceeds the count of live "
                     f"gates: {above} trials above; {where}"),
            "detail": f"{above} trials with rank(Delta) > learned rank"})
    return out


def ledger_entries(results_dir) -> list[dict]:
    """One entry ``LR.<claim>.<run>`` per claim of every committed
    ``results_dir/learnable-rank/*/summary.json``, statuses re-derived from the stored numbers.

    >>> ledger_entries("/nonexistent")
    []
    """
    return claim_entries(results_dir, "learnable-rank", SUMMARY_FORMAT, "LR", claim_verdicts)
