"""The contract every experiment family keeps, tested once, parametrised over all families.

For each registered family (numerics.experiments.protocol.families()):
- the spec round-trips through the record header;
- a batch of trials equals the same trials run one at a time;
- a resumed run equals an uninterrupted one, and a killed run (half-written last line) loses
  no finished trial;
- shards of a run (as the ranks of a torchrun launch) merge into the single-process outcomes;
- a run through the command line writes a summary whose ``derived_from`` names the record and
  its digest, and re-summarising into a new folder leaves the source folder untouched.
And for every committed result: its record belongs to the family of its command, its spec reads
back, and it still holds the trials its summary counts.
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from lorank.cli import main
from numerics.verdicts import evidence
from numerics.experiments import runner
from numerics.experiments.options import option_fields
from numerics.experiments.protocol import families, family_named, family_of_spec
from numerics.experiments.records import read_record

pytest.importorskip("torch")

RESULTS = Path(__file__).resolve().parent.parent / "results"

#: A tiny config per family (seconds on one CPU core).
TINY = {
    "cstar-lm": dict(sizes=((3, 3),), ranks=(1,), rho=None, kn=(4, 6), trials=4, restarts=2,
                     max_iters=30, batch_size=2),
    "cstar-recipe": dict(sizes=((3, 3),), ranks=(1,), rho=None, kn=(4,), trials=4, budgets=(10,),
                         batch_size=2),
    "separability": dict(sizes=((3, 3),), ranks=(1,), rho=None, kn=(5, 8), trials=4, restarts=1,
                         max_iters=20, budgets=(5,), canonical=(), batch_size=2),
    "pl": dict(sizes=((3, 3),), ranks=(1,), rho=None, kn=(4, 6), trials=4, gd_steps=2,
               gd_trials=1, batch_size=2),
    "rademacher": dict(m=4, n=5, ranks=(1, 2), tasks=("3-class",), n_train=(2,), noise=(0.5,),
                       trials=4, n_test=10, bootstrap=20, batch_size=2),
    "xent": dict(sizes=((3, 3),), ranks=(1,), rho=None, kn=(4, 8), trials=4, budgets=(5, 20),
                 batch_size=2),
    "rank-sweep": dict(m=4, n=4, max_rank=3, teacher_ranks=(1, 2), n_train=(20,), n_test=30,
                       noise=(0.5,), trials=4, iters=10, restarts=1, bootstrap=20, batch_size=2),
    "gradient-flow": dict(m=4, n=3, rank=2, examples=6, etas=(0.1, 0.05), ref_step=0.01, trials=4,
                          trace_n=3, trace_rank=1, trace_horizon=1.0, trace_step=0.05, ey_n=6,
                          ey_ranks=(1, 2), alphas=(1.0,), ey_horizon=2.0, ey_step=0.1,
                          ey_trials=2, batch_size=2),
    "jang": dict(sizes=((3, 3),), examples=(2, 4), trials=4, sdp_trials=0, admm_iters=60,
                 land_m=3, land_n=3, land_examples=2, land_ranks=(1, 2), land_trials=2, starts=2,
                 gd_iters=40, prox_iters=40, batch_size=2),
    "stable-rank": dict(d=3, ranks=(1, 2, 3), examples=12, steps=10, trials=4, batch_size=2),
    "learnable-rank": dict(classes=(2, 3), n=4, m=4, per_class=4, rank=3, lams=(0.1,), lr=0.1, steps=20,
                           prune_every=10, patience=5, trials=4, batch_size=2),
    "exact-existence": dict(sizes=((2, 2), (2, 3)), trials=4, restarts=2, max_iters=30, batch_size=2,
                            max_paths=4),
    "exact-above": dict(sizes=((2, 2),), trials=4, restarts=2, max_iters=30, batch_size=2),
    # issue 15 (need lorank[encoder]: a pretrained encoder and the BBC corpus; slow, seconds each)
    "encoder-ntk": dict(tasks=(("business", "sports"),), matrices=("query",), per_class=(2,),
                        blocks=(4,), ranks=(1,), restarts=1, max_iters=30, max_len=16, trials=4,
                        batch_size=2),
    "encoder-lora": dict(tasks=(("business", "sports"),), per_class=(2,), ranks=(1,), steps=1,
                         train_batch=2, max_len=16, test_per_class=2, trials=4, batch_size=2),
    "encoder-gated": dict(tasks=(("business", "sports"),), per_class=(2,), rank=2, lams=(0.1,),
                          steps=2, train_batch=2, prune_every=1, patience=1, max_len=16,
                          test_per_class=2, trials=4, batch_size=2),
}
#: The command-line form of the same configs.
TINY_ARGS = {
    "cstar-lm": ["cstar", "--estimand", "lm", "--sizes", "3x3", "--ranks", "1", "--kn", "4,6",
                 "--trials", "4", "--restarts", "2", "--max-iters", "30"],
    "cstar-recipe": ["cstar", "--estimand", "recipe", "--sizes", "3x3", "--ranks", "1", "--kn", "4",
                     "--trials", "4", "--budgets", "10"],
    "separability": ["separability", "--sizes", "3x3", "--ranks", "1", "--kn", "5", "--trials",
                     "2", "--restarts", "1", "--max-iters", "20", "--budgets", "5",
                     "--canonical", "none"],
    "pl": ["pl", "--sizes", "3x3", "--ranks", "1", "--kn", "4,6", "--trials", "4", "--gd-steps",
           "2", "--gd-trials", "1"],
    "rademacher": ["rademacher", "--m", "4", "--n", "5", "--ranks", "1,2", "--tasks", "3-class",
                   "--n-train", "2", "--noise", "0.5", "--trials", "4", "--n-test", "10",
                   "--bootstrap", "20"],
    "xent": ["xent", "--sizes", "3x3", "--ranks", "1", "--kn", "4,8", "--trials", "4",
             "--budgets", "5,20"],
    "rank-sweep": ["rank-sweep", "--m", "4", "--n", "4", "--max-rank", "3", "--teacher-ranks", "1,2",
                   "--n-train", "20", "--n-test", "30", "--noise", "0.5", "--trials", "4",
                   "--iters", "10", "--restarts", "1", "--bootstrap", "20"],
    "gradient-flow": ["gradient-flow", "--m", "4", "--n", "3", "--rank", "2", "--examples", "6",
                      "--etas", "0.1,0.05", "--ref-step", "0.01", "--trials", "4", "--trace-n", "3",
                      "--trace-rank", "1", "--trace-horizon", "1", "--trace-step", "0.05",
                      "--ey-n", "6", "--ey-ranks", "1,2", "--alphas", "1", "--ey-horizon", "2",
                      "--ey-step", "0.1", "--ey-trials", "2", "--slope-margin", "0.2"],
    "jang": ["jang", "--sizes", "3x3", "--examples", "2,4", "--trials", "4", "--sdp-trials", "0",
             "--admm-iters", "60", "--land-m", "3", "--land-n", "3", "--land-examples", "2",
             "--land-ranks", "1,2", "--land-trials", "2", "--starts", "2", "--gd-iters", "40",
             "--prox-iters", "40", "--value-tol", "1e-3"],
    "stable-rank": ["stable-rank", "--d", "3", "--ranks", "1,2,3", "--examples", "12", "--steps", "10",
                    "--trials", "4"],
    "learnable-rank": ["learnable-rank", "--classes", "2,3", "--n", "4", "--m", "4", "--per-class", "4",
                       "--rank", "3", "--lams", "0.1", "--lr", "0.1", "--steps", "20", "--prune-every", "10",
                       "--patience", "5", "--trials", "4"],
    "exact-existence": ["exact", "--sizes", "2x2,2x3", "--trials", "4", "--restarts", "2",
                        "--max-iters", "30"],
    "exact-above": ["exact-above", "--sizes", "2x2", "--trials", "4", "--restarts", "2",
                    "--max-iters", "30"],
    "encoder-ntk": ["encoder-ntk", "--tasks", "business/sports", "--matrices", "query", "--per-class",
                    "2", "--blocks", "4", "--ranks", "1", "--restarts", "1", "--max-iters", "30",
                    "--max-len", "16", "--trials", "4"],
    "encoder-lora": ["encoder-lora", "--tasks", "business/sports", "--per-class", "2", "--ranks", "1",
                     "--steps", "1", "--train-batch", "2", "--max-len", "16", "--test-per-class", "2",
                     "--trials", "4"],
    "encoder-gated": ["encoder-gated", "--tasks", "business/sports", "--per-class", "2", "--rank", "2",
                      "--lams", "0.1", "--steps", "2", "--train-batch", "2", "--prune-every", "1",
                      "--patience", "1", "--max-len", "16", "--test-per-class", "2", "--trials", "4"],
}
NAMES = [f.name for f in families()]


def _param(name):
    """A family's case; the real-encoder families (issue 15) are slow and need lorank[encoder]."""
    if not getattr(family_named(name), "needs_extra", False):
        return name
    from numerics.engine.encoder import missing_ingredients

    why = missing_ingredients()
    return pytest.param(name, marks=[pytest.mark.slow, pytest.mark.skipif(
        why is not None, reason=f"{name} needs lorank[encoder]: {why}")])


