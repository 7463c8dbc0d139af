"""R2, Polyak-Lojasiewicz for LoRA: the gradient in (B, A), the PL* constant of the squared
loss, its rank bound, the LoRA start, the linear rate, and the logistic (Lojasiewicz) bound.

Setting (THEORY.md section 0 and R2): ``Delta = B A`` with ``B`` m x r, ``A`` r x n;
``calA(Delta)_i = <G_i, Delta>``; squared loss ``L(B, A) = 1/2 ||calA(B A) - y||^2``, residual
``R = calA(B A) - y`` and its adjoint image ``S = sum_i R_i G_i``. The Jacobian of
``theta = (B, A) -> calA(B A)`` is ``J(dB, dA) = calA(dB A + B dA)``.

What is machine-checked and what is cited, statement by statement, is in each ``notes``.
Matrix statements are checked by :class:`LoraMatrixCertificate` (sympy ``MatrixSymbol`` algebra
with symbolic sizes, plus entrywise ``sympy.diff`` at explicit small sizes) and by
:func:`z3_matrix` (an axiomatised matrix algebra, axioms listed there). Scalar statements are
polynomial and go through the ordinary two routes; where a scalar statement needs a step the
:class:`~proofs.routes.SlackCertificate` cannot express, this module adds a certificate that
checks it explicitly:

* :class:`StrictSlackCertificate`: a strict conclusion whose remainder is a product of
  strictly positive slacks (``c (s - s0) > 0`` from ``c > 0`` and ``s > s0``);
* :class:`SquareStepCertificate`: ``x <= y`` from ``x^2 <= y^2`` and ``x, y >= 0`` (the
  elementary lemma is stated in the detail);
* :class:`LemmaCertificate`: symbolic side lemmas (a derivative, a finite-sum expansion) that
  sympy verifies before the polynomial core.

Examples
--------
>>> [s.id for s in pl_statements()][:3]
['R2.lora-gradient', 'R2.gauge-kernel', 'R2.lora-start']
>>> from proofs import check, statement_by_id
>>> check(statement_by_id("R2.pl-linear-rate")).status
'proved'
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from typing import Any, Callable

import sympy
from sympy import (Eq, Inverse, MatAdd, MatMul, MatrixSymbol, Rational, Symbol, Trace, ZeroMatrix,
                   symbols)

from . import routes
from .routes import SlackCertificate
from .statement import Statement

__all__ = ["pl_statements", "LoraMatrixCertificate", "z3_matrix",
           "StrictSlackCertificate", "SquareStepCertificate", "LemmaCertificate",
           "lora_gradient", "explicit_gradient_check"]

RETHINK = "Rethinking the Rank Threshold (2026)"
SOURCE_PL = f"{RETHINK}, R2 (PL for LoRA)"
LZB = "Liu, Zhu, Belkin (2022), PL* for over-parametrised systems"

# Matrix sizes and the LoRA factors (symbolic sizes: every statement holds for all of them).
m, n, r = symbols("m n r", integer=True, positive=True)
B = MatrixSymbol("B", m, r)
A = MatrixSymbol("A", r, n)
E = MatrixSymbol("E", m, r)      # direction in B
F = MatrixSymbol("F", r, n)      # direction in A
S = MatrixSymbol("S", m, n)      # S = calA^*(R) = sum_i R_i G_i
G1 = MatrixSymbol("G1", m, n)
G2 = MatrixSymbol("G2", m, n)
Gauge = MatrixSymbol("G", r, r)
R1, R2, y1, y2, t = symbols("R1 R2 y1 y2 t")

#: Explicit sizes (m, n, r) at which the gradient is also checked entrywise with sympy.diff.
EXPLICIT_SIZES = ((1, 1, 1), (2, 3, 1), (3, 2, 2))


# --------------------------------------------------------------------------------------
# Helpers shared with proofs.rademacher
# --------------------------------------------------------------------------------------

def _with_goal(statement, goal):
    return dataclasses.replace(statement, conclusion=goal, certificate=None, smt=None,
                               witness=None, text=None)


@dataclass(frozen=True)
class StrictSlackCertificate:
    """A :class:`~proofs.routes.SlackCertificate` for ``g > 0`` whose remainder need not have a
    positive constant: it suffices that the remainder has a monomial with a positive
    coefficient made only of *strict* slacks (slacks covered by a positive constant or with a
    positive weight on a strict hypothesis / positive-real domain). All coefficients are
    ``>= 0`` and all slacks ``>= 0``, so the remainder is at least that monomial, ``> 0``.

    >>> from sympy import symbols
    >>> from proofs.statement import Statement
    >>> c, s, s0 = symbols("c s s0", positive=True)
    >>> k, a, e = symbols("k a e", nonnegative=True)
    >>> st = Statement("t", "-", "-", (c, s, s0), (s > s0,), c * s > c * s0)
    >>> StrictSlackCertificate(((c, k), (s0, e), (s, e + a))).verify(st)[0]
    True
    """

    substitution: tuple
    multipliers: tuple = ()

    def verify(self, statement) -> tuple:
        """``(True, detail)`` if the non-strict certificate passes and a strict monomial
        exists, else ``(None, reason)``.

        >>> from sympy import Symbol
        >>> from proofs.statement import Statement
        >>> c, x = Symbol("c", positive=True), Symbol("x", nonnegative=True)
        >>> k, a = Symbol("k", nonnegative=True), Symbol("a", nonnegative=True)
        >>> st = Statement("t", "-", "-", (c, x), (), c * x > 0)   # false at x = 0
        >>> StrictSlackCertificate(((c, k), (x, a))).verify(st)[0] is None
        True
        """
        goal = statement.conclusion
        if not isinstance(goal, (sympy.StrictGreaterThan, sympy.StrictLessThan)):
            return None, "StrictSlackCertificate needs a strict conclusion"
        weak = (sympy.GreaterThan if isinstance(goal, sympy.StrictGreaterThan) else sympy.LessThan)(
            goal.lhs, goal.rhs, evaluate=False)
        ok, detail = SlackCertificate(self.substitution, self.multipliers).verify(
            _with_goal(statement, weak))
        if ok is not True:
            return None, detail
        variables = list(statement.variables)
        sub = dict(self.substitution)
        slacks = sorted(set().union(*(sympy.sympify(e).free_symbols for e in sub.values())),
                        key=lambda x: x.name)
        tau = routes.invert_affine(sub, variables, slacks)
        hyps = routes.hypothesis_constraints(statement)
        strict = set()
        for sl in slacks:
            cover = routes.cover_by_constraints(tau[sl], hyps, variables)
            if cover is None:
                return None, f"slack {sl} is not covered"
            c0, combo = cover
            if c0 > 0 or any(mu > 0 and c.kind == "gt" for mu, c in combo):
                strict.add(sl)
        sig = lambda e: sympy.expand(sympy.sympify(e).subs(sub, simultaneous=True))  # noqa: E731
        keyed = dict((key, c) for key, c in hyps)
        gap = routes.normal_form(weak, strengthen=False).gap
        remainder = sig(gap) - sum((sig(lam) * sig(keyed[key].gap) for key, lam in self.multipliers),
                                   sympy.S.Zero)
        remainder = sympy.expand(remainder)
        poly = sympy.Poly(remainder, *slacks)
        for monom, coeff in poly.terms():
            used = {sl for sl, e in zip(slacks, monom) if e > 0}
            if coeff > 0 and used <= strict:
                mono = sympy.Mul(*[sl**e for sl, e in zip(slacks, monom)])
                return True, (f"{detail}; strict: monomial {coeff}*{mono} of the remainder "
                              f"involves only strictly positive slacks {sorted(map(str, used))}")
        return None, f"no monomial of {remainder} is made of strict slacks {sorted(map(str, strict))}"


@dataclass(frozen=True)
class SquareStepCertificate:
    """``x <= y`` (or ``x < y``) from slack certificates for ``y^2 - x^2 >= 0`` (``> 0``),
    ``x >= 0`` and ``y >= 0``, and the elementary lemma: for ``x, y >= 0``,
    ``(y - x)(y + x) = y^2 - x^2``; if ``y + x = 0`` then ``x = y = 0``, else divide.

    >>> from sympy import Symbol, Eq
    >>> from proofs.statement import Statement
    >>> x, y = Symbol("x", nonnegative=True), Symbol("y", nonnegative=True)
    >>> a, b = Symbol("a", nonnegative=True), Symbol("b", nonnegative=True)
    >>> st = Statement("t", "-", "-", (x, y), (x**2 <= y**2,), x <= y)
    >>> cert = SquareStepCertificate(SlackCertificate(((x, a), (y, b)), ((x**2 <= y**2, 1),)),
    ...                              SlackCertificate(((x, a), (y, b))))
    >>> cert.verify(st)[0]
    True
    """

    square: Any
    """SlackCertificate for ``y^2 >= x^2`` (``>`` for a strict conclusion)."""
    signs: Any
    """SlackCertificate whose substitution shows ``x >= 0`` and ``y >= 0`` coefficientwise."""

    def verify(self, statement) -> tuple:
        """``(True, detail)`` if every part checks, else ``(None, reason)``.

        >>> from sympy import Symbol
        >>> from proofs.statement import Statement
        >>> x, y = Symbol("x", real=True), Symbol("y", nonnegative=True)   # x of any sign
        >>> a = Symbol("a", nonnegative=True)
        >>> st = Statement("t", "-", "-", (x, y), (x**2 <= y**2,), x <= y)
        >>> SquareStepCertificate(None, SlackCertificate(((x, a), (y, a)))).verify(st)[0] is None
        True
        """
        goal = statement.conclusion
        if isinstance(goal, (sympy.LessThan, sympy.StrictLessThan)):
            x, y = goal.lhs, goal.rhs
        elif isinstance(goal, (sympy.GreaterThan, sympy.StrictGreaterThan)):
            x, y = goal.rhs, goal.lhs
        else:
            return None, "SquareStepCertificate needs an inequality"
        strict = isinstance(goal, (sympy.StrictLessThan, sympy.StrictGreaterThan))
        squared = (sympy.StrictGreaterThan if strict else sympy.GreaterThan)(y**2, x**2, evaluate=False)
        if self.square is None:
            return None, "no certificate for the squared inequality"
        ok, detail = self.square.verify(_with_goal(statement, squared))
        if ok is not True:
            return None, f"squared step: {detail}"
        for name, expr in (("x", x), ("y", y)):
            ok, why = self.signs.verify(_with_goal(statement, sympy.GreaterThan(expr, 0, evaluate=False)))
            if ok is not True:
                return None, f"sign of {name} = {expr}: {why}"
        return True, (f"{detail}; {x} >= 0 and {y} >= 0 on the slack orthant; elementary lemma "
                      "(cited, one line): for x, y >= 0, (y - x)(y + x) = y^2 - x^2, and y + x = 0 "
                      "forces x = y = 0, so y^2 " + (">" if strict else ">=") + " x^2 gives y "
                      + (">" if strict else ">=") + " x")


@dataclass(frozen=True)
class LemmaCertificate:
    """A core certificate plus named symbolic side lemmas, each a callable returning
    ``(bool, detail)``, all checked by sympy before the core.

    >>> from proofs.statement import Statement
    >>> from sympy import Symbol, GreaterThan
    >>> x, a = Symbol("x", nonnegative=True), Symbol("a", nonnegative=True)
    >>> st = Statement("t", "-", "-", (x,), (), GreaterThan(x, 0, evaluate=False))
    >>> LemmaCertificate(SlackCertificate(((x, a),)), (("1 = 1", lambda: (True, "trivial")),)).verify(st)[0]
    True
    """

    core: Any
    lemmas: tuple = ()

    @property
    def part(self):
        """The conjunct the core proves (None: the whole conclusion), as for a
        :class:`~proofs.routes.SlackCertificate` in a tuple of certificates.

        >>> LemmaCertificate(SlackCertificate(())).part is None
        True
        """
        return getattr(self.core, "part", None)

    def verify(self, statement) -> tuple:
        """``(True, detail)`` if every lemma and the core check, else ``(None, reason)``.

        >>> from proofs.statement import Statement
        >>> from sympy import Symbol, GreaterThan
        >>> x, a = Symbol("x", nonnegative=True), Symbol("a", nonnegative=True)
        >>> st = Statement("t", "-", "-", (x,), (), GreaterThan(x, 0, evaluate=False))
        >>> LemmaCertificate(SlackCertificate(((x, a),)), (("bad", lambda: (False, "no")),)).verify(st)
        (None, "lemma 'bad' failed: no")
        """
        parts = []
        for name, check in self.lemmas:
            ok, detail = check()
            if ok is not True:
                return None, f"lemma {name!r} failed: {detail}"
            parts.append(f"lemma [{name}]: {detail}")
        ok, detail = self.core.verify(statement)
        if ok is not True:
            return None, detail
        return True, "; ".join(parts + [detail])


# --------------------------------------------------------------------------------------
# The LoRA gradient
# --------------------------------------------------------------------------------------

def lora_gradient(B_, A_, S_):
    """The gradient ``(S A^T, B^T S)`` of ``1/2 ||calA(B A) - y||^2`` in ``(B, A)``, where
    ``S = sum_i R_i G_i`` (works on sympy matrices, MatrixSymbols or numpy arrays).

    >>> import sympy
    >>> gB, gA = lora_gradient(sympy.Matrix([[1], [2]]), sympy.Matrix([[3, 4]]), sympy.eye(2))
    >>> gB.T, gA
    (Matrix([[3, 4]]), Matrix([[1, 2]]))
    """
    return S_ @ A_.T, B_.T @ S_


def explicit_gradient_check(mm: int, nn: int, rr: int, examples: int = 2) -> bool:
    """At explicit sizes, ``sympy.diff`` of ``L = 1/2 sum_i (<G_i, B A> - y_i)^2`` entry by
    entry equals ``S A^T`` and ``B^T S`` (all entries independent symbols).

    >>> explicit_gradient_check(2, 1, 1)
    True
    """
    Bx = sympy.Matrix(mm, rr, lambda i, j: Symbol(f"b{i}_{j}"))
    Ax = sympy.Matrix(rr, nn, lambda i, j: Symbol(f"a{i}_{j}"))
    Gs = [sympy.Matrix(mm, nn, lambda i, j, k=k: Symbol(f"g{k}_{i}_{j}")) for k in range(examples)]
    ys = symbols(f"y0:{examples}")
    Delta = Bx * Ax
    residuals = [sum(Gk.multiply_elementwise(Delta)) - yk for Gk, yk in zip(Gs, ys)]
    loss = sum(res**2 for res in residuals) / 2
    Sx = sum((res * Gk for res, Gk in zip(residuals, Gs)), sympy.zeros(mm, nn))
    gB, gA = lora_gradient(Bx, Ax, Sx)
    for Mx, grad in ((Bx, gB), (Ax, gA)):
        for i in range(Mx.rows):
            for j in range(Mx.cols):
                if sympy.expand(sympy.diff(loss, Mx[i, j]) - grad[i, j]) != 0:
                    return False
    return True


def _cyclic(trace_a, trace_b) -> bool:
    """True if both are traces of products whose factor lists are cyclic rotations."""
    if not (isinstance(trace_a, Trace) and isinstance(trace_b, Trace)):
        return False
    fa = trace_a.arg.args if isinstance(trace_a.arg, MatMul) else (trace_a.arg,)
    fb = trace_b.arg.args if isinstance(trace_b.arg, MatMul) else (trace_b.arg,)
    return len(fa) == len(fb) and any(fa[k:] + fa[:k] == fb for k in range(len(fa)))


def _check_gradient() -> tuple:
    steps = []
    # (a) chain rule, symbolic sizes, N = 2 examples: d/dt L(B + tE, A + tF) at t = 0.
    losses = []
    for G, y in ((G1, y1), (G2, y2)):
        x_t = Trace(MatMul(G.T, B + t * E, A + t * F).expand()).doit()
        losses.append((x_t - y) ** 2 / 2)
    derivative = sympy.diff(sum(losses), t).subs(t, 0)
    residual = {R1: Trace(G1.T * B * A) - y1, R2: Trace(G2.T * B * A) - y2}
    S_two = R1 * G1 + R2 * G2
    directional = Trace((S_two.T * (E * A + B * F)).expand()).doit().subs(residual)
    if sympy.expand(derivative - directional) != 0:
        return None, f"d/dt L = {derivative} differs from <S, E A + B F> = {directional}"
    steps.append("d/dt L(B+tE, A+tF)|_0 = <S, E A + B F> with S = R1 G1 + R2 G2 (sympy, "
                 "symbolic m, n, r; trace linearity by Trace.doit)")
    # (b) adjoints by trace cyclicity and transpose rules, symbolic sizes.
    lhs_b, rhs_b = Trace(S.T * E * A), Trace((S * A.T).T * E).doit()
    lhs_a, rhs_a = Trace(S.T * B * F), Trace((B.T * S).T * F).doit()
    if not (_cyclic(lhs_b, rhs_b) and (lhs_a == rhs_a or _cyclic(lhs_a, rhs_a))):
        return None, f"{lhs_b} vs {rhs_b} or {lhs_a} vs {rhs_a} are not cyclic rotations"
    split = Trace((S.T * (E * A + B * F)).expand()).doit()
    if sympy.expand(split - lhs_b - lhs_a) != 0:
        return None, f"<S, EA + BF> = {split} does not split"
    steps.append(f"<S, E A> = {lhs_b} = {rhs_b} = <S A^T, E> (cyclic rotation; (S A^T)^T -> A S^T "
                 f"by sympy); <S, B F> = {lhs_a} = {rhs_a} = <B^T S, F>")
    # (c) sympy matrix calculus, an independent rule set.
    if not (lhs_b.diff(E) == S * A.T and lhs_a.diff(F) == B.T * S):
        return None, "sympy matrix calculus disagrees"
    steps.append("sympy matrix calculus: d<S, E A>/dE = S A^T, d<S, B F>/dF = B^T S")
    # (d) explicit sizes, entrywise sympy.diff.
    for size in EXPLICIT_SIZES:
        if not explicit_gradient_check(*size):
            return None, f"entrywise check fails at (m, n, r) = {size}"
    steps.append(f"entrywise sympy.diff at (m, n, r) in {list(EXPLICIT_SIZES)} with N = 2")
    return True, "; ".join(steps)


def _check_gauge() -> tuple:
    combo = MatAdd(MatMul(B, Gauge, A), MatMul(B, -Gauge * A), evaluate=False).doit()
    if combo != ZeroMatrix(m, n) and combo != 0:
        return None, f"(BG)A + B(-GA) reduced to {combo}"
    image = Trace(MatMul(G1.T, ZeroMatrix(m, n))).doit()
    if image != 0:
        return None, f"calA(0) gave {image}"
    left = MatMul(Inverse(B.T * B), B.T, B, Gauge).doit()
    if left != Gauge:
        return None, f"(B^T B)^-1 B^T (B G) reduced to {left}"
    return True, ("(B G) A + B (-G A) -> 0 and <G_i, 0> -> 0 by sympy (symbolic sizes), so "
                  "J(BG, -GA) = 0; (B^T B)^-1 B^T (B G) -> G, so B G = 0 forces G = 0 "
                  "(B^T B invertible for B of full column rank: cited)")


def _check_start() -> tuple:
    Z = ZeroMatrix(m, r)
    grad_a = (Z.T * S).doit()
    jac = (E * A + Z * F).doit()
    if not ((grad_a == ZeroMatrix(r, n) or grad_a == 0) and jac == E * A):
        return None, f"B^T S = {grad_a}, dB A + B dA = {jac} at B = 0"
    return True, ("at B = 0: B^T S -> 0 (the A-block of the gradient and of J^T), and "
                  "dB A + B dA -> dB A (sympy, symbolic sizes): J depends on dB only")


@dataclass(frozen=True)
class LoraMatrixCertificate:
    """Which matrix fact the sympy route checks: ``"lora-gradient"``, ``"gauge-kernel"`` or
    ``"lora-start"``.

    >>> LoraMatrixCertificate("gauge-kernel").verify(None)[0]
    True
    """

    claim: str

    def verify(self, statement) -> tuple:
        """``(True, detail)`` when the algebra checks, else ``(None, reason)``.

        >>> LoraMatrixCertificate("lora-start").verify(None)[0]
        True
        >>> LoraMatrixCertificate("nothing").verify(None)
        (None, "unknown claim 'nothing'")
        """
        checks: dict[str, Callable] = {"lora-gradient": _check_gradient,
                                       "gauge-kernel": _check_gauge, "lora-start": _check_start}
        if self.claim not in checks:
            return None, f"unknown claim {self.claim!r}"
        return checks[self.claim]()


# --------------------------------------------------------------------------------------
# z3: an axiomatised matrix algebra
# --------------------------------------------------------------------------------------

def _z3_algebra(ctx):
    """Axioms and named terms, built in the z3 context ``ctx``. Every axiom holds for real
    matrices of all sizes with a junk value for products/sums of incompatible shapes (all such
    axioms are shape-guarded)."""
    import z3

    Mat = z3.DeclareSort("Mat", ctx)
    Int, Real = z3.IntSort(ctx), z3.RealSort(ctx)
    rows, cols = z3.Function("rows", Mat, Int), z3.Function("cols", Mat, Int)
    mul, add = z3.Function("mul", Mat, Mat, Mat), z3.Function("add", Mat, Mat, Mat)
    neg, tp = z3.Function("neg", Mat, Mat), z3.Function("tp", Mat, Mat)
    smul = z3.Function("smul", Real, Mat, Mat)
    tr = z3.Function("tr", Mat, Real)
    zeros = z3.Function("zeros", Int, Int, Mat)
    P, Q, U = z3.Consts("P Q U", Mat)
    c = z3.Real("c", ctx)
    i, j = z3.Ints("i j", ctx)

    def comp(p, q):
        return cols(p) == rows(q)

    def same(p, q):
        return z3.And(rows(p) == rows(q), cols(p) == cols(q))

    fa = z3.ForAll
    ax = [
        fa([P, Q], z3.Implies(comp(P, Q), z3.And(rows(mul(P, Q)) == rows(P), cols(mul(P, Q)) == cols(Q))),
           patterns=[mul(P, Q)]),
        fa([P, Q], z3.Implies(same(P, Q), same(add(P, Q), P)), patterns=[add(P, Q)]),
        fa([P], z3.And(same(neg(P), P), rows(tp(P)) == cols(P), cols(tp(P)) == rows(P)),
           patterns=[neg(P)]),
        fa([P], z3.And(rows(tp(P)) == cols(P), cols(tp(P)) == rows(P), tp(tp(P)) == P),
           patterns=[tp(P)]),
        fa([c, P], same(smul(c, P), P), patterns=[smul(c, P)]),
        fa([i, j], z3.Implies(z3.And(i >= 1, j >= 1), z3.And(rows(zeros(i, j)) == i,
                                                              cols(zeros(i, j)) == j,
                                                              tp(zeros(i, j)) == zeros(j, i))),
           patterns=[zeros(i, j)]),
        # associativity, transpose of a product, distributivity
        fa([P, Q, U], z3.Implies(z3.And(comp(P, Q), comp(Q, U)), mul(mul(P, Q), U) == mul(P, mul(Q, U))),
           patterns=[mul(mul(P, Q), U), mul(P, mul(Q, U))]),
        fa([P, Q], z3.Implies(comp(P, Q), tp(mul(P, Q)) == mul(tp(Q), tp(P))), patterns=[tp(mul(P, Q))]),
        fa([P, Q, U], z3.Implies(z3.And(comp(P, Q), same(Q, U)),
                                 mul(P, add(Q, U)) == add(mul(P, Q), mul(P, U))),
           patterns=[mul(P, add(Q, U))]),
        fa([P, Q, U], z3.Implies(z3.And(same(P, Q), comp(P, U)),
                                 mul(add(P, Q), U) == add(mul(P, U), mul(Q, U))),
           patterns=[mul(add(P, Q), U)]),
        fa([P, Q], z3.Implies(same(P, Q), tp(add(P, Q)) == add(tp(P), tp(Q))), patterns=[tp(add(P, Q))]),
        fa([c, P], tp(smul(c, P)) == smul(c, tp(P)), patterns=[tp(smul(c, P))]),
        fa([c, P, Q], z3.Implies(comp(P, Q), mul(smul(c, P), Q) == smul(c, mul(P, Q))),
           patterns=[mul(smul(c, P), Q)]),
        fa([P, Q], z3.Implies(comp(P, Q), mul(P, neg(Q)) == neg(mul(P, Q))), patterns=[mul(P, neg(Q))]),
        fa([P], add(P, neg(P)) == zeros(rows(P), cols(P)), patterns=[add(P, neg(P))]),
        fa([P], add(P, zeros(rows(P), cols(P))) == P, patterns=[add(P, zeros(rows(P), cols(P)))]),
        fa([P, j], z3.Implies(j >= 1, mul(P, zeros(cols(P), j)) == zeros(rows(P), j)),
           patterns=[mul(P, zeros(cols(P), j))]),
        fa([P, i], z3.Implies(i >= 1, mul(zeros(i, rows(P)), P) == zeros(i, cols(P))),
           patterns=[mul(zeros(i, rows(P)), P)]),
        # trace: cyclic, linear, zero on zero
        fa([P, Q], z3.Implies(z3.And(comp(P, Q), comp(Q, P)), tr(mul(P, Q)) == tr(mul(Q, P))),
           patterns=[tr(mul(P, Q))]),
        fa([P, Q], z3.Implies(same(P, Q), tr(add(P, Q)) == tr(P) + tr(Q)), patterns=[tr(add(P, Q))]),
        fa([c, P], tr(smul(c, P)) == c * tr(P), patterns=[tr(smul(c, P))]),
        fa([i], tr(zeros(i, i)) == 0, patterns=[tr(zeros(i, i))]),
    ]
    zm, zn, zr = z3.Ints("m n r", ctx)
    ax += [zm >= 1, zn >= 1, zr >= 1]
    names = {}
    for name, rr, cc in (("B", zm, zr), ("A", zr, zn), ("E", zm, zr), ("F", zr, zn), ("S", zm, zn),
                         ("G1", zm, zn), ("G2", zm, zn), ("G", zr, zr), ("Pinv", zr, zm),
                         ("I_r", zr, zr)):
        names[name] = z3.Const(name, Mat)
        ax += [rows(names[name]) == rr, cols(names[name]) == cc]
    ax += [fa([P], z3.Implies(rows(P) == zr, mul(names["I_r"], P) == P), patterns=[mul(names["I_r"], P)])]
    ops = dict(mul=mul, add=add, neg=neg, tp=tp, smul=smul, tr=tr, zeros=zeros, dims=(zm, zn, zr))
    return ax, names, ops


def _z3_goals(claim: str, ctx):
    import z3

    ax, x, o = _z3_algebra(ctx)
    mul, add, neg, tp, smul, tr, zeros = (o[k] for k in ("mul", "add", "neg", "tp", "smul", "tr", "zeros"))
    zm, zn, zr = o["dims"]
    Bz, Az, Ez, Fz, Sz = x["B"], x["A"], x["E"], x["F"], x["S"]
    goals = {}
    if claim == "lora-gradient":
        x0, x1, x2, y, tt = z3.Reals("x0 x1 x2 y t", ctx)
        quad = (x1 * x1 + 2 * (x0 - y) * x2) / 2 + tt * x1 * x2 + tt * tt * x2 * x2 / 2
        goals["scalar chain rule: (x0 + t x1 + t^2 x2 - y)^2/2 = (x0-y)^2/2 + t (x0-y) x1 + t^2 q(t)"] = (
            [], z3.ForAll([x0, x1, x2, y, tt], (x0 + tt * x1 + tt * tt * x2 - y) ** 2 / 2
                          == (x0 - y) ** 2 / 2 + tt * (x0 - y) * x1 + tt * tt * quad))
        rr1, rr2 = z3.Reals("R1 R2", ctx)
        X = mul(Ez, Az)
        s_two = add(smul(rr1, x["G1"]), smul(rr2, x["G2"]))
        goals["adjoint: <R1 G1 + R2 G2, E A> = R1 <G1, E A> + R2 <G2, E A>"] = (
            ax, tr(mul(tp(s_two), X)) == rr1 * tr(mul(tp(x["G1"]), X)) + rr2 * tr(mul(tp(x["G2"]), X)))
        goals["<S, E A + B F> = <S, E A> + <S, B F>"] = (
            ax, tr(mul(tp(Sz), add(mul(Ez, Az), mul(Bz, Fz))))
            == tr(mul(tp(Sz), mul(Ez, Az))) + tr(mul(tp(Sz), mul(Bz, Fz))))
        goals["<S, E A> = <S A^T, E>"] = (
            ax, tr(mul(tp(Sz), mul(Ez, Az))) == tr(mul(tp(mul(Sz, tp(Az))), Ez)))
        goals["<S, B F> = <B^T S, F>"] = (
            ax, tr(mul(tp(Sz), mul(Bz, Fz))) == tr(mul(tp(mul(tp(Bz), Sz)), Fz)))
    elif claim == "gauge-kernel":
        G, Pinv = x["G"], x["Pinv"]
        goals["(B G) A + B (-G A) = 0"] = (
            ax, add(mul(mul(Bz, G), Az), mul(Bz, neg(mul(G, Az)))) == zeros(zm, zn))
        goals["<G_i, 0> = 0"] = (ax, tr(mul(tp(x["G1"]), zeros(zm, zn))) == 0)
        goals["P B = I_r and B G = 0 imply G = 0"] = (
            ax + [mul(Pinv, Bz) == x["I_r"]],
            z3.Implies(mul(Bz, G) == zeros(zm, zr), G == zeros(zr, zr)))
    elif claim == "lora-start":
        Z = zeros(zm, zr)
        goals["B = 0: B^T S = 0"] = (ax, mul(tp(Z), Sz) == zeros(zr, zn))
        goals["B = 0: dB A + B dA = dB A"] = (ax, add(mul(Ez, Az), mul(Z, Fz)) == mul(Ez, Az))
    return goals


def z3_matrix(statement, timeout_s: float) -> tuple:
    """The z3 route for the matrix statements: for each goal, unsat of the axioms (listed in
    :func:`_z3_algebra`) with the negated goal. ``sat`` of an axiomatised theory is no
    counterexample for real matrices, so the answer is True or None, never False.

    >>> from proofs import statement_by_id
    >>> z3_matrix(statement_by_id("R2.gauge-kernel"), 10.0)[0]
    True
    """
    import z3

    start = time.perf_counter()
    # a fresh context per call: E-matching depends on the order in which terms were created,
    # so in the shared global context a verdict could change with what was solved before
    ctx = z3.Context()
    goals = _z3_goals(statement.certificate.claim, ctx)
    if not goals:
        return None, f"no z3 goals for {statement.certificate.claim!r}", None
    done = []
    for name, (facts, goal) in goals.items():
        left = timeout_s - (time.perf_counter() - start)
        solver = z3.Solver(ctx=ctx)
        solver.set("timeout", max(1, int(max(0.5, left / 2) * 1000)))
        solver.set("smt.mbqi", False)   # E-matching only: unsat or unknown, never a hang
        solver.add(*facts)
        solver.add(z3.Not(goal))
        result = solver.check()
        if result != z3.unsat:
            why = solver.reason_unknown() if result == z3.unknown else "a model of the axioms"
            return None, f"z3 on '{name}': {result} ({why})", None
        done.append(name)
    return True, (f"z3 {z3.get_version_string()}: negation unsat for: " + "; ".join(done)
                  + ". Axioms: uninterpreted sort Mat; shape-guarded associativity, "
                  "distributivity, transpose of products, trace cyclicity and linearity, "
                  "zero matrices, negation"), None


# --------------------------------------------------------------------------------------
# The statements
# --------------------------------------------------------------------------------------

M = Symbol("M", integer=True, positive=True)
j = Symbol("j", integer=True, nonnegative=True)          # rank of J
mu = Symbol("mu", nonnegative=True)                        # PL constant lambda_min(J J^T)
lam, w = Symbol("lam", nonnegative=True), Symbol("w", nonnegative=True)
g2, q, rn, Lv = symbols("g2 q rn Lv", nonnegative=True)   # ||grad||^2, R^T J J^T R, ||R||^2, L
eta, beta = symbols("eta beta", positive=True)
D, Dn = symbols("D Dn", nonnegative=True)                  # L_t - L*, L_{t+1} - L*
v, d, gamma, qm = symbols("v d gamma q_i", positive=True)  # 1/(1+e^-z), -l'(z), margin, margin of Delta*
lv = Symbol("l", nonnegative=True)                          # l(z) = log(1 + e^{-z})

# Slack symbols (nonnegative, new).
_a, _b, _c, _e, _k, _p, _x, _z = symbols("a b c e k p x z", nonnegative=True)

MATRIX_HEAD = "for all sizes m, n, r >= 1, m x r B, E, r x n A, F, m x n G_i"


def _derivative_lemma() -> tuple:
    z = Symbol("z", real=True)
    u = sympy.exp(-z)
    vz = 1 / (1 + u)
    diff = sympy.simplify(-sympy.diff(sympy.log(1 + u), z) - (1 - vz))
    product = sympy.simplify(u * vz - (1 - vz))
    if diff != 0 or product != 0:
        return False, f"-l'(z) - (1 - v) -> {diff}, u v - (1 - v) -> {product}"
    return True, ("sympy: -d/dz log(1 + e^-z) = 1 - v and u v = 1 - v for u = e^-z, v = 1/(1+u)")


def _matrix_statements() -> list:
    return [
        Statement(
            id="R2.lora-gradient", source=SOURCE_PL,
            assumed=(
                ("N examples instead of 2: the derivative and the inner product are linear, term "
                 "by term"),
                "a gradient is the Riesz representer of the directional derivative",),
            title="grad_B L = S A^T and grad_A L = B^T S with S = sum_i R_i G_i",
            variables=(m, n, r), hypotheses=(),
            conclusion=Eq(Trace(S.T * (E * A + B * F)), Trace((S * A.T).T * E) + Trace((B.T * S).T * F),
                          evaluate=False),
            certificate=LoraMatrixCertificate("lora-gradient"), smt=z3_matrix,
            text=(f"{MATRIX_HEAD}, y, with R = calA(B A) - y and S = sum_i R_i G_i: "
                  "d/dt L(B + tE, A + tF) at t = 0 equals <S, E A + B F> = <S A^T, E> + <B^T S, F>, "
                  "so grad_B L = S A^T, grad_A L = B^T S, i.e. grad_theta L = J^T R"),
            notes="Checked for symbolic sizes: the directional derivative of the loss with two "
                  "examples (sympy, trace linearity), the adjoint identities by trace "
                  "cyclicity and transpose rules (sympy rotation check and z3 axioms), and sympy's "
                  "matrix calculus; entrywise sympy.diff at (m, n, r) = (1,1,1), (2,3,1), (3,2,2). "
                  "CITED, not machine-checked: N examples instead of 2 (the derivative and the "
                  "inner product are linear, so the sum over i is term by term), and that a "
                  "gradient is the Riesz representer of the directional derivative. The z3 "
                  "route is axiomatic (see z3_matrix): matrices of all sizes satisfy its axioms."),
        Statement(
            id="R2.gauge-kernel", source=SOURCE_PL,
            assumed=(
                "B has a left inverse (B^T B)^-1 B^T iff B has full column rank",
                "rank-nullity, for the consequence rank J <= r(m+n-r)",),
            title="J(BG, -GA) = 0 for every r x r G, and G -> (BG, -GA) is injective for full-rank B",
            variables=(m, n, r), hypotheses=(),
            conclusion=Eq(MatAdd(MatMul(B, Gauge, A), MatMul(B, -Gauge * A), evaluate=False),
                          ZeroMatrix(m, n), evaluate=False),
            certificate=LoraMatrixCertificate("gauge-kernel"), smt=z3_matrix,
            text=(f"{MATRIX_HEAD}, r x r G: (B G) A + B (-G A) = 0, so J(BG, -GA) = calA(0) = 0; "
                  "if B has a left inverse (full column rank), B G = 0 implies G = 0"),
            notes="The kernel of J therefore contains an r^2-dimensional subspace (injectivity of "
                  "G -> (BG, -GA), checked here through the left inverse (B^T B)^-1 B^T, whose "
                  "existence for full column rank is cited). Rank-nullity (cited) then gives "
                  "rank J <= r(m+n) - r^2 = r(m+n-r) (R1.identity); see R2.rank-J. For B of "
                  "lower rank the bound also holds (cited: the image of dB A + B dA is "
                  "{X : P X Q = 0} for the projectors P, Q onto col(B)^perp, row(A)^perp, of "
                  "dimension mn - (m - rank B)(n - rank A) <= r(m+n-r))."),
        Statement(
            id="R2.lora-start", source=SOURCE_PL,
            assumed=(
                ("a linear map from an (m r)-dimensional space has rank <= m r, for the "
                 "consequence rank J <= m r"),),
            title="at the LoRA start B = 0 the A-block of J (and of the gradient) vanishes",
            variables=(m, n, r), hypotheses=(),
            conclusion=Eq(MatMul(ZeroMatrix(m, r).T, S), ZeroMatrix(r, n), evaluate=False),
            certificate=LoraMatrixCertificate("lora-start"), smt=z3_matrix,
            text=(f"{MATRIX_HEAD}, m x n S at B = 0: B^T S = 0 and dB A + B dA = dB A, so "
                  "J(dB, dA) = calA(dB A) depends on the m r entries of dB only"),
            notes="Hence rank J <= m r at B = 0 (cited: a linear map from an (m r)-dimensional "
                  "space has rank <= m r); see R2.lora-start-rank."),
    ]


def _polynomial_statements() -> list:
    rank_hyp = j <= r * (m + n) - r**2
    full_hyp = j >= M
    start_rank = j <= r * m
    start_many = M > r * m
    spectral = q >= mu * rn
    descent = Dn <= D - eta * (1 - beta * eta / 2) * g2
    step = beta * eta <= 1
    pl = g2 >= 2 * mu * D
    v_ge_half, log_le = v >= Rational(1, 2), lv * v <= 1 - v
    deriv = Eq(d, 1 - v)
    d_ge, margin = d >= lv / 2, qm >= gamma
    return [
        Statement(
            id="R2.rank-J", source=f"{SOURCE_PL}; {LZB}",
            assumed=(
                "rank J <= r(m+n) - r^2 (R2.gauge-kernel and rank-nullity)",
                "lambda_min(J J^T) > 0 iff rank J = M, since rank(J J^T) = rank J",),
            title="rank J <= r(m+n) - r^2 and mu = lambda_min(J J^T) > 0 (rank J >= M) force "
                  "r(m+n-r) >= M, i.e. rho >= 1",
            variables=(r, m, n, M, j), hypotheses=(rank_hyp, full_hyp),
            conclusion=r * (m + n - r) >= M,
            certificate=SlackCertificate(((r, 1 + _a), (m, 1 + _b), (n, 1 + _c), (M, 1 + _k),
                                          (j, 1 + _k + _e)), ((rank_hyp, 1),)),
            notes="j stands for rank J. Cited: rank J <= r(m+n) - r^2 from R2.gauge-kernel and "
                  "rank-nullity; J J^T is M x M with rank(J J^T) = rank J, so lambda_min(J J^T) "
                  "> 0 iff rank J = M. rho = r(m+n-r)/M >= 1 is the conclusion divided by M > 0. The converse "
                  "holds generically: R2.pl-star-generic.<m>x<n>.r<r> (proofs/exact_rank.py) "
                  "prove rank J = M for every M <= r(m+n-r) at the committed PL* sizes by "
                  "exact rank over prime fields."),
        Statement(
            id="R2.pl-positive-every-M", source=f"{SOURCE_PL}, as read from the paper",
            assumed=(
                ("mu > 0 at some theta implies M <= r(m+n-r) (R2.rank-J), which makes this "
                 "refutation one of the paper's claim"),),
            title="FALSE: 'squared loss satisfies PL* with mu > 0 for every M' (it needs "
                  "M <= r(m+n-r); fails at r = m = n = 1, M = 2)",
            variables=(r, m, n, M), hypotheses=(r <= m, r <= n), conclusion=M <= r * (m + n - r),
            expected=False, witness={"r": 1, "m": 1, "n": 1, "M": 2},
            notes="By R2.rank-J, mu > 0 at some theta implies M <= r(m+n-r). So 'mu > 0 for every "
                  "M' implies this statement for all dimensions, which is refuted: squared-loss "
                  "PL* cannot remove the rank threshold; its constant is 0 at every theta once "
                  "rho < 1."),
        Statement(
            id="R2.lora-start-rank", source=SOURCE_PL,
            assumed=(
                "a linear map from an (m r)-dimensional space has rank <= m r",
                "rank J < M makes J J^T singular, so lambda_min(J J^T) = 0",),
            rests_on=(
                "a linear map from an (m r)-dimensional space has rank <= m r",),
            title="at B = 0, rank J <= r m, so mu = lambda_min(J J^T) = 0 whenever M > r m",
            variables=(r, m, M, j), hypotheses=(start_rank, start_many), conclusion=j < M,
            certificate=SlackCertificate(((r, 1 + _a), (m, 1 + _b), (M, 1 + _k), (j, _e)),
                                         ((start_rank, 1), (start_many, 1))),
            notes="j stands for rank J at B = 0; rank J <= r m is R2.lora-start. Cited: rank J < M "
                  "makes the M x M matrix J J^T singular, so lambda_min = 0 and the PL* constant "
                  "vanishes at the standard LoRA start whenever M > r m (e.g. r = 1, m = 768, "
                  "M > 768)."),
        Statement(
            id="R2.pl-star-spectral-term", source=f"{SOURCE_PL}; {LZB}",
            assumed=(
                ("spectral theorem: J J^T = Q diag(lambda) Q^T, Q orthogonal, every lambda_j >= "
                 "lambda_min"),
                "||Q^T R|| = ||R|| and summing the M termwise inequalities (Rayleigh quotient)",),
            title="spectral step, one eigen-direction: lambda_j z_j^2 >= mu z_j^2 when lambda_j >= mu",
            variables=(lam, mu, w), hypotheses=(lam >= mu,), conclusion=lam * w >= mu * w,
            certificate=SlackCertificate(((mu, _k), (lam, _k + _a), (w, _e))),
            notes="w stands for z_j^2 >= 0 with z = Q^T R. Cited: the spectral theorem J J^T = "
                  "Q diag(lambda) Q^T with Q orthogonal and every lambda_j >= lambda_min = mu >= 0 "
                  "(J J^T is symmetric positive semidefinite); ||Q^T R|| = ||R||; summing the "
                  "M termwise inequalities gives R^T J J^T R >= mu ||R||^2 (Rayleigh quotient)."),
        Statement(
            id="R2.pl-star-squared", source=f"{SOURCE_PL}; {LZB}",
            assumed=(
                "Rayleigh bound R^T J J^T R >= lambda_min(J J^T) ||R||^2 (spectral theorem)",
                "||grad L||^2 = R^T J J^T R, from grad L = J^T R (R2.lora-gradient)",),
            rests_on=(
                "Rayleigh bound R^T J J^T R >= lambda_min(J J^T) ||R||^2 (spectral theorem)",),
            title="squared loss: 1/2 ||grad L||^2 >= mu (L - 0) with mu = lambda_min(J J^T) (PL*)",
            variables=(g2, q, rn, Lv, mu),
            hypotheses=(Eq(g2, q), spectral, Eq(Lv, rn / 2)),
            conclusion=g2 / 2 >= mu * Lv,
            certificate=SlackCertificate(((g2, _a), (q, _b), (rn, _c), (Lv, _e), (mu, _k)),
                                         ((Eq(g2, q), Rational(1, 2)), (spectral, Rational(1, 2)),
                                          (Eq(Lv, rn / 2), -mu))),
            notes="g2 = ||grad_theta L||^2, q = R^T J J^T R, rn = ||R||^2, Lv = L(theta); L* = 0 "
                  "(interpolation). Eq(g2, q): grad_theta L = J^T R (R2.lora-gradient), so "
                  "||grad||^2 = <J^T R, J^T R> = R^T J J^T R (definition of the adjoint). "
                  "q >= mu rn: R2.pl-star-spectral-term summed over the eigenbasis (spectral "
                  "theorem cited). Lv = rn / 2: the definition of the loss."),
        Statement(
            id="R2.pl-linear-rate", source=f"{SOURCE_PL}; Polyak (1963), Karimi et al. (2016)",
            assumed=(
                ("descent lemma: L(theta - eta g) <= L(theta) - eta(1 - beta eta/2)||g||^2 for "
                 "beta-smooth L (a premise of the claim)"),),
            title="descent lemma + PL with eta <= 1/beta: L_{t+1} - L* <= (1 - eta mu)(L_t - L*)",
            variables=(eta, beta, mu, D, Dn, g2), hypotheses=(descent, step, pl),
            conclusion=Dn <= (1 - eta * mu) * D,
            certificate=SlackCertificate(((eta, _a), (beta, _b), (mu, _k), (D, _c), (Dn, _e),
                                          (g2, _p)),
                                         ((descent, 1), (step, eta * g2 / 2), (pl, eta / 2))),
            notes="D = L_t - L*, Dn = L_{t+1} - L* (>= 0 since L* is the infimum), g2 = "
                  "||grad L(theta_t)||^2, theta_{t+1} = theta_t - eta grad L. Cited, not "
                  "machine-checked: the descent lemma L(theta - eta g) <= L(theta) - eta(1 - "
                  "beta eta / 2)||g||^2 for a beta-smooth L (along the segment). PL is the "
                  "hypothesis 1/2 g2 >= mu D. For LoRA, beta and mu are local (they depend on "
                  "||B||, ||A||), so this is a one-step statement."),
        Statement(
            id="R2.logistic-derivative-bound", source=f"{SOURCE_PL} (cross-entropy)",
            assumed=(
                "log(1 + u) <= u for u > -1 (concavity of log)",
                "z >= 0 iff v = 1/(1 + e^-z) >= 1/2 (monotonicity of exp)",),
            rests_on=(
                "log(1 + u) <= u for u > -1 (concavity of log)",),
            title="logistic loss: -l'(z) >= l(z)/2 for z >= 0 (u = e^-z, v = 1/(1+u): -l' = 1 - v, "
                  "l <= u)",
            variables=(v, lv, d), hypotheses=(v_ge_half, log_le, deriv), conclusion=d_ge,
            certificate=LemmaCertificate(
                SlackCertificate(((v, Rational(1, 2) + _a), (lv, _e), (d, _c)),
                                 ((deriv, 1), (log_le, 1), (v_ge_half, lv))),
                (("logistic derivative", _derivative_lemma),)),
            notes="u = e^-z, v = 1/(1+u) in (0, 1), l = l(z) = log(1 + u), d = -l'(z). Checked: "
                  "-l'(z) = 1 - v and u v = 1 - v (sympy lemmas in route 1; route 2 takes d = 1 - v "
                  "as a hypothesis); then v >= 1/2 and l v <= 1 - v give d >= l/2 (both routes). "
                  "CITED: log(1 + u) <= u for u > -1 (concavity of log), which is l v <= 1 - v "
                  "after multiplying by v > 0; z >= 0 iff u = e^-z <= 1 iff v >= 1/2 "
                  "(monotonicity of exp)."),
        Statement(
            id="R2.logistic-lojasiewicz", source=f"{SOURCE_PL} (cross-entropy)",
            assumed=(
                "log(1 + u) <= u for u > -1, through d >= l/2 (R2.logistic-derivative-bound)",
                "grad L(Delta) = (1/N) sum_i l'(z_i) s_i G_i",
                "Cauchy-Schwarz: ||grad L|| >= <-grad L, Delta*> for ||Delta*||_F = 1",),
            rests_on=(
                "log(1 + u) <= u for u > -1, through d >= l/2 (R2.logistic-derivative-bound)",
                "Cauchy-Schwarz: ||grad L|| >= <-grad L, Delta*> for ||Delta*||_F = 1",),
            title="with a separator of margin gamma: -l'(z_i) s_i<G_i,Delta*> >= gamma l(z_i)/2, "
                  "hence ||grad L|| >= gamma L / 2 where all margins are >= 0",
            variables=(d, lv, qm, gamma), hypotheses=(d_ge, margin), conclusion=d * qm >= gamma * lv / 2,
            certificate=SlackCertificate(((gamma, _k), (qm, _k + _a), (lv, _e), (d, _e / 2 + _b))),
            notes="Per example i: d = -l'(z_i) with z_i = s_i<G_i, Delta> >= 0 (so d >= l/2 by "
                  "R2.logistic-derivative-bound), q_i = s_i<G_i, Delta*> >= gamma with "
                  "||Delta*||_F = 1. CITED: grad L(Delta) = (1/N) sum_i l'(z_i) s_i G_i; "
                  "Cauchy-Schwarz ||grad L|| >= <-grad L, Delta*> = (1/N) sum_i d_i q_i; averaging "
                  "the per-example inequality gives ||grad L|| >= gamma L / 2. This is a "
                  "Lojasiewicz-type inequality in Delta (L* = 0 is not attained), not PL, and it "
                  "needs a rank-r separator to exist (the capacity question E4). In (B, A) the "
                  "gradient is (S A^T, B^T S) and vanishes at B = A = 0 where L = log 2, so it "
                  "does not transfer to the factors without a bound on ||B||, ||A|| from below."),
    ]


def pl_statements() -> list:
    """The statements of R2 (PL for LoRA), matrix statements first.

    >>> len(pl_statements())
    11
    """
    return _matrix_statements() + _polynomial_statements()
