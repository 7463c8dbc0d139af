"""Tests of numerics.experiments.records, numerics.estimation.sweep and numerics.estimation.plots with a fake trial function (the
solvers are tested elsewhere): resumable records, merging, cells, extractors, summaries."""

from __future__ import annotations

import json
import math
import tempfile
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import special

from numerics.experiments import records
from numerics.experiments import runner
from numerics.experiments.cstar import LM, RECIPE
from numerics.estimation.plots import finite_size_figure, phase_transition_figure, plot_summary
from numerics.experiments.records import read_record, write_json_atomic
from numerics.estimation.sweep import (
    Experiment,
    cells,
    success_e1,
    success_e2,
    success_e3,
    summarise,
    variants,
)
from proofs.validation import InvalidArgument

MAX_BATCH = 8
MAX_WORLD = 4


def planted_c(cell) -> float:
    """The fake's transition: rho_c(n) = 1.3 + 1 / min(m, n)."""
    return 1.3 + 1.0 / min(cell.m, cell.n)


def fake_lm(seed=0, restarts=3):
    """An 'lm' trial function whose outcome depends only on (seed, cell, trial index)."""

    def trial_fn(cell, indices):
        out = []
        for i in indices:
            rng = np.random.default_rng([seed, cell.m, cell.n, cell.r, cell.M, i])
            p = special.expit(12.0 * math.log(cell.rho / planted_c(cell)))
            flags = []
            for _ in range(restarts):
                flags.append(bool(rng.random() < p))
                if flags[-1]:
                    break
            out.append({"trial": i, "seed": seed * 1_000_003 + i, "restart_success": flags,
                        "first_success": len(flags) - 1 if flags[-1] else None,
                        "best_rel_residual": 1e-12 if flags[-1] else float("inf"),
                        "iterations": 5 * len(flags), "nonfinite": False})
        return out

    return trial_fn


def fake_recipe(seed=0):
    def trial_fn(cell, indices):
        out = []
        for i in indices:
            rng = np.random.default_rng([seed, cell.M, i])
            base = math.exp(-4.0 * (cell.rho - 1.0)) * rng.uniform(0.5, 1.5)
            out.append({"trial": i, "seed": i,
                        "rel_residual_at": {"10": base, "100": base ** 2,
                                            "1000": float("nan") if i == 0 else base ** 3},
                        "nonfinite": i == 0})
        return out

    return trial_fn


class Crash(RuntimeError):
    pass


def crashing(fn, after):
    """Wrap a trial function so that it raises once ``after`` trials have been produced."""
    state = {"done": 0}

    def trial_fn(cell, indices):
        if state["done"] + len(indices) > after:
            raise Crash("killed")
        state["done"] += len(indices)
        return fn(cell, indices)

    return trial_fn


def _family(estimand: str):
    return {"lm": LM, "recipe": RECIPE}[estimand]


def _config(exp: Experiment):
    """The C* family config that describes ``exp`` (with its batch size)."""
    return _family(exp.estimand).from_spec(exp.record_spec(), batch_size=exp.batch_size)


def _fake_family(family, trial_fn):
    """``family`` with its trials computed by ``trial_fn(cell, indices)`` (a fake solver)."""
    cls = type(f"Fake{type(family).__name__}", (type(family),),
               {"run_batch": lambda self, config, cell, idx: trial_fn(cell, list(idx))})
    return cls()


def run_experiment(exp: Experiment, trial_fn, path, **kw):
    """Run ``exp`` with ``trial_fn`` through the runner (resume, shard, progress in ``kw``)."""
    kw.setdefault("progress", False)
    return runner.run(_fake_family(_family(exp.estimand), trial_fn), _config(exp), path, **kw)


def load_outcomes(exp: Experiment, paths):
    """The runner's merge of the records ``paths`` (one path or several) of ``exp``."""
    paths = [paths] if isinstance(paths, (str, Path)) else paths
    return runner.load(_family(exp.estimand), _config(exp), paths)


