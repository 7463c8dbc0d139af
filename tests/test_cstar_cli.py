"""``lorank cstar`` end to end on the CPU at tiny sizes: files written, ``--json``, sizes down to
2 x 2, explicit KN values, kill-and-resume through the command line, ``--summarise`` into a new
folder, gzip'd records, and refused runs over existing records (exit status 2, one line on
stderr, no traceback, no trial lost). Plain flag validation is in
``test_bad_inputs_experiments.py``.

Every run here is a few 3 x 3 or 2 x 2 cells with 6 trials each: about a second on a 2-core CPU.
"""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pytest

from lorank.cli import main
from numerics.experiments.cstar import LM
from numerics.experiments.records import read_record

#: The tiny experiment: 3 x 3, r = 1 (dim r(m+n-r) = 5), rho in {0.9, 1.2, 2} -> M = 6, 4, 3.
TINY = ["--sizes", "3x3", "--ranks", "1", "--rho", "0.9,1.2,2", "--trials", "6",
        "--restarts", "1", "--no-plot", "--no-progress"]


def cstar(*argv) -> int:
    return main(["cstar", *argv])


def _counts(summary: dict) -> dict:
    """Per estimand and cell: (m, n, r, M) -> (trials, successes)."""
    return {name: {(s["m"], s["n"], s["r"], c["M"]): (c["trials"], c["successes"])
                   for s in est["sizes"] for c in s["cells"]}
            for name, est in summary["estimands"].items()}


def _json_out(capsys) -> dict:
    captured = capsys.readouterr()
    return json.loads(captured.out)


@pytest.fixture(scope="module")
def base_run(tmp_path_factory):
    """One uninterrupted tiny run (batch size 2): its folder and summary."""
    out = tmp_path_factory.mktemp("cstar") / "base"
    assert cstar(*TINY, "--batch-size", "2", "--out", str(out)) == 0
    return out, json.loads((out / "summary.json").read_text())


# ----------------------------------------------------------------------------- end to end


def test_tiny_run_json(tmp_path, capsys, base_run):
    out = tmp_path / "run"
    status = cstar(*TINY, "--out", str(out), "--json")
    summary = _json_out(capsys)
    # Property: exit 0; the record and the summary are written; --json prints valid JSON
    # equal to the summary file, with the estimands E2 and E1[k=1] of the lm engine.
    assert status == 0
    assert (out / "record.jsonl").is_file() and (out / "summary.json").is_file()
    assert summary == json.loads((out / "summary.json").read_text())
    assert set(summary["estimands"]) == {"E2", "E1[k=1]"}
    assert summary["complete"] and summary["trials_found"] == summary["trials_expected"] == 18
    # Property: the record holds every trial, 6 per cell.
    assert read_record(out / "record.jsonl").n_trials() == 18
    counts = _counts(summary)["E2"]
    # Property (issue 3): success is 0 below rho = 1 (M = 6 > dim 5) and 1 once
    # r max(m, n) >= KN (M = 3).
    assert counts[(3, 3, 1, 6)] == (6, 0)
    assert counts[(3, 3, 1, 3)] == (6, 6)
    # Property: the same seed gives the same counts, whatever the batch size (base_run used 2).
    assert counts == _counts(base_run[1])["E2"]


def test_two_by_two_and_kn_list(tmp_path, capsys):
    out = tmp_path / "kn"
    status = cstar("--sizes", "2x2", "--ranks", "1,2", "--kn", "2,3,5", "--trials", "6",
                   "--restarts", "1", "--no-plot", "--no-progress", "--out", str(out), "--json")
    summary = _json_out(capsys)
    # Property: a 2 x 2 size works with r = 1 and r = min(m, n) = 2, and --kn gives exactly the
    # listed M at every (size, rank).
    assert status == 0
    cells = _counts(summary)["E2"]
    assert sorted(cells) == sorted((2, 2, r, M) for r in (1, 2) for M in (2, 3, 5))
    # Property: r max(m, n) >= KN guarantees success (r = 1, M = 2; r = 2, M <= 4), and
    # more equations than dim r(m+n-r) (r = 1: dim 3 < M = 5) gives none.
    assert cells[(2, 2, 1, 2)] == (6, 6)
    assert cells[(2, 2, 2, 2)] == cells[(2, 2, 2, 3)] == (6, 6)
    assert cells[(2, 2, 1, 5)] == (6, 0)


