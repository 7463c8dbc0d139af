"""Ledger verdicts of the gated arm of the encoder LoRA sweep (issue 15, item 2; seed 004,
THEORY.md section 5), torch-free.

The claim: "the learned rank on binary NTK tasks collapses to 1 and on K-class tasks stays near
K". Here it is read on a pretrained MiniLM-L6 fine-tuned (not NTK-linearised) on BBC News,
with a gated LoRA (:mod:`numerics.engine.encoder_gated`) on the 12 query and value matrices;
each entry says so. Rules, fixed before the committed runs were made:

``rank.<task>.<n>.lam-<lambda>.<max|live>`` (paper claim, one entry per task, size,
lambda and reading)
    The theory's band is the learnable-rank family's
    (:func:`numerics.engine.learnable_rank.theory_band`): binary (one logit) ``[1, 1]``,
    ``C >= 3`` classes ``[C - 1, C]``. Per seed one number, then its mean over seeds with a 95%
    t interval, judged by :func:`numerics.verdicts.learnable_rank.band_status` (inside the band
    widened by 1/2: *supported*; entirely outside: *contradicted*; else *open*). Readings:
    ``max``, the largest learned rank over the adapted matrices (the theory's rank bounds each
    matrix, so the matrix that keeps most is the test); ``live-mean``, the mean learned rank over
    the matrices that keep at least one component (a matrix pruned to 0 is not adapted at all,
    which the theory does not forbid).
    *Open* instead, whatever the interval, when: the L1 steps cannot close a gate within the
    budget (:func:`numerics.engine.encoder_gated.budget_closes`, fixed by the config); no gate of
    any seed reached 0 (the L1 weight did not engage); the mean training accuracy is below
    :data:`TRAINED_ACC` (the adapted model did not fit: at a large lambda every gate closes and
    the encoder is left as it was); fewer than two seeds; or no matrix kept a component in some
    seed (``live-mean`` only).
``ordering.<n>.lam-<lambda>`` (paper claim, comparative: multi-class learns a higher rank)
    For every multi-class task against every binary task at the same size and lambda, reading
    ``max``: *supported* if the multi-class interval lies above every binary one (``lo > hi``);
    *contradicted* if it lies at or below some binary one (``hi <= lo``); *open* otherwise, or
    when a task involved is open by the guards above.
``gated-trains`` (method check: the learned ranks belong to models that fit)
    *supported* if every task, size and lambda reaches mean training accuracy
    :data:`TRAINED_ACC`, else *contradicted*, naming those that do not.
Assumed, not checked: seeds are exchangeable and the t interval's normal approximation holds
for integer ranks; the learned rank is the support that proximal gradient reaches within the
budget (A and B carry no penalty, so the L1 term is scale-degenerate), not a minimiser's.

Examples
--------
>>> entry = {"lam": 0.01, "budget_closes": True, "pruned_any": 3, "trials": 3,
...          "train_acc": {"mean": 1.0}, "learned_max": {"mean": 1.0, "lo": 1.0, "hi": 1.0},
...          "learned_live_mean": {"mean": 1.0, "lo": 1.0, "hi": 1.0}, "adapted_min": 0}
>>> guard(entry), guard(entry, "live-mean")
(None, 'some seed kept no component in any matrix')
>>> entry["pruned_any"] = 0
>>> guard(entry)
'no gate reached 0 in any seed (the L1 weight did not engage)'
>>> ledger_entries("/nonexistent")
[]
"""

from __future__ import annotations

from numerics.verdicts.capacity import claim_entries
from numerics.verdicts.learnable_rank import band_status

__all__ = ["SUMMARY_FORMAT", "SOURCE", "METHOD_SOURCE", "TRAINED_ACC", "READINGS", "guard",
           "claim_verdicts", "ledger_entries"]

SUMMARY_FORMAT = "lorank.encoder-gated-summary/1"
SOURCE = ("Learnable rank for LoRA (seed 004), THEORY.md section 5: the learned rank collapses to "
          "1 on binary tasks and stays near K on K-class tasks")
METHOD_SOURCE = "lorank's gated arm of the encoder LoRA sweep (numerics/engine/encoder_gated.py)"
#: The guard: the gated model fits its training set (the encoder-lora family's threshold).
TRAINED_ACC = 0.9
#: The readings of the learned rank: summary key per reading.
READINGS = {"max": "learned_max", "live-mean": "learned_live_mean"}
#: The reading's name in an entry id (ids stay within the ledger's 80 columns).
ID_READING = {"max": "max", "live-mean": "live"}
SETUP = ("setup differs from the theory's: a pretrained MiniLM-L6 fine-tuned (not NTK-linearised) "
         "on BBC News, fixed random linear head, gated LoRA on query and value of every layer")


def guard(entry: dict, reading: str = "max") -> str | None:
    """Why a task, size and lambda cannot be judged (module docstring), or None."""
    if not entry["budget_closes"]:
        return ("the L1 steps cannot close a gate within the budget (steps x gate_lr x lambda "
                "< the initial gate)")
    if not entry["pruned_any"]:
        return "no gate reached 0 in any seed (the L1 weight did not engage)"
    if entry["train_acc"]["mean"] < TRAINED_ACC:
        return (f"the gated model did not fit (mean training accuracy "
                f"{entry['train_acc']['mean']:.3f} < {TRAINED_ACC:g})")
    if entry["trials"] < 2:
        return "fewer than two seeds"
    if reading == "live-mean" and entry["adapted_min"] < 1:
        return "some seed kept no component in any matrix"
    return None