def small_experiment(**kw) -> Experiment:
    args = dict(estimand="lm", sizes=[(4, 4, 1), (8, 8, 1)], rho_grid=[0.9, 1.2, 1.5, 1.8, 2.4],
                trials_per_cell=12, batch_size=5, seed=3, restarts=3)
    args.update(kw)
    return Experiment(**args)


# --------------------------------------------------------------------------------------------
# Cells and the experiment description


def test_cells_round_halves_up_in_exact_arithmetic():
    # Property: M = floor(r (m + n - r) / rho + 1/2) computed exactly; (2, 2, 1) has dimension 3,
    # so rho = 1.2 gives 3 / 1.2 = 2.5 -> 3 (a float division would also give 2.5, but banker's
    # rounding would give 2), and repeated M are merged.
    exp = Experiment("lm", [(2, 2, 1)], rho_grid=["1.2", 1.5, 1.4, 3.0])
    got = [(c.M, Fraction(c.dim, c.M)) for c in cells(exp)]
    assert got == [(3, Fraction(1)), (2, Fraction(3, 2)), (1, Fraction(3))]


def test_cells_with_explicit_kn_values():
    # Property: explicit KN values are used as M at every size, rho ascending per size.
    exp = Experiment("recipe", [(8, 8, 2), (16, 4, 1)], kn_values=[10, 40])
    assert [tuple(c) for c in cells(exp)] == [(8, 8, 2, 40), (8, 8, 2, 10),
                                              (16, 4, 1, 40), (16, 4, 1, 10)]
    assert cells(exp)[1].rho == 28 / 10


def test_cells_with_outputs_per_example_are_multiples_of_k():
    # Property: with K given, M = K N with N the nearest integer to r (m + n - r) / (rho K);
    # (8, 8, 1) has dimension 15: rho = 1.25, K = 2 gives N = round(6) = 6, M = 12; rho = 2.5
    # gives N = 3, M = 6. Explicit KN values that are not multiples of K are refused.
    exp = Experiment("lm", [(8, 8, 1)], rho_grid=[1.25, 2.5], K=2, features="structured")
    assert [c.M for c in cells(exp)] == [12, 6]
    with pytest.raises(InvalidArgument, match="multiples of K"):
        Experiment("lm", [(8, 8, 1)], kn_values=[6, 7], K=2)


@pytest.mark.parametrize("kw, name", [
    ({"rho_grid": []}, "rho_grid"), ({"rho_grid": [1.0, -1.0]}, "rho_grid"),
    ({"rho_grid": [100.0]}, "rho_grid"), ({"rho_grid": None}, "rho_grid"),
    ({"kn_values": [5]}, "rho_grid"), ({"sizes": [(4, 4, 5)]}, "r"), ({"sizes": []}, "sizes"),
    ({"sizes": [(0, 4, 1)]}, "m"), ({"device": "tpu"}, "device"), ({"dtype": "half"}, "dtype"),
    ({"estimand": "E9"}, "estimand"), ({"trials_per_cell": 0}, "trials_per_cell"),
    ({"seed": -1}, "seed"), ({"batch_size": 2.0}, "batch_size")])
def test_experiment_bad_input_names_the_field(kw, name):
    # Property: an invalid experiment raises InvalidArgument naming the field.
    with pytest.raises(InvalidArgument, match=name):
        small_experiment(**kw)


def test_record_spec_excludes_analysis_fields_and_device_index():
    # Property: batch size, eps levels and the CUDA device index do not change outcomes and so
    # are not part of the spec that a resume must match.
    a = small_experiment(batch_size=1, device="cuda:0", eps_levels=[1e-3]).record_spec()
    b = small_experiment(batch_size=9, device="cuda:3", eps_levels=[1e-6]).record_spec()
    assert a == b
    assert Experiment.from_spec(a).record_spec() == a


# --------------------------------------------------------------------------------------------
# Runner, records, resume


