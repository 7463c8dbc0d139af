"""The theorem ledger: every statement the project checks, with its status and evidence.

The ledger only gathers. Exact statements come from :mod:`proofs` (each checked afresh by two
independent routes on every call); measured verdicts come from verdict providers that read the
committed result records under ``results/`` (never re-running an experiment).

Each entry is a JSON-able dict with at least ``id``, ``source``, ``statement``, ``status``
(one of ``proved``, ``proved-assuming`` (both routes hold, but both rest on a lemma named in
``assumed`` that neither checks), ``refuted``, ``supported``, ``contradicted``, ``open``,
``undefined`` (a measured constant the record shows not to exist as one number, e.g. a
transition that moves with size and budget: a result, not a failure), or ``error`` where the
evidence a verdict needs is missing or does not match its pinned hash), ``routes`` and
``evidence`` (the summary file the verdict rests on, as ``results/...``, or ``None``);
``notes`` (the statement's notes, ``""`` if none), ``machine_checked`` (one sentence: what exactly
the machine checked) and ``assumed`` (the facts taken without machine checking, a list of short
phrases); ``claim_kind`` (what the entry tests, one of :data:`CLAIM_KINDS`: an exact statement,
a paper's claim in the reading stated, our heuristic reference, the scope of a claim, or a
check of our own method; the summary line counts the measured kinds apart); plus ``expected`` and ``seconds`` (wall-clock time; left out of ``lorank check --json`` unless
``--timings`` is given, so that the JSON is the same on every run and every install).

The measured verdicts read the committed results shipped as package data (``lorank_results``,
see :mod:`numerics.verdicts.evidence`), or the folder given by ``lorank check --results DIR``. Each
summary must be linked to its record (``results/MANIFEST.json`` or the summary's
``derived_from`` field); a missing file or a hash mismatch becomes an ``error`` entry (one per
entry id the manifest expects from that run), and ``lorank check`` exits non-zero.

Examples
--------
The measured half of the ledger (``build_ledger()`` adds the exact statements, each checked
afresh by both routes: several seconds, which the test suite spends once per session and once in
the console script's run):

>>> entries = [_with_provenance(e) for e in measured_entries(_evidence.default_results_dir())]
>>> {"id", "source", "statement", "status", "routes", "evidence"} <= set(entries[0])
True
>>> all(e["status"] in STATUSES for e in entries)
True
>>> all({"notes", "machine_checked", "assumed", "claim_kind"} <= set(e) for e in entries)
True
>>> all(e["claim_kind"] in CLAIM_KINDS for e in entries)
True
"""

from __future__ import annotations

import importlib
import shutil
import textwrap
import time
from pathlib import Path

from numerics.verdicts import evidence as _evidence

__all__ = ["STATUSES", "CLAIM_KINDS", "HOLDS", "build_ledger", "failures", "render_plain", "render_blocks",
           "render_rich", "summary_line", "deterministic", "check"]

STATUSES = ("proved", "proved-assuming", "refuted", "supported", "contradicted", "open",
            "undefined", "untestable", "error")

#: How the summary line names each status (``proved-assuming`` is counted apart from
#: ``proved``: it is proved only given the lemma its entry names in ``assumed``).
STATUS_WORDS = {"proved-assuming": "proved assuming a lemma"}

#: What an entry tests (field ``claim_kind``), with the sentence the ledger shows for it. Every
#: measured verdict names one of the last four, so that "a paper's claim" and "our heuristic"
#: are never confused (issue 12).
CLAIM_KINDS = {
    "exact": "an exact statement, checked by the proof routes",
    "evidence": "the evidence links of a measured verdict",
    "paper claim": "a claim of the source paper, in the reading stated",
    "our heuristic": "our heuristic reference (THEORY.md), not a claim of any paper",
    "scope": "what a paper's claim needs or reaches (its hypothesis measured), not a claim itself",
    "method check": "a check of lorank's own method (solver budget, convergence), not a claim",
}
#: The kinds of measured verdicts, counted apart in the summary line.
MEASURED_KINDS = ("paper claim", "our heuristic", "scope", "method check")

#: The statuses that count as holding for a statement expected to hold (not a failure).
HOLDS = ("proved", "proved-assuming")

