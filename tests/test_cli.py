"""The ``lorank`` command line: ``lorank check`` (the theorem ledger) end to end, and bad
input to ``lorank prescribe`` (exit status 2, one line on stderr naming the argument and the
value, never a traceback). Bad input to the experiment commands is in
``test_bad_inputs_experiments.py``.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lorank.cli import main
from lorank.ledger import REPO_ROOT, STATUSES, failures

DATA = Path(__file__).parent / "data"
BASE = ["--K", "2", "--N", "32"]


def _run_module(*argv, timeout=60, cwd=None):
    """``python -m lorank ARGV`` in a fresh process (what the console script runs)."""
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    return subprocess.run([sys.executable, "-m", "lorank", *argv], capture_output=True,
                          text=True, timeout=timeout, cwd=cwd, env=env)


@pytest.fixture(scope="module")
def check_json(proof_entries):
    """``lorank check --json`` run once in-process: (exit status, parsed stdout). The proof
    entries are the session's (checked once, ``conftest.proof_entries``); the console-script
    test below checks every statement afresh in its own process."""
    import copy

    import lorank.ledger as ledger

    buffer = io.StringIO()
    with pytest.MonkeyPatch.context() as patch, contextlib.redirect_stdout(buffer):
        patch.setattr(ledger, "_proof_entries", lambda: copy.deepcopy(proof_entries))
        status = main(["check", "--json"])
    return status, json.loads(buffer.getvalue())


# ----------------------------------------------------------------------------- lorank check


def test_check_json_entries(check_json):
    status, entries = check_json
    # Property: `lorank check --json` exits 0 and prints a non-empty JSON list.
    assert status == 0
    assert isinstance(entries, list) and entries
    # Property: every entry has the documented keys and a status from the five allowed.
    for e in entries:
        assert {"id", "source", "statement", "status", "routes", "evidence"} <= set(e), e["id"]
        assert e["status"] in STATUSES, e
        assert isinstance(e["routes"], list)
    # Property: ids are unique.
    ids = [e["id"] for e in entries]
    assert len(ids) == len(set(ids))


def test_check_expected_statements_decided(check_json):
    _, entries = check_json
    true_ones = [e for e in entries if e.get("expected") is True]
    false_ones = [e for e in entries if e.get("expected") is False]
    # Property: there are statements expected to hold and ones recorded because they are false.
    assert true_ones and false_ones
    # Property: every statement expected to hold is proved (or proved given the lemma it
    # names), every expected-false one refuted.
    assert [e["id"] for e in true_ones if e["status"] not in ("proved", "proved-assuming")] == []
    assert [e["id"] for e in false_ones if e["status"] != "refuted"] == []
    assert failures(entries) == []
    # Property: a proved statement is proved by at least two routes that both answer True.
    for e in true_ones:
        answers = [r["answer"] for r in e["routes"]]
        assert len(answers) >= 2 and all(a is True for a in answers), e["id"]


def test_check_json_carries_notes_and_what_is_machine_checked(check_json):
    from proofs import all_statements

    _, entries = check_json
    notes = {s.id: s.notes for s in all_statements()}
    for e in entries:
        # Property: every entry has the notes, a one-sentence machine_checked and a list of
        # assumed facts.
        assert isinstance(e["notes"], str), e["id"]
        assert isinstance(e["machine_checked"], str) and e["machine_checked"], e["id"]
        assert isinstance(e["assumed"], list) and all(isinstance(a, str) and a for a in e["assumed"])
        # Property: a proof entry carries its statement's notes verbatim.
        if e["id"] in notes:
            assert e["notes"] == notes[e["id"]], e["id"]
        # Property: a proved-assuming entry names at least one assumed lemma.
        if e["status"] == "proved-assuming":
            assert e["assumed"], e["id"]
    # Property: a measured E1 verdict says that the solver's failures prove nothing.
    e1 = [e for e in entries if e["id"].startswith("R1.cstar.E1.")]
    assert e1 and all(any("lower bound" in a for a in e["assumed"]) for e in e1)
    assert any(e["notes"] for e in entries)


def test_check_includes_committed_cstar_verdicts(check_json):
    _, entries = check_json
    measured = [e for e in entries if e["id"].startswith("R1.cstar.")]
    # Property: the committed C* verdicts are in the ledger, one per family (E1, E2, E3)
    # at least, each resting on a summary file that exists under results/.
    assert {e["id"].split(".")[2] for e in measured} >= {"E1", "E2", "E3"}
    for e in measured:
        assert e["evidence"] is not None and e["evidence"].startswith("results/"), e
        assert (REPO_ROOT / e["evidence"]).is_file(), e["evidence"]
        # Property: a measured verdict is a result, not a pass/fail of the tool.
        assert e["expected"] is None and e["status"] in ("supported", "contradicted", "open", "undefined")


def test_check_fails_when_an_expected_statement_is_open(monkeypatch, capsys):
    import lorank.ledger as ledger

    entry = {"id": "fake.open", "source": "test", "statement": "1 < 2", "status": "open",
             "routes": [{"name": "sympy", "answer": None}], "evidence": None,
             "expected": True, "seconds": 0.0}
    monkeypatch.setattr(ledger, "build_ledger", lambda results_dir=None: [entry])
    # Property: failures() flags an entry expected to hold whose status is open ...
    assert failures([entry]) == [entry]
    # ... and `lorank check` then exits non-zero and names it in the plain output.
    assert main(["check"]) == 1
    out = capsys.readouterr().out
    assert "UNEXPECTED: fake.open is open (expected proved)" in out


def test_check_plain_table(check_json, shared_proof_entries, capsys):
    _, entries = check_json
    # Property: the plain table (stdout is not a terminal under pytest) lists every id and
    # ends with the count of statements.
    assert main(["check"]) == 0
    out = capsys.readouterr().out
    assert all(e["id"] in out for e in entries)
    assert f"{len(entries)} statements:" in out
    # Property: the summary line counts proved and proved-assuming apart, each as in --json.
    tally = " ".join(out.strip().split("\n\n")[-1].split())   # the last paragraph, unwrapped
    proved = sum(e["status"] == "proved" for e in entries)
    assuming = sum(e["status"] == "proved-assuming" for e in entries)
    assert assuming > 0
    assert f"statements: {proved} proved, {assuming} proved assuming a lemma," in tally
    # Property: the notes and the assumed facts are shown under the entries.
    least = next(e for e in entries if e["id"] == "R3.least-rank")
    flat = " ".join(out.split())
    assert "assumed: " + "; ".join(least["assumed"]) in flat
    assert "notes: " + " ".join(least["notes"].split()) in flat


def console_script_check(folder=None):
    """``lorank check`` by the installed command, from ``/``: (completed process, seconds).
    The console script is preferred; `python -m lorank` is the same entry point when the
    script is not on PATH."""
    script = shutil.which("lorank") or str(Path(sys.executable).with_name("lorank"))
    argv = [script, "check"] if Path(script).exists() else [sys.executable, "-m", "lorank", "check"]
    start = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=60, cwd="/")
    return proc, time.perf_counter() - start


#: The fresh process runs while the other tests do (``conftest.Background``).
BACKGROUND_JOBS = {"console-script": console_script_check}


@pytest.mark.background("console-script")
def test_check_console_script_end_to_end(background, request):
    # Property: the installed command runs the whole ledger in a fresh process in well under
    # a minute and exits 0.
    proc, elapsed = background.result(request.module, "console-script")
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert elapsed < 45, elapsed
    assert "Traceback" not in proc.stderr
    # Property: run from another folder, the ledger still finds the committed records.
    assert "R1.cstar." in proc.stdout


# ----------------------------------------------------------------------------- bad input


def _assert_one_line_error(status, err, argument, value):
    # Property (issue 2, Bad input): exit status 2, exactly one line on stderr, naming the
    # argument and its value, and no traceback.
    assert status == 2, err
    lines = err.strip("\n").split("\n")
    assert len(lines) == 1, err
    assert "Traceback" not in err
    assert argument in lines[0], lines[0]
    assert value in lines[0], lines[0]


PRESCRIBE_BAD = [
    # (argv, argument named, value named)
    (["--m", "0", "--n", "768"] + BASE, "--m", "0"),
    (["--m", "-3", "--n", "768"] + BASE, "--m", "-3"),
    (["--m", "2.5", "--n", "768"] + BASE, "--m", "2.5"),
    (["--m", "abc", "--n", "768"] + BASE, "--m", "abc"),
    (["--m", "768", "--n", "768", "--cstar", "0"] + BASE, "--cstar", "0"),
    (["--m", "768", "--n", "768", "--cstar", "-1"] + BASE, "--cstar", "-1"),
    (["--model", "gpt-5"] + BASE, "--model", "gpt-5"),
    (["--config", "/no/such/config.json"] + BASE, "--config", "/no/such/config.json"),
    (["--config", str(DATA / "not_json.json")] + BASE, "--config", "not_json.json"),
    (["--config", str(DATA / "missing_intermediate_config.json")] + BASE,
     "intermediate_size", "missing_intermediate_config.json"),
    (["--config", str(DATA / "bad_value_config.json")] + BASE, "hidden_size", "768"),
]


@pytest.mark.parametrize("argv, argument, value", PRESCRIBE_BAD,
                         ids=[" ".join(a[:2]).replace(str(DATA) + "/", "") for a, _, _ in PRESCRIBE_BAD])
def test_prescribe_bad_input(argv, argument, value, capsys):
    status = main(["prescribe", *argv])
    captured = capsys.readouterr()
    _assert_one_line_error(status, captured.err, argument, value)
    # Property: nothing is printed on stdout when the input is refused.
    assert captured.out == ""


@pytest.mark.parametrize("argv, argument, value", [
    (["--m", "2.5", "--n", "768"] + BASE, "--m", "2.5"),
    (["--config", str(DATA / "not_json.json")] + BASE, "--config", "not_json.json"),
], ids=["m-2.5", "not-json"])
def test_prescribe_bad_input_subprocess(argv, argument, value):
    # Property: the same holds end to end in a fresh process (no traceback escapes main).
    proc = _run_module("prescribe", *argv)
    _assert_one_line_error(proc.returncode, proc.stderr, argument, value)


def test_unknown_option_is_one_line_exit_2(capsys):
    # Property: argparse's own errors (an unknown option) follow the same rule: one line, 2.
    with pytest.raises(SystemExit) as info:
        main(["prescribe", "--mm", "3"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert len(err.strip().split("\n")) == 1 and "--mm" in err


# ----------------------------------------------------------------------------- help text

MARKUP = ("[/", "[bold", "[i]", "``", ":func:", ":class:", ":mod:")


@pytest.mark.parametrize("argv", [["--help"], ["prescribe", "--help"], ["check", "--help"]],
                         ids=["lorank", "prescribe", "check"])
def test_help_has_no_raw_markup(argv, capsys):
    # Property: help is plain text: no rich markup ([bold]...[/]) and no reST (``x``, :func:).
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 0
    text = capsys.readouterr().out
    assert text.startswith("usage: lorank")
    leaked = [m for m in MARKUP if m in text]
    assert not leaked, (leaked, text)


def test_help_markup_check_can_fail():
    # The module docstring of lorank.cli is reST; it is exactly what must not reach --help.
    import lorank.cli

    assert "``" in lorank.cli.__doc__ and "``" not in lorank.cli.DESCRIPTION


def test_version(capsys):
    import lorank

    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0 and capsys.readouterr().out.strip() == f"lorank {lorank.__version__}"
