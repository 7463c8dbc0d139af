"""Where the ledger's evidence lives and whether it is the evidence the project committed
(torch-free, stdlib only).

A committed run is a folder ``results/<family>/<run>/`` holding a record (``record.jsonl.gz``)
and the ``summary.json`` derived from it. The ledger trusts a summary only through a *link* to
its record:

- an entry of ``results/MANIFEST.json`` (written by ``python scripts/evidence_manifest.py
  --write``), which pins the sha256 of the summary, the :func:`record_digest` of its records,
  the analysis settings the summary was made with and the ledger ids it yields; or
- a ``derived_from`` field inside the summary itself, ``{"records": [file names],
  "record_sha256": <hex>, "analysis": {...}}``, as new summaries carry.

:func:`check_evidence` compares what is on disk with those links and returns one problem per
missing file or mismatched hash; the ledger turns each into an ``error`` entry and ``lorank
check`` exits non-zero. Nothing here rewrites a file.

The results folder the ledger reads by default is the package data ``lorank_results`` (the
repository's ``results/`` folder, mapped into the installed package by ``pyproject.toml``),
so ``pip install .`` and ``pip install -e .`` read the same files.

Examples
--------
>>> import gzip, os, tempfile
>>> d = tempfile.mkdtemp()
>>> with gzip.open(os.path.join(d, "record.jsonl.gz"), "wb") as f:
...     _ = f.write(b'{"kind": "header"}\\n')
>>> record_digest([os.path.join(d, "record.jsonl.gz")]) == hashlib.sha256(b'{"kind": "header"}\\n').hexdigest()
True
"""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path

__all__ = ["MANIFEST_NAME", "MANIFEST_FORMAT", "FAMILIES", "record_digest", "file_sha256",
           "analysis_settings", "check_summary_link", "default_results_dir", "load_manifest", "manifest_run",
           "run_folders", "check_evidence", "evidence_path", "measured_provenance", "MEASURED_CHECKED"]

MANIFEST_NAME = "MANIFEST.json"
MANIFEST_FORMAT = "lorank.evidence-manifest/1"
#: the result families whose summaries the ledger reads (``results/<family>/<run>/``)
FAMILIES = ("cstar", "separability", "pl", "rademacher", "xent", "rank-sweep", "gradient-flow", "jang", "stable-rank", "learnable-rank", "exact-existence", "exact-above", "encoder-ntk", "encoder-lora", "encoder-gated")
_CHUNK = 1 << 20


def _decompressed_chunks(path: Path):
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            yield chunk


def record_digest(paths) -> str:
    """sha256 over the decompressed bytes of each record file, in sorted-name order.

    A ``.gz`` file is decompressed first, so a record and its gzipped copy have one digest, and
    the digest does not depend on the gzip header (time stamp, compression level).

    Parameters
    ----------
    paths : iterable of path-like
        The record files of one run.

    Returns
    -------
    str
        64 hex digits.

    Examples
    --------
    >>> import gzip, os, tempfile
    >>> d = tempfile.mkdtemp()
    >>> a, b = os.path.join(d, "a.jsonl"), os.path.join(d, "b.jsonl.gz")
    >>> _ = open(a, "wb").write(b"one\\n")
    >>> with gzip.open(b, "wb") as f:
    ...     _ = f.write(b"two\\n")
    >>> record_digest([b, a]) == record_digest([a, b]) == hashlib.sha256(b"one\\ntwo\\n").hexdigest()
    True
    """
    h = hashlib.sha256()
    for path in sorted((Path(p) for p in paths), key=lambda p: p.name):
        for chunk in _decompressed_chunks(path):
            h.update(chunk)
    return h.hexdigest()


def file_sha256(path) -> str:
    """sha256 of a file's bytes as stored.

    >>> import os, tempfile
    >>> p = os.path.join(tempfile.mkdtemp(), "x")
    >>> _ = open(p, "wb").write(b"abc")
    >>> file_sha256(p)[:16]
    'ba7816bf8f01cfea'
    """
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def analysis_settings(summary: dict) -> dict:
    """The analysis settings a summary records about itself: its ``experiment`` (the settings
    it was summarised under, e.g. the tolerances ``eps_levels`` of E3), its ``method`` (C*,
    separability, rank sweeps) or ``rules`` (PL*) field, and the claimed value it was judged
    against.

    >>> analysis_settings({"method": {"p_levels": [0.5]}, "claim": {"value": 1.35}})
    {'method': {'p_levels': [0.5]}, 'claim_value': 1.35}
    >>> analysis_settings({"rules": {"gd_c": 0.5}})
    {'rules': {'gd_c': 0.5}}
    """
    out = {}
    for key in ("experiment", "method", "rules"):
        if key in summary:
            out[key] = summary[key]
    claim = summary.get("claim")
    if isinstance(claim, dict) and "value" in claim:
        out["claim_value"] = claim["value"]
    return out


