"""R2 (PL for LoRA) and R3 (Rademacher) statements: verdicts, certificates that can fail,
and numerical / exact spot checks of the universal statements at random dimensions."""

from __future__ import annotations

import dataclasses

import mpmath
import numpy as np
import pytest
import sympy
from hypothesis import assume, given
from hypothesis import strategies as st

from proofs import (explicit_gradient_check, lora_gradient, pl_statements,
                    rademacher_statements, verify_counterexample)
from proofs import pl, rademacher
from proofs.routes import sympy_route

STATEMENTS = pl_statements() + rademacher_statements()
BY_ID = {s.id: s for s in STATEMENTS}
REQUIRED = ("R2.lora-gradient", "R2.gauge-kernel", "R2.lora-start", "R2.rank-J",
            "R2.pl-positive-every-M", "R2.lora-start-rank", "R2.pl-star-spectral-term",
            "R2.pl-star-squared", "R2.pl-linear-rate", "R2.logistic-derivative-bound",
            "R2.logistic-lojasiewicz", "R3.nuclear-frobenius", "R3.rademacher-sqrt-r",
            "R3.sqrt-increasing", "R3.saturation", "R3.binary-one-logit", "R3.centred-logits")

#: Largest matrix size and example count drawn in the numerical checks.
MAX_SIZE, MAX_EXAMPLES = 5, 6


@pytest.fixture(scope="module")
def verdicts(checked_verdicts):
    """This module's statements as the session's ``check_all`` decided them (conftest
    ``checked_verdicts``: each checked once a session by both routes)."""
    ids = {s.id for s in STATEMENTS}
    found = {v.id: v for v in checked_verdicts if v.id in ids}
    assert set(found) == ids  # every statement here is one of the catalogue's
    return found


def test_required_statements_present_and_unique():
    assert len(BY_ID) == len(STATEMENTS)
    assert set(REQUIRED) <= set(BY_ID)


@pytest.mark.parametrize("sid", REQUIRED)
def test_verdict(verdicts, sid):
    # Expected-True statements are proved by both routes; the false one is refuted by both
    # routes with exactly re-verified counterexamples.
    v = verdicts[sid]
    if v.statement.expected:
        assert v.status == ("proved-assuming" if v.statement.rests_on else "proved")
        assert v.routes[0].answer is True and v.routes[1].answer is True
    else:
        assert v.status == "refuted"
        for res in v.routes:
            assert res.answer is False
            assert verify_counterexample(v.statement, res.counterexample) is True
    assert v.statement.notes  # every statement says what is cited


def test_each_check_is_fast(verdicts):
    # The whole ledger runs in CI: each statement within 2 s on one core.
    assert max(v.seconds for v in verdicts.values()) < 2.0


def test_pl_every_M_is_refuted_at_the_smallest_point(verdicts):
    assert verdicts["R2.pl-positive-every-M"].routes[0].counterexample == {"r": 1, "m": 1, "n": 1, "M": 2}


# --- certificates can fail -------------------------------------------------------------

def test_strict_certificate_rejects_a_non_strict_product():
    # c x > 0 fails at x = 0: the only monomial k a has the non-strict slack a.
    c, x = sympy.Symbol("c", positive=True), sympy.Symbol("x", nonnegative=True)
    k, a = sympy.symbols("k a", nonnegative=True)
    s = pl.Statement("t", "-", "-", (c, x), (), sympy.StrictGreaterThan(c * x, 0, evaluate=False))
    assert pl.StrictSlackCertificate(((c, k), (x, a))).verify(s)[0] is None


def test_square_step_rejects_a_false_square():
    # nuc <= sr fro without the expansion hypothesis is not provable by the same certificate.
    st_ = BY_ID["R3.nuclear-frobenius"]
    broken = dataclasses.replace(st_, hypotheses=())
    assert sympy_route(broken).answer is not True


def test_lemma_failure_blocks_the_certificate():
    st_ = BY_ID["R2.logistic-derivative-bound"]
    bad = pl.LemmaCertificate(st_.certificate.core, (("wrong", lambda: (False, "forced")),))
    assert sympy_route(dataclasses.replace(st_, certificate=bad)).answer is None


def test_matrix_certificate_rejects_unknown_claims():
    assert pl.LoraMatrixCertificate("made-up").verify(None)[0] is None