def test_kill_and_resume_equals_uninterrupted(tmp_path, monkeypatch, capsys, base_run):
    real = LM.run_batch
    calls = []

    def interrupted_after_first_batch(self, config, cell, trial_indices):
        if calls:
            raise KeyboardInterrupt
        calls.append(1)
        return real(config, cell, trial_indices)

    out = tmp_path / "killed"
    monkeypatch.setattr(type(LM), "run_batch", interrupted_after_first_batch)
    status = cstar(*TINY, "--batch-size", "2", "--out", str(out))
    err = capsys.readouterr().err
    # Property: an interrupted run exits 130 with one line, keeps the finished batch (2
    # trials) in the record, and writes no summary.
    assert status == 130 and err.strip() == "lorank cstar: interrupted"
    assert read_record(out / "record.jsonl").n_trials() == 2
    assert not (out / "summary.json").exists()

    monkeypatch.undo()
    assert cstar(*TINY, "--batch-size", "2", "--out", str(out), "--resume") == 0
    resumed = json.loads((out / "summary.json").read_text())
    _, uninterrupted = base_run
    # Property: resuming finishes the run, and its per-cell counts -- and every estimate
    # derived from them -- equal those of the uninterrupted run in another folder.
    assert resumed["complete"] and resumed["trials_found"] == 18
    assert _counts(resumed) == _counts(uninterrupted)
    assert resumed["estimands"] == uninterrupted["estimands"]
    # Property: the record shows both sessions, the first one ended by the interruption.
    sessions = [s for s in read_record(out / "record.jsonl").sessions if s["event"] == "end"]
    assert [s["status"] for s in sessions] == ["error", "ok"]


def _files(folder: Path) -> dict:
    return {p.name: p.read_bytes() for p in folder.iterdir()}


def test_summarise_into_new_folder_reproduces_the_run(tmp_path, capsys, base_run):
    folder = tmp_path / "again"
    shutil.copytree(base_run[0], folder)
    before = _files(folder)
    new = tmp_path / "resummarised"
    status = cstar("--summarise", str(folder), "--out", str(new), "--json", "--no-plot")
    summary = _json_out(capsys)
    # Property: --summarise DIR --out NEW writes NEW/summary.json with the same estimands as the
    # run's own summary (nothing is re-run), naming the record it was derived from ...
    assert status == 0
    assert summary["estimands"] == base_run[1]["estimands"]
    assert json.loads((new / "summary.json").read_text()) == summary
    assert summary["derived_from"]["records"] == ["../again/record.jsonl"]
    assert summary["derived_from"]["record_sha256"] == base_run[1]["derived_from"]["record_sha256"]
    # ... and DIR (record and summary) is byte-identical afterwards: it is never rewritten.
    assert _files(folder) == before
    assert (folder / "record.jsonl").read_bytes() == (base_run[0] / "record.jsonl").read_bytes()
    # Property: --summarise without --out, or with --out DIR itself, is refused (exit 2, one
    # line) and leaves DIR byte-identical.
    for extra in ([], ["--out", str(folder)]):
        status = cstar("--summarise", str(folder), "--no-plot", *extra)
        _assert_one_line_error(status, capsys.readouterr().err, "--out", "")
        assert _files(folder) == before


