"""The theorem ledger (:mod:`lorank.ledger`) and the measured C* verdicts it gathers
(:mod:`numerics.verdicts.capacity`), on synthetic summaries with a planted transition.

The synthetic outcomes are made without any solver: trial ``i`` of cell ``c`` succeeds when a
uniform draw from ``numpy.random.default_rng([m, n, r, M])`` is below the planted success
probability ``P(rho)``. ``numerics.estimation.sweep.summarise`` then runs exactly as it does on a real
record, so these tests cover the whole chain summary -> ``ledger_entries`` -> status.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from lorank.ledger import STATUSES, build_ledger, failures
from numerics.verdicts.evidence import MANIFEST_FORMAT, MANIFEST_NAME, analysis_settings, record_digest
from numerics.experiments.records import write_json_atomic
from numerics.estimation.sweep import Experiment, cells, summarise
from numerics.verdicts.capacity import ledger_entries

#: rho grid 0.90, 0.95, ..., 1.60 (step 0.05), two sizes of one (rank, aspect) group.
GRID = [round(0.9 + 0.05 * i, 2) for i in range(15)]
SIZES = [(16, 16, 1), (32, 32, 1)]
#: 200 trials per cell: Wilson half-widths near 0.07 at p = 0.5, enough to separate 1.1 from
#: 1.35 by a wide margin on both the GLM route and the grid-bracket route.
TRIALS = 200
#: Logistic slope on the log(rho) scale for the smooth transition: C*(0.95) sits at
#: c0 * exp(logit(0.95) / SLOPE) = c0 * 1.076.
SLOPE = 40.0


def _planted_outcomes(experiment: Experiment, c0: float, slope: float | None) -> dict:
    """Outcomes with success probability 1[rho > c0] (slope None: sharp) or
    logistic(slope * (log rho - log c0)) (smooth)."""
    out = {}
    for c in cells(experiment):
        if slope is None:
            p = float(c.rho > c0)
        else:
            p = 1.0 / (1.0 + math.exp(-slope * (math.log(c.rho) - math.log(c0))))
        u = np.random.default_rng([c.m, c.n, c.r, c.M]).random(experiment.trials_per_cell)
        out[c] = [{"trial": i, "restart_success": [bool(u[i] < p)], "nonfinite": False}
                  for i in range(experiment.trials_per_cell)]
    return out


def _crossing(entries):
    return [e for e in entries if e.get("reading") == "crossing"]


def _entries_for(tmp_path, c0, slope, name="synthetic", sufficiency=False):
    experiment = Experiment("lm", SIZES, rho_grid=GRID, trials_per_cell=TRIALS, restarts=1)
    outcomes = _planted_outcomes(experiment, c0, slope)
    summary = summarise(experiment, outcomes)
    results = tmp_path / "results"
    run = results / "cstar" / name
    run.mkdir(parents=True)
    # A stand-in record (the outcomes as JSON lines) and the derived_from link that ties the
    # summary to it, as the experiment driver writes them.
    (run / "record.jsonl").write_text("".join(
        json.dumps({"cell": list(c), "outcomes": o}) + "\n" for c, o in outcomes.items()))
    summary["derived_from"] = {"records": ["record.jsonl"],
                               "record_sha256": record_digest([run / "record.jsonl"]),
                               "analysis": analysis_settings(summary)}
    write_json_atomic(run / "summary.json", summary)
    # A manifest that pins no run: the synthetic summaries are accepted by derived_from alone.
    write_json_atomic(results / MANIFEST_NAME, {"format": MANIFEST_FORMAT, "runs": []})
    entries = ledger_entries(results)
    return (entries if sufficiency else _crossing(entries)), summary


@pytest.mark.parametrize("slope", [None, SLOPE], ids=["sharp", "smooth"])
def test_transition_at_1_1_contradicts_1_35(tmp_path, slope):
    entries, _ = _entries_for(tmp_path, 1.1, slope)
    # Property: one entry per family (E1, E2) and level p (0.5, 0.95), each with the ledger's
    # keys, a known status and ids that start with R1.cstar. and end with the run's folder.
    assert sorted(e["id"] for e in entries) == sorted(
        f"R1.cstar.{f}.p{p}.synthetic" for f in ("E1", "E2") for p in ("0.5", "0.95"))
    for e in entries:
        assert {"id", "source", "statement", "status", "routes", "evidence"} <= set(e)
        assert e["status"] in STATUSES
    # Property: a transition planted at rho = 1.1 (C*(0.95) at most 1.1 * 1.076 = 1.18) puts
    # 1.35 above every interval, so every verdict is "contradicted", saying the data are lower.
    assert [e["status"] for e in entries] == ["contradicted"] * 4
    assert all("lower than 1.35" in e["statement"] for e in entries)
    # Property: the monte-carlo route answers False (not None) for a contradiction.
    assert all(e["routes"][0]["name"] == "monte-carlo" and e["routes"][0]["answer"] is False
               for e in entries)
    # Property: the evidence is the summary file, relative to the folder holding results/.
    assert {e["evidence"] for e in entries} == {"results/cstar/synthetic/summary.json"}
    # Property: measured verdicts never count as failures of the tool (expected is None).
    assert all(e["expected"] is None for e in entries) and failures(entries) == []


def test_sharp_transition_at_1_35_is_supported(tmp_path):
    entries, _ = _entries_for(tmp_path, 1.35, None)
    # Property: a sharp step planted at 1.35 gives grid brackets around 1.35 at every level,
    # so no verdict is "contradicted" (and with this grid all are "supported").
    assert all(e["status"] != "contradicted" for e in entries)
    assert all(e["status"] in ("supported", "open") for e in entries)
    assert all(e["routes"][0]["answer"] in (True, None) for e in entries)


def test_smooth_transition_at_1_35_median_never_contradicted(tmp_path):
    entries, summary = _entries_for(tmp_path, 1.35, SLOPE)
    by_p = {level: [e for e in entries if f".{level}." in e["id"]] for level in ("p0.5", "p0.95")}
    # Property: with P(rho) = logistic(SLOPE log(rho / 1.35)), C*(0.5) = 1.35 exactly, so the
    # p = 0.5 verdicts are supported or open, never contradicted.
    assert by_p["p0.5"] and all(e["status"] in ("supported", "open") for e in by_p["p0.5"])
    # Property: the smooth case goes through the GLM; with 2 sizes the nu = 1 fit has 0 degrees
    # of freedom, so it is stored as not identified (no interval) and the verdict falls back to
    # the largest size's GLM interval, which contains the planted 1.35.
    fs = next(f for f in summary["estimands"]["E2"]["finite_size"] if f["p"] == 0.5)
    assert fs["fit"]["fixed_nu1"]["identified"] is False and fs["fit"]["fixed_nu1"]["interval"] == [None, None]
    assert fs["verdict"]["model"] == "largest size (fallback)" and fs["verdict"]["size"] == "32x32"
    assert fs["verdict"]["position"] == "inside"
    # Property: C*(0.95) = 1.35 * 1.076 = 1.45 by construction, so at p = 0.95 the data put
    # C* higher than 1.35 -- a contradiction on the other side, which the sentence states.
    assert all(e["status"] == "contradicted" and "higher than 1.35" in e["statement"]
               for e in by_p["p0.95"])


def test_ledger_entries_reads_every_summary_and_ignores_other_files(tmp_path):
    _entries_for(tmp_path, 1.1, None, name="a")
    _entries_for(tmp_path, 1.35, None, name="b")
    (tmp_path / "results" / "cstar" / "notes.json").write_text("{}")
    entries = ledger_entries(tmp_path / "results")
    # Property: one crossing entry per (summary, family, p) -- 2 summaries x 2 families x 2
    # levels -- and one sufficiency entry per (summary, family); only files named
    # cstar/*/summary.json are read.
    assert len(_crossing(entries)) == 8
    assert sorted(e["id"] for e in entries if e["reading"] == "sufficiency") == sorted(
        f"R1.cstar.sufficiency.{f}.{run}" for f in ("E1", "E2") for run in ("a", "b"))
    assert {e["id"].rsplit(".", 1)[1] for e in entries} == {"a", "b"}
    # Property: an empty or missing results folder gives no entries (never an error).
    assert ledger_entries(tmp_path / "nothing-here") == []


def test_build_ledger_gathers_proofs_and_synthetic_verdicts(tmp_path, shared_proof_entries):
    _entries_for(tmp_path, 1.1, None)
    entries = build_ledger(tmp_path / "results")
    ids = [e["id"] for e in entries]
    # Property: ids are unique, every status is known, and the synthetic verdicts appear
    # after the exact statements (the ledger only gathers).
    assert len(ids) == len(set(ids))
    assert all(e["status"] in STATUSES for e in entries)
    measured = [e for e in entries if e["id"].startswith("R1.cstar.")]
    assert len(measured) == 6 and ids[-6:] == [e["id"] for e in measured]
    # Property: every exact statement is decided as expected, so nothing is a failure.
    assert failures(entries) == []
    # Property: the whole ledger is JSON-serialisable as `lorank check --json` prints it.
    assert json.loads(json.dumps(entries, default=str))[0]["id"] == ids[0]


@pytest.mark.parametrize(
    "entry, flagged",
    [
        ({"id": "a", "status": "proved", "expected": True}, False),
        ({"id": "b", "status": "open", "expected": True}, True),
        ({"id": "c", "status": "refuted", "expected": True}, True),
        ({"id": "d", "status": "refuted", "expected": False}, False),
        ({"id": "e", "status": "proved", "expected": False}, True),
        ({"id": "f", "status": "open", "expected": False}, True),
        ({"id": "g", "status": "contradicted", "expected": None}, False),
        ({"id": "h", "status": "open"}, False),
        ({"id": "i", "status": "proved-assuming", "expected": True}, False),
        ({"id": "j", "status": "proved-assuming", "expected": False}, True),
    ],
)
def test_failures(entry, flagged):
    # Property: a statement expected to hold fails unless proved; one expected false fails
    # unless refuted; an "open" answer is never a pass; measured verdicts (expected None or
    # absent) never fail.
    assert (failures([entry]) == [entry]) is flagged


def test_unknown_status_is_rejected(tmp_path, monkeypatch):
    import lorank.ledger as ledger

    monkeypatch.setattr(ledger, "_proof_entries",
                        lambda: [{"id": "x", "status": "maybe", "expected": True}])
    # Property: a status outside STATUSES is an error, never silently shown.
    with pytest.raises(ValueError, match="maybe"):
        ledger.build_ledger(tmp_path)


def test_blocks_in_80_columns_show_notes_and_keep_ids_whole(proof_entries):
    from lorank.ledger import render_blocks

    entries = proof_entries
    text = render_blocks(entries, width=80)
    lines = text.splitlines()
    # Property: no line is wider than 80 columns; every id opens its block whole.
    assert max(map(len, lines)) <= 80
    heads = {line.split()[0] for line in lines if line and not line.startswith(" ")}
    assert {e["id"] for e in entries} <= heads
    # Property: the notes, what was checked and what was assumed are all shown (wrapped).
    flat = " ".join(line.strip() for line in lines)
    for e in entries:
        assert "checked: " + e["machine_checked"] in flat, e["id"]
        if e["assumed"]:
            assert "assumed: " + "; ".join(e["assumed"]) in flat, e["id"]
        if e["notes"]:
            assert "notes: " + " ".join(e["notes"].split()) in flat, e["id"]