def _flag(name):
    return "--" + name.replace("_", "-")


def assert_same_outcomes(family, a, b):
    """Equal outcomes. A family whose solver is not bitwise batch-invariant
    (``family.batch_invariant`` is False; its docstring says why) must still agree exactly on
    every decision (success flags, restarts, iterations) and to float rounding elsewhere."""
    if family.batch_invariant:
        assert a == b
        return
    assert list(a) == list(b)
    for cell in a:
        assert len(a[cell]) == len(b[cell])
        for x, y in zip(a[cell], b[cell]):
            assert set(x) == set(y)
            for k in x:
                if isinstance(x[k], float) and isinstance(y[k], float):
                    assert x[k] == pytest.approx(y[k], rel=1e-12, abs=1e-15), (cell, k)
                else:
                    assert x[k] == y[k], (cell, k)


@pytest.mark.parametrize("command", sorted({f.command for f in families()}))
def test_help_lists_every_config_field_once(command, capsys):
    # Property: --help works and shows one flag per config field of the command's families,
    # with its default.
    with pytest.raises(SystemExit) as stop:
        main([command, "--help"])
    assert stop.value.code == 0
    text = capsys.readouterr().out
    for family in families():
        if family.command == command:
            for f in option_fields(family.Config):
                assert text.count(_flag(f.name) + " ") >= 1, f.name


