"""Seed 003, stable rank (THEORY.md section 4): ``sr(M) = ||M||_F^2 / ||M||_2^2`` and its three
facts, ``1 <= sr(M) <= rank(M)``, ``sr(c M) = sr(M)`` for ``c != 0`` and ``sr(B A) <= r``.

Through the singular values ``s_1 >= s_2 >= ... >= s_k > 0`` of a nonzero ``M`` of rank ``k``:
``||M||_F^2 = sum_j s_j^2 = F`` and ``||M||_2^2 = s_1^2 = x`` (SVD, cited), so
``sr(M) = F / x = sum_j s_j^2 / max_j s_j^2``, a sum of ``k`` terms each in ``(0, x]`` over the
largest of them. Statements, and what each route checks:

``SR.bounds``
    ``x <= F <= k x``, i.e. ``1 <= sr(M) <= k``. Route 1 (sympy, symbolic ``k``): the finite-sum
    identities ``F - x = sum_{j=2}^k s_j^2`` (split of a ``Sum``) and ``k x - F = sum_{j=1}^k
    (s_1^2 - s_j^2)`` (linearity of a ``Sum``), each a sum of nonnegative terms, then a slack
    certificate for the polynomial core. Route 2 (z3, independently): ``x <= S_j <= j x`` for the
    partial sums ``S_j`` by induction on ``j`` (base ``S_1 = x`` and the step with a new term
    ``0 <= t <= x``, nlsat), then the polynomial core.
``SR.scale-invariant``
    ``sr(c M) = sr(M)`` for real ``c != 0``. Route 1: ``(cM)^T (cM) = c^2 M^T M`` with symbolic
    sizes (MatrixSymbol algebra; its trace gives ``||cM||_F^2 = c^2 ||M||_F^2``), the
    characteristic polynomial of ``c^2 S`` against that of ``S`` with symbolic entries for
    ``n = 1, 2, 3`` (every eigenvalue, so the largest, scales by ``c^2``), then the ratio
    ``c^2 F / (c^2 x) - F / x`` cancelled by sympy. Route 2: z3 on the polynomial encoding
    (``F = sr x``, ``src (c^2 x) = c^2 F``, ``c^2 > 0`` give ``src = sr``).
``SR.product-rank``
    ``sr(B A) <= r`` for ``B`` m x r, ``A`` r x n, ``B A != 0``: ``sr <= rank(BA)`` (SR.bounds) and
    ``rank(BA) <= r`` (cited: ``rank(PQ) <= min(rank P, rank Q)``, taken by both routes, so
    *proved assuming* that lemma).

The numerical ``sr`` (batched, float64) is :func:`numerics.engine.stable_rank.stable_rank`; the
tests check every statement on random and near-degenerate matrices with hypothesis, and on small
integer matrices in exact arithmetic (:func:`exact_stable_rank`).

Examples
--------
>>> [s.id for s in stable_rank_statements()]
['SR.bounds', 'SR.scale-invariant', 'SR.product-rank']
>>> exact_stable_rank([[1, 0], [0, 1]]), exact_stable_rank([[3, 0], [0, 1]])
(2, 10/9)
>>> from proofs.statement import check
>>> check(stable_rank_statements()[0]).status
'proved'
"""

from __future__ import annotations

import sympy
from sympy import (And, Eq, IndexedBase, MatMul, MatrixSymbol, Sum, Symbol, Trace, symbols)

from .pl import LemmaCertificate
from .routes import SlackCertificate
from .statement import Statement

__all__ = ["stable_rank_statements", "exact_stable_rank", "finite_sum_lemmas",
           "partial_sum_induction", "scaling_lemmas", "ScaleCertificate", "SOURCE",
           "CHARPOLY_SIZES"]

SOURCE = "Stable rank of LoRA updates (seed 003), THEORY.md section 4"

k = Symbol("k", integer=True, positive=True)          # rank of M
r = Symbol("r", integer=True, positive=True)          # LoRA rank
x = Symbol("x", positive=True)                        # ||M||_2^2 = s_1^2
F = Symbol("F", positive=True)                        # ||M||_F^2 = sum_j s_j^2
L = Symbol("L", nonnegative=True)                     # F - x = sum_{j>=2} s_j^2
H = Symbol("H", nonnegative=True)                     # k x - F = sum_j (s_1^2 - s_j^2)
sr, src = symbols("sr src", positive=True)            # sr(M), sr(cM)
c = Symbol("c", real=True)
_a, _b, _e, _p, _q = symbols("a b e p q", nonnegative=True)

