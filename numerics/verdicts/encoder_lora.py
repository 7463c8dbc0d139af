"""Ledger verdicts of the encoder LoRA rank sweep (issue 15, item 3), torch-free.

The papers' experiments (Jang et al., seed 001; seed 000) report that on binary GLUE-style tasks
rank one is competitive with ``r = 12``, and that a multi-class task (MNLI) wants a higher rank.
Here the encoder is a pretrained MiniLM-L6 (not RoBERTa), the tasks are BBC News (not GLUE), the
head is a fixed random linear head (not a label-word head): each entry says so, and these are
the claims' readings on *this* setup. Rules, fixed before any run; every comparison is paired by
seed (trial index: the same training documents and batch order at every rank).

``rank-one-binary.<task>.<n>`` (paper claim, binary tasks, one entry per reading)
    Reading ``spread``: "rank one lies within the seeds' spread of r = 12": *supported* if the
    mean test accuracy at ``r = 1`` is at least the lowest seed's accuracy at ``r = 12``;
    *contradicted* if it lies below every seed of ``r = 12``.
    Reading ``paired``: the paired differences ``acc(r = 12) - acc(r = 1)`` over seeds, with a 95%
    Student-t interval: *contradicted* if the interval lies above :data:`MARGIN` (r = 12 better by
    more than one point with confidence); *supported* if it lies below :data:`MARGIN` (any
    advantage of r = 12 is under one point, with confidence); *open* otherwise.
    Both *open* with fewer than two seeds or without ``r = 1`` and ``r = 12`` in the sweep.
``best-rank-multiclass.<task>.<n>`` (paper claim, tasks with ``C >= 3`` classes)
    Reading ``argmax``: the LoRA rank with the highest mean test accuracy (ties to the lowest
    rank): *supported* if above 1, *contradicted* if 1.
    Reading ``paired``: paired differences ``acc(r*) - acc(1)`` for the best rank ``r*``:
    *supported* if the 95% interval lies above 0; *contradicted* if ``r* = 1`` or every rank
    above 1 has its interval of ``acc(r) - acc(1)`` below 0; *open* otherwise.
Guard (added after the first committed CPU run, whose 8-step budget left the 5-class models at
a training accuracy near chance; it can only turn a verdict into *open*): the comparison of a
task and size is judged only if some LoRA rank of the sweep fits its training set, mean
training accuracy at least :data:`TRAINED_ACC`; otherwise every reading is *open* ("the budget
did not train"). A rank that cannot fit while another can is part of the claim, not a failure.
``lora-trains`` (method check): *supported* if every task and size passes the guard, else
*contradicted*, naming those that do not.
Assumed, not checked: seeds are exchangeable and the t interval's normal approximation holds
for accuracies on a fixed test set; the test set is one draw per class.

Examples
--------
>>> d = paired([0.9, 0.8, 0.75], [0.8, 0.8, 0.8])
>>> round(d["mean"], 12), d["n"], d["lo"] < 0 < d["hi"]
(0.016666666667, 3, True)
>>> ledger_entries("/nonexistent")
[]
"""

from __future__ import annotations

from numerics.verdicts.capacity import claim_entries

__all__ = ["SUMMARY_FORMAT", "SOURCE", "MARGIN", "TRAINED_ACC", "paired", "trained",
           "claim_verdicts", "ledger_entries"]

SUMMARY_FORMAT = "lorank.encoder-lora-summary/1"
SOURCE = ("Jang, Lee, Ryu (ICML 2024) experiments and seed 000: rank one competitive with r = 12 "
          "on binary tasks, a higher best rank on multi-class MNLI; THEORY.md sections 1-2")
METHOD_SOURCE = "lorank's encoder LoRA sweep (numerics/engine/encoder_lora.py)"
#: The accuracy difference (one point) below which r = 12 is not counted better (fixed a priori).
MARGIN = 0.01
#: Float rounding allowance when a mean accuracy is compared with one seed's (accuracies are
#: multiples of 1 / test documents, far coarser than this).
TIE = 1e-9
#: The guard: some LoRA rank reaches this mean training accuracy (the budget trains).
TRAINED_ACC = 0.9
SETUP = ("setup differs from the papers': pretrained MiniLM-L6 (not RoBERTa), BBC News (not "
         "GLUE), fixed random linear head on the mean-pooled output, LoRA on query and value of "
         "every layer")