#: The source tree's root when lorank runs from a checkout (tests and scripts use it); the
#: ledger itself reads its evidence from :func:`numerics.verdicts.evidence.default_results_dir`.
REPO_ROOT = Path(__file__).resolve().parent.parent

#: Keys holding wall-clock times (entry and route level): they differ from run to run.
TIMING_KEYS = ("seconds",)

def verdict_providers() -> tuple[str, ...]:
    """Modules with a ``ledger_entries(results_dir) -> list[dict]`` function that turns committed
    records into verdicts: the verdict module each experiment family registers (its
    ``verdicts`` attribute), in registration order, each once.

    >>> verdict_providers()
    ('numerics.verdicts.capacity', 'numerics.verdicts.pl', 'numerics.verdicts.rademacher', 'numerics.verdicts.xent', 'numerics.verdicts.rank_sweep', 'numerics.verdicts.gradient_flow', 'numerics.verdicts.jang', 'numerics.verdicts.stable_rank', 'numerics.verdicts.learnable_rank', 'numerics.verdicts.exact_existence', 'numerics.verdicts.exact_above', 'numerics.verdicts.encoder_ntk', 'numerics.verdicts.encoder_lora', 'numerics.verdicts.encoder_gated')
    """
    from numerics.experiments.protocol import families

    return tuple(dict.fromkeys(f.verdicts for f in families()))


VERDICT_PROVIDERS = verdict_providers()


def _proof_entries() -> list[dict]:
    import proofs

    return [verdict.to_entry() for verdict in proofs.check_all()]


def _error_entry(entry_id: str, statement: str, evidence: str | None) -> dict:
    return {"id": entry_id, "source": "lorank evidence check (results/MANIFEST.json, derived_from)",
            "statement": statement, "status": "error",
            "routes": [{"name": "evidence", "answer": None, "detail": statement, "seconds": 0.0}],
            "evidence": evidence, "expected": None, "seconds": 0.0, "notes": "",
            "machine_checked": "the evidence links (files and hashes); they do not hold, so no "
                               "verdict is drawn", "assumed": [], "claim_kind": "evidence"}


def _folder_of(entry: dict) -> str | None:
    ev = entry.get("evidence") or ""
    if ev.startswith("results/") and ev.endswith("/summary.json"):
        return ev[len("results/"):-len("/summary.json")]
    return None


def measured_entries(results_dir: Path) -> list[dict]:
    """Verdicts from every provider, checked against the evidence links: entries of a run whose
    evidence has a problem become ``error`` entries, and every id the manifest expects but no
    provider produced is an ``error`` entry too (nothing is dropped silently)."""
    checked = _evidence.check_evidence(results_dir)
    problems = checked["problems"]
    entries: list[dict] = []
    for name in VERDICT_PROVIDERS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as error:
            if error.name != name:
                raise
            entries.append(_error_entry(f"evidence.provider.{name}",
                                        f"the verdict module {name} cannot be imported: {error}", None))
            continue
        try:
            entries.extend(module.ledger_entries(results_dir))
        except Exception as error:  # a damaged summary must not hide the other verdicts
            entries.append(_error_entry(f"evidence.provider.{name}",
                                        f"{name}.ledger_entries failed on {results_dir}: "
                                        f"{type(error).__name__}: {error}", None))
    out = []
    for entry in entries:
        folder = _folder_of(entry)
        if folder in problems:
            entry = {**entry, "status": "error", "expected": None,
                     "machine_checked": "the evidence links (files and hashes); they do not hold, "
                                        "so no verdict is drawn",
                     "statement": "EVIDENCE ERROR: " + "; ".join(problems[folder])
                     + ". Verdict as read from the unverified summary: " + entry["statement"],
                     "problems": problems[folder]}
        out.append(entry)
    produced = {e["id"] for e in out}
    for folder, ids in checked["expected"].items():
        why = problems.get(folder, ["no verdict module produced it"])
        for entry_id in ids:
            if entry_id not in produced:
                out.append({**_error_entry(entry_id, f"expected evidence for {entry_id} is missing: "
                                           + "; ".join(why), f"results/{folder}/summary.json"),
                            "problems": why})
                produced.add(entry_id)
    seen = {_folder_of(e) for e in out}
    for folder, why in problems.items():
        if folder == "MANIFEST":
            out.append({**_error_entry("evidence.manifest", "; ".join(why), None), "problems": why})
        elif folder not in seen and folder not in checked["expected"]:
            out.append({**_error_entry(f"evidence.{folder.replace('/', '.')}", "; ".join(why),
                                       f"results/{folder}/summary.json"), "problems": why})
    return out


