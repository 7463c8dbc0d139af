"""R3, the Rademacher bias-variance split: ``||Delta||_* <= sqrt(r) ||Delta||_F``, the
``sqrt(r)`` variance term, the saturation argument for the rank-optimal ``r*``, and the
rank of the targets for one logit and for centred logits.

The structured least-rank result (least interpolating rank = rank(Y) <= min(K, N)) is in
:mod:`proofs.structured` and is not repeated here. ``sqrt(r)`` enters through a symbol ``sr``
with ``sr^2 = r``, ``sr > 0``; each statement's ``notes`` says what is cited.

Examples
--------
>>> [s.id for s in rademacher_statements()][:2]
['R3.nuclear-frobenius', 'R3.rademacher-sqrt-r']
>>> from proofs.statement import check
>>> check(rademacher_statements()[0]).status
'proved'
"""

from __future__ import annotations

import sympy
from sympy import (And, Eq, Identity, IndexedBase, MatAdd, MatMul, MatrixSymbol, OneMatrix, Sum,
                   Symbol, Trace, ZeroMatrix, symbols)

from .pl import LemmaCertificate, SquareStepCertificate, StrictSlackCertificate
from .routes import SlackCertificate
from .statement import Statement

__all__ = ["rademacher_statements", "lagrange_identity_holds", "finite_sum_expansion",
           "cauchy_schwarz_induction"]

SOURCE = "Rethinking the Rank Threshold (2026), R3 (Rademacher bias-variance)"

r = Symbol("r", integer=True, positive=True)
r0 = Symbol("r0", integer=True, positive=True)
sr, s0 = Symbol("sr", positive=True), Symbol("s0", positive=True)   # sqrt(r), sqrt(r0)
nuc, fro, W = symbols("nuc fro W", nonnegative=True)
tdual, op = symbols("t op", nonnegative=True)                         # |<S, Delta>|, ||S||_op
Rad = Symbol("R", positive=True)                                       # Frobenius radius
c = Symbol("c", positive=True)
b_r, b_r0 = symbols("b_r b_r0", nonnegative=True)
K, N = symbols("K N", integer=True, positive=True)
y = Symbol("rank_Y", integer=True, nonnegative=True)

_a, _b, _e, _k, _p, _x, _z = symbols("a b e k p x z", nonnegative=True)

#: Lagrange's identity is also checked with explicit variables for r = 1..LAGRANGE_MAX.
LAGRANGE_MAX = 6


def finite_sum_expansion() -> tuple:
    """sympy, symbolic ``r``: ``r sum_{j<=r} (s_j - nuc/r)^2 = r sum_j s_j^2 - nuc^2`` with
    ``nuc = sum_j s_j`` (linearity of finite sums: constants pulled out of ``Sum``).

    >>> finite_sum_expansion()[0]
    True
    """
    jj = Symbol("j", integer=True)
    s = IndexedBase("s")
    fro2 = Symbol("fro2")
    expr = sympy.expand(r * Sum((s[jj] - nuc / r) ** 2, (jj, 1, r))).doit()

    def pull(term):
        coeff, rest = term.function.as_independent(jj, as_Add=False)
        return coeff * Sum(rest, *term.limits)

    expr = expr.replace(lambda e: isinstance(e, Sum), pull)
    expr = sympy.expand(expr.subs({Sum(s[jj], (jj, 1, r)): nuc, Sum(s[jj] ** 2, (jj, 1, r)): fro2}))
    target = r * fro2 - nuc**2
    if sympy.expand(expr - target) != 0:
        return False, f"expansion gave {expr}, not {target}"
    return True, ("r sum_{j=1}^r (s_j - nuc/r)^2 = r sum_j s_j^2 - nuc^2 for symbolic r (sympy Sum, "
                  "constants pulled out of the finite sums)")


def lagrange_identity_holds(rank: int) -> bool:
    """Lagrange's identity ``r sum s_j^2 - (sum s_j)^2 = sum_{i<j} (s_i - s_j)^2`` for explicit
    ``r = rank`` (sympy expand).

    >>> all(lagrange_identity_holds(k) for k in range(1, 5))
    True
    """
    s = symbols(f"s1:{rank + 1}")
    lhs = rank * sum(x**2 for x in s) - sum(s) ** 2
    rhs = sum((s[i] - s[k]) ** 2 for i in range(rank) for k in range(i + 1, rank))
    return sympy.expand(lhs - rhs) == 0


