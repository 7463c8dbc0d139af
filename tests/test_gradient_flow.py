"""Seed 002 (gradient flow): the statements of proofs.gradient_flow and their certificates, the
mpmath tails of proofs.tails, the engine of numerics.engine.gradient_flow (properties of the
solvers against the proved facts) and the verdict rules of numerics.verdicts.gradient_flow.

The family's contract (resume, batches, shards, spec round trip, command line) is covered by
tests/test_experiment_contract.py, its bad inputs by tests/test_bad_inputs_experiments.py."""

from __future__ import annotations

import dataclasses
import math

import mpmath
import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

from proofs import gradient_flow as gfp
from proofs.routes import sympy_route
from proofs.tails import local_exponent, rate_constants, relative_tail_error, tail_sum

from strategies import st_alpha, st_flow_instance

STATEMENTS = gfp.gradient_flow_statements()
BY_ID = {s.id: s for s in STATEMENTS}


@pytest.fixture(scope="module")
def verdicts(checked_verdicts):
    """This module's statements as the session's ``check_all`` decided them (conftest
    ``checked_verdicts``: each checked once a session by both routes)."""
    ids = {s.id for s in STATEMENTS}
    found = {v.id: v for v in checked_verdicts if v.id in ids}
    assert set(found) == ids  # every statement here is one of the catalogue's
    return found


# --- proofs: verdicts ------------------------------------------------------------------------

def test_every_statement_ends_as_expected(verdicts):
    # Property: every statement expected to hold is proved by both routes (proved-assuming only
    # where it names the lemma both routes take); the false reading is refuted by both routes
    # with an exactly re-verified counterexample; every statement says what it cites.
    for sid, v in verdicts.items():
        if v.statement.expected:
            assert v.status == ("proved-assuming" if v.statement.rests_on else "proved"), sid
            assert [r.answer for r in v.routes] == [True, True], sid
        else:
            assert v.status == "refuted" and [r.answer for r in v.routes] == [False, False], sid
        assert v.statement.notes and v.statement.assumed, sid
    assert verdicts["GF.ey-tail-general"].status == "proved-assuming"
    assert verdicts["GF.ey-tail-alpha1"].status == "proved"
    assert max(v.seconds for v in verdicts.values()) < 2.0


def test_the_traceless_reading_fails_at_the_smallest_point(verdicts):
    # Property: THEORY.md's reading for the LoRA update is refuted at B = 0, A = (1, 0), c = 1.
    assert verdicts["GF.trace-lora-traceless"].routes[0].counterexample == {"a1": 1, "a2": 0, "c": 1}


# --- proofs: the certificates can fail -------------------------------------------------------

def test_explicit_checks_detect_a_wrong_flow(monkeypatch):
    # Property: with dB/dt = -2 G A^T (a wrong flow) the entrywise chain rule and the
    # conservation check both fail; the right flow passes.
    assert gfp.explicit_flow_check(2, 2, 1) and gfp.explicit_balance_check(2, 2, 1)
    monkeypatch.setattr(gfp, "flow_velocity", lambda B_, A_, G_: (-2 * (G_ @ A_.T), -(B_.T @ G_)))
    assert gfp.explicit_flow_check(2, 2, 1) is False
    assert gfp.explicit_balance_check(2, 2, 1) is False


def test_explicit_mode_and_trace_checks_are_exact():
    # Property: the diagonal mode equations and the trace flow hold entrywise at small sizes.
    assert all(gfp.explicit_mode_check(r) for r in (1, 2))
    assert gfp.explicit_trace_check(2, 1)


def test_z3_does_not_prove_a_wrong_conservation_law():
    # Property: with A' = +B^T G (a sign flipped), d/dt (B^T B - A A^T) = 0 is not derived.
    import z3

    ctx = z3.Context()
    ax, o = gfp._z3_algebra(ctx, gfp.Z3_AXIOMS["balancedness"])
    mul, add, neg, tp = o["mul"], o["add"], o["neg"], o["tp"]
    zm, zn, zr = z3.Ints("m n r", ctx)
    B, A, G = (z3.Const(k, o["Mat"]) for k in "BAG")
    facts = ax + [zm >= 1, zn >= 1, zr >= 1, o["rows"](B) == zm, o["cols"](B) == zr,
                  o["rows"](A) == zr, o["cols"](A) == zn, o["rows"](G) == zm, o["cols"](G) == zn]
    dB, dA = neg(mul(G, tp(A))), mul(tp(B), G)
    derivative = add(add(mul(tp(dB), B), mul(tp(B), dB)), neg(add(mul(dA, tp(A)), mul(A, tp(dA)))))
    solver = z3.Solver(ctx=ctx)
    solver.set("timeout", 500)
    solver.set("smt.mbqi", False)
    solver.add(*facts)
    solver.add(z3.Not(derivative == o["zeros"](zr, zr)))
    assert solver.check() != z3.unsat


