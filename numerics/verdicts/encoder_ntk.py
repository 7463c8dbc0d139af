"""Ledger verdicts of the empirical-NTK family (issue 15, item 1), torch-free.

The rules, fixed before any run. ``C* = 1.35`` is the paper's constant "under Gaussian-iid
features" (seed 000, R1); what carries over to the features of a real pretrained encoder is the
question, so these are *scope* entries: they measure where the claim's hypothesis is replaced by
real features, not the claim itself.

``real-features-sufficiency`` (scope; the sufficiency reading of ``r (m + n - r) > C* K N``)
    Over every cell and rank with ``rho >= 1.35``: *supported* if every trial of the real features
    was certified (E1); *contradicted* if in some such (cell, rank) the one-sided 95%
    Clopper-Pearson upper bound of the success rate lies below 0.95 (a failure of the local solver
    proves nothing by itself, so this is stated with the Gaussian-iid control's rate on the same
    shapes and targets beside it); *open* otherwise, and when no cell reaches ``rho >= 1.35``.
``control-certifies`` (method check: the solver's budget)
    The same rule on the Gaussian-iid control, whose transition the cstar records put near
    ``rho = 1``: *supported* if every control trial with ``rho >= 1.35`` was certified, else
    *contradicted* (the budget, not the features, would then explain failures).
``least-rank`` (scope, descriptive)
    The least certified rank per cell against the Gaussian-iid control's and against J1's bound
    (the largest ``r`` with ``r (r + 1) / 2 <= M``): *contradicted* when some trial's least rank
    exceeds the bound, or it found none on a grid that reaches ``min(bound, m, n)`` for a
    consistent system (``M <= m n``): J1, a theorem for any consistent system, predicts a solution
    there, so either is a solver shortfall; *supported* when some trial was judged and none
    contradicts; *open* when no trial could be judged. A trial that found no rank on a grid short
    of the bound, or on an inconsistent system (a corner block with ``M > m n``), is not judged:
    it says nothing about J1. (Refined after the first H200 record, where such trials made the
    entry open whatever the others showed; before, any trial without a rank made it open.)

Examples
--------
>>> ledger_entries("/nonexistent")
[]
"""

from __future__ import annotations

import math

from numerics.verdicts.capacity import claim_entries

__all__ = ["SUMMARY_FORMAT", "SOURCE", "CLAIMED", "claim_verdicts", "ledger_entries", "j1_bound",
           "gaussian_brackets"]

SUMMARY_FORMAT = "lorank.encoder-ntk-summary/1"
SOURCE = "Rethinking the rank threshold (seed 000), R1 with C* ~ 1.35 under Gaussian-iid features; THEORY.md section 2"
METHOD_SOURCE = "lorank's E1 solver on real NTK features (numerics/engine/encoder_ntk.py)"
#: The claimed constant (seed 000).
CLAIMED = 1.35


def j1_bound(M: int) -> int:
    """The largest ``r`` with ``r (r + 1) / 2 <= M`` (J1: a rank-``r`` solution exists).

    >>> j1_bound(32), j1_bound(64)
    (7, 10)
    """
    r = (math.isqrt(8 * M + 1) - 1) // 2
    return r


def gaussian_brackets(results_dir, m: int, n: int, run: str = "headline-lm") -> dict:
    """The committed Gaussian-iid transition brackets at size ``m x n``: ``{(r, p): [lo, hi]}``
    of E1 with the most restarts in ``results_dir/cstar/<run>/summary.json`` (the rho grid points
    between which the success rate crosses ``p``); empty if that size was not run.

    >>> gaussian_brackets("/nonexistent", 8, 8)
    {}
    """
    import json
    from pathlib import Path

    path = Path(results_dir) / "cstar" / run / "summary.json"
    if not path.is_file():
        return {}
    est = json.loads(path.read_text()).get("estimands", {})
    e1 = sorted((k for k in est if k.startswith("E1[k=")), key=lambda k: int(k[5:-1]))
    if not e1:
        return {}
    out = {}
    for entry in est[e1[-1]].get("finite_size", []):
        for b in entry.get("brackets_by_size", []):
            if (b["m"], b["n"]) == (m, n):
                out[(entry["r"], entry["p"])] = b["bracket"]
    return out


def _upper(s, n):
    from numerics.estimation.estimate import clopper_pearson_bound

    return clopper_pearson_bound(s, n, "upper", 0.95)


