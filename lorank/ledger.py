"""The theorem ledger: every statement the project checks, with its status and evidence.

The ledger only gathers. Exact statements come from :mod:`proofs` (each checked afresh by two
independent routes on every call); measured verdicts come from verdict providers that read the
committed result records under ``results/`` (never re-running an experiment).

Each entry is a JSON-able dict with at least ``id``, ``source``, ``statement``, ``status``
(one of ``proved``, ``refuted``, ``supported``, ``contradicted``, ``open``), ``routes`` and
``evidence`` (the record file the verdict rests on, or ``None``), plus ``expected`` and
``seconds``.

Examples
--------
>>> entries = build_ledger()
>>> {"id", "source", "statement", "status", "routes", "evidence"} <= set(entries[0])
True
>>> all(e["status"] in STATUSES for e in entries)
True
"""

from __future__ import annotations

import importlib
import time
from pathlib import Path

__all__ = ["STATUSES", "REPO_ROOT", "build_ledger", "failures", "render_plain", "render_rich"]

STATUSES = ("proved", "refuted", "supported", "contradicted", "open")

#: The repository root (where ``results/`` lives), found from this file.
REPO_ROOT = Path(__file__).resolve().parent.parent

#: Modules with a ``ledger_entries(results_dir) -> list[dict]`` function that turns committed
#: records into verdicts. Later capabilities add themselves here.
VERDICT_PROVIDERS = ("numerics.verdicts", "numerics.pl_verdicts", "numerics.rademacher_verdicts")


def _proof_entries() -> list[dict]:
    import proofs

    return [verdict.to_entry() for verdict in proofs.check_all()]


def _measured_entries(results_dir: Path) -> list[dict]:
    entries: list[dict] = []
    for name in VERDICT_PROVIDERS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as error:
            if error.name != name:
                raise
            continue
        entries.extend(module.ledger_entries(results_dir))
    return entries


def build_ledger(results_dir: Path | str | None = None) -> list[dict]:
    """Check every exact statement and read every measured verdict; return the entries.

    >>> ids = [entry["id"] for entry in build_ledger()]
    >>> len(ids) == len(set(ids))
    True
    """
    results_dir = Path(results_dir) if results_dir is not None else REPO_ROOT / "results"
    entries = _proof_entries() + _measured_entries(results_dir)
    for entry in entries:
        if entry["status"] not in STATUSES:
            raise ValueError(f"ledger entry {entry['id']!r} has unknown status {entry['status']!r}")
    return entries


def failures(entries: list[dict]) -> list[dict]:
    """Entries whose status contradicts what the project expects of them.

    A statement expected to hold fails unless it is proved; one recorded because it is false
    fails unless it is refuted. Measured verdicts carry ``expected=None``: a measurement that
    disagrees with a paper is a result, not a failure of the tool.

    >>> failures([{"id": "x", "status": "open", "expected": True}])[0]["id"]
    'x'
    >>> failures([{"id": "y", "status": "refuted", "expected": False}])
    []
    """
    bad = []
    for entry in entries:
        expected = entry.get("expected")
        if expected is True and entry["status"] != "proved":
            bad.append(entry)
        elif expected is False and entry["status"] != "refuted":
            bad.append(entry)
    return bad


def _routes_text(entry: dict) -> str:
    parts = []
    for route in entry.get("routes", []):
        answer = {True: "yes", False: "no", None: "unknown"}[route.get("answer")]
        parts.append(f"{route['name']}:{answer}")
    return ", ".join(parts) if parts else "-"


def render_plain(entries: list[dict]) -> str:
    """The ledger as a fixed-width text table (for logs and the pytest summary).

    >>> print(render_plain([{"id": "a", "source": "s", "statement": "1 < 2", "status": "proved",
    ...     "routes": [{"name": "sympy", "answer": True}], "seconds": 0.0, "evidence": None}]))
    ... # doctest: +NORMALIZE_WHITESPACE
    status  id  source  routes     time  statement
    proved  a   s       sympy:yes  0.00s 1 < 2
    """
    rows = [("status", "id", "source", "routes", "time", "statement")]
    for e in entries:
        statement = e["statement"] + (f"  [evidence: {e['evidence']}]" if e.get("evidence") else "")
        rows.append((e["status"], e["id"], e["source"], _routes_text(e),
                     f"{e.get('seconds', 0.0):.2f}s", statement))
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row[:5], widths)).rstrip()
        + (" " if row[4] else "") + row[5]
        for row in rows
    )


def render_rich(entries: list[dict], console=None) -> None:
    """Print the ledger as a rich table."""
    from rich.console import Console
    from rich.table import Table

    colour = {"proved": "green", "refuted": "cyan", "supported": "green",
              "contradicted": "red", "open": "yellow"}
    table = Table(title="lorank theorem ledger", show_lines=False)
    for column in ("status", "id", "source", "statement", "routes", "time"):
        table.add_column(column, overflow="fold")
    for e in entries:
        statement = e["statement"] + (f"\n[dim]evidence: {e['evidence']}[/dim]" if e.get("evidence") else "")
        table.add_row(f"[{colour[e['status']]}]{e['status']}[/]", e["id"], e["source"], statement,
                      _routes_text(e), f"{e.get('seconds', 0.0):.2f}s")
    (console or Console()).print(table)


def check(json_output: bool = False) -> int:
    """Run the ledger for ``lorank check``; return the exit status (0, or 1 on a failure)."""
    import json
    import sys

    start = time.perf_counter()
    entries = build_ledger()
    bad = failures(entries)
    if json_output:
        print(json.dumps(entries, indent=2, default=str))
    else:
        if sys.stdout.isatty():
            render_rich(entries)
        else:
            print(render_plain(entries))
        counts = {s: sum(e["status"] == s for e in entries) for s in STATUSES}
        print(f"\n{len(entries)} statements: " + ", ".join(f"{v} {k}" for k, v in counts.items() if v)
              + f" ({time.perf_counter() - start:.1f} s)")
        for entry in bad:
            print(f"UNEXPECTED: {entry['id']} is {entry['status']} "
                  f"(expected {'proved' if entry['expected'] else 'refuted'})")
    return 1 if bad else 0
