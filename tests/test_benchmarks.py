"""The benchmark scripts run on the CPU at tiny sizes and write what their records promise
(the H100 runs themselves are in ``results/bench``; these tests keep the scripts from rotting)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import bench_engine, bench_sweep, trace_engine  # noqa: E402
from benchmarks.common import DEVICE_PEAKS, device_peak, feature_passes, peak_fraction  # noqa: E402


def test_bench_engine_cpu_paths_write_a_consistent_record(tmp_path):
    # The CPU engine and the scipy loop solve the same instances: the record holds the median of
    # the timed repeats, the byte model's pass count for the starts and iterations run, and the
    # outcome agreement of the two paths.
    out = tmp_path / "bench.json"
    bench_engine.main(["--skip-cuda", "--m", "6", "--n", "6", "--trials", "8", "--scipy-trials", "2",
                       "--cpu-repeats", "3", "--out", str(out)])
    rec = json.loads(out.read_text())
    cpu = rec["runs"]["engine_cpu"]
    assert len(cpu["solve_seconds_repeats"]) == 3
    assert cpu["solve_seconds"] == sorted(cpu["solve_seconds_repeats"])[1]
    assert cpu["feature_passes_total"] == feature_passes(cpu["starts_run"], cpu["iterations_total"])
    assert rec["outcome_agreement_on_common_trials"]["engine_cpu_vs_scipy_loop"] == 1.0


def test_trace_engine_splits_a_solve_and_checks_settings_agree(tmp_path):
    # The trace of a whole solve accounts for every iteration of the batch, iterates at least as
    # many rows as active trials, and two compaction settings give the same outcomes.
    out = tmp_path / "trace.json"
    trace_engine.main(["--device", "cpu", "--m", "8", "--n", "8", "--trials", "24", "--repeats", "1",
                       "--compact-fracs", "0.75,0.9", "--out", str(out)])
    rec = json.loads(out.read_text())
    assert len(rec["runs"]) == 2
    for run in rec["runs"]:
        tr = run["trace"]
        assert run["same_outcomes_and_iterations_as_first_run"]
        assert tr["iterations_of_the_batch"] == len(tr["steps"])
        assert tr["row_iterations"] >= tr["trial_iterations"] == run["iterations_total"]
        assert run["feature_passes_total"] == feature_passes(rec["trials"], run["iterations_total"])


def test_trace_engine_refuses_cuda_without_a_gpu(tmp_path):
    # Asking for the GPU on a machine without one is a clear exit, not a traceback.
    import torch

    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    with pytest.raises(SystemExit, match="no CUDA GPU"):
        trace_engine.main(["--out", str(tmp_path / "t.json")])


ROOT = Path(__file__).resolve().parents[1]


def _bench_sweep_main(argv: list) -> dict:
    """``bench_sweep.main(argv)`` in a fresh Python (which starts one more per system): its
    return value, through JSON. The sweeps run as background jobs (``conftest.Background``):
    seconds of other processes, while the other tests run; a job prints nothing here."""
    code = (f"import json, sys; sys.path.insert(0, {str(ROOT)!r}); from benchmarks import bench_sweep; "
            f"rec = bench_sweep.main({argv!r}); print('RESULT', json.dumps(rec))")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return json.loads(done.stdout.splitlines()[-1].removeprefix("RESULT "))


def sweep_lm(folder: Path) -> tuple[Path, dict]:
    out = folder / "sweep.json"
    return out, _bench_sweep_main(["--sizes", "4x4", "--ranks", "1", "--rho", "1,1.5", "--trials",
                                   "4", "--restarts", "2", "--max-iters", "40", "--batch-size", "3",
                                   "--systems", "auto,library", "--out", str(out)])


def sweep_recipe(folder: Path) -> dict:
    return _bench_sweep_main(["--estimand", "recipe", "--systems", "auto,baseline", "--sizes", "4x4",
                              "--ranks", "1", "--rho", "1,2", "--trials", "3", "--budgets", "5,20",
                              "--batch-size", "2", "--out", str(folder / "r.json")])


BACKGROUND_JOBS = {"sweep-lm": sweep_lm, "sweep-recipe": sweep_recipe}


@pytest.mark.background("sweep-lm")
def test_bench_sweep_times_each_system_in_a_fresh_process_and_compares_outcomes(background, request):
    # Property: the sweep benchmark runs every cell of the grid once per system, each system in
    # its own process, and records per-cell times, the process and sweep times, the device's
    # peak ("peak unknown" for a CPU not in the table) and whether every trial's outcome agrees.
    out, rec = background.result(request.module, "sweep-lm")
    assert json.loads(out.read_text()) == rec
    assert set(rec["runs"]) == {"auto", "library"}
    for run in rec["runs"].values():
        assert [(c["m"], c["M"]) for c in run["cells"]] == [(4, 7), (4, 5)]
        assert run["trials"] == 8 and 0 < run["sweep_seconds"] <= run["process_seconds"]
        assert all(c["seconds"] > 0 and 0 <= c["successes"] <= 4 for c in run["cells"])
    comparison = rec["comparisons"]["auto_vs_library"]
    assert comparison["outcomes_identical"] and comparison["trials_differing"] == 0
    assert rec["peak_used"]["device"] == rec["device_name"]


@pytest.mark.background("sweep-recipe")
def test_bench_sweep_times_the_recipe_sweep_and_refuses_an_lm_system(tmp_path, capsys, background,
                                                                     request):
    # Property: --estimand recipe times every cell of the E3 grid in a fresh process per system
    # (the default and the lorank 0.5 baseline), with the residuals at every budget compared;
    # a system of the LM engine is refused before anything runs.
    rec = background.result(request.module, "sweep-recipe")
    assert rec["family"] == "cstar-recipe" and rec["grid"]["budgets"] == "5,20"
    for name in ("auto", "baseline"):
        assert [c["M"] for c in rec["runs"][name]["cells"]] == [7, 4]
    assert rec["runs"]["baseline"]["solver_config"]["graph_steps"] == 0
    comparison = rec["comparisons"]["auto_vs_baseline"]
    assert comparison["outcomes_identical"] and comparison["trials_differing"] == 0
    with pytest.raises(SystemExit) as stop:
        bench_sweep.main(["--estimand", "recipe", "--systems", "library",
                          "--out", str(tmp_path / "s.json")])
    err = capsys.readouterr().err
    assert stop.value.code == 2 and "--systems must be a comma list of auto, baseline" in err
    assert not (tmp_path / "s.json").exists()


def test_peaks_are_the_devices_own_or_unknown():
    # Property: a listed device gets its own datasheet peak; any other device gets "peak
    # unknown" and no fraction, never another device's figure.
    assert device_peak("NVIDIA H200")["hbm_bytes_per_s"] == 4.8e12
    assert device_peak("NVIDIA H100 80GB HBM3")["hbm_bytes_per_s"] == 3.35e12
    unknown = device_peak("NVIDIA B200")
    assert unknown == {"device": "NVIDIA B200", "known": False}
    assert peak_fraction(1e12, unknown, "hbm_bytes_per_s") is None
    assert all(p["hbm_bytes_per_s"] > 0 and p["source"] for p in DEVICE_PEAKS.values())


@pytest.mark.parametrize("script", [bench_engine, trace_engine, bench_sweep])
def test_a_benchmark_never_overwrites_a_record(script, tmp_path, capsys):
    # Property: --out naming an existing file (a committed benchmark record, say) is refused
    # before anything runs, and the file is left as it was.
    out = tmp_path / "record.json"
    out.write_text('{"kept": true}')
    with pytest.raises(SystemExit) as stop:
        script.main(["--out", str(out)])
    assert stop.value.code == 2
    assert "never overwritten" in capsys.readouterr().err
    assert json.loads(out.read_text()) == {"kept": True}


def test_rank_sweep_iterations_reports_sweeps_within_its_cap(tmp_path):
    # The measurement behind the rank sweep's default cap: one seed per setting of the default
    # grid with a cap of 30 sweeps; every reported maximum is at most the cap, the overall
    # maximum is the largest of them, and a fit counted at the cap ran the whole cap.
    from benchmarks import rank_sweep_iterations

    out = tmp_path / "its.json"
    rank_sweep_iterations.main(["--seeds", "1", "--cap", "30", "--restarts", "1", "--out", str(out)])
    rec = json.loads(out.read_text())
    maxima = [p["max"] for e in rec["settings"] for p in e["per_rank"]]
    assert rec["cap"] == 30 and all(1 <= x <= 30 for x in maxima)
    assert rec["max_sweeps"] == max(maxima)
    assert all(p["max"] == 30 for e in rec["settings"] for p in e["per_rank"] if p["fits_capped"])