def test_certificates_reject_missing_hypotheses():
    # Property: without the hypothesis dX <= dG ap + g dA the step-gap certificate fails, and
    # without the sandwich the alpha = 1 core fails.
    gap = BY_ID["GF.sequential-step-gap"]
    assert sympy_route(dataclasses.replace(gap, hypotheses=gap.hypotheses[:4])).answer is not True
    tail = BY_ID["GF.ey-tail-alpha1"]
    assert sympy_route(dataclasses.replace(tail, hypotheses=tail.hypotheses[1:])).answer is not True
    assert gfp.FlowCertificate("made-up").verify(None)[0] is None
    short = gfp.TailCertificate("alpha1", tail.certificate.core[:1])
    assert short.verify(tail)[0] is None


# --- proofs.tails: the constants by several routes --------------------------------------------

@given(alpha=st_alpha(), r=st.integers(1, 10**4))
def test_tail_bounds_hold(alpha, r):
    # Property (GF.ey-tail-general): c_lo r^(1/2-alpha) <= e(r) <= c_hi r^(1/2-alpha).
    lo, hi = rate_constants(alpha)
    e = relative_tail_error(alpha, r)
    scale = mpmath.mpf(r) ** (mpmath.mpf(1) / 2 - alpha)
    assert lo * scale <= e <= hi * scale


@given(r=st.integers(1, 10**5))
def test_alpha_one_sandwich(r):
    # Property (GF.ey-tail-alpha1): 1/(r+1) <= sum_{j>r} j^-2 <= 1/r, at 30 digits.
    mpmath.mp.dps = 30
    T = tail_sum(1, r)
    assert mpmath.mpf(1) / (r + 1) <= T <= mpmath.mpf(1) / r


def test_tail_values_agree_across_routes():
    # Property: the Hurwitz zeta tail equals Riemann's zeta minus the first r terms, and the
    # series summed by Euler-Maclaurin (mpmath nsum); a finite spectrum's tail equals its finite
    # sum; the finite error rises towards the infinite one as n grows.
    mpmath.mp.dps = 25
    for alpha, r in ((0.75, 3), (1.0, 7), (1.5, 2)):
        s = 2 * mpmath.mpf(alpha)
        riemann = mpmath.zeta(s) - mpmath.fsum(mpmath.mpf(j) ** -s for j in range(1, r + 1))
        series = mpmath.nsum(lambda j: j ** -s, [r + 1, mpmath.inf], method="euler-maclaurin")
        assert abs(tail_sum(alpha, r) - riemann) < mpmath.mpf(10) ** -20
        assert abs(tail_sum(alpha, r) - series) < mpmath.mpf(10) ** -15
        finite = mpmath.fsum(mpmath.mpf(j) ** -s for j in range(r + 1, 41))
        assert abs(tail_sum(alpha, r, 40) - finite) < mpmath.mpf(10) ** -20
        errs = [relative_tail_error(alpha, r, n) for n in (r + 1, 2 * r + 5, 100 * r)]
        assert errs[0] < errs[1] < errs[2] < relative_tail_error(alpha, r)
    # the local exponent tends to 1/2 - alpha
    assert abs(local_exponent(1.5, 10**4, 2 * 10**4) + 1) < 1e-3


# --- engine: properties of the solvers against the proved facts -------------------------------

torch = pytest.importorskip("torch")
from numerics.engine import gradient_flow as gf  # noqa: E402
from numerics.verdicts import gradient_flow as gv  # noqa: E402


def _instance(m, n, r, M, seed):
    g = torch.Generator().manual_seed(seed)
    d = torch.float64
    G = torch.randn(1, M, m, n, generator=g, dtype=d) / math.sqrt(n)
    y = torch.randn(1, M, generator=g, dtype=d)
    W0 = torch.randn(1, m, n, generator=g, dtype=d) / math.sqrt(m * n)
    B = torch.randn(1, m, r, generator=g, dtype=d) / math.sqrt(m)
    A = torch.randn(1, r, n, generator=g, dtype=d) / math.sqrt(n)
    return gf.regression_loss(G, y), W0, B, A


