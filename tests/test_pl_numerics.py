"""The numerical PL* part of R2 (:mod:`numerics.engine.pl`, ``lorank pl``): the batched tangent kernel
against an explicit Jacobian, batch independence, the rank bounds ``mu = 0`` for
``M > r(m+n-r)`` (random points) and ``M > r m`` (LoRA start), the gradient-descent rate check
(and that it can fail), resumable records, the ledger provider, the command line and CPU/CUDA
agreement. Everything runs on tiny sizes (a few seconds on one core).
"""

from __future__ import annotations

import json

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lorank.cli import main
from numerics.engine import pl
from numerics.experiments import runner
from numerics.experiments.protocol import family_named
from numerics.engine.instances import sample_instances
from numerics.engine.pl import (check_pl_rate, dense_jacobian, gd_trajectory, lora_start, pl_constant,
                         run_trials, summarise_pl, tangent_kernel)
from numerics.experiments.records import read_record
from numerics.engine.solvers import random_starts
from proofs.validation import InvalidArgument

#: Tiny sweep: 4x4 with r = 1 (r(m+n-r) = 7, r m = 4) and r = 2 (12, 8); rho in {0.5, 1, 2.5}.
TINY = dict(sizes=((4, 4),), ranks=(1, 2), rho=(0.5, 1.0, 2.5), trials=6, gd_steps=5,
            gd_trials=2, seed=11)
FAMILY = family_named("pl")


def tiny(**kw):
    """The tiny sweep's config (the ``pl`` family), with ``kw`` changed."""
    return FAMILY.config(**{**TINY, **kw})


def run_tiny(path, config=None, **kw):
    """Run the tiny sweep into the record ``path`` through the runner; its outcomes."""
    return runner.run(FAMILY, config or tiny(), path, progress=False, **kw)


@st.composite
def st_cell(draw):
    """(m, n, r) with 1 <= r <= min(m, n) and m, n <= 7."""
    m = draw(st.integers(1, 7))
    n = draw(st.integers(1, 7))
    r = draw(st.integers(1, min(m, n)))
    return m, n, r


def _point(kind, seeds, m, n, r):
    return random_starts(seeds, m, n, r) if kind == "random" else lora_start(seeds, m, n, r)


# ----------------------------------------------------------------------------- the kernel


@pytest.mark.parametrize("m, n, r, M", [(5, 4, 1, 6), (5, 4, 2, 20), (3, 6, 3, 9), (6, 6, 2, 30)])
@pytest.mark.parametrize("kind", ["random", "lora"])
def test_kernel_equals_dense_jacobian(m, n, r, M, kind):
    op, _ = sample_instances([1, 2, 3], m=m, n=n, M=M)
    B, A = _point(kind, [4, 5, 6], m, n, r)
    K = tangent_kernel(op, B, A)
    J = dense_jacobian(op, B, A)
    Kd = J @ J.transpose(1, 2)
    ev = torch.linalg.eigvalsh(Kd)
    c = pl_constant(op, B, A)
    # Property: the batched kernel equals J J^T of the explicit Jacobian, and so do lambda_min
    # and lambda_max. Tolerance: both are float64 sums of at most p = r(m+n) <= 24 products
    # per entry in different orders, so entries differ by a few p*eps*lambda_max; by Weyl the
    # eigenvalues move by at most ||K - Kd||_2 <= M * max|entry difference|. 1e-12 * lambda_max
    # is about 4500 eps, far above that and far below any positive mu here.
    scale = ev[:, -1].view(-1, 1, 1)
    assert bool(((K - Kd).abs() <= 1e-12 * scale).all())
    assert bool(((c.mu - ev[:, 0]).abs() <= 1e-12 * ev[:, -1]).all())
    assert bool(((c.lambda_max - ev[:, -1]).abs() <= 1e-12 * ev[:, -1]).all())
    # Property: mean(diag) is the mean squared row norm of J.
    assert torch.allclose(c.mean_diag, (J * J).sum(dim=2).mean(dim=1), rtol=1e-13, atol=0)