def test_a_huge_grid_is_refused_before_any_cell_is_built(capsys, tmp_path, monkeypatch):
    # Property: a grid of more than MAX_CELLS cells is refused at once (exit 2, nothing
    # written), however it is made up.
    import time

    from numerics.experiments.protocol import MAX_CELLS

    monkeypatch.chdir(tmp_path)
    sizes = ",".join(f"{m}x{m}" for m in range(200, 2000))
    start = time.perf_counter()
    assert main(["cstar", "--sizes", sizes, "--ranks", "1,2,3,4,5,6,7,8,9,10", "--rho",
                 "0.5:5:0.001"]) == 2
    assert time.perf_counter() - start < 5
    assert f"more than {MAX_CELLS}" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_no_run_writes_into_a_folder_of_committed_results(tmp_path, capsys):
    # Property: any folder below one that holds lorank's evidence manifest (the repository's
    # results/, or the copy an installed lorank ships) is refused as --out, wherever it is.
    committed = tmp_path / "site" / "lorank_results"
    committed.mkdir(parents=True)
    (committed / "MANIFEST.json").write_text((RESULTS / "MANIFEST.json").read_text())
    for out in (committed / "pl" / "new", RESULTS / "pl" / "new"):
        assert main(["pl", "--out", str(out)]) == 2
        assert "committed results folder" in capsys.readouterr().err
        assert not out.exists()


def test_every_family_has_a_tiny_config():
    # Property: the contract below covers every registered family (a new one must add its case).
    assert sorted(NAMES) == sorted(TINY) == sorted(TINY_ARGS)


