"""R3, the structured-feature result: with ``G_ik = a_k x_i^T`` the least interpolating rank
is ``rank(Y) <= min(K, N)``.

Setting: ``A`` (the head ``[a_1 .. a_K]``, ``m x K``) and ``X`` (the inputs ``[x_1 .. x_N]``,
``n x N``) of full column rank, targets ``Y`` (``K x N``). Then
``calA(Delta)_ik = a_k^T Delta x_i``, i.e. interpolation is ``A^T Delta X = Y``.

* Witness: ``Delta* = A (A^T A)^{-1} Y (X^T X)^{-1} X^T`` interpolates.
* Lower bound: ``rank(Y) = rank(A^T Delta X) <= rank(Delta)`` for every interpolant.
* Upper bound: ``rank(Delta*) <= rank(Y)``; so the least rank is ``rank(Y) <= min(K, N)``
  (binary with one logit: ``K = 1``, rank 1 for ``Y != 0``).

Both routes take the rank lemma ``rank(P Q) <= min(rank P, rank Q)`` (and ``rank P <= rows,
cols``) without checking it, so ``R3.least-rank`` is ``proved-assuming`` that lemma (named in
its ``rests_on``), not proved by two independent routes.

Two routes, with precisely stated axioms:

``sympy-certificate`` (:class:`MatrixCertificate`)
    sympy ``MatrixSymbol`` algebra with symbolic sizes ``m, n, K, N``. The product
    ``A^T Delta* X`` is built unevaluated and ``.doit()`` reduces it to ``Y``: sympy's
    ``MatMul`` canonicalisation cancels ``(A^T A)(A^T A)^{-1}`` and
    ``(X^T X)^{-1}(X^T X)`` to identities by itself (no explicit rewrite was needed; the
    route checks that the reduction happens and fails otherwise). Writing ``Inverse(A^T A)``
    presumes invertibility: that is the full-column-rank hypothesis (cited: ``A^T A`` is
    invertible iff ``A`` has full column rank). The rank facts are applications of the
    CITED lemma ``rank(P Q) <= min(rank P, rank Q)`` (and ``rank P <= rows, cols``): the route
    checks the structure they are applied to (``Delta`` is a factor of ``A^T Delta X``;
    ``Y`` is a factor of ``Delta*``; ``Y`` is ``K x N``).

``z3-smt`` (:func:`z3_structured`)
    An axiomatised matrix algebra over an uninterpreted sort ``Mat`` with functions
    ``mul``, ``rows``, ``cols`` and ``rank`` (``rank`` an uninterpreted ``Int`` function).
    AXIOMS (all guarded by shape compatibility ``cols(P) = rows(Q)``): shapes of products;
    associativity; ``I_K``, ``I_N`` are two-sided identities on compatible matrices; the
    Gram inverses ``G (A^T A) = (A^T A) G = I_K`` and ``H (X^T X) = (X^T X) H = I_N``
    (this is where full column rank enters); the submultiplicativity lemma
    ``rank(P Q) <= rank P, rank Q``; ``0 <= rank P <= rows P, cols P``. ``A^T`` and ``X^T``
    are constants with transposed shapes (no transpose axioms are needed). Real matrices of
    all sizes, with a junk value for incompatible products, are a model of every axiom, so
    what z3 derives holds for real matrices. z3 must answer ``unsat`` for the negated goal;
    ``unknown`` leaves the statement open.

Examples
--------
>>> [s.id for s in structured_statements()]
['R3.witness-interpolates', 'R3.least-rank']
>>> from proofs.statement import check
>>> v = check(structured_statements()[1])
>>> v.status, v.statement.rests_on[0]
('proved-assuming', 'rank(PQ) <= min(rank P, rank Q)')
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy
from sympy import Function, Inverse, MatMul, MatrixSymbol, symbols

from .statement import Statement

__all__ = ["MatrixCertificate", "z3_structured", "structured_statements", "witness"]

SOURCE = "Rethinking the Rank Threshold (2026), R3 (structured features G_ik = a_k x_i^T)"

m, n, K, N = symbols("m n K N", integer=True, positive=True)
A = MatrixSymbol("A", m, K)
X = MatrixSymbol("X", n, N)
Y = MatrixSymbol("Y", K, N)
Delta = MatrixSymbol("Delta", m, n)
rank = Function("rank", integer=True, nonnegative=True)


def witness(evaluate: bool = True):
    """The interpolant ``Delta* = A (A^T A)^{-1} Y (X^T X)^{-1} X^T`` (an ``m x n`` product).

    >>> witness().shape
    (m, n)
    """
    return MatMul(A, Inverse(A.T * A), Y, Inverse(X.T * X), X.T, evaluate=evaluate)


def _factors(expr) -> tuple:
    return expr.args if isinstance(expr, MatMul) else (expr,)


@dataclass(frozen=True)
class MatrixCertificate:
    """Which structured fact the sympy route checks: ``"interpolates"`` or ``"least-rank"``.

    >>> MatrixCertificate("interpolates").verify(None)[0]
    True
    """

    claim: str

    def verify(self, statement) -> tuple:
        """``(True, detail)`` when the matrix algebra checks, else ``(None, reason)``.

        >>> MatrixCertificate("least-rank").verify(None)[1].split("; ")[2][:40]
        'Delta is a factor of A^T Delta X = Y, so'
        >>> MatrixCertificate("something else").verify(None)
        (None, "unknown claim 'something else'")
        """
        dstar = witness()
        if dstar.shape != (m, n):
            return None, f"witness has shape {dstar.shape}, not (m, n)"
        product = MatMul(A.T, A, Inverse(A.T * A), Y, Inverse(X.T * X), X.T, X, evaluate=False)
        reduced = product.doit()
        interpolates = reduced == Y and MatMul(A.T, dstar, X).doit() == Y
        if not interpolates:
            return None, f"A^T Delta* X reduced to {reduced}, not Y"
        step = (f"A^T Delta* X = {product} -> {reduced} by sympy MatMul.doit (cancels "
                "(A^T A)(A^T A)^-1 and (X^T X)^-1 (X^T X) to Identity; the inverses exist by "
                "full column rank, cited)")
        if self.claim == "interpolates":
            return True, step
        if self.claim != "least-rank":
            return None, f"unknown claim {self.claim!r}"
        lower = Delta in _factors(MatMul(A.T, Delta, X, evaluate=False))
        upper = Y in _factors(dstar)
        dims = Y.shape == (K, N)
        if not (lower and upper and dims):
            return None, "the rank lemma does not apply to the products as built"
        return True, (step + "; Delta is a factor of A^T Delta X = Y, so rank(Y) <= rank(Delta) "
                      "for every interpolant; Y is a factor of Delta* = "
                      f"{sympy.sstr(dstar)}, so rank(Delta*) <= rank(Y), hence equality and "
                      "least rank = rank(Y); Y is K x N so rank(Y) <= min(K, N) "
                      "(lemma rank(PQ) <= min(rank P, rank Q) and rank <= dimensions: cited)")


def _z3_algebra(ctx):
    import z3

    Mat = z3.DeclareSort("Mat", ctx)
    mul = z3.Function("mul", Mat, Mat, Mat)
    zrank = z3.Function("rank", Mat, z3.IntSort(ctx))
    rows = z3.Function("rows", Mat, z3.IntSort(ctx))
    cols = z3.Function("cols", Mat, z3.IntSort(ctx))
    c = dict(zip(("A", "At", "X", "Xt", "Y", "G", "H", "I_K", "I_N", "Delta"),
                 z3.Consts("A At X Xt Y G H I_K I_N Delta", Mat)))
    zm, zn, zK, zN = z3.Ints("m n K N", ctx)
    P, Q, R = z3.Consts("P Q R", Mat)

    def comp(p, q):
        return cols(p) == rows(q)

    axioms = [
        z3.ForAll([P, Q], z3.Implies(comp(P, Q), z3.And(rows(mul(P, Q)) == rows(P),
                                                        cols(mul(P, Q)) == cols(Q))),
                  patterns=[mul(P, Q)]),
        z3.ForAll([P, Q, R], z3.Implies(z3.And(comp(P, Q), comp(Q, R)),
                                        mul(mul(P, Q), R) == mul(P, mul(Q, R))),
                  patterns=[mul(mul(P, Q), R), mul(P, mul(Q, R))]),
        z3.ForAll([P, Q], z3.Implies(comp(P, Q), z3.And(zrank(mul(P, Q)) <= zrank(P),
                                                        zrank(mul(P, Q)) <= zrank(Q))),
                  patterns=[mul(P, Q)]),
        z3.ForAll([P], z3.And(0 <= zrank(P), zrank(P) <= rows(P), zrank(P) <= cols(P)),
                  patterns=[zrank(P)]),
        zm >= 1, zn >= 1, zK >= 1, zN >= 1,
    ]
    for ident, d in ((c["I_K"], zK), (c["I_N"], zN)):
        axioms += [rows(ident) == d, cols(ident) == d,
                   z3.ForAll([P], z3.Implies(rows(P) == d, mul(ident, P) == P), patterns=[mul(ident, P)]),
                   z3.ForAll([P], z3.Implies(cols(P) == d, mul(P, ident) == P), patterns=[mul(P, ident)])]
    for name, rr, cc in (("A", zm, zK), ("At", zK, zm), ("X", zn, zN), ("Xt", zN, zn),
                         ("Y", zK, zN), ("G", zK, zK), ("H", zN, zN)):
        axioms += [rows(c[name]) == rr, cols(c[name]) == cc]
    gram_a, gram_x = mul(c["At"], c["A"]), mul(c["Xt"], c["X"])
    axioms += [mul(gram_a, c["G"]) == c["I_K"], mul(c["G"], gram_a) == c["I_K"],
               mul(gram_x, c["H"]) == c["I_N"], mul(c["H"], gram_x) == c["I_N"]]
    dstar = mul(c["A"], mul(c["G"], mul(c["Y"], mul(c["H"], c["Xt"]))))
    D = c["Delta"]
    is_interpolant = z3.And(rows(D) == zm, cols(D) == zn, mul(c["At"], mul(D, c["X"])) == c["Y"])
    lemmas = {
        "interpolates": mul(c["At"], mul(dstar, c["X"])) == c["Y"],
        "witness rank <= rank(Y)": zrank(dstar) <= zrank(c["Y"]),
        "every interpolant has rank >= rank(Y)": z3.Implies(is_interpolant,
                                                            zrank(c["Y"]) <= zrank(D)),
        "rank(Y) <= min(K, N)": z3.And(zrank(c["Y"]) <= zK, zrank(c["Y"]) <= zN),
    }
    return axioms, lemmas


def _z3_combination(ctx):
    """The least-rank conclusion from the four lemmas, with "is an interpolant" abstracted
    to an uninterpreted predicate (no matrix algebra needed)."""
    import z3

    Mat = z3.DeclareSort("Mat", ctx)
    zrank = z3.Function("rank", Mat, z3.IntSort(ctx))
    interpolant = z3.Function("interpolant", Mat, z3.BoolSort(ctx))
    Y, dstar, D, P = z3.Consts("Y Dstar Delta P", Mat)
    zK, zN = z3.Ints("K N", ctx)
    facts = [interpolant(dstar), zrank(dstar) <= zrank(Y),
             z3.ForAll([P], z3.Implies(interpolant(P), zrank(Y) <= zrank(P))),
             zrank(Y) <= zK, zrank(Y) <= zN]
    goal = z3.And(zrank(dstar) == zrank(Y),
                  z3.Implies(interpolant(D), zrank(dstar) <= zrank(D)),
                  zrank(dstar) <= z3.If(zK <= zN, zK, zN))
    return facts, goal


def _unsat(facts, goal, timeout_s, ctx):
    import z3

    solver = z3.Solver(ctx=ctx)
    solver.set("timeout", max(1, int(timeout_s * 1000)))
    solver.add(*facts)
    solver.add(z3.Not(goal))
    result = solver.check()
    return result, (solver.reason_unknown() if result == z3.unknown else "")


def z3_structured(statement, timeout_s: float) -> tuple:
    """The z3 route for the structured statements: unsat of axioms and the negated goal.

    Returns ``(answer, detail, counterexample)``; ``sat`` of an axiomatised theory is no
    counterexample for real matrices, so the answer is never False here.

    >>> z3_structured(structured_statements()[0], 10.0)[0]
    True
    """
    import z3
    import time

    start = time.perf_counter()
    ctx = z3.Context()  # fresh: a verdict must not depend on what z3 solved before
    axioms, lemmas = _z3_algebra(ctx)
    names = ["interpolates"] if statement.certificate.claim == "interpolates" else list(lemmas)
    for name in names:
        left = timeout_s - (time.perf_counter() - start)
        result, why = _unsat(axioms, lemmas[name], max(0.5, left / 2), ctx)
        if result != z3.unsat:
            return None, f"z3 on lemma '{name}': {result} ({why or 'a model of the axioms'})", None
    done = "negation unsat over the axiomatised matrix algebra for: " + "; ".join(names)
    if statement.certificate.claim == "least-rank":
        facts, goal = _z3_combination(ctx)
        result, why = _unsat(facts, goal, max(0.5, timeout_s - (time.perf_counter() - start)), ctx)
        if result != z3.unsat:
            return None, f"z3 on the combination step: {result} ({why})", None
        done += ("; then least rank = rank(Y) <= min(K, N) from these lemmas (unsat, with "
                 "'is an interpolant' as an uninterpreted predicate)")
    return True, (f"z3 {z3.get_version_string()}: {done}. Axioms: uninterpreted sort Mat; "
                  "shape-guarded associativity, identities, Gram inverses, rank "
                  "submultiplicativity, rank <= dimensions"), None


def structured_statements() -> list:
    """The two statements of R3.

    >>> str(structured_statements()[0])[:40]
    'for all m x K A, n x N X of full column '
    """
    common = (m, n, K, N)
    hyp = "for all m x K A, n x N X of full column rank and K x N Y"
    return [
        Statement(
            id="R3.witness-interpolates", source=SOURCE,
            assumed=(
                "(A^T A)^-1 and (X^T X)^-1 exist iff A and X have full column rank",),
            checked=("A^T Delta* X = Y for symbolic sizes, by sympy MatMul reduction and by z3 "
                     "over an axiomatised matrix algebra"),
            title="Delta* = A (A^T A)^-1 Y (X^T X)^-1 X^T interpolates: A^T Delta* X = Y",
            variables=common, hypotheses=(), conclusion=sympy.Eq(MatMul(A.T, witness(), X, evaluate=False), Y,
                                                                  evaluate=False),
            certificate=MatrixCertificate("interpolates"), smt=z3_structured,
            text=f"{hyp}: A^T Delta* X = Y where Delta* = A (A^T A)^-1 Y (X^T X)^-1 X^T",
            notes="Axiomatic (both routes): (A^T A)^-1 and (X^T X)^-1 exist, which is full "
                  "column rank of A and X (cited equivalence). See the module docstring for the "
                  "exact z3 axioms."),
        Statement(
            id="R3.least-rank", source=SOURCE,
            assumed=(
                "rank(PQ) <= min(rank P, rank Q)",
                "rank P <= number of rows and of columns of P",
                "(A^T A)^-1 and (X^T X)^-1 exist iff A and X have full column rank",),
            rests_on=(
                "rank(PQ) <= min(rank P, rank Q)",
                "rank P <= number of rows and of columns of P",),
            checked=("the interpolation identity and where the rank lemma applies (sympy, "
                     "symbolic sizes), and the least-rank conclusion from the rank axioms (z3)"),
            title="the least rank of Delta with A^T Delta X = Y is rank(Y) <= min(K, N)",
            variables=common, hypotheses=(), conclusion=sympy.true,
            certificate=MatrixCertificate("least-rank"), smt=z3_structured,
            text=(f"{hyp}: rank(Delta*) = rank(Y) <= min(K, N) and every Delta with "
                  "A^T Delta X = Y has rank(Delta) >= rank(Y)"),
            notes="Axiomatic (both routes): the lemma rank(PQ) <= min(rank P, rank Q), "
                  "rank <= number of rows and of columns, and the Gram inverses (full column "
                  "rank) are cited, not proved. Binary classification with one logit has "
                  "K = 1, so the least rank is 1 (for Y != 0): the bias saturates at r = 1."),
    ]