def test_kernel_structured_features_and_float32():
    # Property: the kernel works through the operator interface only (structured features too),
    # and a float32 instance gives exactly the kernel of its float64 cast (the cast is exact and
    # the kernel is always formed in float64).
    op, _ = sample_instances([7, 8], m=4, n=5, M=6, features="structured", K=2)
    B, A = random_starts([1, 2], 4, 5, 2)
    J = dense_jacobian(op, B, A)
    assert torch.allclose(tangent_kernel(op, B, A), J @ J.transpose(1, 2), rtol=0, atol=1e-12)
    op32, _ = sample_instances([7, 8], m=4, n=5, M=6, dtype="float32")
    K32 = tangent_kernel(op32, B.float(), A.float())
    K64 = tangent_kernel(op32.to(torch.float64), B.float().double(), A.float().double())
    assert K32.dtype == torch.float64 and torch.equal(K32, K64)


def test_bad_point_shapes():
    op, _ = sample_instances([1], m=4, n=5, M=6)
    B, A = random_starts([1], 4, 5, 2)
    # Property: a point of the wrong shape is refused with a message naming the argument.
    with pytest.raises(InvalidArgument, match="A must have shape"):
        tangent_kernel(op, B, A.transpose(1, 2))
    with pytest.raises(InvalidArgument, match="B must have shape"):
        pl_constant(op, B[:, :3], A)


# ----------------------------------------------------------------------------- rank bounds


@given(st_cell(), st.integers(1, 6), st.integers(0, 2**32))
@settings(max_examples=25)
def test_mu_zero_above_manifold_dimension(cell, excess, seed):
    m, n, r = cell
    M = r * (m + n - r) + excess
    op, _ = sample_instances([seed], m=m, n=n, M=M)
    c = pl_constant(op, *random_starts([seed + 1], m, n, r))
    # Property (theorem: rank J <= r(m+n-r) by the gauge symmetry): for M > r(m+n-r) the PL*
    # constant is 0, i.e. below the positivity rule.
    assert not bool(c.positive[0])