def _with_provenance(entry: dict) -> dict:
    """The entry with ``notes``, ``machine_checked``, ``assumed`` and ``claim_kind`` present (a
    verdict provider that does not set them gets the measured defaults of
    :func:`numerics.verdicts.evidence.measured_provenance`; an entry with no evidence file and
    no kind is an exact statement).

    >>> sorted(_with_provenance({"id": "R1.cstar.E1.x", "evidence": "results/x/summary.json"}))
    ['assumed', 'claim_kind', 'evidence', 'id', 'machine_checked', 'notes']
    >>> _with_provenance({"id": "R1.identity", "evidence": None})["claim_kind"]
    'exact'
    """
    defaults = {"notes": "", **_evidence.measured_provenance(entry["id"]),
                "claim_kind": "exact" if entry.get("evidence") is None else "paper claim"}
    out = {**entry, **{k: v for k, v in defaults.items() if k not in entry}}
    if out["claim_kind"] not in CLAIM_KINDS:
        raise ValueError(f"ledger entry {entry['id']!r} has unknown claim_kind {out['claim_kind']!r}")
    return out


def build_ledger(results_dir: Path | str | None = None) -> list[dict]:
    """Check every exact statement and read every measured verdict; return the entries.

    ``results_dir``: the folder of committed results (default: the package data, see
    :func:`numerics.verdicts.evidence.default_results_dir`).

    Every statement is checked afresh (a few seconds); the test suite asserts that the ids are
    unique and every status known.
    """
    results_dir = Path(results_dir) if results_dir is not None else _evidence.default_results_dir()
    entries = [_with_provenance(e) for e in _proof_entries() + measured_entries(results_dir)]
    for entry in entries:
        if entry["status"] not in STATUSES:
            raise ValueError(f"ledger entry {entry['id']!r} has unknown status {entry['status']!r}")
    return entries


def failures(entries: list[dict]) -> list[dict]:
    """Entries whose status contradicts what the project expects of them.

    A statement expected to hold fails unless it is proved or ``proved-assuming`` (proved given
    the lemma it names: not a failure, though not counted as proved); one recorded because it is
    false fails unless it is refuted. Measured verdicts carry ``expected=None``: a measurement that
    disagrees with a paper is a result, not a failure of the tool. An ``error`` (missing or
    altered evidence) always fails.

    >>> failures([{"id": "x", "status": "open", "expected": True}])[0]["id"]
    'x'
    >>> failures([{"id": "y", "status": "refuted", "expected": False}])
    []
    >>> failures([{"id": "w", "status": "proved-assuming", "expected": True}])
    []
    >>> failures([{"id": "v", "status": "proved-assuming", "expected": False}])[0]["id"]
    'v'
    >>> failures([{"id": "z", "status": "error", "expected": None}])[0]["id"]
    'z'
    >>> failures([{"id": "u", "status": "undefined", "expected": None}])
    []
    """
    bad = []
    for entry in entries:
        expected = entry.get("expected")
        if entry["status"] == "error":
            bad.append(entry)
        elif expected is True and entry["status"] not in HOLDS:
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


def _provenance_lines(entry: dict) -> list[str]:
    """``tests: ...`` (for measured verdicts), ``checked: ...``, ``assumed: ...`` and
    ``notes: ...`` for an entry (only those it has).

    >>> _provenance_lines({"machine_checked": "x by z3", "assumed": ["a", "b"], "notes": ""})
    ['checked: x by z3', 'assumed: a; b']
    >>> _provenance_lines({"claim_kind": "our heuristic"})
    ['tests: our heuristic reference (THEORY.md), not a claim of any paper']
    """
    lines = []
    if entry.get("claim_kind") in MEASURED_KINDS:
        lines.append(f"tests: {CLAIM_KINDS[entry['claim_kind']]}")
    if entry.get("machine_checked"):
        lines.append(f"checked: {entry['machine_checked']}")
    if entry.get("assumed"):
        lines.append("assumed: " + "; ".join(entry["assumed"]))
    if entry.get("notes"):
        lines.append(f"notes: {entry['notes']}")
    return lines