#: Sizes n of the symbolic-entry characteristic-polynomial check of SR.scale-invariant.
CHARPOLY_SIZES = (1, 2, 3)

#: The lemma SR.product-rank rests on (the same words as R3.least-rank's).
RANK_PRODUCT = "rank(PQ) <= min(rank P, rank Q)"


def exact_stable_rank(rows) -> sympy.Rational:
    """``sr(M)`` in exact arithmetic for a small nonzero integer (or rational) matrix: the trace of
    ``M^T M`` over its largest eigenvalue (the largest real root of the characteristic polynomial,
    isolated exactly by sympy; an algebraic number in general).

    >>> exact_stable_rank([[1, 1], [1, 1]])
    1
    >>> exact_stable_rank([[0, 0], [0, 0]])
    Traceback (most recent call last):
    ...
    ValueError: sr is defined for nonzero matrices only
    """
    M = sympy.Matrix(rows)
    S = M.T * M
    fro2 = S.trace()
    if fro2 == 0:
        raise ValueError("sr is defined for nonzero matrices only")
    lam = sympy.Symbol("lam")
    top = max(sympy.Poly(S.charpoly(lam).as_expr(), lam).real_roots())
    return sympy.nsimplify(sympy.simplify(fro2 / top))


def finite_sum_lemmas() -> tuple:
    """sympy, symbolic ``k``: with ``t_j = s_j^2`` (``t_1 = x`` the largest),
    ``sum_{j=1}^k t_j - t_1 = sum_{j=2}^k t_j`` and ``k t_1 - sum_{j=1}^k t_j =
    sum_{j=1}^k (t_1 - t_j)``; every term of the right-hand sums is nonnegative.

    >>> finite_sum_lemmas()[0]
    True
    """
    j = Symbol("j", integer=True, positive=True)
    t = IndexedBase("t")
    total = Sum(t[j], (j, 1, k))
    split = sympy.simplify(Sum(t[j], (j, 1, 1)) + Sum(t[j], (j, 2, k)) - total)
    if split != 0:
        return False, f"the split of sum_1^k left {split}"
    gap = Sum(t[1] - t[j], (j, 1, k)).expand().doit()
    if sympy.simplify(gap - (k * t[1] - total)) != 0:
        return False, f"sum_j (t_1 - t_j) gave {gap}, not k t_1 - sum_j t_j"
    return True, ("sum_1^k t_j - t_1 = sum_2^k t_j and k t_1 - sum_1^k t_j = sum_1^k (t_1 - t_j) "
                  "for symbolic k (sympy Sum: split and linearity); terms t_j >= 0 and t_1 - t_j "
                  ">= 0 since s_1 is the largest singular value")


def partial_sum_induction(timeout_s: float = 10.0) -> tuple:
    """z3, independently of sympy: for partial sums ``S_j`` of terms in ``[0, x]`` whose first
    term is ``x``, ``x <= S_j <= j x`` for every ``j >= 1``, by induction on ``j`` (base
    ``S_1 = x``; step ``x <= S <= j x``, ``0 <= t <= x`` => ``x <= S + t <= (j + 1) x``; real
    relaxation, nlsat, valid for the integers too).

    >>> partial_sum_induction()[0]
    True
    """
    import z3

    ctx = z3.Context()
    jj, s, t, xx = z3.Reals("j S t x", ctx)
    cases = {"base j = 1": (xx > 0, z3.And(xx <= xx, xx <= 1 * xx)),
             "step j -> j + 1": (z3.And(jj >= 1, xx > 0, xx <= s, s <= jj * xx, t >= 0, t <= xx),
                                 z3.And(xx <= s + t, s + t <= (jj + 1) * xx))}
    for name, (premise, goal) in cases.items():
        solver = z3.SolverFor("QF_NRA", ctx=ctx)
        solver.set("timeout", max(1, int(timeout_s * 1000)))
        solver.add(premise, z3.Not(goal))
        result = solver.check()
        if result != z3.unsat:
            return None, f"z3 on the {name}: {result}"
    return True, ("z3: x <= S_j <= j x for all j >= 1 by induction (base j = 1 and step "
                  "j -> j + 1 unsat when negated, nlsat)")