def default_results_dir() -> Path:
    """The results folder shipped with the package (``lorank_results``): the repository's
    ``results/`` under an editable install, the installed copy otherwise.

    >>> (default_results_dir() / MANIFEST_NAME).is_file()
    True
    """
    import importlib.util

    spec = importlib.util.find_spec("lorank_results")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the package data 'lorank_results' (the committed results) is not "
                                "installed; reinstall lorank or pass --results DIR")
    return Path(list(spec.submodule_search_locations)[0])


def evidence_path(results_dir, path) -> str:
    """How an entry names a file under the results folder: ``results/<relative path>``,
    whichever folder holds it (so installs and copies give the same text).

    >>> evidence_path("/tmp/x", "/tmp/x/cstar/run/summary.json")
    'results/cstar/run/summary.json'
    """
    rel = Path(path).resolve().relative_to(Path(results_dir).resolve())
    return "results/" + rel.as_posix()


def load_manifest(results_dir) -> dict | None:
    """The manifest of ``results_dir``, or None if it has none.

    >>> load_manifest("/nonexistent") is None
    True
    """
    path = Path(results_dir) / MANIFEST_NAME
    if not path.is_file():
        return None
    manifest = json.loads(path.read_text())
    if manifest.get("format") != MANIFEST_FORMAT:
        raise ValueError(f"{path}: format {manifest.get('format')!r}, expected {MANIFEST_FORMAT!r}")
    return manifest


def run_folders(results_dir) -> list[tuple[str, Path]]:
    """``(family, folder)`` of every run folder with a ``summary.json``, in name order.

    >>> run_folders("/nonexistent")
    []
    """
    root = Path(results_dir)
    return [(family, p.parent) for family in FAMILIES
            for p in sorted(root.glob(f"{family}/*/summary.json"))]


def _record_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.name.startswith("record") and
                  (p.name.endswith(".jsonl") or p.name.endswith(".jsonl.gz")))


def manifest_run(results_dir, family: str, folder, entry_ids=()) -> dict:
    """The manifest entry of one committed run, computed from the files as they are now.

    >>> import os, tempfile
    >>> d = Path(tempfile.mkdtemp()); run = d / "pl" / "x"; run.mkdir(parents=True)
    >>> _ = (run / "record.jsonl").write_text("{}\\n")
    >>> _ = (run / "summary.json").write_text('{"rules": {"gd_c": 0.5}}')
    >>> m = manifest_run(d, "pl", run, ["R.a"])
    >>> m["folder"], m["records"], m["analysis"], m["entries"]
    ('pl/x', ['record.jsonl'], {'rules': {'gd_c': 0.5}}, ['R.a'])
    """
    folder = Path(folder)
    records = _record_files(folder)
    summary_path = folder / "summary.json"
    return {"family": family, "run": folder.name,
            "folder": folder.resolve().relative_to(Path(results_dir).resolve()).as_posix(),
            "records": [p.name for p in records], "record_sha256": record_digest(records),
            "summary_sha256": file_sha256(summary_path),
            "analysis": analysis_settings(json.loads(summary_path.read_text())),
            "entries": list(entry_ids)}


def _check_derived_from(folder: Path, summary: dict, where: str) -> list[str]:
    link = summary["derived_from"]
    names = link.get("records") or []
    # a record committed gzipped (record.jsonl -> record.jsonl.gz) keeps its digest, which is
    # taken over the decompressed bytes: the link names the file as the run wrote it
    paths = [folder / n if (folder / n).is_file() or not (folder / f"{n}.gz").is_file()
             else folder / f"{n}.gz" for n in names]
    missing = [n for n, q in zip(names, paths) if not q.is_file()]
    if not names or missing:
        return [f"{where}: the record named by its derived_from field is missing "
                f"({', '.join(missing) or 'no file named'})"]
    found = record_digest(paths)
    if found != link.get("record_sha256"):
        return [f"{where}: derived_from.record_sha256 {link.get('record_sha256')} does not match "
                f"the record ({found}): the summary was not made from this record"]
    analysis = analysis_settings(summary)
    if "analysis" in link and any(link["analysis"].get(k) != v for k, v in analysis.items()):
        return [f"{where}: the analysis settings in the summary differ from those its "
                f"derived_from field pins"]
    return []