def _lagrange_lemma() -> tuple:
    bad = [k for k in range(1, LAGRANGE_MAX + 1) if not lagrange_identity_holds(k)]
    if bad:
        return False, f"Lagrange's identity fails at r = {bad}"
    return True, f"cross-check: Lagrange's identity expanded for r = 1..{LAGRANGE_MAX}"


def cauchy_schwarz_induction(timeout_s: float = 10.0) -> tuple:
    """z3, independently of sympy: ``r sum_{j<=r} s_j^2 - (sum_{j<=r} s_j)^2 >= 0`` for every
    ``r >= 1``, by induction on ``r`` (z3 proves the base case and the step; the induction
    principle is the one cited step).

    Base ``r = 1``: ``s^2 - s^2 >= 0``. Step, with ``S1 = sum_{j<=r} s_j``,
    ``S2 = sum_{j<=r} s_j^2`` and the next value ``x``: ``r S2 - S1^2 >= 0`` implies
    ``(r + 1)(S2 + x^2) - (S1 + x)^2 >= 0`` (real relaxation, z3's nlsat; valid for every real
    ``r >= 1``, hence for the integers).

    >>> cauchy_schwarz_induction()[0]
    True
    """
    import z3

    ctx = z3.Context()
    rr, s1, s2, x = z3.Reals("r S1 S2 x", ctx)
    cases = {"base r = 1": (z3.BoolVal(True, ctx), 1 * (x * x) - x * x >= 0),
             "step r -> r + 1": (z3.And(rr >= 1, rr * s2 - s1 * s1 >= 0),
                                 (rr + 1) * (s2 + x * x) - (s1 + x) * (s1 + x) >= 0)}
    for name, (premise, goal) in cases.items():
        solver = z3.SolverFor("QF_NRA", ctx=ctx)
        solver.set("timeout", max(1, int(timeout_s * 1000)))
        solver.add(premise, z3.Not(goal))
        result = solver.check()
        if result != z3.unsat:
            return None, f"z3 on the {name}: {result}"
    return True, ("z3: r sum s_j^2 - (sum s_j)^2 >= 0 for all r >= 1 by induction (base r = 1 "
                  "and step r -> r + 1 unsat when negated, nlsat)")


def _z3_nuclear_frobenius(statement, timeout_s: float) -> tuple:
    """The z3 route of R3.nuclear-frobenius: W = r fro^2 - nuc^2 >= 0 by z3's own induction
    (:func:`cauchy_schwarz_induction`), then the polynomial encoding of the statement, in which
    W >= 0 is no longer taken but has just been proved by z3."""
    from dataclasses import replace

    from .routes import z3_route

    ok, detail = cauchy_schwarz_induction(timeout_s / 2)
    if ok is not True:
        return None, detail, None
    rest = z3_route(replace(statement, smt=None), timeout_s / 2)
    if rest.answer is not True:
        return rest.answer, f"{detail}; then: {rest.detail}", rest.counterexample
    return True, f"{detail}; then, with W = sr^2 fro^2 - nuc^2 >= 0: {rest.detail}", None


def _centring_lemma() -> tuple:
    Y = MatrixSymbol("Y", K, N)
    ones = OneMatrix(K, 1)
    centre = Identity(K) - ones * ones.T / K
    # C Y = Y - (1/K) 1 (1^T Y), and 1^T Y = 0 for centred logits.
    cy = MatAdd(Y, MatMul(-1 / K, ones, ZeroMatrix(1, N)), evaluate=False).doit()
    trace = Trace(centre).doit()
    if cy != Y or sympy.simplify(trace - (K - 1)) != 0:
        return False, f"C Y -> {cy}, tr C -> {trace}"
    return True, ("sympy, symbolic K, N: with 1^T Y = 0, C Y = Y - (1/K) 1 (1^T Y) -> Y for "
                  "C = I - 1 1^T / K, and tr C -> K - 1")