def _iv(d, digits=2):
    from numerics.estimation.estimate import format_interval

    return format_interval(d, digits) if d else "n/a"


def _lam(x: float) -> str:
    return f"{x:g}"


def claim_verdicts(summary: dict) -> list[dict]:
    """Every entry's status, kind, source and sentence (rules of the module docstring)."""
    out = []
    where = (f"{summary['seeds']['trials']} seeds; {summary['model']['training']}; model sha256 "
             f"{summary['provenance']['model_sha256'][:12]}; {SETUP}; assumed: seeds exchangeable, "
             "t interval valid for integer ranks, the rank is proximal gradient's support within "
             "the budget")
    failed = []
    judged = {}
    for t in summary["tasks"]:
        band = tuple(t["band"])
        for s in t["sizes"]:
            for p in s["lams"]:
                if p["train_acc"]["mean"] < TRAINED_ACC:
                    failed.append(f"{t['task']} {s['per_class']} per class lambda {_lam(p['lam'])}")
                base = f"{t['task'].replace('/', '-')}.{s['per_class']}.lam-{_lam(p['lam'])}"
                for reading, key in READINGS.items():
                    why = guard(p, reading)
                    iv = p.get(key)
                    status = "open" if why or iv is None else band_status(iv, band)
                    if reading == "max":
                        judged[(t["task"], s["per_class"], p["lam"])] = (t, iv, why)
                    out.append({
                        "claim": f"rank.{base}.{ID_READING[reading]}", "kind": "paper claim",
                        "source": SOURCE, "status": status,
                        "text": (f"on {t['task']} ({t['classes']} classes, K = {t['K']}) with "
                                 f"{s['per_class']} examples per class and lambda {_lam(p['lam'])}, "
                                 f"the learned rank lies in the theory's band [{band[0]}, {band[1]}] "
                                 f"(reading {reading}: "
                                 + ("largest over the adapted matrices" if reading == "max" else
                                    "mean over the matrices that keep a component")
                                 + f", per seed, 95% t over seeds, band widened by 1/2): "
                                 f"{_iv(iv)} (counts of the largest {p['learned_max_counts']}; "
                                 f"matrices adapted {_iv(p['adapted'])}; test accuracy "
                                 f"{_iv(p['test_acc'], 3)}, training {_iv(p['train_acc'], 3)})"
                                 + (f"; not judged: {why}" if why else "") + f"; {where}"),
                        "detail": f"{reading} {_iv(iv)} vs [{band[0]}, {band[1]}]"
                                  + (f"; open: {why}" if why else f": {status}")})
    sizes = sorted({(s["per_class"], p["lam"]) for t in summary["tasks"] for s in t["sizes"]
                    for p in s["lams"]})
    for pc, lam in sizes:
        here = [v for k, v in judged.items() if k[1] == pc and k[2] == lam]
        multi = [v for v in here if v[0]["classes"] > 2]
        binary = [v for v in here if v[0]["classes"] == 2]
        if not multi or not binary:
            continue
        blocked = [f"{v[0]['task']}: {v[2]}" for v in multi + binary if v[2] or v[1] is None
                   or v[1]["lo"] is None]
        if blocked:
            status = "open"
        else:
            above = all(m[1]["lo"] > b[1]["hi"] for m in multi for b in binary)
            below = any(m[1]["hi"] <= b[1]["lo"] for m in multi for b in binary)
            status = "supported" if above else "contradicted" if below else "open"
        shown = "; ".join(f"{v[0]['task']} {_iv(v[1])}" for v in multi + binary)
        out.append({
            "claim": f"ordering.{pc}.lam-{_lam(lam)}", "kind": "paper claim", "source": SOURCE,
            "status": status,
            "text": (f"with {pc} examples per class and lambda {_lam(lam)}, every multi-class task "
                     f"learns a higher rank than every binary task (reading: largest learned rank "
                     f"over the matrices, 95% t intervals over seeds disjoint and in that order; "
                     f"contradicted if some multi-class interval lies at or below a binary one): "
                     f"{shown}" + (f"; not judged: {'; '.join(blocked)}" if blocked else "")
                     + f"; {where}"),
            "detail": f"{shown}: {status}"})
    if any(t["sizes"] for t in summary["tasks"]):
        out.append({"claim": "gated-trains", "kind": "method check", "source": METHOD_SOURCE,
                    "status": "contradicted" if failed else "supported",
                    "text": (f"for every task, size and lambda the gated model fits its training set "
                             f"(mean training accuracy >= {TRAINED_ACC:g}): "
                             + (f"not for {', '.join(failed)}" if failed else "yes") + f"; {where}"),
                    "detail": f"{len(failed)} task-size-lambda cells undertrained"})
    return out


def ledger_entries(results_dir) -> list[dict]:
    """One entry ``ENC-GATED.<claim>.<run>`` per claim of every committed
    ``results_dir/encoder-gated/*/summary.json``.

    >>> ledger_entries("/nonexistent")
    []
    """
    return claim_entries(results_dir, "encoder-gated", SUMMARY_FORMAT, "ENC-GATED", claim_verdicts)