@pytest.fixture(params=[_param(n) for n in NAMES])
def case(request):
    family = family_named(request.param)
    return family, family.config(**TINY[request.param])


@pytest.fixture(scope="module")
def whole_runs(tmp_path_factory):
    """Each family's uninterrupted one-process run of its tiny config, made once for the module
    (the reference of the round-trip, resume and shard tests): family name -> (record, outcomes)."""
    made = {}

    def whole(family, config):
        if family.name not in made:
            path = tmp_path_factory.mktemp(family.name) / "whole.jsonl"
            made[family.name] = path, runner.run(family, config, path, progress=False)
        return made[family.name]

    return whole


def test_spec_round_trips_through_the_record(case, whole_runs):
    # Property: the config read back from a record's header has the same spec, and the header's
    # spec belongs to this family and no other.
    family, config = case
    spec = read_record(whole_runs(family, config)[0]).spec
    assert family_of_spec(spec) is family
    again = family.from_spec(spec, **family.analysis(config))
    run_fields = {f.name: getattr(config, f.name) for f in option_fields(type(config))
                  if f.metadata["role"] == "run"}  # how trials run is not part of the spec
    assert dataclasses.replace(again, **run_fields) == config
    assert family.record_spec(again) == spec and spec["family"] == family.name


def test_batched_equals_unbatched(case):
    # Property: trials do not depend on the batch they run in.
    family, config = case
    cell = family.cells(config)[-1]
    together = family.run_batch(config, cell, [0, 1, 2])
    alone = [family.run_batch(config, cell, [i])[0] for i in (0, 1, 2)]
    assert_same_outcomes(family, {cell: together}, {cell: alone})


class _Interrupt(Exception):
    pass


class _StopAfter:
    """The family, but the run is interrupted after ``n`` batches."""

    def __init__(self, family, n):
        self._family, self._left = family, n

    def __getattr__(self, name):
        return getattr(self._family, name)

    def run_batch(self, config, cell, trial_indices):
        if self._left == 0:
            raise _Interrupt
        self._left -= 1
        return self._family.run_batch(config, cell, trial_indices)


def test_resume_equals_an_uninterrupted_run_and_a_kill_loses_nothing(case, whole_runs, tmp_path):
    # Property: an interrupted run keeps every finished batch; a killed one leaves at worst a
    # half-written last line; resuming either gives exactly the uninterrupted outcomes.
    family, config = case
    whole = whole_runs(family, config)[1]
    path = tmp_path / "part.jsonl"
    with pytest.raises(_Interrupt):
        runner.run(_StopAfter(family, 1), config, path, progress=False)
    kept = read_record(path).n_trials()
    assert kept == 2  # one finished batch of two trials
    with open(path, "ab") as fh:  # a kill in the middle of the next append
        fh.write(b'{"kind": "trial", "cell": [1, 2')
    resumed = runner.run(family, config, path, resume=True, progress=False)
    assert_same_outcomes(family, resumed, whole)
    assert family.summarise(config, resumed)["format"] == family.summary_format


def test_shards_merge_into_the_single_process_run(case, whole_runs, tmp_path):
    # Property: rank k of W runs the trials with index % W == k; the merge of all ranks'
    # records equals the one-process outcomes (what --distributed relies on).
    family, config = case
    record, whole = whole_runs(family, config)
    shutil.copy(record, tmp_path / "whole.jsonl")  # a record of another name beside the shards
    parts = [tmp_path / f"record.rank{k}-of-2.jsonl" for k in range(2)]
    for k, p in enumerate(parts):
        runner.run(family, config, p, shard=(k, 2), progress=False)
    assert_same_outcomes(family, runner.load(family, config, parts), whole)
    assert runner.records_in(tmp_path) == parts


