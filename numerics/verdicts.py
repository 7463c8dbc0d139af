"""Ledger verdicts read from committed C* records (no experiment is re-run here).

The ledger (:mod:`lorank.ledger`) calls :func:`ledger_entries`, which reads every
``results/cstar/*/summary.json`` and turns each estimand family into one entry per level ``p``:
is the seed paper's ``C* ~ 1.35`` consistent with the measured transition?

- ``supported``: 1.35 lies inside the 95% interval in every (rank, aspect) group;
- ``contradicted``: 1.35 lies outside it in every group (the sentence says on which side);
- ``open``: groups disagree, or an interval could not be formed.

Examples
--------
>>> ledger_entries("/nonexistent")
[]
"""

from __future__ import annotations

import json
from pathlib import Path

__all__ = ["ledger_entries", "headline_variant"]

_FAMILY_TEXT = {
    "E1": "existence of a rank-r interpolant (LM with restarts; a lower bound on p_exist)",
    "E2": "one LM run from one random start reaches a global minimiser",
    "E3": "the standard LoRA recipe (B = 0, Gaussian A, gradient descent) interpolates",
}


def headline_variant(summary: dict, family: str) -> str | None:
    """The variant of a family the ledger reports: E1 with the most restarts, E2, or E3 at the
    largest budget and the strictest tolerance.

    >>> headline_variant({"estimands": {"E1[k=1]": {"family": "E1", "params": {"k": 1}},
    ...                                 "E1[k=4]": {"family": "E1", "params": {"k": 4}}}}, "E1")
    'E1[k=4]'
    """
    names = [(name, e["params"]) for name, e in summary["estimands"].items() if e["family"] == family]
    if not names:
        return None
    if family == "E1":
        return max(names, key=lambda x: x[1]["k"])[0]
    if family == "E3":
        return max(names, key=lambda x: (x[1]["T"], -x[1]["eps"]))[0]
    return names[0][0]


def _entry(path: Path, summary: dict, family: str, p: float, repo_root: Path) -> dict | None:
    name = headline_variant(summary, family)
    if name is None:
        return None
    est = summary["estimands"][name]
    groups = [fs for fs in est.get("finite_size", []) if fs["p"] == p]
    if not groups:
        return None
    positions = [g["verdict"]["position"] for g in groups]
    if all(x == "inside" for x in positions):
        status = "supported"
    elif all(x in ("above", "below") for x in positions):
        status = "contradicted"
    else:
        status = "open"
    try:
        evidence = str(path.resolve().relative_to(repo_root))
    except ValueError:
        evidence = str(path)
    sizes = sorted({f"{s['m']}x{s['n']}" for s in est["sizes"]}, key=lambda t: [int(v) for v in t.split("x")])
    details = " | ".join(g["verdict"]["sentence"] for g in groups)
    env = (summary.get("environment") or [{}])[0]
    device = env.get("device_name") or env.get("device") or "?"
    return {
        "id": f"R1.cstar.{family}.p{p:g}.{path.parent.name}",
        "source": "Rethinking the Rank Threshold (2026), R1: C* ~ 1.35",
        "statement": (f"C*({p:g}) of {family} ({_FAMILY_TEXT[family]}; variant {name}) is "
                      f"consistent with 1.35 under {summary['experiment']['features']} features "
                      f"[sizes {', '.join(sizes)}; {summary['trials_found']} trials; "
                      f"seed {summary['experiment']['seed']}; device {device}]. Per group: {details}"),
        "status": status,
        "routes": [{"name": "monte-carlo", "answer": {"supported": True, "contradicted": False}.get(status),
                    "detail": f"{len(groups)} (rank, aspect) groups: {', '.join(positions)}",
                    "seconds": float(summary.get("wall_time", {}).get("wall_s") or 0.0)}],
        "evidence": evidence,
        "expected": None,
        "seconds": 0.0,
    }


def ledger_entries(results_dir) -> list[dict]:
    """One entry per committed C* summary, estimand family and level p."""
    root = Path(results_dir)
    repo_root = root.resolve().parent
    entries = []
    for path in sorted(root.glob("cstar/*/summary.json")):
        summary = json.loads(path.read_text())
        for family in ("E1", "E2", "E3"):
            for p in summary["method"]["p_levels"]:
                entry = _entry(path, summary, family, p, repo_root)
                if entry is not None:
                    entries.append(entry)
    return entries
