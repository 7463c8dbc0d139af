"""Seed 002, gradient flow for LoRA (THEORY.md section 3): the flow equations for ``W0 + B A``,
the conserved ``B^T B - A A^T``, the gap between sequential and simultaneous steps, the
trace-squared and Frobenius (Eckart-Young-Mirsky) flows, and the power-law tails.

Setting: ``W = W0 + B A`` with ``B`` m x r, ``A`` r x n, a differentiable loss ``f(W)`` with
gradient ``G = grad f(W)``; the flow is ``dB/dt = -G A^T``, ``dA/dt = -B^T G``.

Statements, and what each route checks (each statement's ``notes`` and ``assumed`` say what is
cited):

``GF.flow-equations``
    sympy: the expansion ``(B + tE)(A + tF) = B A + t(E A + B F) + t^2 E F`` and the adjoints
    ``<G, E A> = <G A^T, E>``, ``<G, B F> = <B^T G, F>`` with symbolic sizes (MatrixSymbol
    algebra, trace rotation), and, at explicit sizes, ``sympy.diff`` of ``f(W0 + B A)`` for an
    *undefined* function ``f`` of all ``m n`` entries, entry by entry (sympy's chain rule).
    z3: the same expansion and adjoints in an axiomatised matrix algebra.
``GF.balancedness``
    ``d/dt (B^T B - A A^T) = 0`` along the flow: sympy expands ``C(B + h B', A + h A')`` with
    symbolic sizes and reads off the coefficient of ``h`` (the zero matrix), and entrywise at
    explicit sizes with a general ``G``; z3 derives it in the axiomatised algebra.
``GF.sequential-step-gap``
    one sequential step (A first, then B with the new A) differs from one simultaneous step by
    at most ``eta^2 (Lip b^2 g (a + eta b g) + b g^2)``: a polynomial inequality in the norms,
    by a slack certificate and by z3.
``GF.trace-flow``
    for ``f = 1/2 (tr W - t)^2``: ``grad f = c I`` (``c = tr W - t``), ``d(BA)/dt = -c (A^T A +
    B B^T)`` and ``dc/dt = -c (||A||^2 + ||B||^2)``; sympy (symbolic sizes and entrywise) and z3.
``GF.balanced-decay``
    ``D = 2 (a2 + b2) E`` and ``d = a2 - b2`` give ``D >= 2 |d| E``: with ``E`` the trace loss
    (or one spectral mode's error) and ``D = -dE/dt``, the conserved ``d`` forces
    ``E(t) <= E(0) exp(-2 |d| t)`` (Gronwall, cited); zero loss whenever ``||A0|| != ||B0||``.
``GF.trace-lora-traceless`` (expected False)
    THEORY.md's "the traceless part of the update is never touched", read for the LoRA update
    ``B A``: refuted at ``m = n = 2``, ``r = 1``, ``B = 0``, ``A = (1, 0)``, where
    ``d(BA)/dt = -c A^T A`` has a traceless part. (For the full update ``W' = -c I`` it holds.)
``GF.spectral-modes``
    ``Y = P Ds Q + Y_perp`` (``P^T P = Q Q^T = I_r``, ``P^T Y_perp = 0``, ``Y_perp Q^T = 0``),
    ``B = P Db``, ``A = Da Q``: the Frobenius flow keeps this form with diagonal ``Db, Da``
    and decouples into modes ``b_j' = a_j (s_j - a_j b_j)``, ``a_j' = b_j (s_j - a_j b_j)``.
``GF.ey-tail-alpha1``
    ``1/(r+1) <= sum_{j>r} j^-2 <= 1/r``, so the relative error at ``alpha = 1`` lies in
    ``[sqrt(3)/pi, sqrt(6)/pi] r^(-1/2)`` (the seed's ``O(r^(-1/2))``); fully checked.
``GF.ey-tail-general``
    ``(r+1)^(1-p)/(p-1) <= zeta(p, r+1) <= r^(1-p)/(p-1)`` for ``p = 2 alpha > 1``, hence
    ``e(r) = Theta(r^(1/2 - alpha))``; proved assuming integral comparison for a decreasing
    function.

Note: sympy 1.14 differentiates ``(Trace(W) - t)`` with respect to ``W`` as ``0`` (it is the
identity); this module never uses that rule, only directional derivatives and ``sympy.diff``
entry by entry.

Examples
--------
>>> [s.id for s in gradient_flow_statements()][:3]
['GF.flow-equations', 'GF.balancedness', 'GF.trace-flow']
>>> from proofs.statement import check
>>> check(gradient_flow_statements()[1]).status
'proved'
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from typing import Callable

import sympy
from sympy import (And, Eq, Identity, MatAdd, MatMul, MatrixSymbol, Symbol, Trace, ZeroMatrix,
                   symbols)

from .routes import SlackCertificate
from .statement import Statement

__all__ = ["gradient_flow_statements", "FlowCertificate", "TailCertificate", "z3_flow",
           "flow_velocity", "explicit_flow_check", "explicit_balance_check",
           "explicit_trace_check", "explicit_mode_check", "SOURCE", "THEORY_READING",
           "EXPLICIT_SIZES"]

SOURCE = ("Rushka, Klabjan, Rank-Accuracy Trade-off for LoRA: A Gradient-Flow Analysis "
          "(seed 002)")
THEORY_READING = "THEORY.md section 3 (our reading of seed 002)"

m, n, r = symbols("m n r", integer=True, positive=True)
B = MatrixSymbol("B", m, r)
A = MatrixSymbol("A", r, n)
E = MatrixSymbol("E", m, r)      # a direction in B
F = MatrixSymbol("F", r, n)      # a direction in A
G = MatrixSymbol("G", m, n)      # grad f(W)
W0 = MatrixSymbol("W0", m, n)
P = MatrixSymbol("P", m, r)      # top-r left singular vectors
Q = MatrixSymbol("Q", r, n)      # top-r right singular vectors, transposed
Yp = MatrixSymbol("Y_perp", m, n)
Ds, Da, Db = (MatrixSymbol(name, r, r) for name in ("Ds", "Da", "Db"))
t, h, c = symbols("t h c", real=True)
_Bn, _An = MatrixSymbol("B", n, r), MatrixSymbol("A", r, n)   # the square case W = n x n

#: Explicit sizes (m, n, r) of the entrywise sympy checks.
EXPLICIT_SIZES = ((1, 1, 1), (2, 2, 1), (2, 3, 2), (3, 2, 2), (3, 3, 2))
#: Ranks of the entrywise checks of the spectral modes.
MODE_RANKS = (1, 2, 3)

MATRIX_HEAD = "for all sizes m, n, r >= 1, m x r B, r x n A, m x n G = grad f(W0 + B A)"


# --------------------------------------------------------------------------------------
# Small public helpers (also used by the tests)
# --------------------------------------------------------------------------------------

def flow_velocity(B_, A_, G_):
    """The flow ``(dB/dt, dA/dt) = (-G A^T, -B^T G)`` (sympy matrices, MatrixSymbols or arrays).

    >>> dB, dA = flow_velocity(sympy.Matrix([[1], [2]]), sympy.Matrix([[3, 4]]), sympy.eye(2))
    >>> dB.T, dA
    (Matrix([[-3, -4]]), Matrix([[-1, -2]]))
    """
    return -(G_ @ A_.T), -(B_.T @ G_)


def _symbols_matrix(name, rows, cols):
    return sympy.Matrix(rows, cols, lambda i, j: Symbol(f"{name}{i}_{j}", real=True))


def explicit_flow_check(mm: int, nn: int, rr: int) -> bool:
    """At explicit sizes, for an undefined function ``f`` of the ``mm nn`` entries of
    ``W = W0 + B A``, ``sympy.diff(f(W), B_ij) = (grad f(W) A^T)_ij`` and
    ``sympy.diff(f(W), A_ij) = (B^T grad f(W))_ij`` for every entry (sympy's chain rule).

    >>> explicit_flow_check(2, 3, 2)
    True
    """
    Bx, Ax, W0x = (_symbols_matrix(s, *shape) for s, shape in
                   (("b", (mm, rr)), ("a", (rr, nn)), ("w", (mm, nn))))
    f = sympy.Function("f")
    W = W0x + Bx * Ax
    entries = list(W)
    loss = f(*entries)
    x = symbols(f"x0:{mm * nn}", real=True)
    grad = sympy.Matrix(mm, nn, lambda k, l: sympy.Derivative(f(*x), x[k * nn + l]).subs(
        dict(zip(x, entries))))
    dB, dA = flow_velocity(Bx, Ax, grad)
    for M_, velocity in ((Bx, dB), (Ax, dA)):
        for i in range(M_.rows):
            for j in range(M_.cols):
                if sympy.simplify(sympy.diff(loss, M_[i, j]) + velocity[i, j]) != 0:
                    return False
    return True


def _balance(B_, A_):
    return B_.T * B_ - A_ * A_.T


def explicit_balance_check(mm: int, nn: int, rr: int) -> bool:
    """At explicit sizes with every entry of ``B``, ``A`` and ``G`` an independent symbol:
    ``d/dh C(B + h B', A + h A')`` at ``h = 0`` is the zero matrix, ``C = B^T B - A A^T``.

    >>> explicit_balance_check(3, 2, 2)
    True
    """
    Bx, Ax, Gx = (_symbols_matrix(s, *shape) for s, shape in
                  (("b", (mm, rr)), ("a", (rr, nn)), ("g", (mm, nn))))
    dB, dA = flow_velocity(Bx, Ax, Gx)
    moved = _balance(Bx + h * dB, Ax + h * dA)
    return all(sympy.expand(sympy.diff(e, h).subs(h, 0)) == 0 for e in moved)


def explicit_trace_check(nn: int, rr: int) -> bool:
    """At explicit sizes, ``f = 1/2 (tr(W0 + B A) - t)^2``: ``-sympy.diff(f, B_ij)`` and
    ``-sympy.diff(f, A_ij)`` are the entries of ``-c A^T`` and ``-c B^T`` (``c = tr W - t``), and
    ``d(BA)/dt = -c (A^T A + B B^T)`` along them.

    >>> explicit_trace_check(3, 2)
    True
    """
    Bx, Ax, W0x = (_symbols_matrix(s, *shape) for s, shape in
                   (("b", (nn, rr)), ("a", (rr, nn)), ("w", (nn, nn))))
    W = W0x + Bx * Ax
    cval = W.trace() - t
    loss = cval**2 / 2
    dB, dA = -cval * Ax.T, -cval * Bx.T
    for M_, velocity in ((Bx, dB), (Ax, dA)):
        for i in range(M_.rows):
            for j in range(M_.cols):
                if sympy.expand(-sympy.diff(loss, M_[i, j]) - velocity[i, j]) != 0:
                    return False
    update = dB * Ax + Bx * dA
    return all(sympy.expand(e) == 0 for e in update + cval * (Ax.T * Ax + Bx * Bx.T))


def explicit_mode_check(rr: int) -> bool:
    """With diagonal ``Ds, Da, Db`` of size ``rr`` (symbols on the diagonal), the matrices
    ``D1 = (Ds - Db Da) Da^T`` and ``D2 = Db^T (Ds - Db Da)`` are diagonal with entries
    ``a_j (s_j - a_j b_j)`` and ``b_j (s_j - a_j b_j)``.

    >>> explicit_mode_check(3)
    True
    """
    s = symbols(f"s0:{rr}", real=True)
    a = symbols(f"a0:{rr}", real=True)
    b = symbols(f"b0:{rr}", real=True)
    S_, A_, B_ = sympy.diag(*s), sympy.diag(*a), sympy.diag(*b)
    D1 = (S_ - B_ * A_) * A_.T
    D2 = B_.T * (S_ - B_ * A_)
    want1 = sympy.diag(*[a[j] * (s[j] - a[j] * b[j]) for j in range(rr)])
    want2 = sympy.diag(*[b[j] * (s[j] - a[j] * b[j]) for j in range(rr)])
    return all(sympy.expand(e) == 0 for e in list(D1 - want1) + list(D2 - want2))


# --------------------------------------------------------------------------------------
# Route 1 for the matrix statements
# --------------------------------------------------------------------------------------

def _is_zero_matrix(expr) -> bool:
    return expr == 0 or isinstance(expr, ZeroMatrix)


def _rotations(trace_a, trace_b) -> bool:
    """Both are traces of products whose factor lists are cyclic rotations of each other."""
    if not (isinstance(trace_a, Trace) and isinstance(trace_b, Trace)):
        return False
    fa = trace_a.arg.args if isinstance(trace_a.arg, MatMul) else (trace_a.arg,)
    fb = trace_b.arg.args if isinstance(trace_b.arg, MatMul) else (trace_b.arg,)
    return len(fa) == len(fb) and any(fa[k:] + fa[:k] == fb for k in range(len(fa)))


def _check_flow_equations() -> tuple:
    steps = []
    moved = ((B + t * E) * (A + t * F)).expand().doit()
    want = (B * A + t * (E * A + B * F) + t**2 * E * F).expand().doit()
    if not _is_zero_matrix((moved - want).expand().doit()):
        return None, f"(B + tE)(A + tF) expanded to {moved}"
    steps.append("(B + tE)(A + tF) = BA + t(EA + BF) + t^2 EF (sympy, symbolic m, n, r): the "
                 "first-order change of W0 + BA in direction (E, F) is EA + BF")
    lhs_b, rhs_b = Trace(G.T * E * A), Trace((G * A.T).T * E).doit()
    lhs_a, rhs_a = Trace(G.T * B * F), Trace((B.T * G).T * F).doit()
    if not (_rotations(lhs_b, rhs_b) and (lhs_a == rhs_a or _rotations(lhs_a, rhs_a))):
        return None, f"{lhs_b} vs {rhs_b} or {lhs_a} vs {rhs_a} are not cyclic rotations"
    split = Trace((G.T * (E * A + B * F)).expand()).doit()
    if sympy.expand(split - lhs_b - lhs_a) != 0:
        return None, f"<G, EA + BF> = {split} does not split"
    steps.append(f"<G, EA> = {lhs_b} = {rhs_b} = <G A^T, E> and <G, BF> = {lhs_a} = {rhs_a} = "
                 "<B^T G, F> (trace rotation; symbolic sizes)")
    for size in EXPLICIT_SIZES:
        if not explicit_flow_check(*size):
            return None, f"entrywise chain rule fails at (m, n, r) = {size}"
    steps.append(f"entrywise sympy.diff of f(W0 + BA), f an undefined function of all entries, "
                 f"at (m, n, r) in {list(EXPLICIT_SIZES)}")
    return True, "; ".join(steps)


def _check_balancedness() -> tuple:
    dB, dA = -G * A.T, -B.T * G
    moved = _balance(B + h * dB, A + h * dA).expand().doit()
    first = sympy.diff(moved, h).subs(h, 0).doit()
    if not _is_zero_matrix(first):
        return None, f"d/dh C(B + hB', A + hA') at h = 0 reduced to {first}"
    for size in EXPLICIT_SIZES:
        if not explicit_balance_check(*size):
            return None, f"entrywise check fails at (m, n, r) = {size}"
    return True, ("C(B + hB', A + hA') = C(B, A) + h^2 (A G^T G A^T - B^T G G^T B) with "
                  "B' = -G A^T, A' = -B^T G (sympy, symbolic m, n, r): the coefficient of h, "
                  "dC/dt, is the zero matrix; entrywise with a general G at (m, n, r) in "
                  f"{list(EXPLICIT_SIZES)}")


def _check_trace_flow() -> tuple:
    Wn = MatrixSymbol("W", n, n)
    Dn = MatrixSymbol("D", n, n)
    s = Symbol("s", real=True)
    loss = (Trace(Wn + s * Dn).doit() - t) ** 2 / 2
    directional = sympy.diff(loss, s).subs(s, 0)
    inner = Trace((c * Identity(n)).T * Dn).doit().subs(c, Trace(Wn) - t)
    if sympy.expand(directional - inner) != 0:
        return None, f"d/ds f(W + sD) = {directional}, <cI, D> = {inner}"
    Bn, An = MatrixSymbol("B", n, r), MatrixSymbol("A", r, n)
    dB, dA = -c * (Identity(n) * An.T).doit(), -c * (Bn.T * Identity(n)).doit()
    update = (dB * An + Bn * dA).expand().doit()
    want = (-c * (An.T * An + Bn * Bn.T)).expand().doit()
    if not _is_zero_matrix((update - want).expand().doit()):
        return None, f"d(BA)/dt = {update}"
    rate = Trace(update).doit().expand()
    want_rate = (-c * (Trace(An.T * An) + Trace(Bn * Bn.T))).expand()
    if sympy.expand(rate - want_rate) != 0:
        return None, f"d tr(BA)/dt = {rate}"
    lv = c**2 / 2
    if sympy.expand(c * want_rate - (-2 * lv * (Trace(An.T * An) + Trace(Bn * Bn.T)))) != 0:
        return None, "dL/dt = c dc/dt does not reduce"
    for nn, rr in ((1, 1), (2, 1), (3, 2)):
        if not explicit_trace_check(nn, rr):
            return None, f"entrywise check fails at n = {nn}, r = {rr}"
    return True, ("d/ds f(W + sD) at s = 0 = (tr W - t) tr D = <c I, D>, so grad f = c I; with "
                  "B' = -c A^T, A' = -c B^T: d(BA)/dt = -c(A^T A + B B^T) and d tr(BA)/dt = "
                  "-c(||A||^2 + ||B||^2) (sympy, symbolic n, r), hence dL/dt = c dc/dt = "
                  "-2(||A||^2 + ||B||^2) L; entrywise sympy.diff at (n, r) in [(1, 1), (2, 1), "
                  "(3, 2)]")


def _contract(expr, rules: dict):
    """Rewrite adjacent factor pairs of every product term by ``rules`` ({(X, Y): Z})."""
    expr = expr.expand().doit()
    terms = expr.args if isinstance(expr, MatAdd) else (expr,)
    out = []
    for term in terms:
        if isinstance(term, MatMul):
            coeff, mats = term.as_coeff_matrices()
            mats = list(mats)
            changed = True
            while changed:
                changed = False
                for k in range(len(mats) - 1):
                    if (mats[k], mats[k + 1]) in rules:
                        mats[k:k + 2] = [rules[(mats[k], mats[k + 1])]]
                        changed = True
                        break
            term = MatMul(coeff, *mats).doit() if mats else coeff
        out.append(term)
    return MatAdd(*out).doit() if len(out) > 1 else out[0]


def _check_spectral_modes() -> tuple:
    rules = {(Q, Q.T): Identity(r), (P.T, P): Identity(r), (P.T, Yp): ZeroMatrix(r, n),
             (Yp, Q.T): ZeroMatrix(m, r)}
    Y = P * Ds * Q + Yp
    Bm, Am = P * Db, Da * Q
    R = Y - Bm * Am
    velocity_b = _contract(R * Am.T, rules)
    velocity_a = _contract(Bm.T * R, rules)
    want_b = (P * (Ds - Db * Da) * Da.T).expand().doit()
    want_a = ((Db.T * (Ds - Db * Da)) * Q).expand().doit()
    if not (_is_zero_matrix((velocity_b - want_b).expand().doit())
            and _is_zero_matrix((velocity_a - want_a).expand().doit())):
        return None, f"(Y - BA)A^T -> {velocity_b}, B^T(Y - BA) -> {velocity_a}"
    conserved = _contract(_balance(Bm, Am), rules)
    if not _is_zero_matrix((conserved - (Db.T * Db - Da * Da.T)).expand().doit()):
        return None, f"B^T B - A A^T -> {conserved}"
    for rr in MODE_RANKS:
        if not explicit_mode_check(rr):
            return None, f"the diagonal modes fail at r = {rr}"
    return True, ("with P^T P = Q Q^T = I_r, P^T Y_perp = 0, Y_perp Q^T = 0 (sympy, symbolic "
                  "m, n, r): (Y - BA)A^T = P (Ds - Db Da) Da^T, B^T (Y - BA) = Db^T (Ds - Db Da) "
                  "Q and B^T B - A A^T = Db^T Db - Da Da^T; for diagonal Ds, Da, Db the "
                  "velocities are diagonal with entries a_j(s_j - a_j b_j), b_j(s_j - a_j b_j) "
                  f"(entrywise at r in {list(MODE_RANKS)})")


@dataclass(frozen=True)
class FlowCertificate:
    """Which matrix fact the sympy route checks: ``"flow-equations"``, ``"balancedness"``,
    ``"trace-flow"`` or ``"spectral-modes"``.

    >>> FlowCertificate("balancedness").verify(None)[0]
    True
    >>> FlowCertificate("nothing").verify(None)
    (None, "unknown claim 'nothing'")
    """

    claim: str

    def verify(self, statement) -> tuple:
        """``(True, detail)`` when the algebra checks, else ``(None, reason)``.

        >>> FlowCertificate("trace-flow").verify(None)[0]
        True
        """
        checks: dict[str, Callable] = {"flow-equations": _check_flow_equations,
                                       "balancedness": _check_balancedness,
                                       "trace-flow": _check_trace_flow,
                                       "spectral-modes": _check_spectral_modes}
        if self.claim not in checks:
            return None, f"unknown claim {self.claim!r}"
        return checks[self.claim]()


# --------------------------------------------------------------------------------------
# Route 2 for the matrix statements: an axiomatised matrix algebra in z3
# --------------------------------------------------------------------------------------

#: The axioms each claim's goals are decided with (a smaller set keeps E-matching finite).
Z3_AXIOMS = {
    "flow-equations": ("shapes", "tp", "assoc", "tpmul", "distL", "distR", "smul", "smulmul",
                       "smuldist", "addassoc", "trace"),
    "balancedness": ("shapes", "tp", "assoc", "tpmul", "neg", "addcomm", "addassoc", "addneg"),
    "trace-flow": ("shapes", "tp", "eye", "smul", "smulmul", "smuldist", "trace"),
    "spectral-modes": ("shapes", "tp", "eye", "assoc", "tpmul", "distL", "distR", "neg",
                       "zeros", "addneg", "diag"),
}


def _z3_algebra(ctx, groups):
    """Axioms (by group) and operations of the matrix algebra, in the z3 context ``ctx``.

    Every axiom holds for real matrices of all sizes, with a junk value for sums and
    products of incompatible shapes (all axioms are shape-guarded), so what z3 derives from them
    holds for real matrices."""
    import z3

    Mat = z3.DeclareSort("Mat", ctx)
    Int, Real = z3.IntSort(ctx), z3.RealSort(ctx)
    rows, cols = z3.Function("rows", Mat, Int), z3.Function("cols", Mat, Int)
    mul, add = z3.Function("mul", Mat, Mat, Mat), z3.Function("add", Mat, Mat, Mat)
    neg, tp = z3.Function("neg", Mat, Mat), z3.Function("tp", Mat, Mat)
    smul = z3.Function("smul", Real, Mat, Mat)
    tr = z3.Function("tr", Mat, Real)
    zeros = z3.Function("zeros", Int, Int, Mat)
    eye = z3.Function("eye", Int, Mat)
    diag = z3.Function("diag", Mat, z3.BoolSort(ctx))
    X, Y_, U = z3.Consts("X Y U", Mat)
    k, l = z3.Reals("k l", ctx)
    i, j = z3.Ints("i j", ctx)
    fa, imp, both = z3.ForAll, z3.Implies, z3.And

    def comp(p, q):
        return cols(p) == rows(q)

    def same(p, q):
        return both(rows(p) == rows(q), cols(p) == cols(q))

    table = {
        "shapes": [
            fa([X, Y_], imp(comp(X, Y_), both(rows(mul(X, Y_)) == rows(X), cols(mul(X, Y_)) == cols(Y_))),
               patterns=[mul(X, Y_)]),
            fa([X, Y_], imp(same(X, Y_), same(add(X, Y_), X)), patterns=[add(X, Y_)]),
            fa([X], same(neg(X), X), patterns=[neg(X)]),
            fa([k, X], same(smul(k, X), X), patterns=[smul(k, X)]),
        ],
        "tp": [fa([X], both(rows(tp(X)) == cols(X), cols(tp(X)) == rows(X), tp(tp(X)) == X),
                  patterns=[tp(X)])],
        "eye": [fa([i], imp(i >= 1, both(rows(eye(i)) == i, cols(eye(i)) == i, tp(eye(i)) == eye(i))),
                   patterns=[eye(i)]),
                fa([X], mul(eye(rows(X)), X) == X, patterns=[mul(eye(rows(X)), X)]),
                fa([X], mul(X, eye(cols(X))) == X, patterns=[mul(X, eye(cols(X)))])],
        "zeros": [fa([i, j], imp(both(i >= 1, j >= 1), both(rows(zeros(i, j)) == i, cols(zeros(i, j)) == j)),
                     patterns=[zeros(i, j)]),
                  fa([X], add(X, zeros(rows(X), cols(X))) == X, patterns=[add(X, zeros(rows(X), cols(X)))]),
                  fa([X, j], imp(j >= 1, mul(X, zeros(cols(X), j)) == zeros(rows(X), j)),
                     patterns=[mul(X, zeros(cols(X), j))]),
                  fa([X, i], imp(i >= 1, mul(zeros(i, rows(X)), X) == zeros(i, cols(X))),
                     patterns=[mul(zeros(i, rows(X)), X)])],
        "assoc": [fa([X, Y_, U], imp(both(comp(X, Y_), comp(Y_, U)), mul(mul(X, Y_), U) == mul(X, mul(Y_, U))),
                     patterns=[mul(mul(X, Y_), U), mul(X, mul(Y_, U))])],
        "tpmul": [fa([X, Y_], imp(comp(X, Y_), tp(mul(X, Y_)) == mul(tp(Y_), tp(X))), patterns=[tp(mul(X, Y_))])],
        "distL": [fa([X, Y_, U], imp(both(comp(X, Y_), same(Y_, U)), mul(X, add(Y_, U)) == add(mul(X, Y_), mul(X, U))),
                     patterns=[mul(X, add(Y_, U))])],
        "distR": [fa([X, Y_, U], imp(both(same(X, Y_), comp(X, U)), mul(add(X, Y_), U) == add(mul(X, U), mul(Y_, U))),
                     patterns=[mul(add(X, Y_), U)])],
        "neg": [fa([X], tp(neg(X)) == neg(tp(X)), patterns=[tp(neg(X))]),
                fa([X, Y_], imp(comp(X, Y_), mul(neg(X), Y_) == neg(mul(X, Y_))), patterns=[mul(neg(X), Y_)]),
                fa([X, Y_], imp(comp(X, Y_), mul(X, neg(Y_)) == neg(mul(X, Y_))), patterns=[mul(X, neg(Y_))]),
                fa([X, Y_], imp(same(X, Y_), neg(add(X, Y_)) == add(neg(X), neg(Y_))), patterns=[neg(add(X, Y_))]),
                fa([X], neg(neg(X)) == X, patterns=[neg(neg(X))])],
        "smul": [fa([k, X], tp(smul(k, X)) == smul(k, tp(X)), patterns=[tp(smul(k, X))]),
                 fa([k, l, X], smul(k, smul(l, X)) == smul(k * l, X), patterns=[smul(k, smul(l, X))])],
        "smulmul": [fa([k, X, Y_], imp(comp(X, Y_), mul(smul(k, X), Y_) == smul(k, mul(X, Y_))),
                       patterns=[mul(smul(k, X), Y_)]),
                    fa([k, X, Y_], imp(comp(X, Y_), mul(X, smul(k, Y_)) == smul(k, mul(X, Y_))),
                       patterns=[mul(X, smul(k, Y_))])],
        "smuldist": [fa([k, X, Y_], imp(same(X, Y_), smul(k, add(X, Y_)) == add(smul(k, X), smul(k, Y_))),
                        patterns=[smul(k, add(X, Y_))])],
        "addcomm": [fa([X, Y_], imp(same(X, Y_), add(X, Y_) == add(Y_, X)), patterns=[add(X, Y_)])],
        "addassoc": [fa([X, Y_, U], imp(both(same(X, Y_), same(Y_, U)), add(add(X, Y_), U) == add(X, add(Y_, U))),
                        patterns=[add(add(X, Y_), U), add(X, add(Y_, U))])],
        "addneg": [fa([X], add(X, neg(X)) == zeros(rows(X), cols(X)), patterns=[add(X, neg(X))])],
        "trace": [fa([X, Y_], imp(both(comp(X, Y_), comp(Y_, X)), tr(mul(X, Y_)) == tr(mul(Y_, X))),
                     patterns=[tr(mul(X, Y_))]),
                  fa([X, Y_], imp(same(X, Y_), tr(add(X, Y_)) == tr(X) + tr(Y_)), patterns=[tr(add(X, Y_))]),
                  fa([k, X], tr(smul(k, X)) == k * tr(X), patterns=[tr(smul(k, X))])],
        "diag": [fa([X, Y_], imp(both(diag(X), diag(Y_), comp(X, Y_)), diag(mul(X, Y_))), patterns=[mul(X, Y_)]),
                 fa([X, Y_], imp(both(diag(X), diag(Y_), same(X, Y_)), diag(add(X, Y_))), patterns=[add(X, Y_)]),
                 fa([X], imp(diag(X), diag(neg(X))), patterns=[neg(X)]),
                 fa([X], imp(diag(X), both(tp(X) == X, rows(X) == cols(X))), patterns=[diag(X)])],
    }
    axioms = [ax for g in groups for ax in table[g]]
    ops = dict(Mat=Mat, rows=rows, cols=cols, mul=mul, add=add, neg=neg, tp=tp, smul=smul, tr=tr,
               zeros=zeros, eye=eye, diag=diag)
    return axioms, ops


def _z3_goals(claim: str, ctx) -> dict:
    import z3

    axioms, o = _z3_algebra(ctx, Z3_AXIOMS[claim])
    mul, add, neg, tp, smul, tr = (o[k] for k in ("mul", "add", "neg", "tp", "smul", "tr"))
    zm, zn, zr = z3.Ints("m n r", ctx)
    facts = list(axioms) + [zm >= 1, zn >= 1, zr >= 1]
    shapes = {"B": (zm, zr), "A": (zr, zn), "E": (zm, zr), "F": (zr, zn), "G": (zm, zn),
              "P": (zm, zr), "Q": (zr, zn), "Yp": (zm, zn), "Ds": (zr, zr), "Da": (zr, zr),
              "Db": (zr, zr)}
    x = {}
    for name, (rr, cc) in shapes.items():
        x[name] = z3.Const(name, o["Mat"])
        facts += [o["rows"](x[name]) == rr, o["cols"](x[name]) == cc]
    Bz, Az, Ez, Fz, Gz = (x[k] for k in "BAEFG")
    goals = {}
    if claim == "flow-equations":
        tt = z3.Real("t", ctx)
        goals["(B + tE)(A + tF) = BA + (t(EA + BF) + t^2 EF)"] = (facts, mul(
            add(Bz, smul(tt, Ez)), add(Az, smul(tt, Fz))) == add(
            mul(Bz, Az), add(smul(tt, add(mul(Ez, Az), mul(Bz, Fz))), smul(tt * tt, mul(Ez, Fz)))))
        goals["<G, EA + BF> = <G, EA> + <G, BF>"] = (facts, tr(mul(tp(Gz), add(mul(Ez, Az), mul(Bz, Fz))))
                                                     == tr(mul(tp(Gz), mul(Ez, Az))) + tr(mul(tp(Gz), mul(Bz, Fz))))
        goals["<G, EA> = <G A^T, E>"] = (facts, tr(mul(tp(Gz), mul(Ez, Az))) == tr(mul(tp(mul(Gz, tp(Az))), Ez)))
        goals["<G, BF> = <B^T G, F>"] = (facts, tr(mul(tp(Gz), mul(Bz, Fz))) == tr(mul(tp(mul(tp(Bz), Gz)), Fz)))
    elif claim == "balancedness":
        dB, dA = neg(mul(Gz, tp(Az))), neg(mul(tp(Bz), Gz))
        derivative = add(add(mul(tp(dB), Bz), mul(tp(Bz), dB)), neg(add(mul(dA, tp(Az)), mul(Az, tp(dA)))))
        goals["B'^T B + B^T B' - (A' A^T + A A'^T) = 0 for B' = -G A^T, A' = -B^T G"] = (
            facts, derivative == o["zeros"](zr, zr))
    elif claim == "trace-flow":
        cc, tt = z3.Reals("c t", ctx)
        Dz = z3.Const("D", o["Mat"])
        square = [zm == zn, o["rows"](Dz) == zn, o["cols"](Dz) == zn]
        goals["<c I, D> = c tr(D)"] = (facts + square, tr(mul(tp(smul(cc, o["eye"](zn))), Dz)) == cc * tr(Dz))
        dB, dA = smul(-cc, tp(Az)), smul(-cc, tp(Bz))
        update = add(mul(dB, Az), mul(Bz, dA))
        goals["d(BA)/dt = -c(A^T A + B B^T)"] = (facts + square, update == smul(
            -cc, add(mul(tp(Az), Az), mul(Bz, tp(Bz)))))
        goals["d tr(BA)/dt = -c(tr A^T A + tr B B^T)"] = (facts + square, tr(update) == -cc * (
            tr(mul(tp(Az), Az)) + tr(mul(Bz, tp(Bz)))))
        goals["c dc/dt = -2 (c^2/2) s"] = ([], z3.ForAll([cc, tt], cc * (-cc * tt) == -2 * (cc * cc / 2) * tt))
    elif claim == "spectral-modes":
        Pz, Qz, Yz, Ds_, Da_, Db_ = (x[k] for k in ("P", "Q", "Yp", "Ds", "Da", "Db"))
        eye, zeros, diag = o["eye"], o["zeros"], o["diag"]
        frame = [mul(tp(Pz), Pz) == eye(zr), mul(Qz, tp(Qz)) == eye(zr),
                 mul(tp(Pz), Yz) == zeros(zr, zn), mul(Yz, tp(Qz)) == zeros(zm, zr)]
        Bm, Am = mul(Pz, Db_), mul(Da_, Qz)
        Yfull = add(mul(mul(Pz, Ds_), Qz), Yz)
        R = add(Yfull, neg(mul(Bm, Am)))
        core = add(Ds_, neg(mul(Db_, Da_)))
        goals["(Y - BA) A^T = P (Ds - Db Da) Da^T"] = (facts + frame, mul(R, tp(Am)) == mul(Pz, mul(core, tp(Da_))))
        goals["B^T (Y - BA) = Db^T (Ds - Db Da) Q"] = (facts + frame, mul(tp(Bm), R) == mul(mul(tp(Db_), core), Qz))
        goals["Ds, Da, Db diagonal: (Ds - Db Da) Da^T and Db^T (Ds - Db Da) diagonal"] = (
            facts + [diag(Ds_), diag(Da_), diag(Db_)],
            z3.And(diag(mul(core, tp(Da_))), diag(mul(tp(Db_), core))))
    return goals


def _z3_mode_entries(timeout_s: float) -> tuple:
    """z3 real arithmetic, entry by entry at the ranks of :data:`MODE_RANKS`: the products of
    diagonal matrices in the mode equations have the stated diagonal and zero elsewhere."""
    import z3

    ctx = z3.Context()
    for rr in MODE_RANKS:
        s = [z3.Real(f"s{k}", ctx) for k in range(rr)]
        a = [z3.Real(f"a{k}", ctx) for k in range(rr)]
        b = [z3.Real(f"b{k}", ctx) for k in range(rr)]
        zero = z3.RealVal(0, ctx)

        def diagm(v):
            return [[v[i] if i == j else zero for j in range(rr)] for i in range(rr)]

        def mm(X, Y):
            return [[z3.Sum([X[i][k] * Y[k][j] for k in range(rr)]) for j in range(rr)] for i in range(rr)]

        S_, A_, B_ = diagm(s), diagm(a), diagm(b)
        BA = mm(B_, A_)
        core = [[S_[i][j] - BA[i][j] for j in range(rr)] for i in range(rr)]
        At = [[A_[j][i] for j in range(rr)] for i in range(rr)]
        Bt = [[B_[j][i] for j in range(rr)] for i in range(rr)]
        D1, D2 = mm(core, At), mm(Bt, core)
        claims = []
        for i in range(rr):
            for j in range(rr):
                w1 = a[i] * (s[i] - a[i] * b[i]) if i == j else zero
                w2 = b[i] * (s[i] - a[i] * b[i]) if i == j else zero
                claims += [D1[i][j] == w1, D2[i][j] == w2]
        solver = z3.SolverFor("QF_NRA", ctx=ctx)
        solver.set("timeout", max(1, int(timeout_s * 1000)))
        solver.add(z3.Not(z3.And(claims)))
        if solver.check() != z3.unsat:
            return None, f"z3 on the diagonal entries at r = {rr}: not unsat"
    return True, f"z3 (QF_NRA): the diagonal mode entries at r in {list(MODE_RANKS)}"


def z3_flow(statement, timeout_s: float) -> tuple:
    """The z3 route of the matrix statements: for each goal, unsat of the axioms (the groups of
    :data:`Z3_AXIOMS`, listed in :func:`_z3_algebra`) with the negated goal. A model of the
    axioms is no counterexample for real matrices, so the answer is True or None, never False.

    >>> from proofs import statement_by_id
    >>> z3_flow(statement_by_id("GF.balancedness"), 10.0)[0]
    True
    """
    import z3

    start = time.perf_counter()
    claim = statement.certificate.claim
    # a fresh context per call: E-matching depends on the order in which terms were created
    ctx = z3.Context()
    goals = _z3_goals(claim, ctx)
    if not goals:
        return None, f"no z3 goals for {claim!r}", None
    done = []
    for name, (facts, goal) in goals.items():
        left = timeout_s - (time.perf_counter() - start)
        solver = z3.Solver(ctx=ctx)
        solver.set("timeout", max(1, int(max(0.5, left / 2) * 1000)))
        solver.set("smt.mbqi", False)   # E-matching only: unsat or unknown
        solver.add(*facts)
        solver.add(z3.Not(goal))
        result = solver.check()
        if result != z3.unsat:
            why = solver.reason_unknown() if result == z3.unknown else "a model of the axioms"
            return None, f"z3 on '{name}': {result} ({why})", None
        done.append(name)
    extra = ""
    if claim == "spectral-modes":
        ok, detail = _z3_mode_entries(max(1.0, timeout_s - (time.perf_counter() - start)))
        if ok is not True:
            return None, detail, None
        extra = f"; {detail}"
    return True, (f"z3 {z3.get_version_string()}: negation unsat for: " + "; ".join(done)
                  + f". Axiom groups: {', '.join(Z3_AXIOMS[claim])} (uninterpreted sort Mat, "
                  "shape-guarded)" + extra), None


# --------------------------------------------------------------------------------------
# The power-law tails
# --------------------------------------------------------------------------------------

def _alpha1_lemmas() -> tuple:
    jj = Symbol("j", integer=True, positive=True)
    rr = Symbol("r", integer=True, positive=True)
    a_ = Symbol("a_", nonnegative=True)             # j = 2 + a_
    jv = 2 + a_
    lower_gap = sympy.expand(jv * (jv + 1) - jv**2)       # 1/(j(j+1)) <= 1/j^2
    upper_gap = sympy.expand(jv**2 - (jv - 1) * jv)       # 1/j^2 <= 1/((j-1) j)
    if not all(sympy.Poly(g, a_).coeffs() and all(k >= 0 for k in sympy.Poly(g, a_).coeffs())
               for g in (lower_gap, upper_gap)):
        return False, f"per-term gaps {lower_gap}, {upper_gap}"
    low = sympy.summation(1 / (jj * (jj + 1)), (jj, rr + 1, sympy.oo))
    up = sympy.summation(1 / ((jj - 1) * jj), (jj, rr + 1, sympy.oo))
    total = sympy.summation(1 / jj**2, (jj, 1, sympy.oo))
    if sympy.simplify(low - 1 / (rr + 1)) != 0 or sympy.simplify(up - 1 / rr) != 0 \
            or sympy.simplify(total - sympy.pi**2 / 6) != 0:
        return False, f"sums {low}, {up}, {total}"
    return True, ("sympy: for j = 2 + a_ (a_ >= 0) j(j+1) - j^2 = " + str(lower_gap) + " and j^2 - "
                  "(j-1)j = " + str(upper_gap) + " (coefficients >= 0), so 1/(j(j+1)) <= 1/j^2 <= "
                  "1/((j-1)j); sum_{j>r} 1/(j(j+1)) = 1/(r+1), sum_{j>r} 1/((j-1)j) = 1/r and "
                  "sum_{j>=1} 1/j^2 = pi^2/6 (sympy summation)")


def _z3_alpha1(statement, timeout_s: float) -> tuple:
    """z3, independently of sympy: the per-term inequalities for integer ``j >= 2``, the
    telescoping partial sums by induction (base and step; the induction principle and the
    limit ``1/(N+1) -> 0`` are cited), then the polynomial core of the statement."""
    import z3

    from .routes import z3_route

    start = time.perf_counter()
    ctx = z3.Context()
    jj = z3.Int("j", ctx)
    rr, N = z3.Reals("r N", ctx)
    Sl, Su = z3.Reals("S_lo S_up", ctx)
    cases = {
        "per term, j >= 2: j^2 <= j(j+1) and (j-1)j <= j^2": (
            jj >= 2, z3.And(jj * jj <= jj * (jj + 1), (jj - 1) * jj <= jj * jj)),
        "lower telescoping base: empty sum = 1/(r+1) - 1/(r+1)": (
            rr >= 1, 1 / (rr + 1) - 1 / (rr + 1) == 0),
        "lower telescoping step: S = 1/(r+1) - 1/(N+1) gives S + 1/((N+1)(N+2)) = 1/(r+1) - 1/(N+2)": (
            z3.And(rr >= 1, N >= rr, Sl == 1 / (rr + 1) - 1 / (N + 1)),
            Sl + 1 / ((N + 1) * (N + 2)) == 1 / (rr + 1) - 1 / (N + 2)),
        "upper telescoping step: S = 1/r - 1/N gives S + 1/(N(N+1)) = 1/r - 1/(N+1)": (
            z3.And(rr >= 1, N >= rr, Su == 1 / rr - 1 / N),
            Su + 1 / (N * (N + 1)) == 1 / rr - 1 / (N + 1)),
    }
    for name, (premise, goal) in cases.items():
        solver = z3.Solver(ctx=ctx)
        solver.set("timeout", max(1, int(timeout_s * 250)))
        solver.add(premise, z3.Not(goal))
        if solver.check() != z3.unsat:
            return None, f"z3 on the {name}: not unsat", None
    rest = z3_route(dataclasses.replace(statement, smt=None),
                    max(1.0, timeout_s - (time.perf_counter() - start)))
    if rest.answer is not True:
        return rest.answer, f"core: {rest.detail}", rest.counterexample
    return True, ("z3: per-term inequalities for integer j >= 2 and the telescoping partial sums "
                  "(base and step, unsat when negated); then the core: " + rest.detail), None


def _tail_general_lemmas() -> tuple:
    qq = Symbol("q", positive=True)                  # p = 1 + q, q = 2 alpha - 1 > 0
    x = Symbol("x", positive=True)
    a_ = Symbol("a", positive=True)
    jj = Symbol("j", integer=True, positive=True)
    rr = Symbol("r", integer=True, positive=True)
    NN = Symbol("N", integer=True, positive=True)
    steps = []
    tail = sympy.summation(jj ** (-(1 + qq)), (jj, rr + 1, sympy.oo))
    if tail != sympy.zeta(1 + qq, rr + 1):
        return False, f"the tail summed to {tail}"
    steps.append("sum_{j>r} j^-p = zeta(p, r+1) for p = 1 + q > 1 (sympy summation)")
    integral = sympy.integrate(x ** (-(1 + qq)), (x, a_, sympy.oo))
    if sympy.simplify(integral - a_ ** (-qq) / qq) != 0:
        return False, f"the integral gave {integral}"
    steps.append("int_a^oo x^-p dx = a^(1-p)/(p-1) (sympy, a > 0)")
    if sympy.diff(x ** (-(1 + qq)), x).is_negative is not True \
            or sympy.diff(x ** (-qq), x).is_negative is not True:
        return False, "x^-p or x^(1-p) is not shown decreasing"
    steps.append("d/dx x^-p < 0 and d/dx x^(1-p) < 0 for x > 0 (sympy)")
    Fv = lambda y: y ** (-qq) / qq  # noqa: E731
    low = lambda K: Fv(rr + 1) - Fv(K + 1)  # noqa: E731  sum_{j=r+1}^K int_j^{j+1}
    up = lambda K: Fv(rr) - Fv(K)  # noqa: E731          sum_{j=r+1}^K int_{j-1}^j
    if sympy.simplify(low(rr)) != 0 or sympy.simplify(up(rr)) != 0 \
            or sympy.simplify(low(NN + 1) - low(NN) - (Fv(NN + 1) - Fv(NN + 2))) != 0 \
            or sympy.simplify(up(NN + 1) - up(NN) - (Fv(NN) - Fv(NN + 1))) != 0:
        return False, "the integral partial sums do not telescope"
    if sympy.limit((NN + 1) ** (-qq), NN, sympy.oo) != 0:
        return False, "(N+1)^(1-p) does not tend to 0"
    steps.append("the partial sums of int_j^{j+1} and int_{j-1}^j over r < j <= N are "
                 "F(r+1) - F(N+1) and F(r) - F(N), F(y) = y^(1-p)/(p-1) (base and step, sympy), "
                 "and F(N) -> 0 (sympy limit)")
    slack = sympy.expand(2 * (1 + a_) - (1 + a_ + 1))
    if slack != a_:
        return False, f"2r - (r+1) = {slack}"
    steps.append("r + 1 <= 2r for r = 1 + a (sympy), so (r+1)^(1-p) >= 2^(1-p) r^(1-p) as "
                 "x^(1-p) decreases")
    return True, "; ".join(steps)


def _z3_tail_general(statement, timeout_s: float) -> tuple:
    """z3: the telescoping of the termwise integral bounds by induction on the partial sums
    (``F`` values as real unknowns), then the polynomial core."""
    import z3

    from .routes import z3_route

    start = time.perf_counter()
    ctx = z3.Context()
    S, t1, F_r1, F_N1, F_N2, F_r, F_N = z3.Reals("S t F_r1 F_N1 F_N2 F_r F_N", ctx)
    lo = z3.And(S >= F_r1 - F_N1, F_N1 - F_N2 <= t1)
    up = z3.And(S <= F_r - F_N, t1 <= F_N - F_N1)
    cases = {"lower step": (lo, S + t1 >= F_r1 - F_N2), "upper step": (up, S + t1 <= F_r - F_N1)}
    for name, (premise, goal) in cases.items():
        solver = z3.Solver(ctx=ctx)
        solver.set("timeout", max(1, int(timeout_s * 250)))
        solver.add(premise, z3.Not(goal))
        if solver.check() != z3.unsat:
            return None, f"z3 on the telescoping {name}: not unsat", None
    rest = z3_route(dataclasses.replace(statement, smt=None, text=None),
                    max(1.0, timeout_s - (time.perf_counter() - start)))
    if rest.answer is not True:
        return rest.answer, f"core: {rest.detail}", rest.counterexample
    return True, ("z3: the termwise bounds F(j) - F(j+1) <= t_j <= F(j-1) - F(j) telescope "
                  "(induction step on partial sums, unsat when negated; base: empty sum); then "
                  "the core: " + rest.detail), None


@dataclass(frozen=True)
class TailCertificate:
    """The sympy lemmas of a tail statement (:func:`_tail_general_lemmas` for
    ``kind="general"``, :func:`_alpha1_lemmas` for ``kind="alpha1"``), then a slack certificate
    for each conjunct of its polynomial core (``core``: a tuple of certificates with ``part``).

    >>> TailCertificate("general", ()).verify(None)
    (None, 'no core certificate')
    """

    kind: str
    core: tuple

    def verify(self, statement) -> tuple:
        """``(True, detail)`` when the lemmas and every conjunct's certificate check, else
        ``(None, reason)``.

        >>> from proofs import statement_by_id
        >>> TailCertificate("nothing", (None,)).verify(statement_by_id("GF.ey-tail-alpha1"))
        (None, "unknown tail kind 'nothing'")
        """
        if not self.core:
            return None, "no core certificate"
        lemmas = {"general": _tail_general_lemmas, "alpha1": _alpha1_lemmas}
        if self.kind not in lemmas:
            return None, f"unknown tail kind {self.kind!r}"
        ok, lemma = lemmas[self.kind]()
        if ok is not True:
            return None, f"lemma failed: {lemma}"
        core = dataclasses.replace(statement, text=None)
        goals = list(core.conclusion.args) if isinstance(core.conclusion, And) else [core.conclusion]
        if sorted(map(str, goals)) != sorted(str(c.part) for c in self.core):
            return None, "the core certificates do not cover every conjunct"
        details = []
        for cert in self.core:
            ok, detail = cert.verify(core)
            if ok is not True:
                return None, detail
            details.append(detail)
        return True, "; ".join([f"lemma [{self.kind} tail]: {lemma}"] + details)


# --------------------------------------------------------------------------------------
# The statements
# --------------------------------------------------------------------------------------

# sequential-step gap: norms (all >= 0)
eta, bn, an, gn, lip, dA, dW, dG, ap, dX = symbols("eta b a g Lip dA dW dG ap dX", nonnegative=True)
# balanced decay
Ev, Dv, a2, b2 = symbols("E D a2 b2", nonnegative=True)
dv = Symbol("d", real=True)
# traceless counterexample
a1, a2v, cv = symbols("a1 a2 c", real=True)
# tails
rt = Symbol("r", integer=True, positive=True)
Tv, kv, uv, vv = symbols("T k u v", nonnegative=True)
# slack symbols (new, nonnegative)
_s = symbols("s0:12", nonnegative=True)


def _matrix_statements() -> list:
    return [
        Statement(
            id="GF.flow-equations", source=f"{SOURCE}: the gradient-flow equations of LoRA",
            assumed=(
                ("chain rule: d/dt f(W(t)) = <grad f(W), W'(t)> for differentiable f (sympy "
                 "applies it at the explicit sizes; cited for symbolic sizes)"),
                "a gradient is the Riesz representer of the directional derivative",),
            title="gradient flow of f(W0 + BA): dB/dt = -grad f(W) A^T, dA/dt = -B^T grad f(W)",
            variables=(m, n, r), hypotheses=(),
            conclusion=Eq(Trace(G.T * (E * A + B * F)),
                          Trace((G * A.T).T * E) + Trace((B.T * G).T * F), evaluate=False),
            certificate=FlowCertificate("flow-equations"), smt=z3_flow,
            checked=("the expansion of (B + tE)(A + tF) and the adjoint identities for symbolic "
                     "sizes (sympy and an axiomatised z3 matrix algebra), and the full chain rule "
                     "for an undefined f entry by entry at (m, n, r) in " + str(list(EXPLICIT_SIZES))
                     + " (sympy)"),
            text=(f"{MATRIX_HEAD}: d/dt f(W0 + (B + tE)(A + tF)) at t = 0 equals <G, EA + BF> = "
                  "<G A^T, E> + <B^T G, F>, so the gradient flow is dB/dt = -G A^T, "
                  "dA/dt = -B^T G"),
            notes="Route 1 (sympy): the expansion (B + tE)(A + tF) = BA + t(EA + BF) + t^2 EF "
                  "and <G, EA> = <G A^T, E>, <G, BF> = <B^T G, F> by trace rotation, for "
                  "symbolic m, n, r; and at explicit sizes the derivative of f(W0 + BA) for an "
                  "undefined f of all mn entries, entry by entry, equals -(dB/dt, dA/dt). Route "
                  "2 (z3): the expansion and the adjoints in an axiomatised algebra (axioms in "
                  "proofs.gradient_flow._z3_algebra). CITED: the chain rule for symbolic sizes "
                  "and the Riesz representation of the gradient. The numerical check at a larger "
                  "size (torch autograd against these formulas) is in the gradient-flow "
                  "experiment (numerics/engine/gradient_flow.py)."),
        Statement(
            id="GF.balancedness", source=f"{SOURCE}; {THEORY_READING}",
            assumed=(
                ("product rule: d/dt C(B(t), A(t)) is the coefficient of h in C(B + hB', "
                 "A + hA') (C is a polynomial in the entries)"),),
            title="B^T B - A A^T is conserved along the gradient flow, for every f and all sizes",
            variables=(m, n, r), hypotheses=(),
            conclusion=Eq(_balance(B + h * (-G * A.T), A + h * (-B.T * G)).diff(h).subs(h, 0),
                          ZeroMatrix(r, r), evaluate=False),
            certificate=FlowCertificate("balancedness"), smt=z3_flow,
            checked=("dC/dt = 0 for symbolic sizes by sympy MatrixSymbol algebra and by z3 over an "
                     "axiomatised matrix algebra, and entrywise with a general G at (m, n, r) in "
                     + str(list(EXPLICIT_SIZES)) + " (sympy)"),
            text=(f"{MATRIX_HEAD}: along dB/dt = -G A^T, dA/dt = -B^T G, d/dt (B^T B - A A^T) = "
                  "B'^T B + B^T B' - A' A^T - A A'^T = 0"),
            notes="Holds for any loss f (G is arbitrary). One gradient-descent step of size eta "
                  "changes C = B^T B - A A^T by exactly eta^2 (A G^T G A^T - B^T G G^T B) (sympy "
                  "finds this expansion on the way; the experiment measures the drift). Its "
                  "trace: ||B||_F^2 - ||A||_F^2 is conserved, which GF.balanced-decay uses."),
        Statement(
            id="GF.trace-flow", source=f"{SOURCE}: trace-squared loss",
            assumed=("a gradient is the Riesz representer of the directional derivative",
                     "||X||_F^2 = tr(X^T X) (definition)"),
            title="f = 1/2 (tr W - t)^2: grad f = c I, d(BA)/dt = -c(A^T A + B B^T), "
                  "dL/dt = -2 (||A||^2 + ||B||^2) L",
            variables=(n, r), hypotheses=(),
            conclusion=Eq(MatAdd(MatMul(-c, _An.T, _An), MatMul(_Bn, -c, _Bn.T), evaluate=False),
                          MatMul(-c, MatAdd(_An.T * _An, _Bn * _Bn.T), evaluate=False),
                          evaluate=False),
            certificate=FlowCertificate("trace-flow"), smt=z3_flow,
            text=("for all n, r >= 1, n x n W = W0 + BA, t real, c = tr W - t, L = c^2/2: grad f = "
                  "c I; along the flow d(BA)/dt = -c(A^T A + B B^T), dc/dt = -c(||A||_F^2 + "
                  "||B||_F^2) and dL/dt = -2(||A||_F^2 + ||B||_F^2) L"),
            notes="sympy: the directional derivative of (tr(W + sD) - t)^2/2 (not sympy's "
                  "matrix derivative, which returns 0 for d(tr W - t)/dW in sympy 1.14), the "
                  "update and its trace for symbolic n, r, and sympy.diff entry by entry at "
                  "explicit sizes; z3: <cI, D> = c tr D, the update and its trace in the "
                  "axiomatised algebra with m = n. The full-parameter flow W' = -c I only moves "
                  "the trace; the LoRA update moves its traceless part too (GF.trace-lora-traceless)."),
        Statement(
            id="GF.spectral-modes", source=f"{SOURCE}: Frobenius low-rank approximation",
            assumed=(
                ("products, sums and transposes of diagonal matrices are diagonal, computed "
                 "entrywise (z3 takes it as axioms; sympy checks it entrywise at r <= 3)"),
                ("uniqueness of ODE solutions: a velocity field that keeps the form keeps the "
                 "solution in it"),
                "the SVD Y = U S V^T gives P = U_r, Q = V_r^T, Y_perp = U_>r S_>r V_>r^T"),
            title="f = 1/2 ||BA - Y||^2 from a spectral start B = P Db, A = Da Q: the flow keeps "
                  "the form and decouples into modes p_j' = (s_j - p_j)(a_j^2 + b_j^2)",
            variables=(m, n, r), hypotheses=(),
            conclusion=Eq(MatMul(P * Ds * Q + Yp - P * Db * Da * Q, (Da * Q).T, evaluate=False),
                          MatMul(P, Ds - Db * Da, Da.T, evaluate=False), evaluate=False),
            certificate=FlowCertificate("spectral-modes"), smt=z3_flow,
            checked=("the velocities (Y - BA)A^T = P(Ds - Db Da)Da^T and B^T(Y - BA) = Db^T(Ds - "
                     "Db Da)Q for symbolic sizes (sympy and the z3 axiomatised algebra), their "
                     "diagonal form (z3 with diagonal-closure axioms) and the mode entries at r "
                     "in " + str(list(MODE_RANKS)) + " (sympy and z3 real arithmetic)"),
            text=("for all m, n >= r >= 1, Y = P Ds Q + Y_perp with P^T P = Q Q^T = I_r, P^T Y_perp "
                  "= 0, Y_perp Q^T = 0, and B = P Db, A = Da Q with Ds, Da, Db diagonal: along the "
                  "flow of f = 1/2 ||BA - Y||_F^2, dB/dt = P D1, dA/dt = D2 Q with diagonal "
                  "D1 = (Ds - Db Da) Da, D2 = Db (Ds - Db Da): b_j' = a_j(s_j - a_j b_j), "
                  "a_j' = b_j(s_j - a_j b_j), and B^T B - A A^T = Db^2 - Da^2"),
            notes="With the SVD of Y (P = U_r, Q = V_r^T) and the spectral start B0 = 0, "
                  "A0 = a0 V_r^T, every mode starts at b_j = 0, a_j = a0, keeps a_j^2 - b_j^2 = "
                  "a0^2 (GF.balancedness) and p_j = a_j b_j obeys (s_j - p_j)' = -(s_j - p_j)"
                  "(a_j^2 + b_j^2), so e_j = (s_j - p_j)^2/2 decays at rate >= 2 a0^2 "
                  "(GF.balanced-decay): BA -> P Ds Q = Y_r, the Eckart-Young-Mirsky truncation "
                  "(its optimality is cited: Eckart-Young-Mirsky theorem)."),
    ]


def _polynomial_statements() -> list:
    h1, h2, h3 = dA <= eta * bn * gn, dW <= bn * dA, dG <= lip * dW
    h4, h5 = ap <= an + dA, dX <= dG * ap + gn * dA
    gap_sub = tuple(zip((eta, bn, an, gn, lip, dA, dW, dG, ap, dX), _s[:10]))
    decay_eq, diff_eq = Eq(Dv, 2 * (a2 + b2) * Ev), Eq(dv, a2 - b2)
    decay_sub = ((Ev, _s[0]), (Dv, _s[1]), (a2, _s[2]), (b2, _s[3]), (dv, _s[4] + _s[2] - _s[3]))
    sandwich_lo, sandwich_up = (rt + 1) * Tv >= 1, rt * Tv <= 1
    core_lo, core_up, core_pow = vv <= Tv, Tv <= uv, vv >= kv * uv
    return [
        Statement(
            id="GF.sequential-step-gap", source=(f"{SOURCE}: simultaneous and sequential updates give "
                                                 "the same flow (Theorem 2.4 setting)"),
            assumed=(
                "||X Y||_F <= ||X||_F ||Y||_F (submultiplicativity) and the triangle inequality",
                "grad f is Lip-Lipschitz in the Frobenius norm (a premise of the claim)",
                ("local error O(eta^2) per step plus Lipschitz stability gives O(eta) on a fixed "
                 "horizon (convergence of one-step methods, for bounded iterates)"),),
            title="one sequential step (A, then B with the new A) differs from one simultaneous "
                  "step by at most eta^2 (Lip b^2 g (a + eta b g) + b g^2)",
            variables=(eta, bn, an, gn, lip, dA, dW, dG, ap, dX),
            hypotheses=(h1, h2, h3, h4, h5),
            conclusion=eta * dX <= eta**2 * (lip * bn**2 * gn * (an + eta * bn * gn) + bn * gn**2),
            certificate=SlackCertificate(gap_sub, (
                (h5, eta), (h3, eta * ap), (h2, eta * lip * ap), (h4, eta * lip * bn * dA),
                (h1, eta * gn + eta * lip * an * bn + eta * lip * bn * (eta * bn * gn + dA)))),
            notes="b = ||B||, a = ||A||, g = ||grad f(W)||, W = W0 + BA. Simultaneous: B1 = B - "
                  "eta G(W) A^T; sequential: A' = A - eta B^T G(W), B1' = B - eta G(W') A'^T with "
                  "W' = W0 + B A', so ||B1' - B1|| = eta dX with dX = ||G(W')A'^T - G(W)A^T||. "
                  "CITED (hypotheses): dA = ||A' - A|| <= eta b g, dW = ||W' - W|| <= b dA, "
                  "dG = ||G(W') - G(W)|| <= Lip dW, ap = ||A'|| <= a + dA, dX <= dG ap + g dA "
                  "(submultiplicativity, triangle inequality, Lipschitz gradient). The A-updates "
                  "agree exactly. So both schemes take the same Euler step up to O(eta^2); with "
                  "the flow equations (GF.flow-equations) both are consistent with the flow and "
                  "converge to it with error O(eta) on a fixed horizon (cited: convergence of "
                  "one-step methods). The slope is measured by the gradient-flow experiment."),
        Statement(
            id="GF.balanced-decay", source=f"{SOURCE}: zero final loss (trace-squared) and mode convergence",
            assumed=(
                ("Gronwall: E' <= -2 k E with k >= 0 gives E(t) <= E(0) exp(-2 k t) (cited)"),
                ("d = ||A||^2 - ||B||^2 is constant along the flow (the trace of GF.balancedness)"),),
            title="-dE/dt = 2(||A||^2 + ||B||^2) E and d = ||A||^2 - ||B||^2 give -dE/dt >= 2|d| E, "
                  "so E(t) <= E(0) exp(-2|d| t)",
            variables=(Ev, Dv, a2, b2, dv), hypotheses=(decay_eq, diff_eq),
            conclusion=And(Dv >= 2 * dv * Ev, Dv >= -2 * dv * Ev),
            certificate=(SlackCertificate(decay_sub, ((decay_eq, 1), (diff_eq, -2 * Ev)),
                                          part=Dv >= 2 * dv * Ev),
                         SlackCertificate(decay_sub, ((decay_eq, 1), (diff_eq, 2 * Ev)),
                                          part=Dv >= -2 * dv * Ev)),
            notes="E >= 0 with -dE/dt = D: for the trace-squared loss E = L = c^2/2, a2 = "
                  "||A||_F^2, b2 = ||B||_F^2 (GF.trace-flow); for spectral mode j, E = (s_j - "
                  "p_j)^2/2, a2 = a_j^2, b2 = b_j^2 (GF.spectral-modes). d is conserved "
                  "(GF.balancedness, its trace or diagonal), so with k = |d(0)| Gronwall (cited) "
                  "gives E(t) <= E(0) e^{-2 k t}: from the LoRA start B0 = 0, A0 != 0, k = "
                  "||A0||_F^2 > 0 and the trace-squared loss tends to 0 exponentially; the "
                  "seed's zero final loss. The only stationary point with E > 0 has A = B = 0."),
        Statement(
            id="GF.trace-lora-traceless", source=THEORY_READING, expected=False,
            assumed=("d(BA)/dt = -c(A^T A + B B^T) along the flow (GF.trace-flow)",),
            title="FALSE as read for the LoRA update: 'the traceless part of BA is never touched' "
                  "(m = n = 2, r = 1, B = 0, A = (1, 0), c = 1)",
            variables=(a1, a2v, cv), hypotheses=(),
            conclusion=And(Eq(cv * (a1**2 - a2v**2), 0), Eq(cv * a1 * a2v, 0)),
            witness={"a1": 1, "a2": 0, "c": 1},
            notes="At m = n = 2, r = 1, B = 0, A = (a1, a2), d(BA)/dt = -c A^T A, whose traceless "
                  "part is -c [[(a1^2 - a2^2)/2, a1 a2], [a1 a2, (a2^2 - a1^2)/2]]; the "
                  "conclusion says it vanishes. It does not at a1 = 1, a2 = 0, c = 1. The "
                  "reading that holds is the full-parameter one: W' = -c I moves only the trace. "
                  "The gradient-flow experiment measures both."),
        Statement(
            id="GF.ey-tail-alpha1", source=f"{SOURCE}: relative error O(r^(-1/2)) at alpha = 1",
            assumed=(
                ("termwise comparison of convergent series of nonnegative terms, and 1/(N+1) -> "
                 "0 (limits of the telescoping partial sums)"),
                "Eckart-Young-Mirsky: the best rank-r error in Frobenius norm is the tail of the "
                "singular values",
                "sqrt is increasing (for e(r) = sqrt(6 T / pi^2))"),
            title="s_j = 1/j: T = sum_{j>r} j^-2 lies in [1/(2r), 1/r], so the relative error "
                  "e(r) lies in [sqrt(3)/pi, sqrt(6)/pi] r^(-1/2)",
            variables=(rt, Tv), hypotheses=(sandwich_lo, sandwich_up),
            conclusion=And(2 * rt * Tv >= 1, rt * Tv <= 1),
            certificate=TailCertificate("alpha1", (
                SlackCertificate(((rt, 1 + _s[0]), (Tv, _s[1])), ((sandwich_lo, 1),),
                                 part=2 * rt * Tv >= 1),
                SlackCertificate(((rt, 1 + _s[0]), (Tv, _s[1])), ((sandwich_up, 1),),
                                 part=rt * Tv <= 1))),
            smt=_z3_alpha1,
            text=("for every integer r >= 1, T = sum_{j>r} j^-2 satisfies 1/(r+1) <= T <= 1/r, "
                  "hence 1/(2r) <= T <= 1/r and e(r) = sqrt(T/(pi^2/6)) in [sqrt(3)/pi, "
                  "sqrt(6)/pi] r^(-1/2)"),
            checked=("1/(j(j+1)) <= 1/j^2 <= 1/((j-1)j) for j >= 2 and the telescoping sums "
                     "(sympy summation; z3 per term and by induction on partial sums), then "
                     "(r+1)T >= 1, rT <= 1 => 2rT >= 1, rT <= 1 by a sympy certificate and by z3"),
            notes="The hypotheses (r+1)T >= 1 and rT <= 1 are the sandwich 1/(r+1) <= T <= 1/r, "
                  "which route 1 derives by sympy (per-term polynomial inequalities, the "
                  "telescoping sums summed in closed form, pi^2/6) and route 2 by z3 (per-term "
                  "inequalities over the integers and the telescoping induction step). CITED: "
                  "termwise comparison of convergent series and the limit of the partial sums; "
                  "Eckart-Young-Mirsky (the optimum keeps s_1..s_r). The seed's O(r^(-1/2)) is "
                  "the upper half; the lower half makes it Theta(r^(-1/2))."),
        Statement(
            id="GF.ey-tail-general", source=THEORY_READING,
            assumed=(
                ("integral comparison for a decreasing function h: int_j^{j+1} h <= h(j) <= "
                 "int_{j-1}^{j} h"),
                "a function with negative derivative on (0, oo) is decreasing (mean value theorem)",
                "Eckart-Young-Mirsky, and sqrt increasing (for e(r))"),
            rests_on=(
                ("integral comparison for a decreasing function h: int_j^{j+1} h <= h(j) <= "
                 "int_{j-1}^{j} h"),),
            title="s_j = j^-alpha, p = 2 alpha > 1: (r+1)^(1-p)/(p-1) <= zeta(p, r+1) <= "
                  "r^(1-p)/(p-1), so e(r) = Theta(r^(1/2 - alpha))",
            variables=(Tv, uv, vv, kv), hypotheses=(core_lo, core_up, core_pow),
            conclusion=And(kv * uv <= Tv, Tv <= uv),
            certificate=TailCertificate("general", (
                SlackCertificate(((Tv, _s[0]), (uv, _s[1]), (vv, _s[2]), (kv, _s[3])),
                                 ((core_lo, 1), (core_pow, 1)), part=kv * uv <= Tv),
                SlackCertificate(((Tv, _s[0]), (uv, _s[1]), (vv, _s[2]), (kv, _s[3])),
                                 ((core_up, 1),), part=Tv <= uv))),
            smt=_z3_tail_general,
            text=("for every real p = 2 alpha > 1 and integer r >= 1: (r+1)^(1-p)/(p-1) <= "
                  "zeta(p, r+1) <= r^(1-p)/(p-1); with 2^(1-p) r^(1-p) <= (r+1)^(1-p): "
                  "e(r)^2 = zeta(p, r+1)/zeta(p) in [2^(1-p), 1] r^(1-p)/((p-1) zeta(p)), i.e. "
                  "c_lo r^(1/2-alpha) <= e(r) <= c_hi r^(1/2-alpha) (proofs.tails.rate_constants)"),
            checked=("the tail is zeta(p, r+1), the integrals, the monotonicity, the telescoping "
                     "partial sums and their limit (sympy), the telescoping induction step (z3), "
                     "and the core v <= T <= u, v >= k u => k u <= T <= u (sympy certificate and "
                     "z3), with u = r^(1-p)/(p-1), v = (r+1)^(1-p)/(p-1), k = 2^(1-p)"),
            notes="T = zeta(p, r+1) = sum_{j>r} j^-p; u, v are the integrals of x^-p over [r, oo) "
                  "and [r+1, oo); k = 2^(1-p) in (0, 1). The core's hypotheses v <= T <= u are "
                  "the summed integral comparison, whose termwise form is CITED (both routes "
                  "take it: proved-assuming); v >= k u is (r+1)^(1-p) >= (2r)^(1-p) from "
                  "r + 1 <= 2r and x^(1-p) decreasing. At alpha = 1 GF.ey-tail-alpha1 proves the "
                  "same without the cited lemma. The relative-error constants are "
                  "proofs.tails.rate_constants; the experiment compares the measured errors with "
                  "them."),
    ]


def gradient_flow_statements() -> list:
    """The statements of seed 002 (gradient flow), matrix statements first.

    >>> len(gradient_flow_statements())
    9
    """
    return _matrix_statements() + _polynomial_statements()
