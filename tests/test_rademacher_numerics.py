"""R3 rank sweeps (:mod:`numerics.engine.rademacher`, ``lorank rademacher``) on the CPU at tiny sizes.

Known answers: the fitted update has rank <= min(r, K); with noise 0 the one-logit binary task is
interpolated at r = 1 (least interpolating rank = rank(Y) = 1, proofs.structured) while the
three-class task is not interpolable at r = 1 or 2 but is at r = 3; the closed-form fit agrees
with the separately computed reduced-rank floor. Engineering: batched equals unbatched, same
seed same results, resume equals uninterrupted, an existing record is never overwritten, CPU
agrees with CUDA. Plain flag validation is in ``test_bad_inputs_experiments.py``.
"""

from __future__ import annotations

import json

import pytest
import torch

import lorank.cli as cli
import numerics.engine.rademacher as rad
from numerics.experiments.protocol import family_named
from numerics.engine.rademacher import RademacherConfig, all_units, rank_floor, run_units, summarise
from proofs.validation import InvalidArgument

TINY = dict(m=6, n=10, ranks=(1, 2, 3), n_train=(4,), n_test=30, noise=(1.5,), seeds=3, n_boot=100)
TINY_ARGV = ["--m", "6", "--n", "10", "--ranks", "1,2,3", "--n-train", "4", "--n-test", "30",
             "--noise", "1.5", "--trials", "3", "--bootstrap", "100", "--no-plot", "--no-progress"]


def _factors(cfg, unit):
    """Rebuild B and A of one unit through the module's own chunk routine, keeping the factors."""
    captured = {}
    real = rad.fit_reduced_rank

    def spy(X, T, ranks, mu):
        L, Rt, s = real(X, T, ranks, mu)
        captured.update(L=L, Rt=Rt)
        return L, Rt, s

    rad.fit_reduced_rank = spy
    try:
        out = run_units(cfg, [unit])[0]
    finally:
        rad.fit_reduced_rank = real
    d = rad.sample_instance(cfg, rad.TASKS[unit.task].classes, unit.n_train, unit.seed_index)
    heads = d["heads"][:, :rad.TASKS[unit.task].K]
    B = heads @ captured["L"][0].double() / cfg.m
    return B, captured["Rt"][0].double(), out


@pytest.mark.parametrize("task", ["binary-1-logit", "binary-2-logit", "3-class"])
def test_fitted_delta_has_rank_at_most_r(task):
    cfg = RademacherConfig(**{**TINY, "tasks": (task,), "seeds": 1})
    K = rad.TASKS[task].K
    for unit in all_units(cfg):
        B, A, out = _factors(cfg, unit)
        sv = torch.linalg.svdvals(B @ A)  # full float64 SVD of the m x n update
        numerical = int((sv > 1e-9 * sv[0]).sum())
        # Property: rank(Delta) <= r, and <= K (the fit lives in span(heads)); the module's
        # own rank count (from the QR core) agrees with the full SVD.
        assert numerical <= min(unit.r, K)
        assert out["numerical_rank"] == numerical


def test_noise_free_binary_is_interpolated_at_rank_one():
    cfg = RademacherConfig(**{**TINY, "noise": (0.0,), "weight_decay": 0.0,
                              "tasks": ("binary-1-logit", "3-class")})
    units = all_units(cfg)
    out = {tuple(u): o for u, o in zip(units, run_units(cfg, units))}
    for s in range(cfg.seeds):
        one = out[("binary-1-logit", 4, 0, s, 1)]
        # Property (R3 structured result, rank(Y) = 1): at r = 1 the one-logit task is fit
        # exactly -- zero training error and training loss at rounding level.
        assert one["train_error"] == 0.0
        assert one["train_mse"] <= 1e-20 * max(one["target_mse"], 1.0) + 1e-20
        # Property: three classes need rank(Y) = 3 (distinct noise-free inputs, one-hot
        # targets): ranks 1 and 2 leave a positive floor and the fit attains it; r = 3 fits.
        for r in (1, 2):
            three = out[("3-class", 4, 0, s, r)]
            assert three["floor_train_mse"] > 1e-3
            assert three["train_mse"] == pytest.approx(three["floor_train_mse"], rel=1e-9)
        assert out[("3-class", 4, 0, s, 3)]["train_error"] == 0.0
        # (the floor is ||T||^2 - ||T P||^2 + tail: cancellation leaves ~ N eps ||T||^2 / N)
        assert out[("3-class", 4, 0, s, 3)]["floor_train_mse"] < 1e-12 * out[("3-class", 4, 0, s, 3)]["target_mse"] * 100