def paired(a, b, confidence: float = 0.95) -> dict:
    """Mean of ``a_i - b_i`` with its Student-t interval."""
    from numerics.estimation.estimate import mean_t_interval

    return mean_t_interval([x - y for x, y in zip(a, b)], confidence)


def trained(size: dict) -> bool:
    """Whether some LoRA rank of a task and size reaches :data:`TRAINED_ACC` mean training
    accuracy.

    >>> trained({"ranks": [{"r": 1, "train_acc": {"mean": 0.5}}, {"r": 0, "train_acc": {"mean": 1.0}}]})
    False
    """
    return any(p["r"] > 0 and p.get("train_acc", {}).get("mean", 0.0) >= TRAINED_ACC
               for p in size["ranks"])


def _untrained(claim, readings, t, s, where):
    best = max((p["train_acc"]["mean"] for p in s["ranks"] if p["r"] > 0), default=float("nan"))
    return [{"claim": f"{claim}.{rd}", "kind": "paper claim", "source": SOURCE, "status": "open",
             "text": (f"{t['task']} with {s['per_class']} examples per class: not judged, the "
                      f"budget did not train (best mean training accuracy over LoRA ranks "
                      f"{best:.3f} < {TRAINED_ACC:g}); {where}"),
             "detail": f"undertrained (best train acc {best:.3f})"} for rd in readings]


def _iv(d, digits=3):
    from numerics.estimation.estimate import format_interval

    return format_interval(d, digits)


def _common(p, q):
    keys = sorted(set(p["by_trial"]) & set(q["by_trial"]), key=int)
    return [p["by_trial"][k] for k in keys], [q["by_trial"][k] for k in keys]


def _binary(t, s, where):
    by_r = {p["r"]: p for p in s["ranks"]}
    base = f"{t['task'].replace('/', '-')}.{s['per_class']}"
    if 1 not in by_r or 12 not in by_r:
        return [{"claim": f"rank-one-binary.{base}.{rd}", "kind": "paper claim", "source": SOURCE,
                 "status": "open", "text": f"rank one vs r = 12 on {t['task']}: r = 1 and r = 12 "
                 f"were not both run; {where}", "detail": "not run"} for rd in ("spread", "paired")]
    if not trained(s):
        return _untrained(f"rank-one-binary.{base}", ("spread", "paired"), t, s, where)
    one, twelve = by_r[1], by_r[12]
    a12, a1 = _common(twelve, one)
    seeds12 = list(twelve["by_trial"].values())
    mean1 = one["test_acc"]["mean"]
    if len(seeds12) < 2:
        spread = "open"
    else:
        # accuracies are multiples of 1/(test documents); TIE absorbs the float rounding of a mean
        spread = "supported" if mean1 >= min(seeds12) - TIE else "contradicted"
    d = paired(a12, a1) if len(a12) >= 2 else None
    if d is None or d["lo"] is None:
        pstat = "open"
    elif d["lo"] > MARGIN:
        pstat = "contradicted"
    elif d["hi"] < MARGIN:
        pstat = "supported"
    else:
        pstat = "open"
    shown = (f"test accuracy r = 1: {_iv(one['test_acc'])}, r = 12: {_iv(twelve['test_acc'])} "
             f"(seeds of r = 12 from {min(seeds12):.3f} to {max(seeds12):.3f})")
    return [
        {"claim": f"rank-one-binary.{base}.spread", "kind": "paper claim", "source": SOURCE,
         "status": spread,
         "text": (f"on the binary task {t['task']} with {s['per_class']} examples per class, rank one "
                  f"lies within the seeds' spread of r = 12 (reading: mean at r = 1 at least the "
                  f"lowest seed at r = 12): {shown}; {where}"),
         "detail": f"mean r=1 {mean1:.3f} vs lowest r=12 seed {min(seeds12):.3f}: {spread}"},
        {"claim": f"rank-one-binary.{base}.paired", "kind": "paper claim", "source": SOURCE,
         "status": pstat,
         "text": (f"on the binary task {t['task']} with {s['per_class']} examples per class, r = 12 "
                  f"is not better than rank one by more than {MARGIN:g} (reading: paired "
                  f"differences acc(12) - acc(1) over {len(a12)} seeds, 95% t interval, below "
                  f"{MARGIN:g} supports, above contradicts): "
                  f"{_iv(d) if d else 'fewer than two seeds'}; {shown}; {where}"),
         "detail": f"acc(12) - acc(1) {_iv(d) if d else 'n/a'}: {pstat}"}]


