"""Evidence as artefacts: the committed results ship with the package, every summary is tied
to its record by a hash, and missing or altered evidence is an error, never a silent drop
(:mod:`numerics.verdicts.evidence`, :mod:`lorank.ledger`)."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pytest

import lorank.ledger as ledger
from lorank.cli import main
from numerics.verdicts import evidence

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def no_proofs(monkeypatch):
    # The exact statements take seconds and do not depend on the evidence: leave them out.
    monkeypatch.setattr(ledger, "_proof_entries", lambda: [])


@pytest.fixture(autouse=True)
def _digests_by_content(monkeypatch):
    """``evidence.record_digest`` remembered by the files' exact bytes (names and contents, as
    stored), for the tests here, which read many copies of the same records: identical bytes
    have the identical digest, and a damaged or recompressed copy has other bytes, so it is
    digested afresh. The digest itself is tested below (gzip, names, order)."""
    import hashlib

    fresh = evidence.record_digest

    def digest(paths):
        paths = [Path(p) for p in paths]
        key = tuple((p.name, hashlib.sha256(p.read_bytes()).hexdigest()) for p in paths)
        if key not in _DIGESTS:
            _DIGESTS[key] = fresh(paths)
        return _DIGESTS[key]

    monkeypatch.setattr(evidence, "record_digest", digest)


_DIGESTS: dict = {}


@pytest.fixture(scope="module")
def committed_entries():
    """The measured half of the ledger of the committed results, built once for the tests that
    only read it (each test that renders or damages evidence builds its own)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ledger, "_proof_entries", lambda: [])
        return ledger.build_ledger()


@pytest.fixture
def results_copy(tmp_path):
    """A copy of the committed summaries, records and manifest (no figures)."""
    dest = tmp_path / "results"
    shutil.copytree(evidence.default_results_dir(), dest,
                    ignore=shutil.ignore_patterns("*.png", "*.pdf", "bench", "__pycache__"))
    return dest


def _check_json(capsys, *args):
    rc = main(["check", "--json", *args])
    captured = capsys.readouterr()
    return rc, json.loads(captured.out), captured.err


def test_packaged_evidence_resolves_and_matches_the_manifest():
    root = evidence.default_results_dir()
    manifest = evidence.load_manifest(root)
    # Property: the package data holds the manifest, and every run it lists is present with
    # its pinned hashes (no problem), so the committed verdicts are all linked.
    assert manifest is not None and manifest["runs"]
    checked = evidence.check_evidence(root)
    assert checked["problems"] == {}
    assert sorted(checked["linked"]) == sorted(r["folder"] for r in manifest["runs"])
    # Property: under a checkout the package data is the repository's results/ folder.
    if (REPO / "results" / evidence.MANIFEST_NAME).is_file():
        assert root.resolve() == (REPO / "results").resolve()