def render_plain(entries: list[dict]) -> str:
    """The ledger as a fixed-width text table (for wide logs); what was machine-checked, what
    was assumed and the notes follow each row, one line each, aligned with the id column.

    >>> print(render_plain([{"id": "a", "source": "s", "statement": "1 < 2", "status": "proved",
    ...     "routes": [{"name": "sympy", "answer": True}], "seconds": 0.0, "evidence": None,
    ...     "machine_checked": "1 < 2 by sympy", "assumed": ["arithmetic"]}]))
    ... # doctest: +NORMALIZE_WHITESPACE
    status  id  source  routes     time  statement
    proved  a   s       sympy:yes  0.00s 1 < 2
            checked: 1 < 2 by sympy
            assumed: arithmetic
    """
    rows = [("status", "id", "source", "routes", "time", "statement")]
    extra: list[list[str]] = [[]]
    for e in entries:
        statement = e["statement"] + (f"  [evidence: {e['evidence']}]" if e.get("evidence") else "")
        rows.append((e["status"], e["id"], e["source"], _routes_text(e),
                     f"{e.get('seconds', 0.0):.2f}s", statement))
        extra.append(_provenance_lines(e))
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    pad = " " * (widths[0] + 2)
    out = []
    for row, lines in zip(rows, extra):
        out.append("  ".join(cell.ljust(width) for cell, width in zip(row[:5], widths)).rstrip()
                   + (" " if row[4] else "") + row[5])
        out += [pad + line for line in lines]
    return "\n".join(out)


def render_blocks(entries: list[dict], width: int = 80) -> str:
    """The ledger for a narrow terminal: one block per entry, ``id  status`` on the first line
    (the id is never split: on its own line if it is wider than ``width``), then the source,
    the routes, the statement, what was machine-checked, what was assumed, the notes and the
    evidence, each wrapped at ``width`` on spaces only.

    >>> e = {"id": "R1.cstar.E2.p0.5.headline-lm", "source": "paper", "status": "open",
    ...      "statement": "C*(0.5) of E2 is consistent with 1.35 " * 3, "evidence": "results/x.json",
    ...      "routes": [{"name": "monte-carlo", "answer": None}],
    ...      "machine_checked": "counts from the record", "assumed": ["E2 <= E1"], "notes": ""}
    >>> print(render_blocks([e], width=40))
    R1.cstar.E2.p0.5.headline-lm  open
        source: paper
        routes: monte-carlo:unknown
        C*(0.5) of E2 is consistent with
        1.35 C*(0.5) of E2 is consistent
        with 1.35 C*(0.5) of E2 is
        consistent with 1.35
        checked: counts from the record
        assumed: E2 <= E1
        evidence: results/x.json
    >>> all(len(line) <= 40 for line in render_blocks([e], width=40).splitlines())
    True
    """
    width = max(int(width), 20)
    indent = "    "

    def wrap(text: str) -> list[str]:
        return textwrap.wrap(text, width=width, initial_indent=indent, subsequent_indent=indent,
                             break_long_words=False, break_on_hyphens=False) or [indent]

    blocks = []
    for e in entries:
        head = f"{e['id']}  {e['status']}"
        lines = [head] if len(head) <= width else [e["id"], indent + e["status"]]
        lines += wrap(f"source: {e['source']}") + wrap(f"routes: {_routes_text(e)}")
        lines += wrap(e["statement"])
        for line in _provenance_lines(e):
            lines += wrap(line)
        if e.get("evidence"):
            lines += wrap(f"evidence: {e['evidence']}")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def _counts(entries: list[dict]) -> str:
    counts = {s: sum(e["status"] == s for e in entries) for s in STATUSES}
    return ", ".join(f"{v} {STATUS_WORDS.get(k, k)}" for k, v in counts.items() if v)