def _z3_bounds(statement, timeout_s: float) -> tuple:
    """The z3 route of SR.bounds: the induction (:func:`partial_sum_induction`), then the
    polynomial encoding of the statement."""
    from dataclasses import replace

    from .routes import z3_route

    ok, detail = partial_sum_induction(timeout_s / 2)
    if ok is not True:
        return None, detail, None
    rest = z3_route(replace(statement, smt=None), timeout_s / 2)
    if rest.answer is not True:
        return rest.answer, f"{detail}; then: {rest.detail}", rest.counterexample
    return True, f"{detail}; then, with L = S_k - x and H = k x - S_k: {rest.detail}", None


def scaling_lemmas() -> tuple:
    """sympy: ``(cM)^T (cM) = c^2 M^T M`` for a symbolic-size ``M`` (so ``||cM||_F^2 =
    c^2 ||M||_F^2`` by the trace), and ``det(lam I - c^2 S) = c^(2n) det(lam / c^2 I - S)`` for a
    symmetric ``S`` with symbolic entries at ``n`` in :data:`CHARPOLY_SIZES` (every eigenvalue of
    ``c^2 S`` is ``c^2`` times one of ``S``, in the same order since ``c^2 > 0``: the largest, so
    ``||cM||_2^2 = c^2 ||M||_2^2``).

    >>> scaling_lemmas()[0]
    True
    """
    m_, n_ = symbols("m n", integer=True, positive=True)
    M = MatrixSymbol("M", m_, n_)
    lhs = MatMul(c * M.T, c * M).doit()
    if sympy.simplify(Trace(lhs).doit() - c**2 * Trace(M.T * M).doit()) != 0:
        return False, f"(cM)^T (cM) -> {lhs}"
    lam = Symbol("lam")
    cz = Symbol("cz", positive=True)       # c^2 > 0
    for n in CHARPOLY_SIZES:
        S = sympy.Matrix(n, n, lambda i, j_: Symbol(f"s{min(i, j_)}{max(i, j_)}", real=True))
        left = (cz * S).charpoly(lam).as_expr()
        right = cz**n * S.charpoly(lam).as_expr().subs(lam, lam / cz)
        if sympy.expand(left - right) != 0:
            return False, f"characteristic polynomials differ at n = {n}"
    return True, ("(cM)^T (cM) = c^2 M^T M for symbolic sizes (trace: ||cM||_F^2 = c^2 ||M||_F^2); "
                  "det(lam I - c^2 S) = c^(2n) det(lam/c^2 I - S) with symbolic entries, n = "
                  + ", ".join(map(str, CHARPOLY_SIZES)))


class ScaleCertificate:
    """Route 1 of SR.scale-invariant: :func:`scaling_lemmas`, then ``src`` solved from
    ``src (c^2 x) = c^2 F`` (``c^2 x > 0``) with ``F = sr x`` substituted cancels against ``sr``.

    >>> from proofs.catalogue import statement_by_id
    >>> ScaleCertificate().verify(statement_by_id("SR.scale-invariant"))[0]
    True
    """

    def verify(self, statement) -> tuple:
        ok, detail = scaling_lemmas()
        if ok is not True:
            return None, f"lemma failed: {detail}"
        eqs = [h for h in statement.hypotheses if isinstance(h, sympy.Equality)]
        if [h.lhs for h in eqs] != [F, src * c**2 * x] or (c**2 > 0) not in statement.hypotheses:
            return None, "the hypotheses are not F = sr x, src (c^2 x) = c^2 F with c^2 > 0"
        # divide the second equation by its coefficient c^2 x (> 0: c^2 > 0 and x > 0)
        coefficient = sympy.expand(eqs[1].lhs / src)
        defs = {src: eqs[1].rhs / coefficient}
        defs = {src: defs[src].subs(F, eqs[0].rhs)}
        goal = statement.conclusion
        if not isinstance(goal, sympy.Equality):
            return None, "the conclusion is not an equation"
        diff = sympy.cancel((goal.lhs - goal.rhs).subs(defs))
        if diff != 0:
            return None, f"src - sr = {diff}, not 0"
        return True, (f"lemma [scaling]: {detail}; src - sr = c^2 (sr x)/(c^2 x) - sr cancels to 0 "
                      "(c^2 x > 0)")