def test_manifest_is_current_and_pins_every_entry(committed_entries, no_proofs):
    import importlib.util

    spec = importlib.util.spec_from_file_location("evidence_manifest",
                                                  REPO / "scripts" / "evidence_manifest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    root = REPO / "results"
    # Property: re-building the manifest from the committed files gives the committed manifest
    # (hashes, analysis settings and ledger ids), and it lists every measured entry.
    assert module.build(root) == json.loads((root / evidence.MANIFEST_NAME).read_text())
    pinned = {i for r in evidence.load_manifest(root)["runs"] for i in r["entries"]}
    same = root.resolve() == evidence.default_results_dir().resolve()  # what the fixture read
    assert pinned == {e["id"] for e in (committed_entries if same else ledger.build_ledger(root))}
    # Property: each run's analysis settings are those its summary records about itself.
    for run in evidence.load_manifest(root)["runs"]:
        summary = json.loads((root / run["folder"] / "summary.json").read_text())
        assert run["analysis"] == evidence.analysis_settings(summary)


def test_results_copy_gives_the_same_json_as_the_package(no_proofs, results_copy, capsys):
    rc0, default, _ = _check_json(capsys)
    rc1, copied, _ = _check_json(capsys, "--results", str(results_copy))
    # Property: --results DIR with a faithful copy reads the same entries, statuses and
    # evidence names as the packaged results, and both exit 0.
    assert rc0 == rc1 == 0 and default == copied and default
    # Property: --json has no wall-clock times, so two runs print the same bytes.
    assert all("seconds" not in e and all("seconds" not in r for r in e["routes"]) for e in default)
    # Property: --timings puts them back.
    rc2, timed, _ = _check_json(capsys, "--timings")
    assert rc2 == 0 and all("seconds" in e for e in timed)


def _ids_of(manifest_root, folder):
    return next(r["entries"] for r in evidence.load_manifest(manifest_root)["runs"]
                if r["folder"] == folder)


@pytest.mark.parametrize("damage", ["summary-altered", "summary-missing", "record-missing",
                                    "record-altered", "record-recompressed"])
def test_damaged_evidence_is_an_error_and_exits_nonzero(no_proofs, results_copy, capsys, damage):
    run = results_copy / "pl" / "h100"
    ids = _ids_of(results_copy, "pl/h100")
    if damage == "summary-altered":
        (run / "summary.json").write_text((run / "summary.json").read_text() + " ")
    elif damage == "summary-missing":
        (run / "summary.json").unlink()
    elif damage == "record-missing":
        (run / "record.jsonl.gz").unlink()
    else:
        data = gzip.decompress((run / "record.jsonl.gz").read_bytes())
        if damage == "record-altered":
            data = data.replace(b'"trial"', b'"trial" ', 1)
        (run / "record.jsonl.gz").write_bytes(gzip.compress(data, compresslevel=1, mtime=0))
    rc, entries, err = _check_json(capsys, "--results", str(results_copy))
    by_id = {e["id"]: e for e in entries}
    if damage == "record-recompressed":
        # Property: the digest is over the decompressed bytes: recompressing changes nothing.
        assert rc == 0 and all(by_id[i]["status"] != "error" for i in ids)
        return
    # Property: every entry the manifest expects from the damaged run is still listed (never
    # dropped), with status "error"; the other runs keep their verdicts; the exit status is 1
    # and stderr names the run.
    assert rc == 1
    assert all(by_id[i]["status"] == "error" for i in ids)
    assert [e["id"] for e in entries if e["status"] == "error"] == ids
    assert "results/pl/h100" in err and "missing or altered evidence" in err
    # Property: an error entry does not claim that counts were computed from its record.
    assert all(by_id[i]["machine_checked"].startswith("the evidence links") for i in ids)
    assert all("counts and intervals" in e["machine_checked"] for e in entries
               if e["status"] != "error")


def test_unlinked_or_mislinked_summary_is_an_error(no_proofs, results_copy, capsys):
    # A new run outside the manifest: accepted only through a matching derived_from field.
    src = results_copy / "pl" / "h100"
    new = results_copy / "pl" / "extra"
    shutil.copytree(src, new)
    rc, entries, err = _check_json(capsys, "--results", str(results_copy))
    extra = [e for e in entries if e["id"].endswith(".extra") or "pl.extra" in e["id"]]
    # Property: a summary with neither a manifest entry nor derived_from is an error.
    assert rc == 1 and extra and all(e["status"] == "error" for e in extra)
    assert "linked to no record" in err
    summary = json.loads((new / "summary.json").read_text())
    summary["derived_from"] = {"records": ["record.jsonl.gz"],
                               "record_sha256": evidence.record_digest([new / "record.jsonl.gz"]),
                               "analysis": evidence.analysis_settings(summary)}
    (new / "summary.json").write_text(json.dumps(summary))
    rc, entries, _ = _check_json(capsys, "--results", str(results_copy))
    # Property: with a matching derived_from link the new run's verdicts are read normally.
    assert rc == 0 and all(e["status"] != "error" for e in entries)
    assert {e["id"] for e in entries if e["id"].endswith(".extra")}
    summary["derived_from"]["record_sha256"] = "0" * 64
    (new / "summary.json").write_text(json.dumps(summary))
    rc, entries, err = _check_json(capsys, "--results", str(results_copy))
    # Property: a derived_from digest that does not match the record is an error.
    assert rc == 1 and "was not made from this record" in err
    assert all(e["status"] == "error" for e in entries if e["id"].endswith(".extra"))


def test_results_folder_without_manifest_is_an_error(no_proofs, tmp_path, capsys):
    # Property: an empty folder (or any folder without MANIFEST.json) is not an empty pass:
    # the ledger says the expected evidence is unknown and exits 1.
    rc, entries, err = _check_json(capsys, "--results", str(tmp_path))
    assert rc == 1 and [e["id"] for e in entries] == ["evidence.manifest"]
    assert entries[0]["status"] == "error" and "MANIFEST.json" in err


def test_missing_results_folder_is_refused(capsys):
    # Property: --results naming no folder exits 2 with a message naming the flag and value.
    assert main(["check", "--results", "/nonexistent/results"]) == 2
    assert "--results /nonexistent/results" in capsys.readouterr().err


def test_plain_output_in_80_columns_keeps_ids_whole(no_proofs, committed_entries, monkeypatch, capsys):
    monkeypatch.setenv("COLUMNS", "80")
    assert main(["check"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    ids = [e["id"] for e in committed_entries]
    # Property: no line is wider than 80 columns, and every id appears whole at the start of
    # its block's first line.
    assert max(map(len, lines)) <= 80
    starts = {line.split()[0] for line in lines if line and not line.startswith(" ")}
    assert set(ids) <= starts
    # Property: each entry's block opens with "id  status" on one line.
    statuses = {e["id"]: e["status"] for e in committed_entries}
    heads = [line for line in lines if line and not line.startswith(" ")]
    assert all(f"{i}  {statuses[i]}" in heads for i in ids)


def test_gzipped_record_keeps_its_derived_from_link(tmp_path):
    # Property: a run summarised beside record.jsonl and committed with the record gzipped
    # (record.jsonl -> record.jsonl.gz) stays linked: the digest is over the decompressed bytes.
    run = tmp_path / "run"
    run.mkdir()
    lines = b'{"kind": "header"}\n{"trial": 0}\n'
    (run / "record.jsonl").write_bytes(lines)
    summary = {"derived_from": {"records": ["record.jsonl"],
                                "record_sha256": evidence.record_digest([run / "record.jsonl"])}}
    (run / "summary.json").write_text(json.dumps(summary))
    assert evidence.check_summary_link(run) == []
    (run / "record.jsonl.gz").write_bytes(gzip.compress(lines))
    (run / "record.jsonl").unlink()
    assert evidence.check_summary_link(run) == []
    # Property: a gzipped copy of different content does not pass for the record.
    (run / "record.jsonl.gz").write_bytes(gzip.compress(lines + b'{"trial": 1}\n'))
    assert "was not made from this record" in evidence.check_summary_link(run)[0]


def test_every_measured_entry_says_what_it_tests(committed_entries):
    # Property: every measured verdict names what it tests, from the measured kinds; Cover's
    # 1/2 and the rank-sweep's "tracks the teacher" are our heuristics, never paper claims; the
    # summary line counts the kinds apart.
    entries = committed_entries
    measured = [e for e in entries if e.get("evidence")]
    assert measured and all(e["claim_kind"] in ledger.MEASURED_KINDS for e in measured)
    kinds = {e["id"].rsplit(".", 1)[0]: e["claim_kind"] for e in measured}
    assert kinds["R2.E4-transition"] == "our heuristic"
    assert kinds["R2.separability-scope"] == "scope"
    assert kinds["R2.E4-solver-budget"] == "method check"
    assert kinds["R2.xent-recipe"] == "paper claim"
    assert kinds["R3.rank-sweep.optimal-rank-tracks-teacher"] == "our heuristic"
    assert kinds["R3.rank-sweep.optimal-rank-at-most-teacher"] == "paper claim"
    assert all(e["claim_kind"] == "our heuristic" for e in measured
               if "(our heuristic, not a" in e["source"])
    line = ledger.summary_line(entries)
    assert "our heuristics:" in line and "paper claims:" in line