def test_fit_attains_the_independent_floor_without_ridge():
    cfg = RademacherConfig(**{**TINY, "weight_decay": 0.0, "n_train": (9,),
                              "tasks": ("binary-2-logit", "3-class")})
    units = all_units(cfg)
    # Property: with mu = 0 the closed-form fit's training loss equals the reduced-rank floor
    # computed by rank_floor (projection + SVD, another route), for every unit (N > n here).
    for u, o in zip(units, run_units(cfg, units)):
        assert o["train_mse"] == pytest.approx(o["floor_train_mse"], rel=1e-9, abs=1e-12), u


def test_rank_floor_matches_brute_force_svd():
    g = torch.Generator().manual_seed(3)
    X = torch.randn(2, 5, 7, generator=g, dtype=torch.float64)
    T = torch.randn(2, 3, 7, generator=g, dtype=torch.float64)
    floors = rank_floor(T, X, [1, 2, 3])
    for b in range(2):
        # Route 2: least squares V = T X^+, then Eckart-Young on the fitted values V X.
        fitted = T[b] @ torch.linalg.pinv(X[b]) @ X[b]
        s = torch.linalg.svdvals(fitted)
        resid = (T[b] - fitted).square().sum()
        for i, r in enumerate([1, 2, 3]):
            # Property: both routes give the same rank-r floor.
            assert float(floors[b, i]) == pytest.approx(float(resid + s[r:].square().sum()), rel=1e-10)


def test_batched_equals_unbatched_and_same_seed_same_result():
    cfg = RademacherConfig(**{**TINY, "tasks": ("binary-2-logit", "3-class")})
    units = all_units(cfg)
    batched = run_units(cfg, units)
    alone = [run_units(RademacherConfig(**{**TINY, "tasks": ("binary-2-logit", "3-class"),
                                           "batch_size": 1}), [u])[0] for u in units[::5]]
    again = run_units(cfg, units)
    # Property: a unit's outcome does not depend on the batch it ran in (errors exactly,
    # squared errors to rounding) ...
    for a, b in zip(alone, batched[::5]):
        assert a["test_error"] == b["test_error"] and a["train_error"] == b["train_error"]
        assert a["test_mse"] == pytest.approx(b["test_mse"], rel=1e-10)
    # ... and the same seed gives identical outcomes.
    assert again == batched


def test_summary_estimates_and_verdicts():
    cfg = RademacherConfig(**{**TINY, "seeds": 4})
    units = all_units(cfg)
    s = summarise(cfg, dict(zip(map(tuple, units), run_units(cfg, units))))
    by_task = {e["task"]: e for e in s["estimates"]}
    # Property: with one logit every rank gives the same predictor, so err(1) - err(2) is 0 on
    # every seed and the binary-1-logit verdict cannot be "supported" (ties are "open").
    d = by_task["binary-1-logit"]["paired_err1_minus_err2"]
    assert d["n_zero"] == d["n"] == 4
    v = {x["task"]: x for x in s["verdicts"]}
    assert v["binary-1-logit"]["status"] == "open"
    # Property: bootstrap shares of r* are a distribution over the ranks.
    for e in s["estimates"]:
        assert sum(e["optimal_rank"]["bootstrap_share"].values()) == pytest.approx(1.0)
        lo, hi = e["per_rank"][0]["test_error"]["lo"], e["per_rank"][0]["test_error"]["hi"]
        assert lo <= e["per_rank"][0]["test_error"]["mean"] <= hi


def _run(*argv):
    return cli.main(["rademacher", *argv])


def test_cli_resume_equals_uninterrupted(tmp_path, monkeypatch, capsys):
    full = tmp_path / "full"
    assert _run(*TINY_ARGV, "--batch-size", "4", "--out", str(full), "--json") == 0
    reference = json.loads(capsys.readouterr().out)
    assert reference["complete"]

    real, calls = rad._run_chunk, []

    def dies_after_first_chunk(*a, **k):
        if calls:
            raise KeyboardInterrupt
        calls.append(1)
        return real(*a, **k)

    killed = tmp_path / "killed"
    monkeypatch.setattr(rad, "_run_chunk", dies_after_first_chunk)
    assert _run(*TINY_ARGV, "--batch-size", "4", "--out", str(killed)) == 130
    capsys.readouterr()
    assert not (killed / "summary.json").exists()
    monkeypatch.setattr(rad, "_run_chunk", real)
    assert _run(*TINY_ARGV, "--batch-size", "4", "--out", str(killed), "--resume", "--json") == 0
    resumed = json.loads(capsys.readouterr().out)
    # Property: the interrupted run kept its first chunk, and resuming gives the same
    # estimates and verdicts as the uninterrupted run.
    assert resumed["complete"] and resumed["units_found"] == reference["units_found"]
    assert resumed["estimates"] == reference["estimates"]
    assert resumed["verdicts"] == reference["verdicts"]
    assert json.loads((killed / "summary.json").read_text())["estimates"] == reference["estimates"]