def test_the_command_line_links_the_summary_to_its_record_and_never_rewrites_one(case, tmp_path,
                                                                                 monkeypatch, capsys):
    # Property: a run writes summary.json with derived_from = (records, digest, analysis); a
    # re-summary goes to a new folder, equals the first in everything but provenance, and leaves
    # the source folder byte-identical; summarising into a folder with a summary is refused.
    family = case[0]
    monkeypatch.chdir(tmp_path)
    args = TINY_ARGS[family.name] + ["--no-plot", "--no-progress"]
    assert main(args + ["--out", "first"]) == 0
    first = json.loads((tmp_path / "first" / "summary.json").read_text())
    derived = first["derived_from"]
    assert derived["family"] == family.name and derived["records"] == ["record.jsonl"]
    assert derived["record_sha256"] == evidence.record_digest([tmp_path / "first" / "record.jsonl"])
    given = {f.name for f in option_fields(family.Config) if _flag(f.name) in args}
    want = {k: v for k, v in family.analysis(family.config()).items() if k not in given}
    options = derived["analysis"]["options"]
    assert {k: v for k, v in options.items() if k not in given} == want
    assert set(options) == set(family.analysis(family.config()))
    assert evidence.check_summary_link(tmp_path / "first") == []
    analysis_flags = {_flag(f.name) for f in option_fields(family.Config)
                      if f.metadata["role"] == "analysis"}
    again_args = [x for i, x in enumerate(args) if x in analysis_flags or
                  (i > 0 and args[i - 1] in analysis_flags)]
    before = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in (tmp_path / "first").iterdir()}
    assert main([family.command, "--summarise", "first", "--out", "again", "--no-plot"]
                + again_args) == 0
    after = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in (tmp_path / "first").iterdir()}
    assert after == before
    again = json.loads((tmp_path / "again" / "summary.json").read_text())
    assert again["derived_from"]["record_sha256"] == derived["record_sha256"]
    assert again["derived_from"]["records"] == ["../first/record.jsonl"]
    assert evidence.check_summary_link(tmp_path / "again") == []
    capsys.readouterr()
    assert main([family.command, "--summarise", "first", "--out", "first", "--no-plot"]) == 2
    assert main([family.command, "--summarise", "first", "--out", "again", "--no-plot"]
                + again_args) == 2
    assert "already holds a summary" in capsys.readouterr().err
    # Property: a run folder with a record but no summary (a run cut off before its end) can be
    # summarised in place; the summary equals the re-summary in everything but provenance.
    shutil.copytree(tmp_path / "first", tmp_path / "cut")
    (tmp_path / "cut" / "summary.json").unlink()
    assert main([family.command, "--summarise", "cut", "--out", "cut", "--no-plot"]
                + again_args) == 0
    cut = json.loads((tmp_path / "cut" / "summary.json").read_text())
    assert cut["derived_from"]["records"] == ["record.jsonl"]
    assert cut["derived_from"]["record_sha256"] == derived["record_sha256"]
    assert evidence.check_summary_link(tmp_path / "cut") == []
    assert main([family.command, "--summarise", "cut", "--out", "cut", "--no-plot"]) == 2


# ---------------------------------------------------------------------------------- committed


def _committed():
    out = []
    for summary in sorted(RESULTS.glob("**/summary.json")):
        records = runner.records_in(summary.parent)
        if records:
            out.append(pytest.param(summary.parent, id=str(summary.parent.relative_to(RESULTS))))
    return out


def _record_spec(folder):
    return read_record(runner.records_in(folder)[0]).spec


def committed_read_back(folder: Path) -> dict:
    """What :func:`test_committed_records_read_back_and_hold_the_trials_their_summary_counts`
    asserts of one committed run folder: the family its record names, whether every recorded
    cell is one of that config's cells, and the finished trials against the summary's count
    (an exception is returned as its text)."""
    try:
        records = [read_record(p) for p in runner.records_in(folder)]
        family = family_of_spec(records[0].spec)
        config = family.from_spec(records[0].spec)
        cells = {tuple(c) for c in family.cells(config)}
        summary = json.loads((folder / "summary.json").read_text())
        return {"family": family.name,
                "outside": sorted(str(c) for r in records for c in set(r.trials) - cells),
                "found": sum(r.n_trials() for r in records),
                "counted": summary.get("trials_found", summary.get("units_found"))}
    except Exception as error:  # reported by the test of that folder
        return {"error": f"{type(error).__name__}: {error}"}