@settings(max_examples=25)
@given(inst=st_flow_instance(), eta=st.floats(1e-3, 0.5))
def test_one_simultaneous_step_drifts_by_eta_squared(inst, eta):
    # Property (GF.balancedness, its notes): one simultaneous step changes C = B^T B - A A^T by
    # exactly eta^2 (A G^T G A^T - B^T G G^T B), up to float64 rounding.
    loss, W0, B, A = _instance(*inst)
    G = loss.grad(W0 + B @ A)
    B1, A1 = gf.gd(loss, W0, B, A, eta, 1, "simultaneous")
    want = eta**2 * (A @ G.transpose(-1, -2) @ G @ A.transpose(-1, -2)
                     - B.transpose(-1, -2) @ G @ G.transpose(-1, -2) @ B)
    got = gf.balance(B1, A1) - gf.balance(B, A)
    scale = float(gf.balance(B, A).abs().max()) + float(want.abs().max()) + 1e-300
    assert float((got - want).abs().max()) <= 1e-12 * scale


@settings(max_examples=25)
@given(inst=st_flow_instance(), eta=st.floats(1e-3, 0.5))
def test_sequential_and_simultaneous_steps_obey_the_proved_gap(inst, eta):
    # Property (GF.sequential-step-gap): ||B1_seq - B1_sim|| <= eta^2 (Lip b^2 g (a + eta b g)
    # + b g^2), with Lip the largest eigenvalue of the loss's Hessian in W.
    loss, W0, B, A = _instance(*inst)
    X = loss.G[0].flatten(1)
    lip = float(torch.linalg.matrix_norm(X, ord=2)) ** 2 / X.shape[0]
    g = float(loss.grad(W0 + B @ A).norm())
    b, a = float(B.norm()), float(A.norm())
    Bs, As = gf.gd(loss, W0, B, A, eta, 1, "simultaneous")
    Bq, Aq = gf.gd(loss, W0, B, A, eta, 1, "sequential")
    assert torch.allclose(As, Aq, rtol=0, atol=0)   # the A-updates agree exactly
    bound = eta**2 * (lip * b**2 * g * (a + eta * b * g) + b * g**2)
    assert float((Bq - Bs).norm()) <= bound * (1 + 1e-9) + 1e-15


@settings(max_examples=10)
@given(inst=st_flow_instance())
def test_rk4_resolves_the_flow_and_its_conserved_quantity(inst):
    # Property: on an instance scaled to a unit Hessian, the RK4 solution at step 0.05 agrees
    # with the one at step 0.0125 to 1e-3 (relative, T = 1), and at step 0.0125 the drift of
    # C = B^T B - A A^T (zero for the exact flow, GF.balancedness) is below 1e-5 (1 + ||C||).
    # Tolerances: over 300 random instances of this strategy (seeds 0..299) the worst values
    # were 6.1e-5 and 2.2e-7; single halvings are no test of the order (a leading error term
    # may nearly cancel), the experiment estimates its reference error itself.
    loss, W0, B, A = _instance(*inst)
    X = loss.G[0].flatten(1)
    loss = gf.regression_loss(loss.G / (torch.linalg.matrix_norm(X, ord=2) / math.sqrt(X.shape[0])), loss.y)
    field = lambda s: gf.velocity(loss, W0, *s)  # noqa: E731
    coarse, fine = (gf.rk4(field, (B, A), h, round(1 / h))[0] for h in (0.05, 0.0125))
    scale = float(torch.sqrt(fine[0].norm() ** 2 + fine[1].norm() ** 2))
    err = float(torch.sqrt((coarse[0] - fine[0]).norm() ** 2 + (coarse[1] - fine[1]).norm() ** 2))
    assert err <= 1e-3 * scale
    C0 = gf.balance(B, A)
    assert float((gf.balance(*fine) - C0).norm()) <= 1e-5 * (1 + float(C0.norm()))


def test_autograd_check_detects_a_wrong_gradient():
    # Property: the check the experiment records is not vacuous: a loss whose gradient is off
    # by a factor 2 is flagged (relative difference 1); the right one is not.
    loss, W0, B, A = _instance(3, 4, 2, 5, 0)

    class Wrong(gf.regression_loss):
        def grad(self, W):
            return 2 * super().grad(W)

    assert gf.autograd_check(loss, W0, B, A)[0] < 1e-14
    assert abs(gf.autograd_check(Wrong(loss.G, loss.y), W0, B, A)[0] - 1.0) < 1e-12


@pytest.fixture(scope="module")
def tiny_summary():
    cfg = gf.FlowConfig(m=4, n=3, rank=2, examples=6, horizon=0.4, etas=(0.04, 0.02, 0.01),
                        ref_step=0.005, trials=3, trace_n=3, trace_rank=1, trace_horizon=6.0,
                        trace_step=0.05, ey_n=8, ey_ranks=(1, 2, 4), alphas=(1.0,),
                        ey_horizon=20.0, ey_step=0.1, ey_trials=1)
    out = {("steps",): gf.steps_trials(cfg, range(3)), ("trace",): gf.trace_trials(cfg, range(3))}
    for r in cfg.ey_ranks:
        out[("eym", 0, r)] = gf.eym_trials(cfg, 0, r, [0])
    return gf.summarise(cfg, out)