def test_z3_matrix_algebra_does_not_prove_a_wrong_adjoint():
    # <S, E A> = <S A, E> (missing transpose) must not come out unsat.
    import z3

    ctx = z3.Context()
    ax, x, o = pl._z3_algebra(ctx)
    mul, tp, tr = o["mul"], o["tp"], o["tr"]
    solver = z3.Solver(ctx=ctx)
    solver.set("timeout", 1000)
    solver.set("smt.mbqi", False)
    solver.add(*ax)
    solver.add(z3.Not(tr(mul(tp(x["S"]), mul(x["E"], x["A"]))) == tr(mul(tp(mul(x["S"], x["A"])), x["E"]))))
    assert solver.check() != z3.unsat


def test_explicit_gradient_check_detects_a_wrong_formula(monkeypatch):
    # With grad_B replaced by S A (no transpose where it matters) the entrywise check fails.
    monkeypatch.setattr(pl, "lora_gradient", lambda B_, A_, S_: (S_ @ A_.T * 2, B_.T @ S_))
    assert explicit_gradient_check(2, 2, 1) is False


# --- numerical spot checks at random sizes (numpy float64) ------------------------------

@st.composite
def st_lora(draw):
    m = draw(st.integers(1, MAX_SIZE))
    n = draw(st.integers(1, MAX_SIZE))
    r = draw(st.integers(1, min(m, n)))
    N = draw(st.integers(1, MAX_EXAMPLES))
    seed = draw(st.integers(0, 2**32 - 1))
    return m, n, r, N, np.random.default_rng(seed)


def _problem(m, n, r, N, rng):
    G = rng.standard_normal((N, m, n))
    y = rng.standard_normal(N)
    return G, y, rng.standard_normal((m, r)), rng.standard_normal((r, n))


def _loss(G, y, B, A):
    res = np.einsum("imn,mn->i", G, B @ A) - y
    return 0.5 * res @ res, res


def _jacobian(G, B, A):
    """Rows i: d<G_i, BA>/d(B, A), flattened; shape (N, r(m+n))."""
    return np.concatenate([np.einsum("imn,rn->imr", G, A).reshape(len(G), -1),
                           np.einsum("mr,imn->irn", B, G).reshape(len(G), -1)], axis=1)


@given(st_lora())
def test_gradient_matches_finite_differences(problem):
    # grad_B L = S A^T and grad_A L = B^T S agree with central differences.
    m, n, r, N, rng = problem
    G, y, B, A = _problem(m, n, r, N, rng)
    _, res = _loss(G, y, B, A)
    gB, gA = lora_gradient(B, A, np.einsum("i,imn->mn", res, G))
    h = 1e-6
    for X, g in ((B, gB), (A, gA)):
        fd = np.zeros_like(X)
        for idx in np.ndindex(*X.shape):
            X[idx] += h
            up = _loss(G, y, B, A)[0]
            X[idx] -= 2 * h
            down = _loss(G, y, B, A)[0]
            X[idx] += h
            fd[idx] = (up - down) / (2 * h)
        scale = 1 + np.abs(g).max()
        # central differences of a quartic: error O(h^2) times 4th derivatives, far below 1e-5
        np.testing.assert_allclose(fd, g, rtol=0, atol=1e-5 * scale)


@given(st_lora(), st.integers(0, 2**32 - 1))
def test_gauge_direction_is_in_the_kernel_and_rank_bound(problem, seed):
    # J(BG, -GA) = 0 for every G, and rank J <= r(m+n-r); at B = 0, rank J <= r m.
    m, n, r, N, rng = problem
    G, _, B, A = _problem(m, n, r, N, rng)
    gauge = np.random.default_rng(seed).standard_normal((r, r))
    J = _jacobian(G, B, A)
    direction = np.concatenate([(B @ gauge).ravel(), (-gauge @ A).ravel()])
    assert np.abs(J @ direction).max() <= 1e-10 * (1 + np.abs(J).max() * np.abs(direction).max())
    assert np.linalg.matrix_rank(J) <= r * (m + n - r)
    assert np.linalg.matrix_rank(_jacobian(G, np.zeros_like(B), A)) <= r * m