def _sufficiency(summary, name):
    over = [(c, p) for c in summary["cells"] for p in c["ranks"] if p["rho"] >= CLAIMED]
    if not over:
        return "open", "no cell reaches rho >= 1.35"
    s = sum(p[name]["successes"] for _, p in over)
    n = sum(p[name]["trials"] for _, p in over)
    low = [(c, p) for c, p in over if _upper(p[name]["successes"], p[name]["trials"]) < 0.95]
    other = "gauss" if name == "real" else "real"
    text = (f"{s} of {n} trials certified over {len(over)} (cell, rank) pairs with rho >= 1.35 "
            f"(rho {min(p['rho'] for _, p in over):.3g} to {max(p['rho'] for _, p in over):.3g})")
    if low:
        c, p = low[0]
        text += (f"; below 0.95 with 95% confidence at {c['task']} {c['matrix']} block "
                 f"{c['block'] or 'full'} M = {c['M']} r = {p['r']}: {p[name]['successes']}/"
                 f"{p[name]['trials']} (the {'Gaussian-iid control' if other == 'gauss' else 'real features'}"
                 f" {p[other]['successes']}/{p[other]['trials']})")
    status = "supported" if s == n else ("contradicted" if low else "open")
    return status, text


def _where(s):
    sz = s["sizes"]
    return (f"tasks {', '.join(sz['tasks'])}; matrices {', '.join(sz['matrices'])} of layer "
            f"{sz['layer']}; {', '.join(map(str, sz['per_class']))} per class; blocks "
            f"{', '.join(str(b or 'full') for b in sz['blocks'])}; {s['seeds']['trials']} trials; "
            f"model sha256 {s['provenance']['model_sha256'][:12]}")


def claim_verdicts(summary: dict) -> list[dict]:
    """Every entry's status, kind, source and sentence (rules of the module docstring)."""
    if not summary["cells"]:
        return []
    where = _where(summary)
    out = []
    status, text = _sufficiency(summary, "real")
    out.append({"claim": "real-features-sufficiency", "kind": "scope", "source": SOURCE,
                "status": status,
                "text": ("every rho = r (m + n - r) / M >= 1.35 gives an interpolating rank-r update on "
                         "the empirical NTK features of a pretrained encoder (E1, certified): " + text
                         + f"; {where}"), "detail": text})
    status, text = _sufficiency(summary, "gauss")
    out.append({"claim": "control-certifies", "kind": "method check", "source": METHOD_SOURCE,
                "status": "contradicted" if status == "open" and "no cell" not in text else status,
                "text": ("the E1 solver certifies the Gaussian-iid control of the same shapes at "
                         "rho >= 1.35: " + text + f"; {where}"), "detail": text})
    over, none, judged, lines = 0, 0, 0, []
    for c in summary["cells"]:
        bound = j1_bound(c["M"])
        real = c["least_rank_real"]
        # a trial that found no rank on the grid says something about J1 only where the system is
        # consistent (M <= m n) and the grid reaches the rank J1 guarantees (or full rank)
        informative = (c["M"] <= c["m"] * c["n"]
                       and max(p["r"] for p in c["ranks"]) >= min(bound, c["m"], c["n"]))
        missing = sum(r is None for r in real)
        none += 0 if informative else missing
        over += sum(r is not None and r > bound for r in real) + (missing if informative else 0)
        judged += sum(r is not None for r in real) + (missing if informative else 0)
        found = [r for r in real if r is not None]
        gfound = [r for r in c["least_rank_gauss"] if r is not None]
        lines.append(f"{c['task']} {c['matrix']} {c['m']}x{c['n']} M={c['M']}: least rank "
                     f"{max(found) if found else 'none'} (control {max(gfound) if gfound else 'none'},"
                     f" J1 bound {bound})")
    status = "contradicted" if over else ("supported" if judged else "open")
    out.append({"claim": "least-rank", "kind": "scope", "source": SOURCE, "status": status,
                "text": ("the least certified rank on real NTK features lies within J1's bound "
                         "r (r + 1) / 2 <= M (largest per cell over trials): " + "; ".join(lines[:6])
                         + (f"; {none} trials found no rank on a grid that cannot reach J1's rank "
                            "or on an inconsistent system (not judged)" if none else "")
                         + f"; {where}"),
                "detail": f"{over} trials above the bound, {judged} judged, {none} not judged"})
    return out


def ledger_entries(results_dir) -> list[dict]:
    """One entry ``ENC-NTK.<claim>.<run>`` per claim of every committed
    ``results_dir/encoder-ntk/*/summary.json``.

    >>> ledger_entries("/nonexistent")
    []
    """
    return claim_entries(results_dir, "encoder-ntk", SUMMARY_FORMAT, "ENC-NTK", claim_verdicts)