def test_batch_size_does_not_change_outcomes(tmp_path):
    # Property: trial indices are global per cell, so any batch size gives the same outcomes.
    ref = run_experiment(small_experiment(batch_size=1), fake_lm(3), tmp_path / "a.jsonl",
                         progress=False)
    other = run_experiment(small_experiment(batch_size=7), fake_lm(3), tmp_path / "b.jsonl",
                           progress=False)
    assert ref == other
    assert ref.n_trials() == len(cells(small_experiment())) * 12


def test_killed_by_exception_then_resumed_equals_uninterrupted(tmp_path):
    # Property: a run whose trial function dies after 22 trials keeps those trials; resuming
    # runs only the missing ones and ends with exactly the uninterrupted outcomes.
    exp = small_experiment()
    ref = run_experiment(exp, fake_lm(3), tmp_path / "ref.jsonl", progress=False)
    path = tmp_path / "run.jsonl"
    with pytest.raises(Crash):
        run_experiment(exp, crashing(fake_lm(3), after=23), path, progress=False)
    partial = read_record(path)
    # batches of 5 over 12 trials per cell: 5 + 5 + 2 in the first cell, 5 + 5 in the second
    assert partial.n_trials() == 22
    assert partial.sessions[-1]["status"] == "error"
    calls = []

    def counting(cell, idx):
        calls.extend(idx)
        return fake_lm(3)(cell, idx)

    resumed = run_experiment(exp, counting, path, resume=True, progress=False)
    assert resumed == ref
    assert len(calls) == ref.n_trials() - 22