def summary_line(entries: list[dict]) -> str:
    """How many entries end in each status, ``proved-assuming`` counted apart from ``proved``;
    then the measured verdicts by what they test (a paper's claim, our heuristic, a claim's
    scope, our method), so that a verdict on our heuristic is never counted as one on a paper.

    >>> summary_line([{"status": "proved"}, {"status": "proved"}, {"status": "proved-assuming"},
    ...               {"status": "open"}])
    '4 statements: 2 proved, 1 proved assuming a lemma, 1 open'
    >>> summary_line([{"status": "proved", "claim_kind": "exact"},
    ...               {"status": "contradicted", "claim_kind": "paper claim"},
    ...               {"status": "contradicted", "claim_kind": "our heuristic"}])
    '3 statements: 1 proved, 2 contradicted; measured, by what they test: paper claims: 1 contradicted; our heuristics: 1 contradicted'
    """
    line = f"{len(entries)} statements: " + _counts(entries)
    parts = [f"{kind}s: " + _counts(chosen) for kind in MEASURED_KINDS
             if (chosen := [e for e in entries if e.get("claim_kind") == kind])]
    return line + ("; measured, by what they test: " + "; ".join(parts) if parts else "")


#: below this many columns ``lorank check`` prints one block per entry instead of a table
WIDE_COLUMNS = 120


def render_rich(entries: list[dict], console=None) -> None:
    """Print the ledger as a rich table (ids are never folded)."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    colour = {"proved": "green", "proved-assuming": "dark_olive_green3", "refuted": "cyan",
              "supported": "green", "contradicted": "red", "open": "yellow",
              "undefined": "magenta", "error": "bold red"}
    table = Table(title="lorank theorem ledger", show_lines=False)
    for column in ("status", "id", "source", "statement", "routes"):
        table.add_column(column, overflow="fold", no_wrap=column in ("status", "id"))
    for e in entries:
        statement = e["statement"] + "".join(f"\n[dim]{escape(line)}[/dim]"
                                             for line in _provenance_lines(e))
        statement += f"\n[dim]evidence: {e['evidence']}[/dim]" if e.get("evidence") else ""
        table.add_row(f"[{colour[e['status']]}]{e['status']}[/]", e["id"], e["source"], statement,
                      _routes_text(e))
    (console or Console()).print(table)


def deterministic(entries: list[dict]) -> list[dict]:
    """The entries without wall-clock timings (:data:`TIMING_KEYS`, at entry and route level),
    as ``lorank check --json`` prints them: the same on every run and every install.

    >>> deterministic([{"id": "a", "seconds": 1.2, "routes": [{"name": "z3", "seconds": 0.1}]}])
    [{'id': 'a', 'routes': [{'name': 'z3'}]}]
    """
    out = []
    for e in entries:
        e = {k: v for k, v in e.items() if k not in TIMING_KEYS}
        if "routes" in e:
            e["routes"] = [{k: v for k, v in r.items() if k not in TIMING_KEYS} for r in e["routes"]]
        out.append(e)
    return out


def check(json_output: bool = False, results_dir=None, timings: bool = False,
          width: int | None = None) -> int:
    """Run the ledger for ``lorank check``; return the exit status (0, or 1 on a failure,
    including any ``error`` entry: missing or altered evidence)."""
    import json
    import sys

    start = time.perf_counter()
    if results_dir is not None and not Path(results_dir).is_dir():
        print(f"lorank check: error: --results {results_dir}: no such folder", file=sys.stderr)
        return 2
    entries = build_ledger(results_dir)
    bad = failures(entries)
    if json_output:
        print(json.dumps(entries if timings else deterministic(entries), indent=2, default=str))
    else:
        columns = width or shutil.get_terminal_size((80, 24)).columns
        if columns < WIDE_COLUMNS:
            print(render_blocks(entries, columns))
        elif sys.stdout.isatty():
            render_rich(entries)
        else:
            print(render_plain(entries))
        tally = summary_line(entries) + f" ({time.perf_counter() - start:.1f} s)"
        print("\n" + "\n".join(textwrap.wrap(tally, width=max(columns, 20))))
    errors = [e for e in entries if e["status"] == "error"]
    for entry in bad:
        if entry["status"] == "error":
            continue
        print(f"UNEXPECTED: {entry['id']} is {entry['status']} "
              f"(expected {'proved' if entry['expected'] else 'refuted'})")
    if errors:
        print(f"lorank check: {len(errors)} entries have missing or altered evidence:", file=sys.stderr)
        for entry in errors:
            why = "; ".join(entry.get("problems") or [entry["statement"]])
            print(f"  {entry['id']}: {why}", file=sys.stderr)
    return 1 if bad else 0