def check_summary_link(folder) -> list[str]:
    """Problems with the ``derived_from`` link of ``folder/summary.json`` (empty if it names
    records in the folder whose digest and analysis settings match).

    >>> import tempfile, os, json
    >>> d = tempfile.mkdtemp()
    >>> _ = open(os.path.join(d, "summary.json"), "w").write(json.dumps({"x": 1}))
    >>> check_summary_link(d)
    ['summary.json has no derived_from field']
    """
    folder = Path(folder)
    summary = json.loads((folder / "summary.json").read_text())
    if "derived_from" not in summary:
        return ["summary.json has no derived_from field"]
    return _check_derived_from(folder, summary, str(folder))


def check_evidence(results_dir) -> dict:
    """Compare the results folder with its links; return ``{"problems": {folder: [text]},
    "expected": {folder: [ids]}, "linked": [folders]}``.

    Every run of the manifest must be present with the pinned hashes; every other summary must
    carry a ``derived_from`` link that matches its record. An existing folder with no manifest
    is a problem (key ``"MANIFEST"``): nothing would say which runs are missing.

    >>> check_evidence("/nonexistent")["problems"]
    {}
    >>> import tempfile
    >>> list(check_evidence(tempfile.mkdtemp())["problems"])
    ['MANIFEST']
    """
    root = Path(results_dir)
    manifest = load_manifest(root)
    problems: dict[str, list[str]] = {}
    if manifest is None and root.is_dir():
        # Without a manifest nothing says which evidence is expected: an absent run would
        # simply not appear. That is an error, not an empty pass.
        problems["MANIFEST"] = [f"{root} has no {MANIFEST_NAME}: the ledger cannot tell which "
                                f"evidence is expected (write one with python "
                                f"scripts/evidence_manifest.py --results {root} --write, or a "
                                f"manifest with no runs to accept derived_from links only)"]
    expected: dict[str, list[str]] = {}
    linked: list[str] = []
    pinned = {}
    for run in (manifest or {}).get("runs", []):
        pinned[run["folder"]] = run
        expected[run["folder"]] = list(run.get("entries", []))
    for key, run in pinned.items():
        folder = root / key
        where = f"results/{key}"
        errs = []
        summary_path = folder / "summary.json"
        records = [folder / n for n in run["records"]]
        missing = [p.name for p in records if not p.is_file()]
        if not summary_path.is_file():
            errs.append(f"{where}/summary.json is missing (the manifest expects it)")
        if missing:
            errs.append(f"{where}: record file(s) {', '.join(missing)} missing (the manifest "
                        f"expects them)")
        if not errs:
            found = record_digest(records)
            if found != run["record_sha256"]:
                errs.append(f"{where}: the record's sha256 {found} does not match the manifest's "
                            f"{run['record_sha256']}")
            found = file_sha256(summary_path)
            if found != run["summary_sha256"]:
                errs.append(f"{where}/summary.json: sha256 {found} does not match the manifest's "
                            f"{run['summary_sha256']} (the summary was changed or re-derived)")
            else:
                summary = json.loads(summary_path.read_text())
                if "derived_from" in summary:
                    errs += _check_derived_from(folder, summary, where)
        if errs:
            problems[key] = errs
        else:
            linked.append(key)
    for family, folder in run_folders(root):
        key = folder.relative_to(root).as_posix()
        if key in pinned:
            continue
        where = f"results/{key}"
        try:
            summary = json.loads((folder / "summary.json").read_text())
        except (OSError, ValueError) as error:
            problems[key] = [f"{where}/summary.json cannot be read: {error}"]
            continue
        if "derived_from" not in summary:
            problems[key] = [f"{where}/summary.json is linked to no record: it is not in "
                             f"{MANIFEST_NAME} and has no derived_from field"]
            continue
        errs = _check_derived_from(folder, summary, where)
        if errs:
            problems[key] = errs
        else:
            linked.append(key)
    return {"problems": problems, "expected": expected, "linked": linked}


#: What the machine checks for every measured verdict (the ``machine_checked`` field).
MEASURED_CHECKED = ("counts and intervals computed from the committed record, whose hashes are "
                    "checked against its evidence link; a measurement, not a proof")

_BINOMIAL = "trials are independent draws at each grid point (the binomial model of the intervals)"
_GLM = "the transition curve is the binomial GLM of the summary's method (link and scale as stated)"
_FSS = "where a size limit is used, rho_c(n) = rho_inf + a n^(-1/nu) describes the sizes"