def stable_rank_statements() -> list:
    """The statements of seed 003 (stable rank).

    >>> len(stable_rank_statements())
    3
    """
    lo_eq, hi_eq = Eq(L, F - x), Eq(H, k * x - F)
    b_sub = ((k, 1 + _a), (x, _b), (F, _e), (L, _p), (H, _q))
    xc_, Fc_ = c**2 * x, c**2 * F             # ||cM||_2^2 and ||cM||_F^2 (scaling_lemmas)
    sc_hyps = (Eq(F, sr * x), Eq(src * xc_, Fc_), c**2 > 0)
    pr_hyps = (sr <= k, k <= r)
    return [
        Statement(
            id="SR.bounds", source=f"{SOURCE}: 1 <= sr(M) <= rank(M)",
            assumed=(
                ("SVD: ||M||_F^2 = sum_j s_j^2 and ||M||_2 = s_1 = max_j s_j over the k = rank(M) "
                 "nonzero singular values"),
                "a finite sum of nonnegative terms is nonnegative (sympy route only)",
                "induction on j (the z3 route proves the base case and the step)",),
            title="for M != 0 of rank k: ||M||_2^2 <= ||M||_F^2 <= k ||M||_2^2, i.e. 1 <= sr(M) <= k",
            variables=(k, x, F, L, H), hypotheses=(lo_eq, hi_eq),
            conclusion=And(F >= x, F <= k * x),
            certificate=(
                LemmaCertificate(SlackCertificate(b_sub, ((lo_eq, -1),), part=F >= x),
                                 (("finite sums", finite_sum_lemmas),)),
                LemmaCertificate(SlackCertificate(b_sub, ((hi_eq, -1),), part=F <= k * x),
                                 (("finite sums", finite_sum_lemmas),))),
            smt=_z3_bounds,
            checked=("F - x = sum_{j>=2} s_j^2 and k x - F = sum_j (s_1^2 - s_j^2) for symbolic k "
                     "(sympy Sum), x <= S_j <= j x for every j by induction (z3: base and step), "
                     "then x <= F <= k x by a sympy certificate and by z3"),
            notes="x = ||M||_2^2 = s_1^2 > 0, F = ||M||_F^2, k = rank M; L = F - x and H = k x - F "
                  "are declared nonnegative because each is a finite sum of nonnegative terms "
                  "(route 1 checks the two Sum identities for symbolic k; route 2 does not take "
                  "them: z3 proves x <= S_j <= j x for all partial sums by induction). Dividing "
                  "by x > 0 gives 1 <= sr(M) = F/x <= k. sr = 1 exactly at rank one; sr = k "
                  "exactly when all k singular values are equal."),
        Statement(
            id="SR.scale-invariant", source=f"{SOURCE}: sr(cM) = sr(M) for c != 0",
            assumed=(
                ("||M||_2^2 is the largest eigenvalue of M^T M and ||M||_F^2 = tr(M^T M) (spectral "
                 "theorem)"),),
            title="for real c != 0 and M != 0: sr(c M) = sr(M)",
            variables=(c, x, F, sr, src), hypotheses=sc_hyps,
            conclusion=Eq(src, sr),
            certificate=ScaleCertificate(),
            checked=("(cM)^T(cM) = c^2 M^T M for symbolic sizes and the characteristic polynomial of "
                     "c^2 S against that of S with symbolic entries (n = 1, 2, 3) by sympy, then "
                     "src = sr from src (c^2 x) = c^2 F, F = sr x, c^2 > 0 by sympy cancellation "
                     "and by z3"),
            notes="x = ||M||_2^2, F = ||M||_F^2, sr = F/x; ||cM||_2^2 = c^2 x and ||cM||_F^2 = "
                  "c^2 F (route 1 derives both from the matrix algebra, lemma [scaling]; route 2 "
                  "takes them as written in the hypotheses) and src = sr(cM) is their ratio, "
                  "written src (c^2 x) = c^2 F. c^2 > 0 is c != 0 over the reals."),
        Statement(
            id="SR.product-rank", source=f"{SOURCE}: sr(BA) <= r for B m x r, A r x n",
            assumed=("SR.bounds: sr(M) <= rank(M)", RANK_PRODUCT),
            rests_on=(RANK_PRODUCT,),
            title="for B m x r, A r x n with B A != 0: sr(B A) <= rank(B A) <= r",
            variables=(sr, k, r), hypotheses=pr_hyps, conclusion=sr <= r,
            certificate=SlackCertificate(((sr, _a), (k, 1 + _b), (r, 1 + _b + _e)),
                                         ((pr_hyps[0], 1), (pr_hyps[1], 1))),
            notes="k = rank(BA). sr <= k is SR.bounds; k <= r is CITED (rank(PQ) <= min(rank P, "
                  "rank Q): the columns of BA lie in the span of the r columns of B), so the "
                  "statement is proved given that lemma. Nominal LoRA rank r bounds the stable "
                  "rank of every update B A, whatever was learned."),
    ]