@given(st_cell(), st.integers(0, 2**32))
@settings(max_examples=25)
def test_mu_positive_well_below_manifold_dimension(cell, seed):
    m, n, r = cell
    M = max(1, r * (m + n - r) // 2)
    op, _ = sample_instances([seed], m=m, n=n, M=M)
    c = pl_constant(op, *random_starts([seed + 1], m, n, r))
    # Property (generic): with M <= r(m+n-r)/2, mu > 1e-10 lambda_max at a random point.
    assert bool(c.positive[0])


@given(st_cell(), st.integers(0, 2**32))
@settings(max_examples=25)
def test_lora_start_rank_bound(cell, seed):
    m, n, r = cell
    over = r * m + 1 + seed % 3
    under = max(1, (r * m) // 2)
    start = lora_start([seed + 1], m, n, r)
    op_over, _ = sample_instances([seed], m=m, n=n, M=over)
    op_under, _ = sample_instances([seed], m=m, n=n, M=under)
    # Property: at B = 0 only the B-block of J is non-zero (rank <= r m), so mu = 0 when
    # M > r m; with M <= r m / 2 it is positive (A generic).
    assert not bool(pl_constant(op_over, *start).positive[0])
    assert bool(pl_constant(op_under, *start).positive[0])


# ----------------------------------------------------------------------------- batching


def test_batched_equals_unbatched():
    cell = (5, 4, 2, 9)
    together = run_trials(cell, list(range(5)), global_seed=3, gd_steps=4, gd_trials=3)
    alone = [run_trials(cell, [i], global_seed=3, gd_steps=4, gd_trials=3)[0] for i in range(5)]
    # Property: a trial's outcome (constants, baselines, GD trace) does not depend on the batch.
    assert together == alone
    assert all(("gd" in o) == (o["trial"] < 3) for o in together)


def test_batched_kernel_equals_per_trial_to_rounding():
    op, _ = sample_instances([1, 2, 3, 4, 5], m=5, n=4, M=9)
    B, A = random_starts([6, 7, 8, 9, 10], 5, 4, 2)
    batched = pl_constant(op, B, A)
    for t in range(5):
        one = pl_constant(op.subset([t]), B[t:t + 1], A[t:t + 1])
        # Property: the batched functions compute each trial's kernel alone; batched BLAS and
        # LAPACK may round differently with a matrix's place in the batch (alignment), so the
        # constants agree to float64 rounding (1e-13 lambda_max, about 450 eps), not bitwise.
        assert abs(float(batched.mu[t] - one.mu[0])) <= 1e-13 * float(one.lambda_max[0])
        assert bool(batched.positive[t] == one.positive[0])


def test_experiment_batch_size_independent(tmp_path):
    a = run_tiny(tmp_path / "a.jsonl", tiny(batch_size=1))
    b = run_tiny(tmp_path / "b.jsonl", tiny(batch_size=4))
    # Property: the same seed gives identical records whatever the batch size.
    assert dict(a) == dict(b) and len(a) == 6


# ----------------------------------------------------------------------------- gradient descent


def test_gd_first_step_is_the_gradient_step():
    op, y = sample_instances([3], m=5, n=4, M=6)
    B0, A0 = random_starts([4], 5, 4, 2)
    tr = gd_trajectory(op, y, B0, A0, steps=1, c=0.5)
    B = B0.clone().requires_grad_(True)
    A = A0.clone().requires_grad_(True)
    loss = 0.5 * ((op.apply(B @ A) - y) ** 2).sum()
    loss.backward()
    eta = float(tr.eta[0])
    B1, A1 = (B0 - eta * B.grad).detach(), (A0 - eta * A.grad).detach()
    L1 = 0.5 * ((op.apply(B1 @ A1) - y) ** 2).sum()
    # Property: the recorded losses are those of plain GD with autograd's gradient (an
    # independent route), to float64 rounding.
    assert torch.allclose(tr.loss[0, 0], loss.detach(), rtol=1e-13, atol=0)
    assert torch.allclose(tr.loss[0, 1], L1, rtol=1e-12, atol=0)


def test_gd_rate_holds_and_the_check_can_fail():
    op, y = sample_instances([0, 1, 2], m=6, n=6, M=5)  # r = 1: rho = 11/5
    B0, A0 = random_starts([3, 4, 5], 6, 6, 1)
    tr = gd_trajectory(op, y, B0, A0, steps=30, c=0.5)
    checks = [check_pl_rate(tr.loss[t], tr.mu[t], tr.lambda_max[t], tr.beta[t], float(tr.eta[t]))
              for t in range(3)]
    # Property (descent lemma + PL*): with eta = 0.5 / beta_0 and mu > 0 the loss contracts by
    # at least 1 - eta mu_t at every step and the cumulative bound holds.
    assert all(c["all_steps_ok"] and c["cumulative_ok"] and c["steps_checked"] == 30 for c in checks)
    assert all(c["steps_mu_positive"] == 30 for c in checks)
    # Property (not vacuous): the same losses against a constant 5x larger than measured, or a
    # step 20x larger than the rule, fail the check.
    inflated = check_pl_rate(tr.loss[0], 5 * tr.mu[0], tr.lambda_max[0], tr.beta[0],
                             float(tr.eta[0]))
    assert inflated["violations"] > 0
    big = gd_trajectory(op, y, B0, A0, steps=20, c=4.0)
    bad = [check_pl_rate(big.loss[t], big.mu[t], big.lambda_max[t], big.beta[t], float(big.eta[t]))
           for t in range(3)]
    assert all(b["violations"] > 0 and b["max_eta_beta"] > 1 for b in bad)
    # Property: here every violation sits at a step where eta * beta > 1 (outside the hypothesis
    # of the PL rate), and a diverging run (c = 6) is reported as non-finite with violations.
    assert all(b["violations_within_step_rule"] == 0 for b in bad)
    wild = gd_trajectory(op, y, B0, A0, steps=20, c=6.0)
    w = check_pl_rate(wild.loss[0], wild.mu[0], wild.lambda_max[0], wild.beta[0], float(wild.eta[0]))
    assert w["nonfinite"] and w["violations"] > 0 and not w["cumulative_ok"]


# ----------------------------------------------------------------------------- records


def _strip(summary):
    return {k: v for k, v in summary.items() if k not in ("environment", "wall_time", "record")}


def test_resume_after_interruption(tmp_path, monkeypatch):
    cfg = tiny(batch_size=4)
    full = FAMILY.summarise(cfg, run_tiny(tmp_path / "full.jsonl", cfg))
    path = tmp_path / "cut.jsonl"
    calls = {"n": 0}
    real = pl.run_trials

    def dying(*args, **kw):
        calls["n"] += 1
        if calls["n"] > 3:
            raise KeyboardInterrupt
        return real(*args, **kw)

    monkeypatch.setattr(pl, "run_trials", dying)
    with pytest.raises(KeyboardInterrupt):
        run_tiny(path, cfg)
    monkeypatch.setattr(pl, "run_trials", real)
    with open(path, "a") as fh:  # and the process died mid-write
        fh.write('{"kind": "trial", "cell": [4, 4')
    partial = read_record(path)
    assert 0 < partial.n_trials() < 36 and partial.partial_tail > 0
    with pytest.raises(InvalidArgument, match="already exists"):
        run_tiny(path, cfg)
    resumed = FAMILY.summarise(cfg, run_tiny(path, cfg, resume=True))
    # Property: resuming an interrupted run loses nothing and gives the uninterrupted summary.
    assert _strip(resumed) == _strip(full) and resumed["complete"]
    assert resumed["wall_time"]["sessions"] == 2 and resumed["wall_time"]["killed_sessions"] == 0


def test_summary_structure_on_the_tiny_sweep(tmp_path):
    cfg = tiny()
    s = FAMILY.summarise(cfg, run_tiny(tmp_path / "r.jsonl", cfg))
    # Property: the family's summary is summarise_pl of the engine's experiment.
    assert _strip(s) == _strip(summarise_pl(FAMILY.experiment(cfg), runner.load(
        FAMILY, cfg, [tmp_path / "r.jsonl"])))
    # Property: at every cell the outcome is all-or-none on the side the rank bounds say
    # (random: positive iff M <= r(m+n-r); LoRA start: iff M <= r m).
    for g in s["groups"]:
        for c in g["cells"]:
            for kind, bound in (("random", g["dim"]), ("lora", g["rm"])):
                want = c["trials"] if c["M"] <= bound else 0
                assert c[kind]["positive"] == want, (g["m"], g["r"], c["M"], kind)
    assert s["complete"] and s["trials_found"] == 36


# ----------------------------------------------------------------------------- ledger


def test_ledger_entries(tmp_path):
    out = tmp_path / "results" / "pl" / "tiny"
    cfg = tiny()
    s = FAMILY.summarise(cfg, run_tiny(out / "record.jsonl", cfg))
    (out / "summary.json").write_text(json.dumps(s))
    entries = pl.ledger_entries(tmp_path / "results")
    ids = [e["id"] for e in entries]
    # Property: three entries per run, with the ledger's keys, statuses and the evidence path.
    assert ids == ["R2.pl-star.positivity.tiny", "R2.pl-star.lora-start.tiny", "R2.gd-rate.tiny"]
    for e in entries:
        assert e["status"] in ("supported", "contradicted", "open") and e["expected"] is None
        assert e["evidence"] == "results/pl/tiny/summary.json"
    # Property (conservative rule): 6 trials per cell cannot give a Wilson lower end >= 0.9,
    # so the positivity verdicts are open, not supported.
    assert entries[0]["status"] == "open" and entries[1]["status"] == "open"
    # Property: a positive mu in a cell where the rank bound forces 0 is a contradiction.
    bad = json.loads(json.dumps(s))
    zero_cell = bad["groups"][0]["cells"][0]
    assert not zero_cell["random"]["expected_positive"]
    zero_cell["random"]["positive"] = 1
    (out / "summary.json").write_text(json.dumps(bad))
    assert pl.ledger_entries(tmp_path / "results")[0]["status"] == "contradicted"


# ----------------------------------------------------------------------------- command line


def _lorank_pl(*argv) -> int:
    """``lorank pl ARGV`` in this process."""
    return main(["pl", *argv])


CLI_TINY = ["--sizes", "4x4", "--ranks", "1", "--rho", "0.5,1,2.5", "--trials", "4",
            "--gd-steps", "3", "--gd-trials", "1", "--no-progress"]


def test_cli_run_json_resume_and_figure(tmp_path, capsys):
    out = tmp_path / "run"
    assert _lorank_pl(*CLI_TINY, "--out", str(out), "--json") == 0
    printed = json.loads(capsys.readouterr().out)
    # Property: record, summary (equal to the printed JSON) and the figure are written.
    assert printed == json.loads((out / "summary.json").read_text())
    assert (out / "pl_constant.png").is_file() and (out / "pl_constant.pdf").is_file()
    # Property: a finished run resumed does nothing new and gives the same estimates.
    assert _lorank_pl(*CLI_TINY, "--out", str(out), "--json", "--resume", "--no-plot") == 0
    again = json.loads(capsys.readouterr().out)
    assert again["groups"] == printed["groups"]
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    new = tmp_path / "summarised"
    assert _lorank_pl("--summarise", str(out), "--out", str(new), "--no-plot") == 0
    assert "P(mu>0)" in capsys.readouterr().out
    # Property: --summarise DIR --out NEW writes NEW/summary.json with the run's estimates and
    # leaves DIR byte-identical.
    assert json.loads((new / "summary.json").read_text())["groups"] == printed["groups"]
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_cli_refuses_existing_record(tmp_path, capsys):
    out = tmp_path / "run"
    assert _lorank_pl(*CLI_TINY, "--out", str(out), "--no-plot") == 0
    capsys.readouterr()
    record = (out / "record.jsonl").read_bytes()
    # Property: an existing record is never overwritten without --resume: a finished run (with
    # its summary) is refused ...
    assert _lorank_pl(*CLI_TINY, "--out", str(out), "--no-plot") == 2
    assert "already holds a summary" in capsys.readouterr().err
    # ... and so is an unfinished one (a record, no summary yet), pointing to --resume.
    (out / "summary.json").unlink()
    assert _lorank_pl(*CLI_TINY, "--out", str(out), "--no-plot") == 2
    assert "--resume" in capsys.readouterr().err
    assert (out / "record.jsonl").read_bytes() == record


# ----------------------------------------------------------------------------- CUDA


@pytest.mark.cuda
def test_cpu_and_cuda_agree():
    op, y = sample_instances([1, 2, 3, 4], m=16, n=16, M=40)
    B, A = random_starts([5, 6, 7, 8], 16, 16, 2)
    cpu = pl_constant(op, B, A)
    gpu = pl_constant(op.to(device="cuda"), B.cuda(), A.cuda())
    # Property: the same instance gives the same constants on both devices, to float64 rounding
    # of a 40 x 40 kernel (1e-10 lambda_max), and the same positivity decision.
    assert torch.equal(cpu.positive, gpu.positive.cpu())
    assert bool(((cpu.mu - gpu.mu.cpu()).abs() <= 1e-10 * cpu.lambda_max).all())
    tr_c = gd_trajectory(op, y, B, A, steps=10)
    tr_g = gd_trajectory(op.to(device="cuda"), y.cuda(), B.cuda(), A.cuda(), steps=10)
    assert torch.allclose(tr_c.loss, tr_g.loss.cpu(), rtol=1e-9, atol=0)