@given(st_lora())
def test_pl_star_inequality(problem):
    # ||grad L||^2 = R^T J J^T R >= lambda_min(J J^T) ||R||^2 = 2 mu L.
    m, n, r, N, rng = problem
    G, y, B, A = _problem(m, n, r, N, rng)
    loss, res = _loss(G, y, B, A)
    J = _jacobian(G, B, A)
    grad = J.T @ res
    gB, gA = lora_gradient(B, A, np.einsum("i,imn->mn", res, G))
    np.testing.assert_allclose(grad, np.concatenate([gB.ravel(), gA.ravel()]), rtol=1e-12, atol=1e-12)
    mu = max(np.linalg.eigvalsh(J @ J.T).min(), 0.0)
    assert 0.5 * grad @ grad >= mu * loss * (1 - 1e-9) - 1e-12
    if N > r * (m + n - r):
        assert np.linalg.eigvalsh(J @ J.T).min() <= 1e-9 * np.linalg.eigvalsh(J @ J.T).max()


@given(st_lora())
def test_nuclear_below_sqrt_rank_frobenius(problem):
    # ||Delta||_* <= sqrt(r) ||Delta||_F for Delta = B A of rank <= r (numpy SVD).
    m, n, r, _, rng = problem
    delta = rng.standard_normal((m, r)) @ rng.standard_normal((r, n))
    svals = np.linalg.svd(delta, compute_uv=False)
    assert svals.sum() <= np.sqrt(r) * np.linalg.norm(delta) * (1 + 1e-12)


# --- exact spot checks --------------------------------------------------------------------

fractions = st.fractions(min_value=0, max_value=8, max_denominator=30)


@given(st.lists(fractions, min_size=1, max_size=8))
def test_cauchy_schwarz_on_singular_values_exactly(svals):
    # (sum s_j)^2 <= r sum s_j^2, with Lagrange's identity as the exact difference.
    r = len(svals)
    gap = r * sum(s * s for s in svals) - sum(svals) ** 2
    assert gap == sum((svals[i] - svals[k]) ** 2 for i in range(r) for k in range(i + 1, r))
    assert gap >= 0


@given(fractions, st.fractions(min_value=0, max_value=1, max_denominator=30), fractions,
       fractions, fractions, fractions)
def test_linear_rate_exactly(eta, beta_eta, mu, D, slack, descent_slack):
    # descent lemma + PL + eta <= 1/beta (beta = beta_eta / eta): D_next <= (1 - eta mu) D.
    assume(eta > 0 and beta_eta > 0)
    beta = beta_eta / eta
    g2 = 2 * mu * D + slack
    D_next = D - eta * (1 - beta * eta / 2) * g2 - descent_slack
    assert D_next <= (1 - eta * mu) * D


@given(st.floats(0, 50), st.floats(0.01, 5), st.floats(0.01, 5))
def test_logistic_bounds(z, gamma, extra):
    # -l'(z) >= l(z)/2 for z >= 0, and per example -l'(z) q >= gamma l(z)/2 when q >= gamma.
    mpmath.mp.dps = 40
    zz = mpmath.mpf(z)
    loss = mpmath.log(1 + mpmath.exp(-zz))
    minus_dl = -mpmath.diff(lambda t: mpmath.log(1 + mpmath.exp(-t)), zz)
    assert minus_dl >= loss / 2
    assert minus_dl * (gamma + extra) >= gamma * loss / 2


@given(st.integers(1, 400), st.integers(1, 400), fractions, fractions)
def test_saturation_exactly(r, r0, bias, c):
    # b(r) = b(r0) and c > 0: U(r) = b + c sqrt(r) > U(r0) for r > r0 (exact sympy sqrt).
    assume(r > r0 and c > 0)
    b = sympy.Rational(bias.numerator, bias.denominator)
    cc = sympy.Rational(c.numerator, c.denominator)
    assert (b + cc * sympy.sqrt(r) > b + cc * sympy.sqrt(r0)) is sympy.true


@given(st.integers(2, 5), st.integers(1, 6), st.integers(0, 2**32 - 1))
def test_centred_logits_have_rank_below_K(K, N, seed):
    # Columns of Y summing to zero: rank(Y) <= K - 1 (exact rank of an integer matrix).
    rng = np.random.default_rng(seed)
    Y = sympy.Matrix(rng.integers(-5, 6, size=(K, N)).tolist())
    Y = Y - sympy.ones(K, K) * Y / K
    assert sympy.ones(1, K) * Y == sympy.zeros(1, N)
    assert Y.rank() <= min(K - 1, N)


def test_finite_sum_and_lagrange_lemmas():
    assert rademacher.finite_sum_expansion()[0] is True
    assert all(rademacher.lagrange_identity_holds(k) is True for k in range(1, 7))