def _multiclass(t, s, where):
    lora = [p for p in s["ranks"] if p["r"] > 0]
    base = f"{t['task'].replace('/', '-')}.{s['per_class']}"
    by_r = {p["r"]: p for p in lora}
    if 1 not in by_r or len(lora) < 2:
        return [{"claim": f"best-rank-multiclass.{base}.{rd}", "kind": "paper claim",
                 "source": SOURCE, "status": "open",
                 "text": f"best rank on {t['task']}: r = 1 and a higher rank were not both run; {where}",
                 "detail": "not run"} for rd in ("argmax", "paired")]
    if not trained(s):
        return _untrained(f"best-rank-multiclass.{base}", ("argmax", "paired"), t, s, where)
    best = max(lora, key=lambda p: (p["test_acc"]["mean"], -p["r"]))
    arg = "supported" if best["r"] > 1 else "contradicted"
    one = by_r[1]
    diffs = {}
    for p in lora:
        if p["r"] > 1:
            a, b = _common(p, one)
            if len(a) >= 2:
                diffs[p["r"]] = paired(a, b)
    if best["r"] == 1 or (diffs and len(diffs) == len(lora) - 1 and
                          all(d["hi"] is not None and d["hi"] < 0 for d in diffs.values())):
        pstat = "contradicted"
    elif best["r"] in diffs and diffs[best["r"]]["lo"] is not None and diffs[best["r"]]["lo"] > 0:
        pstat = "supported"
    else:
        pstat = "open"
    table = ", ".join(f"r={p['r']}: {p['test_acc']['mean']:.3f}" for p in lora)
    full = [p for p in s["ranks"] if p["r"] == 0]
    ref = f"; full fine-tuning {_iv(full[0]['test_acc'])}" if full else ""
    d = diffs.get(best["r"])
    return [
        {"claim": f"best-rank-multiclass.{base}.argmax", "kind": "paper claim", "source": SOURCE,
         "status": arg,
         "text": (f"on the {t['classes']}-class task {t['task']} with {s['per_class']} examples per "
                  f"class the best LoRA rank is above one (reading: argmax of the mean test "
                  f"accuracy over seeds, ties to the lower rank): best r = {best['r']} "
                  f"({_iv(best['test_acc'])}); means {table}{ref}; {where}"),
         "detail": f"best r = {best['r']}: {arg}"},
        {"claim": f"best-rank-multiclass.{base}.paired", "kind": "paper claim", "source": SOURCE,
         "status": pstat,
         "text": (f"on the {t['classes']}-class task {t['task']} with {s['per_class']} examples per "
                  f"class the best rank beats rank one with confidence (reading: paired "
                  f"acc(r*) - acc(1) over seeds, 95% t interval above 0): r* = {best['r']}, "
                  f"{_iv(d) if d else 'no paired interval'}; {where}"),
         "detail": f"r* = {best['r']}, acc(r*) - acc(1) {_iv(d) if d else 'n/a'}: {pstat}"}]


def claim_verdicts(summary: dict) -> list[dict]:
    """Every entry's status, kind, source and sentence (rules of the module docstring)."""
    out = []
    where = (f"{summary['seeds']['trials']} seeds; {summary['model']['training']}; model sha256 "
             f"{summary['provenance']['model_sha256'][:12]}; {SETUP}; assumed: seeds exchangeable, "
             "t interval valid for accuracies on one fixed test set")
    failed = []
    for t in summary["tasks"]:
        for s in t["sizes"]:
            out += _binary(t, s, where) if t["classes"] == 2 else _multiclass(t, s, where)
            if not trained(s):
                failed.append(f"{t['task']} {s['per_class']} per class")
    if any(t["sizes"] for t in summary["tasks"]):
        out.append({"claim": "lora-trains", "kind": "method check", "source": METHOD_SOURCE,
                    "status": "contradicted" if failed else "supported",
                    "text": (f"for every task and size some LoRA rank fits its training set (mean "
                             f"training accuracy >= {TRAINED_ACC:g}): "
                             + (f"not for {', '.join(failed)}" if failed else "yes") + f"; {where}"),
                    "detail": f"{len(failed)} task-size pairs undertrained"})
    return out


def ledger_entries(results_dir) -> list[dict]:
    """One entry ``ENC-LORA.<claim>.<run>`` per claim of every committed
    ``results_dir/encoder-lora/*/summary.json``.

    >>> ledger_entries("/nonexistent")
    []
    """
    return claim_entries(results_dir, "encoder-lora", SUMMARY_FORMAT, "ENC-LORA", claim_verdicts)