def test_gzip_record_summarised_not_resumed(tmp_path, capsys, base_run):
    folder = tmp_path / "gz"
    folder.mkdir()
    (folder / "record.jsonl.gz").write_bytes(
        gzip.compress((base_run[0] / "record.jsonl").read_bytes()))
    # Property: a gzip'd record can be summarised (into a new folder), with the same estimands
    # and the same record digest as the uncompressed record.
    assert cstar("--summarise", str(folder), "--out", str(tmp_path / "gz-summary"), "--json",
                 "--no-plot") == 0
    summary = _json_out(capsys)
    assert summary["estimands"] == base_run[1]["estimands"]
    assert summary["derived_from"]["record_sha256"] == base_run[1]["derived_from"]["record_sha256"]
    before = sorted(p.name for p in folder.iterdir())
    # Property: it cannot be resumed (nor run over): exit 2, one line naming the compressed
    # record, and no fresh record.jsonl started beside it.
    for extra in (["--resume"], []):
        status = cstar(*TINY, "--out", str(folder), *extra)
        err = capsys.readouterr().err
        _assert_one_line_error(status, err, "--out", "compressed record")
        assert sorted(p.name for p in folder.iterdir()) == before


# ----------------------------------------------------------------------------- bad input


def _assert_one_line_error(status, err, argument, value):
    # Property (issue 3, Bad input): exit status 2, exactly one line on stderr, naming the
    # argument and its value, and no traceback.
    assert status == 2, err
    lines = err.strip("\n").split("\n")
    assert len(lines) == 1, err
    assert "Traceback" not in err
    assert argument in lines[0] and value in lines[0], lines[0]


def test_cuda_without_gpu(tmp_path, capsys):
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("a CUDA GPU is present")
    status = cstar(*TINY, "--device", "cuda", "--out", str(tmp_path / "out"))
    # Property: asking for CUDA without a GPU is bad input, not a crash.
    _assert_one_line_error(status, capsys.readouterr().err, "--device", "cuda")


def _corrupt(record: Path) -> None:
    lines = record.read_bytes().split(b"\n")
    lines[3] = b'{"kind": "trial", "cell": [3, 3, 1'  # a complete line that is not JSON
    record.write_bytes(b"\n".join(lines))


@pytest.mark.parametrize("case", ["corrupt", "other-spec", "no-resume"])
def test_existing_record_is_never_touched(case, tmp_path, capsys, base_run):
    folder = tmp_path / case
    shutil.copytree(base_run[0], folder)
    record = folder / "record.jsonl"
    argv = list(TINY)
    if case == "corrupt":
        _corrupt(record)
        argv += ["--resume"]
        expected = (str(record), "line 4 is corrupt")
    elif case == "other-spec":
        argv += ["--resume", "--seed", "1"]
        expected = ("spec.seed", "requested 1, found 0")
    else:
        expected = ("--out", str(folder))
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    status = cstar(*argv, "--out", str(folder))
    # Property: a corrupt record, a record of another spec on --resume, or any record without
    # --resume is refused with one line naming the file or field and the value, exit 2 ...
    _assert_one_line_error(status, capsys.readouterr().err, *expected)
    # ... and every file in the folder is byte-identical afterwards: no finished trial lost.
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before


def test_half_written_last_line_is_resumed(tmp_path, capsys, base_run):
    folder = tmp_path / "torn"
    shutil.copytree(base_run[0], folder)
    record = folder / "record.jsonl"
    data = record.read_bytes()
    kept = data[: data.rfind(b'{"kind": "trial"')]  # drop the last trial (and what follows)
    record.write_bytes(kept + b'{"kind": "trial", "cell": [3, 3')  # a run killed mid-write
    # Property: a half-written last line is not corruption: --resume truncates it, reruns the
    # missing trial and gives the same estimands as the uninterrupted run.
    assert cstar(*TINY, "--out", str(folder), "--resume") == 0
    assert json.loads((folder / "summary.json").read_text())["estimands"] == base_run[1]["estimands"]