def rademacher_statements() -> list:
    """The statements of R3 besides the structured least-rank result.

    >>> len(rademacher_statements())
    6
    """
    expansion = Eq(W, sr**2 * fro**2 - nuc**2)
    duality, nf, radius = tdual <= op * nuc, nuc <= sr * fro, fro <= Rad
    saturated, sqrt_up = Eq(b_r, b_r0), sr > s0
    nf_sub = ((sr, _k), (nuc, _e), (fro, _x), (W, _b))
    sq_sub = ((sr, _k), (s0, _e))
    return [
        Statement(
            id="R3.nuclear-frobenius", source=SOURCE,
            assumed=(
                ("SVD: ||.||_* and ||.||_F are the l1 and l2 norms of the singular values, at "
                 "most r of them nonzero for rank <= r"),
                "induction on r (the z3 route proves the base case and the step)",
                "for x, y >= 0, y^2 >= x^2 implies y >= x (sympy route only)",),
            checked=("r fro^2 - nuc^2 = r sum_j (s_j - nuc/r)^2 for symbolic r (sympy) and r "
                     "fro^2 - nuc^2 >= 0 by induction on r (z3: base and step), then nuc <= "
                     "sqrt(r) fro by a sympy certificate and by z3"),
            title="||Delta||_* <= sqrt(r) ||Delta||_F for rank Delta <= r (Cauchy-Schwarz on "
                  "singular values), for every r",
            variables=(sr, nuc, fro, W), hypotheses=(expansion,), conclusion=nf,
            certificate=LemmaCertificate(
                SquareStepCertificate(
                    SlackCertificate(nf_sub, ((expansion, -1),)),
                    SlackCertificate(nf_sub)),
                (("finite-sum expansion", finite_sum_expansion), ("Lagrange", _lagrange_lemma))),
            smt=_z3_nuclear_frobenius,
            notes="sr = sqrt(r); nuc = sum_{j<=r} s_j, fro^2 = sum_{j<=r} s_j^2 over the singular "
                  "values (CITED: SVD; rank <= r leaves at most r nonzero s_j; ||.||_* and ||.||_F "
                  "are the l1 and l2 norms of the singular values). W = r sum_j (s_j - nuc/r)^2 "
                  ">= 0 (a sum of squares); that it equals r fro^2 - nuc^2 = sr^2 fro^2 - nuc^2 is "
                  "checked by sympy for symbolic r (route 1 lemma), with Lagrange's identity "
                  "expanded for r <= 6 as a cross-check. Route 2 does not take W >= 0: z3 proves "
                  "r fro^2 - nuc^2 >= 0 itself by induction on r (base case and step, "
                  "cauchy_schwarz_induction), so the key inequality is checked twice, "
                  "independently. "
                  "Then (sr fro)^2 - nuc^2 = W >= 0 and the square-root step "
                  "(SquareStepCertificate; elementary lemma cited)."),
        Statement(
            id="R3.rademacher-sqrt-r", source=SOURCE,
            assumed=(
                "von Neumann's trace inequality |<S, Delta>| <= ||S||_op ||Delta||_*",
                "sup over F_r, expectation over eps and division by N preserve the bound",),
            rests_on=(
                "von Neumann's trace inequality |<S, Delta>| <= ||S||_op ||Delta||_*",),
            title="|<sum_i eps_i G_i, Delta>| <= sqrt(r) R ||sum_i eps_i G_i||_op on F_r, hence "
                  "Rad_N(F_r) <= sqrt(r) R E||sum eps_i G_i||_op / N",
            variables=(tdual, op, nuc, fro, sr, Rad), hypotheses=(duality, nf, radius),
            conclusion=tdual <= sr * Rad * op,
            certificate=SlackCertificate(((tdual, _p), (op, _z), (nuc, _e), (fro, _x), (sr, _k),
                                          (Rad, _b)),
                                         ((duality, 1), (nf, op), (radius, op * sr))),
            notes="t = |<S_eps, Delta>| with S_eps = sum_i eps_i G_i, op = ||S_eps||_op. CITED: "
                  "trace duality |<S, Delta>| <= ||S||_op ||Delta||_* (von Neumann's trace "
                  "inequality); nuc <= sqrt(r) fro is R3.nuclear-frobenius; fro <= R is the class "
                  "F_r. Taking the sup over Delta in F_r, the expectation over eps and dividing "
                  "by N are monotone (cited), giving the bound on Rad_N(F_r)."),
        Statement(
            id="R3.sqrt-increasing", source=SOURCE,
            assumed=(
                ("for x, y >= 0, y^2 > x^2 implies y > x (sympy route only; z3 decides it "
                 "directly)"),),
            title="sqrt is strictly increasing on the ranks: r > r0 gives sqrt(r) > sqrt(r0)",
            variables=(sr, s0), hypotheses=(sr**2 > s0**2,), conclusion=sr > s0,
            certificate=SquareStepCertificate(
                SlackCertificate(sq_sub, ((sr**2 > s0**2, 1),)), SlackCertificate(sq_sub)),
            notes="sr = sqrt(r), s0 = sqrt(r0): r > r0 is sr^2 > s0^2. The square-root step "
                  "(SquareStepCertificate; elementary lemma cited)."),
        Statement(
            id="R3.saturation", source=SOURCE,
            assumed=(
                ("c sqrt(r) stands for the variance term of R3.rademacher-sqrt-r plus "
                 "rank-independent terms"),
                "every minimiser r* of U satisfies r* <= r0 (a step of logic, not encoded)",),
            title="bias saturated at r0 (b(r) = b(r0)) and U(r) = b(r) + c sqrt(r), c > 0: "
                  "U(r) > U(r0) for every r > r0, so r* <= r0",
            variables=(c, sr, s0, b_r, b_r0), hypotheses=(saturated, sqrt_up),
            conclusion=b_r + c * sr > b_r0 + c * s0,
            certificate=StrictSlackCertificate(((c, _k), (s0, _e), (sr, _e + _a), (b_r, _x),
                                                (b_r0, _z)), ((saturated, 1),)),
            notes="sr > s0 is R3.sqrt-increasing for r > r0. c sqrt(r) stands for the variance "
                  "term 2 sqrt(r) R E||sum eps_i G_i||_op / N (R3.rademacher-sqrt-r) plus any "
                  "rank-independent concentration term (it cancels). Then every minimiser r* of "
                  "U over r >= 1 satisfies r* <= r0 (a step of logic, not encoded); with r0 = 1 "
                  "(bias saturated at 1), r* = 1. Monotonicity of b is not needed for r > r0. "
                  "This is about the upper bound U, not the risk itself (cited caveat)."),
        Statement(
            id="R3.binary-one-logit", source=SOURCE,
            assumed=(
                "rank(Y) <= min(K, N) (R3.least-rank, a premise of the claim)",
                "rank(Y) >= 1 for Y != 0",),
            title="one logit (K = 1): 1 <= rank(Y) <= min(K, N) forces rank(Y) = 1 for Y != 0",
            variables=(K, N, y), hypotheses=(Eq(K, 1), y <= K, y <= N, y >= 1),
            conclusion=And(y <= 1, y >= 1),
            certificate=(SlackCertificate(((K, 1 + _a), (y, 1 + _e), (N, 1 + _e + _b)),
                                          ((y <= K, 1), (Eq(K, 1), -1)), part=y <= 1),
                         SlackCertificate(((K, 1 + _a), (y, 1 + _e), (N, 1 + _e + _b)),
                                          part=y >= 1)),
            notes="rank_Y = rank(Y) for the K x N target matrix; rank(Y) <= min(K, N) is "
                  "R3.least-rank (proofs.structured), rank(Y) >= 1 is Y != 0 (cited). So the "
                  "least interpolating rank, where the bias b(r) saturates, is r0 = 1."),
        Statement(
            id="R3.centred-logits", source=SOURCE,
            assumed=(
                "rank(PQ) <= min(rank P, rank Q)",
                "the rank of an idempotent matrix equals its trace",),
            rests_on=(
                "rank(PQ) <= min(rank P, rank Q)",
                "the rank of an idempotent matrix equals its trace",),
            checked=("C Y = Y and tr C = K - 1 for symbolic K, N (sympy), and the integer step "
                     "rank(Y) <= K - 1, K = 2, rank(Y) >= 1 gives rank(Y) = 1 (sympy certificate "
                     "and z3)"),
            title="centred logits (1^T Y = 0) give rank(Y) <= K - 1; K = 2 centred logits give rank 1",
            variables=(K, N, y), hypotheses=(y <= K - 1, Eq(K, 2), y >= 1),
            conclusion=And(y <= 1, y >= 1),
            certificate=(
                LemmaCertificate(SlackCertificate(((K, 2 + _a), (y, 1 + _e), (N, 1 + _b)),
                                                  ((y <= K - 1, 1), (Eq(K, 2), -1)), part=y <= 1),
                                 (("centring", _centring_lemma),)),
                SlackCertificate(((K, 2 + _a), (y, 1 + _e), (N, 1 + _b)), part=y >= 1)),
            notes="rank(Y) <= K - 1 (hypothesis of the integer step): Y = C Y with the centring "
                  "projector C = I - 1 1^T / K (sympy lemma, symbolic K, N), so rank Y <= rank C "
                  "= tr C = K - 1 (CITED: rank(PQ) <= rank P; the rank of an idempotent equals "
                  "its trace). The integer step for K = 2 is checked by both routes; the general "
                  "bound min(K, N) is R3.least-rank, so K centred classes need at most K - 1."),
    ]