def committed_job(folder: Path) -> dict:
    """:func:`committed_read_back` of every committed run, in a fresh Python (this file run as
    a script): a background job (``tests/conftest.py``, ``Background``), so that reading every
    committed record runs on the other core."""
    out = folder / "committed.json"
    proc = subprocess.run([sys.executable, __file__, str(out)], capture_output=True, text=True,
                          cwd=Path(__file__).resolve().parent.parent)
    if proc.returncode != 0:
        raise RuntimeError(f"reading the committed records failed in its process:\n"
                           f"{proc.stderr[-3000:]}")
    return json.loads(out.read_text())


BACKGROUND_JOBS = {"committed": committed_job}


@pytest.fixture(scope="module")
def committed(background, request):
    return background.result(request.module, "committed")


@pytest.mark.background("committed")
@pytest.mark.parametrize("folder", _committed())
def test_committed_records_read_back_and_hold_the_trials_their_summary_counts(folder, committed):
    # Property: every committed record's header names a registered family, its config reads
    # back, the record holds no cell outside that config's cells, and its number of finished
    # trials equals the summary's count.
    found = committed[str(folder.relative_to(RESULTS))]
    assert "error" not in found, found.get("error")
    assert found["family"] in NAMES
    assert found["outside"] == []
    assert found["found"] == found["counted"]


#: The fields of a summary that are counts or means of the record's outcomes (what a record
#: must still reproduce, whatever interval method a later version uses).
COUNT_KEYS = {"successes", "trials", "positive", "mean", "n", "seeds_used", "trials_found",
              "units_found", "M", "m", "n_positive", "n_negative", "n_zero"}


@pytest.mark.slow
@pytest.mark.parametrize("folder", _committed())
def test_committed_records_reproduce_their_summaries_counts(folder):
    # Property: re-summarising a committed record gives the same counts and means, wherever
    # the committed summary states them.
    spec = _record_spec(folder)
    family = family_of_spec(spec)
    committed = json.loads((folder / "summary.json").read_text())
    analysis = {"canonical": ()} if family.name == "separability" else {}
    if family.name == "cstar-recipe":
        analysis["eps"] = tuple(committed["experiment"]["eps_levels"])
    config = family.from_spec(spec, **analysis)
    fresh = json.loads(json.dumps(family.summarise(
        config, runner.load(family, config, runner.records_in(folder)))))
    compared = []

    def same(a, b, where):
        if isinstance(a, dict) and isinstance(b, dict):
            for k in set(a) & set(b):
                if k in COUNT_KEYS and not isinstance(a[k], (dict, list)):
                    if isinstance(a[k], float) or isinstance(b[k], float):
                        assert a[k] == pytest.approx(b[k], rel=1e-12, abs=1e-12), f"{where}.{k}"
                    else:
                        assert a[k] == b[k], f"{where}.{k}"
                    compared.append(k)
                else:
                    same(a[k], b[k], f"{where}.{k}")
        elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
            for i, (x, y) in enumerate(zip(a, b)):
                same(x, y, f"{where}[{i}]")

    same(fresh, committed, "summary")
    assert len(compared) > 10


def test_a_gzipped_record_has_the_digest_of_its_content(tmp_path):
    # Property: the summary-to-record link survives compressing the record.
    plain = tmp_path / "record.jsonl"
    plain.write_bytes(b'{"kind": "header"}\n{"kind": "trial"}\n')
    packed = tmp_path / "packed" / "record.jsonl.gz"
    packed.parent.mkdir()
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    assert evidence.record_digest([plain]) == evidence.record_digest([packed])
    assert evidence.record_digest([plain]) != evidence.record_digest([tmp_path / "packed" / "record.jsonl.gz",
                                                                   plain])


if __name__ == "__main__":  # the background job's process: write every committed read-back
    Path(sys.argv[1]).write_text(json.dumps(
        {str(p.values[0].relative_to(RESULTS)): committed_read_back(p.values[0])
         for p in _committed()}))