def test_engine_outcomes_agree_with_the_theorems(tiny_summary):
    # Properties at a tiny size: the trace loss stays below the proved bound; the full update
    # has no traceless part; the spectral flow's limit is the Eckart-Young-Mirsky truncation,
    # whose float64 error equals the mpmath value.
    s = tiny_summary
    assert s["trace"]["bound_ratio_max"] <= 1 + 1e-6
    assert s["trace"]["traceless_full"]["max"] <= 1e-12
    for p in s["eym"][0]["per_rank"]:
        assert p["distance_max"] < 1e-9
        assert p["eym_float64_max_dev"] < 1e-14
        assert p["rel_error"]["max"] <= p["bound_hi"]


# --- verdicts: the rules can come out every way -----------------------------------------------

def test_slope_rules(tiny_summary):
    # Property: the steps verdicts follow the interval rule: a summary whose slopes are moved
    # to 2 is contradicted, an unresolved reference leaves them open.
    s = tiny_summary
    import copy

    two = copy.deepcopy(s)
    for key in ("error_sim", "error_seq"):
        two["steps"][key]["slope"] = {"mean": 2.0, "lo": 1.95, "hi": 2.05, "n": 3}
    status = {v["claim"]: v["status"] for v in gv.claim_verdicts(two)}
    assert status["steps-to-flow.simultaneous"] == status["steps-to-flow.sequential"] == "contradicted"
    blurred = copy.deepcopy(two)
    blurred["steps"]["reference"]["ratio"] = 1.0
    status = {v["claim"]: v["status"] for v in gv.claim_verdicts(blurred)}
    assert status["steps-to-flow.simultaneous"] == "open"


def test_trace_and_eym_rules(tiny_summary):
    # Property: a stalled trace loss is contradicted; a traceless share between the two
    # thresholds is open; an exponent far from 1/2 - alpha is open, never contradicted.
    import copy

    s = copy.deepcopy(tiny_summary)
    s["trace"]["loss_ratio_end"]["max"] = 0.9
    s["trace"]["traceless_lora"] = {"min": 1e-8, "q50": 1e-7, "max": 1e-7}
    s["eym"][0]["fitted_exponent"] = 3.0
    status = {v["claim"]: v["status"] for v in gv.claim_verdicts(s)}
    assert status["trace-zero-loss"] == "contradicted"
    assert status["trace-traceless.lora"] == "open"
    assert status["eym-exponent.alpha-1"] == "open"
    kinds = {v["claim"]: v["kind"] for v in gv.claim_verdicts(s)}
    assert kinds["eym-rate.alpha-1"] == "paper claim" and kinds["gd-drift"] == "our heuristic"
    assert kinds["flow-conserves"] == kinds["flow-equations-autograd"] == "method check"


def test_ledger_reads_a_committed_run(tmp_path, tiny_summary):
    # Property: a summary under results/gradient-flow/<run>/ yields one entry per claim, with
    # the run as the last part of every id and the claim kind of the rule.
    import json

    folder = tmp_path / "gradient-flow" / "tiny"
    folder.mkdir(parents=True)
    (folder / "summary.json").write_text(json.dumps(tiny_summary))
    entries = gv.ledger_entries(tmp_path)
    assert {e["id"] for e in entries} == {f"GF.{v['claim']}.tiny" for v in tiny_summary["verdicts"]}
    assert all(e["claim_kind"] in ("paper claim", "our heuristic", "method check") for e in entries)
    assert all(e["evidence"] == "results/gradient-flow/tiny/summary.json" for e in entries)


def test_symbolic_helpers_match_numbers():
    # Property: flow_velocity of proofs and velocity of the engine are the same formula.
    g = torch.Generator().manual_seed(3)
    B = torch.randn(1, 3, 2, generator=g, dtype=torch.float64)
    A = torch.randn(1, 2, 4, generator=g, dtype=torch.float64)
    Y = torch.randn(1, 3, 4, generator=g, dtype=torch.float64)
    loss = gf.frobenius_loss(Y)
    dB, dA = gf.velocity(loss, torch.zeros_like(Y), B, A)
    G = sympy.Matrix((B[0] @ A[0] - Y[0]).tolist())
    sB, sA = gfp.flow_velocity(sympy.Matrix(B[0].tolist()), sympy.Matrix(A[0].tolist()), G)
    assert max(abs(float(x) - y) for x, y in zip(sB, dB[0].flatten().tolist())) < 1e-12
    assert max(abs(float(x) - y) for x, y in zip(sA, dA[0].flatten().tolist())) < 1e-12