def test_cli_writes_figure_and_ledger_reads_it(tmp_path, capsys):
    results = tmp_path / "results"
    out = results / "rademacher" / "tiny"
    argv = [a for a in TINY_ARGV if a != "--no-plot"]
    assert _run(*argv, "--out", str(out)) == 0
    text = capsys.readouterr().out
    # Property: the table names every default task; the figure exists in both formats.
    for task in rad.DEFAULT_TASKS:
        assert task in text
    assert (out / "rank_sweep.png").is_file() and (out / "rank_sweep.pdf").is_file()
    entries = rad.ledger_entries(results)
    # Property: one ledger entry per task, ids as documented, a valid status, evidence path.
    ids = sorted(e["id"] for e in entries)
    assert ids == sorted(["R3.rank-one-optimal.binary-1-logit.tiny", "R3.rank-one-optimal.binary-2-logit.tiny",
                          "R3.rank-one-optimal.binary-2-logit-pm.tiny", "R3.rank-above-one.3-class.tiny"])
    assert all(e["status"] in ("supported", "contradicted", "open", "untestable") and e["expected"] is None
               and e["evidence"].endswith("summary.json") for e in entries)
    # Property: in the structured design every binary rank-one entry is untestable (ranks tie by
    # construction from min(K, rank Y) on), and says why; the 3-class entry is not.
    by_id = {e["id"]: e for e in entries}
    for task in ("binary-1-logit", "binary-2-logit", "binary-2-logit-pm"):
        e = by_id[f"R3.rank-one-optimal.{task}.tiny"]
        assert e["status"] == "untestable" and "by construction" in e["reason"]
    assert "uncentred one-hot" in by_id["R3.rank-one-optimal.binary-2-logit.tiny"]["reason"]
    assert by_id["R3.rank-above-one.3-class.tiny"]["status"] != "untestable"


def test_existing_record_needs_resume(tmp_path, capsys):
    out = tmp_path / "run"
    assert _run(*TINY_ARGV, "--out", str(out)) == 0
    before = (out / "record.jsonl").read_bytes()
    capsys.readouterr()
    # Property: a second run into the same folder without --resume is refused (exit 2) and
    # leaves the record byte-identical: a finished run (with its summary) ...
    assert _run(*TINY_ARGV, "--out", str(out)) == 2
    assert "already holds a summary" in capsys.readouterr().err
    # ... and an unfinished one (a record, no summary yet), pointing to --resume.
    (out / "summary.json").unlink()
    assert _run(*TINY_ARGV, "--out", str(out)) == 2
    assert "--resume" in capsys.readouterr().err
    assert (out / "record.jsonl").read_bytes() == before


def test_cuda_path_is_refused():
    # The CUDA path failed its CPU agreement test on an H100 (below) and is refused with a
    # one-line error naming the device, so no unvalidated GPU record can be made.
    # (without a GPU the device check itself refuses it, also naming the device)
    with pytest.raises(InvalidArgument, match="'cuda'"):
        RademacherConfig(**{**TINY, "device": "cuda"})
    # ... and so does the rademacher family's config (what ``lorank rademacher`` builds).
    with pytest.raises(InvalidArgument, match="'cuda'"):
        family_named("rademacher").config(device="cuda")


@pytest.mark.cuda
@pytest.mark.xfail(strict=True, reason="failed on an NVIDIA H100 (torch 2.11, CUDA 13.0) in this "
                   "form; the CUDA path is disabled until the cause is found. strict: a pass here "
                   "means the path may be re-enabled")
def test_cpu_and_cuda_agree(monkeypatch):
    import numerics.engine.rademacher as rademacher

    monkeypatch.setattr(rademacher, "_ALLOW_UNVALIDATED_CUDA", True)
    cfg_cpu = RademacherConfig(**TINY)
    cfg_gpu = RademacherConfig(**{**TINY, "device": "cuda"})
    units = all_units(cfg_cpu)
    cpu, gpu = run_units(cfg_cpu, units), run_units(cfg_gpu, units)
    # Property: the same units give the same errors on the CPU and the GPU (float64), and
    # squared errors equal to rounding.
    for a, b in zip(cpu, gpu):
        assert a["test_error"] == b["test_error"]
        assert a["test_mse"] == pytest.approx(b["test_mse"], rel=1e-8)