def test_half_written_line_is_ignored_then_truncated_on_resume(tmp_path):
    # Property: cutting the file in the middle of a trial line (a process killed mid-write)
    # loses only that trial: reading ignores the fragment, resuming truncates it and reruns the
    # trial, and the result equals the uninterrupted run with no duplicate lines.
    exp = small_experiment()
    full = tmp_path / "full.jsonl"
    ref = run_experiment(exp, fake_lm(3), full, progress=False)
    data = full.read_bytes()
    lines = data.split(b"\n")
    # keep the header, the session line and 30 trial lines, then half of the next line
    keep = b"\n".join(lines[:32]) + b"\n" + lines[32][: len(lines[32]) // 2]
    cut = tmp_path / "cut.jsonl"
    cut.write_bytes(keep)
    contents = read_record(cut)
    assert contents.n_trials() == 30 and contents.partial_tail > 0
    assert contents.sessions[0]["killed"] is True  # the session had no end line
    resumed = run_experiment(exp, fake_lm(3), cut, resume=True, progress=False)
    assert resumed == ref
    trial_lines = [ln for ln in cut.read_bytes().split(b"\n") if b'"kind": "trial"' in ln]
    assert len(trial_lines) == ref.n_trials()
    assert all(json.loads(ln) for ln in cut.read_bytes().split(b"\n") if ln)


def test_mismatched_header_on_resume_is_refused_and_file_untouched(tmp_path):
    # Property: resuming with another spec raises InvalidArgument naming the file and the field,
    # and the record's bytes are unchanged.
    path = tmp_path / "run.jsonl"
    run_experiment(small_experiment(), fake_lm(3), path, progress=False)
    before = path.read_bytes()
    with pytest.raises(InvalidArgument, match=r"run\.jsonl.*spec\.seed"):
        run_experiment(small_experiment(seed=4), fake_lm(4), path, resume=True, progress=False)
    with pytest.raises(InvalidArgument, match=r"spec\.trials_per_cell"):
        run_experiment(small_experiment(trials_per_cell=20), fake_lm(3), path, resume=True,
                       progress=False)
    assert path.read_bytes() == before


def test_existing_record_without_resume_is_refused(tmp_path):
    # Property: finished trials are never overwritten by a fresh run.
    path = tmp_path / "run.jsonl"
    run_experiment(small_experiment(), fake_lm(3), path, progress=False)
    before = path.read_bytes()
    with pytest.raises(InvalidArgument, match="already exists"):
        run_experiment(small_experiment(), fake_lm(3), path, progress=False)
    assert path.read_bytes() == before


@pytest.mark.parametrize("damage", ["bad json", "no header", "bad cell", "conflict"])
def test_corrupt_record_is_refused_and_untouched(tmp_path, damage):
    # Property: a damaged complete line (not a half-written tail) raises InvalidArgument naming
    # the file, on reading and on resume, and the file is not changed.
    path = tmp_path / "run.jsonl"
    run_experiment(small_experiment(), fake_lm(3), path, progress=False)
    lines = path.read_text().splitlines(keepends=True)
    if damage == "bad json":
        lines[5] = "{not json\n"
    elif damage == "no header":
        lines = lines[1:]
    elif damage == "bad cell":
        obj = json.loads(lines[5])
        obj["cell"] = [4, 4, 1]
        lines[5] = json.dumps(obj) + "\n"
    else:  # the same (cell, trial) again with another outcome
        obj = json.loads(lines[5])
        obj["outcome"]["restart_success"] = [not obj["outcome"]["restart_success"][0]] * 3
        lines.append(json.dumps(obj) + "\n")
    path.write_text("".join(lines))
    before = path.read_bytes()
    with pytest.raises(InvalidArgument, match="run.jsonl"):
        read_record(path)
    with pytest.raises(InvalidArgument, match="run.jsonl"):
        run_experiment(small_experiment(), fake_lm(3), path, resume=True, progress=False)
    assert path.read_bytes() == before


def test_trial_function_contract_is_checked(tmp_path):
    # Property: a trial function that returns other trials than asked is refused (nothing of
    # that batch is written).
    bad = lambda cell, idx: [{"trial": i + 1} for i in idx]  # noqa: E731
    path = tmp_path / "run.jsonl"
    with pytest.raises(InvalidArgument, match="trials returned"):
        run_experiment(small_experiment(), bad, path, progress=False)
    assert read_record(path).n_trials() == 0


def test_progress_bar_off_a_terminal_is_harmless(tmp_path):
    # Property: progress=True without a TTY (as under pytest) runs and prints nothing extra.
    out = run_experiment(small_experiment(trials_per_cell=2), fake_lm(3), tmp_path / "r.jsonl",
                         progress=True)
    assert out.n_trials() == 2 * len(cells(small_experiment()))


def test_nonfinite_floats_are_stored_as_null(tmp_path):
    # Property: the record is strict JSON: a NaN or infinite float in an outcome becomes null.
    exp = small_experiment(estimand="recipe", budgets=[10, 100, 1000], trials_per_cell=3)
    out = run_experiment(exp, fake_recipe(), tmp_path / "r.jsonl", progress=False)
    first = out[cells(exp)[0]][0]
    assert first["rel_residual_at"]["1000"] is None
    for line in (tmp_path / "r.jsonl").read_text().splitlines():
        json.loads(line, parse_constant=lambda c: pytest.fail(f"non-strict JSON {c}"))


# --------------------------------------------------------------------------------------------
# Merging (several processes)


def test_merge_of_three_shards_equals_single_run(tmp_path):
    # Property: three 'processes' each running a disjoint shard of the trials merge into exactly
    # the single-process outcomes, and a rank killed mid-run and resumed loses nothing.
    exp = small_experiment()
    ref = run_experiment(exp, fake_lm(3), tmp_path / "single.jsonl", progress=False)
    parts = [tmp_path / f"rank{k}.jsonl" for k in range(3)]
    for k, p in enumerate(parts):
        if k == 1:
            with pytest.raises(Crash):
                run_experiment(exp, crashing(fake_lm(3), after=7), p, progress=False,
                               shard=(k, 3))
            run_experiment(exp, fake_lm(3), p, resume=True, progress=False, shard=(k, 3))
        else:
            run_experiment(exp, fake_lm(3), p, progress=False, shard=(k, 3))
    shards = [load_outcomes(exp, p) for p in parts]
    assert sum(s.n_trials() for s in shards) == ref.n_trials()
    merged = load_outcomes(exp, parts)
    assert merged == ref
    assert summarise(exp, merged)["estimands"] == summarise(exp, ref)["estimands"]


@given(batch=st.integers(1, MAX_BATCH), world=st.integers(1, MAX_WORLD))
def test_merge_is_independent_of_batch_and_world_size(batch, world):
    # Property: for every batch size and number of processes, the merged outcomes equal the
    # single-process, batch-1 outcomes.
    kw = dict(sizes=[(4, 4, 1)], rho_grid=[1.0, 1.5], trials_per_cell=6)
    exp = small_experiment(batch_size=batch, **kw)
    with tempfile.TemporaryDirectory() as d:
        ref = run_experiment(small_experiment(batch_size=1, **kw),
                             fake_lm(3), Path(d) / "ref.jsonl", progress=False)
        parts = [Path(d) / f"r{k}.jsonl" for k in range(world)]
        for k, p in enumerate(parts):
            run_experiment(exp, fake_lm(3), p, progress=False, shard=(k, world))
        assert load_outcomes(exp, parts) == ref


def test_merge_refuses_other_spec_and_disagreeing_duplicates(tmp_path):
    # Property: records of another spec, or two records that disagree on one (cell, trial),
    # do not merge; agreeing duplicates (overlapping records) do.
    a, b, c, d = (tmp_path / f"{x}.jsonl" for x in "abcd")
    run_experiment(small_experiment(), fake_lm(3), a, progress=False)
    run_experiment(small_experiment(), fake_lm(3), b, progress=False)
    exp = small_experiment()
    assert load_outcomes(exp, [a, b]) == load_outcomes(exp, a)
    run_experiment(small_experiment(seed=5), fake_lm(5), c, progress=False)
    with pytest.raises(InvalidArgument, match=r"c\.jsonl.*spec\.seed"):
        load_outcomes(exp, [a, c])
    run_experiment(small_experiment(), fake_lm(9), d, progress=False)  # same spec, other data
    with pytest.raises(InvalidArgument, match="disagree"):
        load_outcomes(exp, [a, d])
    with pytest.raises(InvalidArgument, match="no record"):
        load_outcomes(exp, [])


# --------------------------------------------------------------------------------------------
# Atomic summary


def test_atomic_write_leaves_no_partial_file(tmp_path, monkeypatch):
    # Property: if the write fails (unserialisable object, or a crash before the rename) the
    # target keeps its old content (or stays absent) and no temporary file is left behind.
    target = tmp_path / "summary.json"
    with pytest.raises(InvalidArgument):
        write_json_atomic(target, {"x": object()})
    assert not target.exists() and list(tmp_path.iterdir()) == []
    write_json_atomic(target, {"version": 1})

    def boom(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(records.os, "replace", boom)
    with pytest.raises(OSError):
        write_json_atomic(target, {"version": 2, "big": list(range(10_000))})
    monkeypatch.undo()
    assert json.loads(target.read_text()) == {"version": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["summary.json"]


# --------------------------------------------------------------------------------------------
# Extractors


def test_extractors_follow_the_estimand_definitions():
    # Property: E2 is the first restart's flag, E1(k) success within the first k restarts
    # (nondecreasing in k), E3 compares the residual at T with eps (missing/null = failure).
    lm = [{"trial": 0, "restart_success": [True], "first_success": 0},
          {"trial": 1, "restart_success": [False, False, True], "first_success": 2},
          {"trial": 2, "restart_success": [False, False, False], "first_success": None}]
    assert success_e2(lm).tolist() == [1, 0, 0]
    assert [success_e1(lm, k).tolist() for k in (1, 2, 3)] == [[1, 0, 0], [1, 0, 0], [1, 1, 0]]
    with pytest.raises(InvalidArgument, match="fewer than k"):
        success_e1(lm, 4)
    with pytest.raises(InvalidArgument, match="disagrees"):
        success_e1([{"trial": 0, "restart_success": [False, True], "first_success": 0}], 1)
    rec = [{"trial": 0, "rel_residual_at": {"10": 1e-2, "100": 1e-4}},
           {"trial": 1, "rel_residual_at": {"10": None, "100": 1e-3}}]
    assert success_e3(rec, 10, 1e-2).tolist() == [1, 0]
    assert success_e3(rec, 100, 1e-3).tolist() == [1, 1]
    with pytest.raises(InvalidArgument, match="T = 50"):
        success_e3(rec, 50, 1e-3)


# --------------------------------------------------------------------------------------------
# Summary and plots


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    d = tmp_path_factory.mktemp("sweep")
    exp = Experiment("lm", [(8, 8, 1), (16, 16, 1), (32, 32, 1), (32, 8, 1), (64, 16, 1)],
                     rho_grid=[round(x, 3) for x in np.linspace(0.9, 2.2, 12)],
                     trials_per_cell=40, batch_size=16, seed=1, restarts=3)
    out = run_experiment(exp, fake_lm(1), d / "rec.jsonl", progress=False)
    return exp, out, summarise(exp, out, n_boot=50), d


def test_summary_is_complete_and_strict_json(swept):
    # Property: the summary holds what a citation needs (definitions, sizes, grid, trials,
    # seed, versions, device, wall time, intervals and verdicts) and is strict JSON.
    exp, out, s, d = swept
    text = json.dumps(s, allow_nan=False)
    back = json.loads(text)
    assert back["complete"] is True and back["trials_found"] == out.n_trials()
    assert back["experiment"]["seed"] == 1 and back["experiment"]["sizes"][0] == [8, 8, 1]
    assert back["environment"][0]["numpy"] and back["environment"][0]["device"] == "cpu"
    assert back["wall_time"]["sessions"] == 1 and back["wall_time"]["wall_s"] >= 0
    assert list(back["estimands"]) == [v.name for v in variants(exp)]
    for name, est in back["estimands"].items():
        assert est["definition"]
        for size in est["sizes"]:
            assert size["fit"]["degenerate"] is False
            assert {v["position"] for v in size["verdicts"]} <= {"inside", "below", "above"}
            for row in size["cells"]:
                assert row["wilson"][0] <= row["p_hat"] <= row["wilson"][1]
            assert size["bootstrap"]["n_boot"] == 50
        keys = {(f["r"], f["aspect"], f["p"]) for f in est["finite_size"]}
        assert keys == {(1, "1:1", 0.5), (1, "1:1", 0.95), (1, "4:1", 0.5), (1, "4:1", 0.95)}
    trend = next(t for t in back["trends"] if (t["m"], t["n"], t["p"]) == (32, 32, 0.5))
    assert trend["axis"] == "restarts k" and [q["x"] for q in trend["points"]] == [1, 2, 3]
    path = write_json_atomic(d / "summary.json", s)
    assert json.loads(path.read_text())["format"] == "lorank.cstar-summary/1"


def test_summary_transitions_track_the_planted_curve(swept):
    # Property: the fake's E2 transition at 32x32 is planted at 1.3 + 1/32; its profile interval
    # covers it, more restarts only lower the transition (E1 is a lower bound on p_exist), and
    # the square-aspect extrapolation covers rho_inf = 1.3. With three sizes the free-nu fit has
    # no degree of freedom left, so the verdict rests on the nu = 1 fit (the planted law).
    # (Fixed seed; each interval is a 95% interval, so this is a regression check.)
    _, _, s, _ = swept
    size = lambda name, m, n: next(x for x in s["estimands"][name]["sizes"]  # noqa: E731
                                   if (x["m"], x["n"]) == (m, n))
    lo, hi = size("E2", 32, 32)["fit"]["points"][0]["profile"]
    assert lo <= 1.3 + 1 / 32 <= hi
    c = [size(f"E1[k={k}]", 32, 32)["fit"]["points"][0]["rho"] for k in (1, 2, 3)]
    assert c[0] >= c[1] >= c[2]
    fs = next(f for f in s["estimands"]["E2"]["finite_size"] if f["aspect"] == "1:1"
              and f["p"] == 0.5)
    assert fs["fit"]["free"] is not None and fs["fit"]["free"]["df"] == 0
    assert fs["verdict"]["model"] == "nu = 1"
    lo, hi = fs["fit"]["fixed_nu1"]["interval"]
    assert lo <= 1.3 <= hi


def test_summary_of_an_unfinished_or_sharp_run_is_honest(tmp_path):
    # Property: a sharp (separated) transition gives degenerate fits; their verdicts come from
    # the model-free grid bracket, which (when it decides) contains the planted jump at 1.4; and
    # a partial record is marked incomplete.
    exp = small_experiment(trials_per_cell=4, restarts=1)
    sharp = lambda cell, idx: [{"trial": i, "restart_success": [cell.rho > 1.4]}  # noqa: E731
                               for i in idx]
    with pytest.raises(Crash):
        run_experiment(exp, crashing(sharp, after=12), tmp_path / "r.jsonl", progress=False)
    s = summarise(exp, load_outcomes(exp, tmp_path / "r.jsonl"))
    assert s["complete"] is False and s["wall_time"]["killed_sessions"] == 0
    for size in s["estimands"]["E2"]["sizes"]:
        if size["fit"] is None:  # fewer than two cells reached before the crash: no verdict
            assert all(v["position"] == "undetermined" for v in size["verdicts"])
            continue
        assert size["fit"]["degenerate"] is True
        for v, b in zip(size["verdicts"], size["brackets"]):
            assert v["interval_route"] == "grid bracket (Wilson)"
            lo, hi = b["bracket"]
            assert (lo is None or lo <= 1.4) and (hi is None or hi > 1.4)
            if lo is None or hi is None:
                assert v["position"] in ("undetermined", "above", "below")


def test_plots_write_png_and_pdf(swept):
    # Property: all three figures (curves, finite size, trend) are written as PNG and PDF,
    # non-empty, for an E1 variant and E2.
    _, _, s, d = swept
    paths = plot_summary(s, d / "cstar") + plot_summary(s, d / "cstar-e2", "E2")
    assert sorted(p.suffix for p in paths) == [".pdf"] * 6 + [".png"] * 6
    assert all(p.stat().st_size > 1000 for p in paths)
    assert len(phase_transition_figure(s).axes[0].lines) >= 2  # curves and reference lines
    assert finite_size_figure(s, "E2", p=0.95).axes[0].get_ylabel() == "C*(0.95)"
    with pytest.raises(InvalidArgument, match="variant"):
        phase_transition_figure(s, "E7")


def test_git_revision_sees_uncommitted_changes_only_at_a_checkout_root(tmp_path):
    # Property: at a repository's root, "dirty" is False on a clean tree and True after a
    # tracked file under numerics/ changes; a folder below the root (an installed copy inside
    # some repository) gets no commit at all, rather than that repository's.
    import shutil
    import subprocess

    if shutil.which("git") is None:
        pytest.skip("git is not installed")

    def git(*args):
        subprocess.run(["git", "-C", str(tmp_path), "-c", "user.email=t@t", "-c", "user.name=t",
                        *args], check=True, capture_output=True)

    (tmp_path / "numerics").mkdir()
    (tmp_path / "numerics" / "a.py").write_text("x = 1\n")
    git("init", "-q")
    git("add", ".")
    git("commit", "-q", "-m", "one")
    clean = dict(records.git_revision(tmp_path))
    commit = clean["commit"]
    assert len(commit) == 40 and clean["dirty"] is False
    (tmp_path / "numerics" / "a.py").write_text("x = 2\n")
    assert dict(records.git_revision(tmp_path)) == {"commit": commit, "dirty": True}
    assert dict(records.git_revision(tmp_path / "numerics")) == {"commit": None, "dirty": None}