#: entry-id prefix -> facts a measured verdict takes without machine checking (first match wins).
_MEASURED_ASSUMED = (
    ("R1.cstar.E1.", ("the solver's failures prove nothing: E1 is a lower bound on existence",
                      _BINOMIAL, _GLM, _FSS)),
    ("R1.cstar.E2.", ("a failed start proves nothing about existence: E2 is a lower bound on E1",
                      _BINOMIAL, _GLM, _FSS)),
    ("R1.cstar.E3.", ("success means relative residual <= eps within the step budget T: the "
                      "transition depends on (T, eps)", _BINOMIAL, _GLM, _FSS)),
    ("R1.cstar.", (_BINOMIAL, _GLM)),
    ("R2.E4-transition", ("a failure to find a separator proves nothing: E4 is a lower bound on "
                          "separability (damped Gauss-Newton with restarts, not LoRA gradient "
                          "descent)", "Cover's 1/2 is our heuristic reference, not the paper's "
                          "claim", _BINOMIAL, _GLM, _FSS)),
    ("R2.E4-solver-budget", ("the trend over (T, k) is read from truncations and nested restarts "
                             "of the same trials", "the profile half-width is the resolution "
                             "a move is compared with", _BINOMIAL, _GLM)),
    ("R2.separability-scope", ("a failure to find a separator proves nothing: only E4's "
                               "certificates (existence) and the Warren count (a proved bound) "
                               "are used", _BINOMIAL)),
    ("R2.xent-recipe", ("success is read at the record's finite step budgets; the claim is "
                         "asymptotic in the number of steps", "random-separable labels: "
                         "conditioning on E4's certificates keeps the instances E4's solver "
                         "separates, which may be the easier ones", _BINOMIAL)),
    ("R2.pl-star.", ("mu = lambda_min(J J^T) is computed in floating point: a value under the "
                     "cutoff counts as zero", _BINOMIAL)),
    ("R2.gd-rate", ("the rate is read from the sampled gradient-descent trajectories only",
                    _BINOMIAL)),
    ("R3.rank-sweep.", ("held-out error estimates the risk; the fit at each rank is the best "
                        "of its starts (alternating least squares), not a certified global "
                        "minimiser", "the paired differences over seeds are t-distributed (the "
                        "one-sided tests)", "Gaussian-iid features: every rank up to min(m, n) "
                        "can change the fit")),
    ("E0-ABOVE.", ("generic data: y is a regular value, so a non-empty real solution set has a "
                   "point nearest theta0, a real critical point of the distance; solutions "
                   "outside the chart Delta = [I_r; U'] V^T form a set of lower dimension "
                   "(rank < r is excluded exactly: EXA.lower-rank-excluded)",
                   "the critical count N of a cell: found by monodromy on one random complex "
                   "instance (recounted point by point on that instance by a multihomogeneous and, "
                   "where D + M <= 15, a total-degree homotopy: "
                   "results/exact-above/second-route/; by Bertini at 2x2); a 'no real "
                   "solution' decision needs all N",
                   "the certificate: float64 alpha theory of the Lagrange system "
                   "(numerics/engine/homotopy_critical.py), not interval arithmetic; an "
                   "uncertified instance is excluded, not counted",
                   "the instances of a cell are independent draws (the binomial model of the "
                   "Wilson intervals)", "E1's certificate: a float64 relative residual <= 1e-10")),
    ("E0.kac-rice.", ("the integral-geometry formula (Howard 1993; Buergisser-Lerario) and the "
                      "volumes of spheres that expected_real_count_r1 evaluates; its "
                      "O(mn+1)-invariant Gaussian law is the instances' law",
                      "E0's certificate: float64 alpha theory, not interval arithmetic",
                      "the mean of the certified real counts is t-distributed (the intervals)")),
    ("E0.", ("E0's certificate: float64 alpha theory (numerics/engine/homotopy.py), not interval "
             "arithmetic; an uncertified instance is excluded, not counted",
             "the instances of a cell are independent draws (the binomial model of the Wilson "
             "intervals)", "E1's certificate: a float64 relative residual <= 1e-10")),
    ("R3.", ("held-out error estimates the risk; the fit at each rank is the solver's, not the "
             "exact minimiser", "the structured features decide which ranks can differ")),
)


def measured_provenance(entry_id: str) -> dict:
    """The ``machine_checked`` and ``assumed`` fields of a measured ledger entry: what the
    machine checked (always :data:`MEASURED_CHECKED`) and what the verdict takes without
    checking, by the entry id's family.

    >>> p = measured_provenance("R1.cstar.E1.p0.5.headline-lm")
    >>> p["assumed"][0]
    "the solver's failures prove nothing: E1 is a lower bound on existence"
    >>> measured_provenance("unknown.id")["assumed"]
    []
    """
    assumed: tuple = ()
    for prefix, facts in _MEASURED_ASSUMED:
        if entry_id.startswith(prefix):
            assumed = facts
            break
    return {"machine_checked": MEASURED_CHECKED, "assumed": list(assumed)}
