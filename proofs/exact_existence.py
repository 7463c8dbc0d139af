"""Exact existence at the dimension count (issue 16): the degree of the determinantal variety,
its second route by Groebner bases, the dimension facts and the parity argument.

Setting (THEORY.md section 2). ``calA(Delta)_i = <G_i, Delta> = b_i`` for ``i = 1..M`` are
``M`` affine conditions on an ``m x n`` matrix ``Delta``; the rank-``<= r`` matrices form the
affine determinantal variety ``X_r`` (the cone over a projective variety in ``P^{mn-1}``),
cut out by the ``(r+1) x (r+1)`` minors. It has dimension ``r(m+n-r)`` (codimension
``(m-r)(n-r)``), so at ``rho = M / (r(m+n-r)) = 1`` the system is square.

Facts used (cited, not re-proved here; each statement names the ones it takes):

* **Degree** (Giambelli-Thom-Porteous; Harris, *Algebraic Geometry: A First Course*,
  Example 19.10; Fulton, *Intersection Theory*, Example 14.4.11):

  ``deg X_r = prod_{i=0}^{n-r-1} i! (m+i)! / ((r+i)! (m-r+i)!)``

  (symmetric in ``m, n``; for ``r = 1`` it is ``C(m+n-2, m-1)``, the degree of the Segre
  variety ``P^{m-1} x P^{n-1}``).
* **Bezout for a proper linear section**: if ``M = dim X_r`` affine hyperplanes meet the
  projective closure of ``X_r`` in finitely many points, none on the hyperplane at infinity,
  the affine points counted with multiplicity number ``deg X_r``; determinantal varieties are
  Cohen-Macaulay (Hochster-Eagon 1971), so the multiplicity of a point is the length of the
  local ring of the scheme cut out by the minors and the affine equations. For generic
  conditions all points are simple and none is at infinity.
* **Conjugation**: a system with real coefficients maps solutions to complex conjugate
  solutions, so its non-real solutions come in pairs.

Examples
--------
Three routes to one value (the r = 1 degree at 3 x 3): the general product, the binomial
closed form, and a Groebner count on a random rational instance.

>>> determinantal_degree(3, 3, 1), degree_r1_closed_form(3, 3), groebner_count(3, 3, 1, seed=0).distinct
(6, 6, 6)
>>> [determinantal_degree(*s) for s in ((2, 2, 1), (2, 3, 1), (3, 3, 2), (8, 8, 1))]
[2, 3, 3, 3432]
"""

from __future__ import annotations

import itertools
import math
import random
import time
from dataclasses import dataclass
from fractions import Fraction

from .validation import InvalidArgument, require_positive_int, require_rank

__all__ = ["determinantal_degree", "degree_r1_closed_form", "dimension_count",
           "GroebnerCount", "groebner_count", "real_solution_count_two_rows",
           "real_solution_count_groebner", "exact_existence_statements",
           "GROEBNER_SIZES", "DEGREE_SOURCE", "expected_real_count_r1", "KAC_RICE_SOURCE"]

#: The sizes at which the degree formula is checked by Groebner counts in the ledger
#: (each sympy computation well under 2 s; 3x3 r=1, degree 6, is the largest).
GROEBNER_SIZES = ((2, 2, 1), (2, 3, 1), (3, 2, 1), (3, 3, 2), (2, 4, 1), (3, 3, 1))

#: Coefficients of the random affine equations are uniform integers in [-COEFF, COEFF].
COEFF = 9

DEGREE_SOURCE = ("Giambelli-Thom-Porteous; Harris, Algebraic Geometry: A First Course, "
                 "Example 19.10; Fulton, Intersection Theory, Example 14.4.11")
RETHINK = "Rethinking the Rank Threshold (2026)"

#: The cited lemmas (the ``rests_on`` of the proved-assuming statements).
BEZOUT = ("Bezout for a proper linear section of a Cohen-Macaulay variety: M = dim X affine "
          "hyperplanes meeting the closure of X in finitely many points, none at infinity, "
          "meet X in deg X points counted with multiplicity (length)")
DIMENSION_FACT = ("the m x n matrices of rank <= r form an irreducible variety of dimension "
                  "r(m+n-r), codimension (m-r)(n-r), cut out by the (r+1)-minors")
CONJUGATION = ("real polynomial systems: complex conjugation maps solutions to solutions, so "
               "non-real solutions come in pairs")
GENERICITY = ("genericity: for real (G, b) off a proper algebraic subset the system at rho = 1 "
              "has exactly deg X_r solutions, all nondegenerate, none at infinity")


def _sizes(m, n, r) -> tuple:
    m, n = require_positive_int("m", m), require_positive_int("n", n)
    return m, n, require_rank("r", r, m, n)


def determinantal_degree(m: int, n: int, r: int) -> int:
    """The degree of the variety of ``m x n`` matrices of rank ``<= r`` (exact integer).

    ``prod_{i=0}^{n-r-1} i! (m+i)! / ((r+i)! (m-r+i)!)`` (Harris, Example 19.10), computed in
    exact fractions; the product is an integer and symmetric in ``m, n``. At ``r = min(m, n)``
    the variety is the whole space (empty product, degree 1).

    Parameters
    ----------
    m, n : int
        Positive integers.
    r : int
        ``1 <= r <= min(m, n)``.

    Returns
    -------
    int

    Raises
    ------
    InvalidArgument
        Naming the argument and the value.

    Examples
    --------
    >>> determinantal_degree(2, 2, 1), determinantal_degree(2, 3, 1), determinantal_degree(3, 2, 1)
    (2, 3, 3)
    >>> determinantal_degree(3, 3, 1), determinantal_degree(3, 3, 2), determinantal_degree(4, 4, 2)
    (6, 3, 20)
    >>> determinantal_degree(5, 7, 5)
    1
    >>> determinantal_degree(2, 2, 3)
    Traceback (most recent call last):
    ...
    proofs.validation.InvalidArgument: r must satisfy 1 <= r <= min(m, n) = 2, got 3
    """
    m, n, r = _sizes(m, n, r)
    f = math.factorial
    value = Fraction(1)
    for i in range(n - r):
        value *= Fraction(f(i) * f(m + i), f(r + i) * f(m - r + i))
    if value.denominator != 1:   # cannot happen for a correct formula; never silently rounded
        raise ArithmeticError(f"degree product is not an integer at {m}x{n} r={r}: {value}")
    return int(value)


def degree_r1_closed_form(m: int, n: int) -> int:
    """``C(m+n-2, m-1)``: the degree of the rank-1 variety (the Segre variety).

    >>> degree_r1_closed_form(2, 4), degree_r1_closed_form(8, 8), determinantal_degree(8, 8, 1)
    (4, 3432, 3432)
    >>> degree_r1_closed_form(0, 3)
    Traceback (most recent call last):
    ...
    proofs.validation.InvalidArgument: m must be a positive integer, got 0
    """
    m, n = require_positive_int("m", m), require_positive_int("n", n)
    return math.comb(m + n - 2, m - 1)


def dimension_count(m: int, n: int, r: int) -> int:
    """``r(m+n-r)``: the dimension of the rank-``<= r`` variety, the ``M`` at ``rho = 1``.

    >>> dimension_count(3, 3, 1), dimension_count(3, 3, 2), dimension_count(2, 4, 1)
    (5, 8, 5)
    """
    m, n, r = _sizes(m, n, r)
    return r * (m + n - r)


# --- the Groebner route -----------------------------------------------------------------

@dataclass(frozen=True)
class GroebnerCount:
    """The outcome of one Groebner count on the rational instance of ``seed``.

    ``distinct``: number of distinct complex solutions if the lex basis is in shape position
    with a squarefree univariate polynomial (else None); ``length``: dimension of the quotient
    ring (solutions with multiplicity) from the grevlex standard monomials, or None if the
    ideal is not zero-dimensional; ``none_at_infinity``: the homogenised system has only the
    trivial solution (no solution on the hyperplane at infinity).

    >>> c = groebner_count(2, 3, 1, seed=1)
    >>> c.distinct, c.length, c.none_at_infinity, c.degree_certified
    (3, 3, True, 3)
    """

    m: int
    n: int
    r: int
    seed: int
    distinct: object
    length: object
    none_at_infinity: bool
    seconds: float

    @property
    def degree_certified(self):
        """``deg X_r`` as this computation proves it (given Bezout for proper sections of a
        Cohen-Macaulay variety), or None: the length when no solution is at infinity (then the
        length *is* the degree), and only if the distinct count equals it (all simple).

        >>> groebner_count(3, 3, 2, seed=0).degree_certified
        3
        """
        if self.none_at_infinity and self.length is not None and self.distinct == self.length:
            return self.length
        return None


def _instance(m, n, r, seed):
    """Symbols, minors and the ``M = r(m+n-r)`` affine equations (integer coefficients) of
    ``random.Random(seed)``; also the homogeneous parts of the affine equations."""
    import sympy

    rng = random.Random(seed)
    M = r * (m + n - r)
    xs = sympy.symbols(f"x0:{m * n}")
    X = sympy.Matrix(m, n, xs)
    linear, constants = [], []
    for _ in range(M):
        linear.append(sum(rng.randint(-COEFF, COEFF) * x for x in xs))
        constants.append(rng.randint(-COEFF, COEFF))
    minors = [X.extract(list(R), list(C)).det()
              for R in itertools.combinations(range(m), r + 1)
              for C in itertools.combinations(range(n), r + 1)]
    return xs, minors, linear, constants


def _shape_position_count(basis, xs):
    """Number of distinct solutions if the reduced lex basis is ``x_i - g_i(x_last)`` plus a
    squarefree univariate in ``x_last`` (shape lemma: then the ideal is radical and the
    solutions are in bijection with the roots); else None."""
    import sympy

    polys = list(basis.exprs)
    last = xs[-1]
    if len(polys) != len(xs):
        return None
    for x, p in zip(xs[:-1], polys[:-1]):
        q = sympy.Poly(p, *xs)
        if q.LM() != sympy.Poly(x, *xs).LM() or (q.free_symbols - {x, last}) \
                or sympy.degree(p, x) != 1:
            return None
    u = sympy.Poly(polys[-1], last)
    if polys[-1].free_symbols != {last} or sympy.gcd(u, u.diff(last)).degree() != 0:
        return None
    return u.degree()


def _lex_basis(grevlex, eqs, xs):
    """The reduced lex Groebner basis of the ideal of ``eqs``, from its grevlex basis: by FGLM
    (sympy ``GroebnerBasis.fglm``) when the ideal is zero-dimensional, else by Buchberger in
    lex directly. The reduced basis of an ideal in a given order is unique, so both give the
    same basis; FGLM is the faster (3x3 r = 1: 0.3 s against 1.7 s).

    >>> import sympy
    >>> x, y = sympy.symbols("x y")
    >>> eqs = [x**2 + y**2 - 5, x*y - 2]
    >>> by_fglm = _lex_basis(sympy.groebner(eqs, x, y, order="grevlex"), eqs, (x, y))
    >>> by_fglm.exprs == sympy.groebner(eqs, x, y, order="lex").exprs
    True
    """
    import sympy

    if grevlex.exprs != [1] and grevlex.is_zero_dimensional:
        return grevlex.fglm("lex")
    return sympy.groebner(eqs, *xs, order="lex")


def _standard_monomial_count(basis, xs):
    """dim of ``Q[x]/I`` from the leading monomials of a grevlex basis (None if infinite)."""
    import sympy

    if not basis.is_zero_dimensional:
        return None
    leads = [sympy.Poly(p, *xs, domain="QQ").monoms(order="grevlex")[0] for p in basis.exprs]
    count, frontier, seen = 0, [tuple([0] * len(xs))], set()
    while frontier:
        mono = frontier.pop()
        if mono in seen:
            continue
        seen.add(mono)
        if any(all(a >= b for a, b in zip(mono, lead)) for lead in leads):
            continue
        count += 1
        for k in range(len(xs)):
            frontier.append(mono[:k] + (mono[k] + 1,) + mono[k + 1:])
    return count


def groebner_count(m: int, n: int, r: int, seed: int = 0, parametrise: bool = False) -> GroebnerCount:
    """Count the complex solutions of "rank <= r and ``M = r(m+n-r)`` random integer affine
    equations" on the instance of ``seed``, exactly, with sympy Groebner bases over Q.

    ``parametrise=False`` (route 1): all ``mn`` entries are unknowns, the affine equations
    enter the basis. ``parametrise=True`` (route 2): the affine equations are solved first
    (sympy ``linsolve``) and the minors are written in the ``(m-r)(n-r)`` free entries.
    Both compute the distinct count (lex basis, shape position), the length (grevlex standard
    monomials) and whether a solution lies at infinity (grevlex basis of the homogeneous parts).

    Keep to tiny sizes: 3x3 r=1 takes about half a second.

    Examples
    --------
    >>> c = groebner_count(2, 2, 1, seed=3, parametrise=True)
    >>> c.distinct, c.length, c.none_at_infinity
    (2, 2, True)
    >>> groebner_count(2, 2, 1, seed=-1)
    Traceback (most recent call last):
    ...
    proofs.validation.InvalidArgument: seed must be a non-negative integer, got -1
    """
    import sympy

    from .validation import require_nonneg_int

    m, n, r = _sizes(m, n, r)
    seed = require_nonneg_int("seed", seed)
    start = time.perf_counter()
    xs, minors, linear, constants = _instance(m, n, r, seed)
    affine = [lin - c for lin, c in zip(linear, constants)]
    if parametrise:
        (solution,) = sympy.linsolve(affine, *xs)
        free = sorted(set().union(*(sympy.sympify(e).free_symbols for e in solution)),
                      key=xs.index)
        sub = dict(zip(xs, solution))
        eqs = [sympy.expand(p.subs(sub)) for p in minors]
        hsub = dict(zip(xs, next(iter(sympy.linsolve(linear, *xs)))))
        heqs = [sympy.expand(p.subs(hsub)) for p in minors]
        unknowns = tuple(free)
    else:
        eqs, heqs, unknowns = minors + affine, minors + linear, xs
    eqs = [e for e in eqs if e != 0]
    grevlex = sympy.groebner(eqs, *unknowns, order="grevlex")
    lex = _lex_basis(grevlex, eqs, unknowns)
    distinct = None if lex.exprs == [1] else _shape_position_count(lex, unknowns)
    length = None if grevlex.exprs == [1] else _standard_monomial_count(grevlex, unknowns)
    heqs = [e for e in heqs if e != 0]
    hbasis = sympy.groebner(heqs, *unknowns, order="grevlex") if heqs else None
    # Homogeneous ideal: zero-dimensional affine zero set means only the origin, i.e. the
    # projective zero set at infinity is empty.
    at_inf_empty = hbasis is not None and hbasis.is_zero_dimensional
    return GroebnerCount(m, n, r, seed, distinct, length, bool(at_inf_empty),
                         time.perf_counter() - start)


# --- a second route for E0: two-row instances by one univariate polynomial ----------------

def real_solution_count_two_rows(G, y) -> tuple:
    """Exact ``(real, complex)`` numbers of rank-1 solutions of ``<G_i, Delta> = y_i`` for a
    ``2 x n`` instance with ``M = n + 1`` (rho = 1), from rational inputs (floats are read
    exactly as binary fractions).

    With ``Delta = (1, s)^T v^T`` the conditions read ``A(s) v = y``, ``A(s)`` the
    ``(n+1) x n`` matrix of rows ``G_i[0] + s G_i[1]``; a solution exists at ``s`` iff
    ``p(s) = det [A(s) | y] = 0`` (and ``A(s)`` has rank ``n``, then ``v`` is unique and real
    when ``s`` is). So the solutions are the roots of ``p``, of degree ``n`` = the degree of
    the problem, and the real ones are its real roots, counted exactly by Sturm sequences
    (sympy ``count_roots`` on the squarefree part). Returns None for non-generic instances
    (degree of ``p`` below ``n``, a repeated root, ``A(s)`` rank-deficient at a root, or a
    solution with ``Delta[0] = 0``), which this route cannot decide.

    Parameters
    ----------
    G : nested sequence, shape (n + 1, 2, n)
    y : sequence, length n + 1

    Examples
    --------
    >>> # n = 1: rows 1 and s, p(s) = det [[1, 1], [s, 3]] = 3 - s: one root, real
    >>> real_solution_count_two_rows([[[1], [0]], [[0], [1]]], [1, 3])
    (1, 1)
    >>> real_solution_count_two_rows([[[1, 0], [0, 1]], [[0, 1], [1, 0]], [[1, 1], [0, -1]]], [1, 1, 5])
    (2, 2)
    >>> real_solution_count_two_rows([[[1]]], [1])
    Traceback (most recent call last):
    ...
    proofs.validation.InvalidArgument: G must have shape (n + 1, 2, n), got a 1 x 1 x 1 nesting
    """
    import sympy

    rows = [[[Fraction(x) for x in row] for row in Gi] for Gi in G]
    M = len(rows)
    if M < 2 or any(len(Gi) != 2 or any(len(row) != M - 1 for row in Gi) for Gi in rows):
        shape = f"{M} x {len(rows[0]) if rows else 0} x {len(rows[0][0]) if rows and rows[0] else 0}"
        raise InvalidArgument(f"G must have shape (n + 1, 2, n), got a {shape} nesting")
    ys = [Fraction(v) for v in y]
    if len(ys) != M:
        raise InvalidArgument(f"y must have length n + 1 = {M}, got {len(ys)}")
    n = M - 1
    s = sympy.Symbol("s")
    Q = sympy.Rational
    mat = sympy.Matrix([[Q(a.numerator, a.denominator) + s * Q(b.numerator, b.denominator)
                         for a, b in zip(Gi[0], Gi[1])] + [Q(yi.numerator, yi.denominator)]
                        for Gi, yi in zip(rows, ys)])
    p = sympy.Poly(mat.det(method="berkowitz"), s)
    if p.degree() != n or sympy.gcd(p, p.diff(s)).degree() != 0:
        return None
    # Solutions with Delta[0] = 0 (u = (0, 1)): G_i[1] . v = y_i, n + 1 equations in n unknowns.
    top = sympy.Matrix([[Q(b.numerator, b.denominator) for b in Gi[1]] + [Q(yi.numerator, yi.denominator)]
                        for Gi, yi in zip(rows, ys)])
    if top.det() == 0:
        return None
    # A(s) must have rank n at every root: the gcd of p with all n x n minors of A(s) is 1.
    A = mat[:, :n]
    minors = [sympy.Poly(A.extract([i for i in range(M) if i != k], list(range(n))).det(), s)
              for k in range(M)]
    g = p
    for q in minors:
        g = sympy.gcd(g, q)
    if g.degree() != 0:
        return None
    return int(p.sqf_part().count_roots()), n


def real_solution_count_groebner(G, y, r: int):
    """Exact ``(real, complex)`` numbers of rank-``<= r`` solutions of ``<G_i, X> = y_i``
    (``M = r(m+n-r)``), for any tiny size, by one lex Groebner basis over Q.

    The affine conditions are solved first (``linsolve``); the minors in the remaining
    ``(m-r)(n-r)`` unknowns get a lex basis. If it is in shape position (``x_k - g_k(x_last)``
    with rational ``g_k``, and a squarefree univariate ``u(x_last)``), the solutions are in
    bijection with the roots of ``u`` and a solution is real iff its root is: the real ones are
    counted exactly by Sturm sequences. Returns None otherwise (this route then decides
    nothing). Inputs are read exactly as rationals; small integers keep it fast (3x3 r=1 in
    a fraction of a second; binary fractions of Gaussian floats take ~40 s there).

    Examples
    --------
    >>> G = [[[1, 0], [0, 0]], [[0, 1], [0, 0]], [[0, 0], [1, 0]]]   # x11 = a, x12 = b, x21 = c
    >>> real_solution_count_groebner(G, [1, 2, 3], 1)                # x22 = b c / a = 6
    (1, 1)
    >>> real_solution_count_groebner(G, [1, 2, 3], 2)
    Traceback (most recent call last):
    ...
    proofs.validation.InvalidArgument: G must hold M = r(m+n-r) = 4 matrices, got 3
    """
    import sympy

    rows = [[[Fraction(x) for x in row] for row in Gi] for Gi in G]
    if not rows or not rows[0] or not rows[0][0]:
        raise InvalidArgument(f"G must be a nonempty (M, m, n) nesting, got {G!r}")
    m, n = len(rows[0]), len(rows[0][0])
    r = require_rank("r", r, m, n)
    M = r * (m + n - r)
    if len(rows) != M or any(len(Gi) != m or any(len(row) != n for row in Gi) for Gi in rows):
        raise InvalidArgument(f"G must hold M = r(m+n-r) = {M} matrices, got {len(rows)}")
    ys = [Fraction(v) for v in y]
    if len(ys) != M:
        raise InvalidArgument(f"y must have length M = {M}, got {len(ys)}")
    Q = lambda v: sympy.Rational(v.numerator, v.denominator)  # noqa: E731
    xs = sympy.symbols(f"x0:{m * n}")
    X = sympy.Matrix(m, n, xs)
    affine = [sum(Q(Gi[a][b]) * X[a, b] for a in range(m) for b in range(n)) - Q(yi)
              for Gi, yi in zip(rows, ys)]
    solved = sympy.linsolve(affine, *xs)
    if not solved:
        return None
    (solution,) = solved
    free = sorted(set().union(*(sympy.sympify(e).free_symbols for e in solution)), key=xs.index)
    if len(free) != (m - r) * (n - r):
        return None
    sub = dict(zip(xs, solution))
    minors = [sympy.expand(X.extract(list(R), list(C)).det().subs(sub))
              for R in itertools.combinations(range(m), r + 1)
              for C in itertools.combinations(range(n), r + 1)]
    minors = [p for p in minors if p != 0]
    if not free:
        return (1, 1) if not minors else None
    basis = _lex_basis(sympy.groebner(minors, *free, order="grevlex"), minors, free)
    count = _shape_position_count(basis, tuple(free))
    if count is None:
        return None
    u = sympy.Poly(basis.exprs[-1], free[-1])
    return int(u.count_roots()), count


# --- the certificates of the ledger statements ------------------------------------------

def _count_detail(c: GroebnerCount) -> str:
    return (f"{c.m}x{c.n} r={c.r}, seed {c.seed}: {c.distinct} distinct solutions (lex basis in "
            f"shape position, squarefree univariate), length {c.length} (grevlex standard "
            f"monomials), none at infinity: {c.none_at_infinity} ({c.seconds:.2f} s)")


@dataclass(frozen=True)
class DegreeByGroebner:
    """Route 1 of ``EX.degree-groebner.*``: :func:`groebner_count` in all ``mn`` unknowns,
    compared with :func:`determinantal_degree`.

    >>> DegreeByGroebner(2, 3, 1).verify(None)[0]
    True
    """

    m: int
    n: int
    r: int
    seed: int = 0
    parametrise: bool = False

    def verify(self, statement) -> tuple:
        """``(True, detail)`` iff the certified count equals the formula; ``(None, reason)``
        otherwise (a degenerate instance decides nothing)."""
        c = groebner_count(self.m, self.n, self.r, self.seed, self.parametrise)
        formula = determinantal_degree(self.m, self.n, self.r)
        if c.degree_certified is None:
            return None, "count not certified: " + _count_detail(c)
        if c.degree_certified != formula:
            return None, f"count {c.degree_certified} != formula {formula}: " + _count_detail(c)
        return True, f"formula {formula} = " + _count_detail(c)

    def __call__(self, statement, timeout_s) -> tuple:
        answer, detail = self.verify(statement)
        return answer, detail, None


@dataclass(frozen=True)
class Route:
    """A certificate from a plain function ``check() -> (answer, detail)``; also usable in
    the ``smt`` slot (called with ``(statement, timeout_s)``)."""

    name: str
    check: object

    def verify(self, statement) -> tuple:
        return self.check()

    def __call__(self, statement, timeout_s) -> tuple:
        answer, detail = self.check()
        return answer, detail, None


def _closed_form_by_factor_ratio() -> tuple:
    """Route 1 of ``EX.degree-r1-binomial``: with symbolic ``m, i``, each factor of the r = 1
    product is ``i! (m+i)! / ((1+i)! (m-1+i)!) = (m+i)/(i+1)`` (gammasimp); the product of those
    over ``i = 0..n-2`` is ``RisingFactorial(m, n-1) / (n-1)!`` (sympy ``product``), and its
    ratio to ``C(m+n-2, m-1)`` simplifies to 1 (gammasimp), for symbolic ``m, n``."""
    import sympy

    m, n = sympy.symbols("m n", integer=True, positive=True)
    i = sympy.Symbol("i", integer=True, nonnegative=True)
    f = sympy.factorial
    factor = f(i) * f(m + i) / (f(1 + i) * f(m - 1 + i))
    if sympy.simplify(sympy.gammasimp(factor) - (m + i) / (i + 1)) != 0:
        return None, f"factor did not simplify: {sympy.gammasimp(factor)}"
    prod = sympy.product((m + i) / (i + 1), (i, 0, n - 2))
    ratio = sympy.gammasimp(sympy.combsimp(prod / sympy.binomial(m + n - 2, m - 1)))
    if sympy.simplify(ratio - 1) != 0:
        return None, f"product / binomial = {ratio}, not 1"
    return True, (f"factor i!(m+i)!/((1+i)!(m-1+i)!) = (m+i)/(i+1) by gammasimp; prod_(i=0)^(n-2) "
                  f"= {sympy.sstr(prod)}; ratio to binomial(m+n-2, m-1) simplifies to 1")


def _closed_form_by_induction() -> tuple:
    """Route 2 of ``EX.degree-r1-binomial``: induction on ``n``. Base ``n = 1``: the product is
    empty (1) and ``C(m-1, m-1) = 1``. Step: the product gains the factor for ``i = n-1``,
    ``(n-1)! (m+n-1)! / (n! (m+n-2)!)``, and ``C(m+n-1, m-1) / C(m+n-2, m-1)``; both are
    ``(m+n-1)/n`` (sympy combsimp of each ratio, symbolic ``m, n``), and a sampled check at
    ``m, n <= 12`` of the general :func:`determinantal_degree` against the binomial."""
    import sympy

    m, n = sympy.symbols("m n", integer=True, positive=True)
    f, C = sympy.factorial, sympy.binomial
    step_product = sympy.combsimp(f(n - 1) * f(m + n - 1) / (f(n) * f(m + n - 2)))
    step_binomial = sympy.combsimp(C(m + n - 1, m - 1) / C(m + n - 2, m - 1))
    target = (m + n - 1) / n
    base = C(m - 1, m - 1)
    if sympy.simplify(step_product - target) != 0 or sympy.simplify(step_binomial - target) != 0:
        return None, f"step ratios {step_product}, {step_binomial} differ from {target}"
    if sympy.simplify(base - 1) != 0:
        return None, f"base C(m-1, m-1) = {base}"
    bad = [(a, b) for a in range(1, 13) for b in range(1, 13)
           if determinantal_degree(a, b, 1) != math.comb(a + b - 2, a - 1)]
    if bad:
        return None, f"determinantal_degree disagrees with the binomial at {bad[:3]}"
    return True, ("induction on n: base C(m-1, m-1) = 1 = empty product; both step ratios "
                  "combsimp to (m+n-1)/n; determinantal_degree(m, n, 1) = C(m+n-2, m-1) at all "
                  "144 sizes m, n <= 12 (the implemented function)")


def _parity_by_pairing() -> tuple:
    """Route 1 of ``EX.parity-odd-degree``: over the integers, D = R + 2j with D odd gives R odd,
    and an odd integer is not 0; checked with sympy's parity assumptions."""
    import sympy

    k, j = sympy.symbols("k j", integer=True, nonnegative=True)
    R = 2 * k + 1 - 2 * j
    odd = sympy.ask(sympy.Q.odd(R), sympy.Q.integer(k) & sympy.Q.integer(j))
    if odd is not True:
        return None, f"sympy could not decide that {R} is odd (answer {odd})"
    return True, "R = D - 2j = 2k + 1 - 2j is odd (sympy ask Q.odd), so R != 0; with R >= 0, R >= 1"


def _parity_by_z3(statement=None, timeout_s=None) -> tuple:
    """Route 2: z3 finds no integers k, j >= 0 with 2k+1-2j >= 0 and 2k+1-2j = 0."""
    import z3

    k, j = z3.Ints("k j")
    s = z3.Solver()
    s.set("timeout", int(1000 * (timeout_s or 10)))
    s.add(k >= 0, j >= 0, 2 * k + 1 - 2 * j >= 0, 2 * k + 1 - 2 * j < 1)
    res = s.check()
    if res == z3.unsat:
        return True, "z3: no integers k, j >= 0 with 0 <= 2k + 1 - 2j < 1 (unsat)", None
    return None, f"z3 answered {res}", None


def _dimension_identity_sympy() -> tuple:
    import sympy

    m, n, r = sympy.symbols("m n r", integer=True, positive=True)
    lhs, rhs = m * n - (m - r) * (n - r), r * (m + n - r)
    ok1 = sympy.expand(lhs - rhs) == 0
    ok2 = sympy.expand((m + n - 1) - rhs.subs(r, 1)) == 0
    if ok1 and ok2:
        return True, ("expand(mn - (m-r)(n-r) - r(m+n-r)) = 0 and, at r = 1, the unknowns of "
                      "u v^T with u_1 = 1 number m + n - 1 = r(m+n-r)")
    return None, "identity failed"


def _dimension_identity_z3(statement=None, timeout_s=None) -> tuple:
    import z3

    m, n, r = z3.Ints("m n r")
    s = z3.Solver()
    s.add(z3.Or(m * n - (m - r) * (n - r) != r * (m + n - r),
                (m - 1) + n != 1 * (m + n - 1)))
    res = s.check()
    if res == z3.unsat:
        return True, "z3: the negated identities are unsat over the integers", None
    return None, f"z3 answered {res}", None


KAC_RICE_SOURCE = ("integral-geometry formula E #(Z cap L) = vol(Z) / vol(RP^k) for a real "
                   "projective variety Z of dimension k and a uniformly (O(N+1)-invariant) random "
                   "projective subspace L of codimension k: Howard, The kinematic formula in "
                   "Riemannian homogeneous spaces (Mem. AMS 1993); Buergisser-Lerario, "
                   "Probabilistic Schubert calculus (J. reine angew. Math. 2020, arXiv:1612.06893), "
                   "section 2; Lerario, What is... random algebraic geometry? (arXiv:2411.04705), "
                   "section 2")


def expected_real_count_r1(m: int, n: int, dps: int = 30):
    """The expected number of real solutions of ``<G_i, Delta> = y_i`` (``i = 1..m+n-1``),
    ``rank Delta <= 1``, for ``(G_i, y_i)`` iid standard Gaussian in ``R^{mn+1}``, as an mpmath
    number: ``sqrt(pi) Gamma((m+n-1)/2) / (Gamma(m/2) Gamma(n/2))``.

    Derivation (the formula of :data:`KAC_RICE_SOURCE`; the volumes are the classical ones).
    Homogenise ``Delta -> (s : Delta)`` in ``RP^{mn}``: the equations become ``m + n - 1``
    hyperplanes with coefficient vectors ``(G_i, -y_i)`` iid ``N(0, I_{mn+1})``, so their
    intersection ``L`` is a uniformly random projective subspace of codimension
    ``k = m + n - 1`` (the law is ``O(mn+1)``-invariant). ``Z`` is the projective cone over
    the Segre variety, the closure of ``{(1 : Delta): rank Delta <= 1}``, of dimension ``k``;
    its points at infinity (``s = 0``) are met with probability 0. On the unit sphere
    ``S^{mn}``, ``Z`` lifts to the spherical join of the point ``e_0`` with
    ``Sigma = {u v^T: |u| = |v| = 1}``, and ``(u, v) -> u v^T`` is a 2:1 local isometry
    ``S^{m-1} x S^{n-1} -> Sigma``, so ``vol Sigma = vol S^{m-1} vol S^{n-1} / 2``; the join
    multiplies by ``int_0^pi sin^{k-1} = vol S^k / vol S^{k-1}``. Dividing both lifts by 2 and
    by ``vol RP^k = vol S^k / 2``: ``E = vol S^{m-1} vol S^{n-1} / (2 vol S^{m+n-2})``, which is
    the Gamma form above.

    Assumes exactly our instance law (``numerics.engine.instances``: every entry of ``G_i``
    and ``y_i`` iid ``N(0, 1)``); a different variance of ``y`` than of ``G`` would break the
    ``O(mn+1)`` invariance and the formula.

    >>> [float(expected_real_count_r1(*s)) for s in ((1, 5), (2, 3), (3, 3))]
    [1.0, 2.0, 3.0]
    >>> round(float(expected_real_count_r1(2, 2)), 6)   # pi / 2
    1.570796
    >>> round(float(expected_real_count_r1(8, 8)), 3), determinantal_degree(8, 8, 1)
    (92.131, 3432)
    """
    import mpmath

    m, n = require_positive_int("m", m), require_positive_int("n", n)
    with mpmath.workdps(dps):
        return +(mpmath.sqrt(mpmath.pi) * mpmath.gamma(mpmath.mpf(m + n - 1) / 2)
                 / (mpmath.gamma(mpmath.mpf(m) / 2) * mpmath.gamma(mpmath.mpf(n) / 2)))


def _sphere_volume(k):
    import mpmath

    return 2 * mpmath.pi ** (mpmath.mpf(k + 1) / 2) / mpmath.gamma(mpmath.mpf(k + 1) / 2)


def exact_existence_statements(sizes=GROEBNER_SIZES) -> list:
    """The ledger statements of issue 16's exact side.

    >>> [s.id for s in exact_existence_statements(((2, 2, 1),))]  # doctest: +NORMALIZE_WHITESPACE
    ['EX.dimension-count', 'EX.degree-r1-binomial', 'EX.degree-groebner.2x2.r1',
     'EX.parity-odd-degree']
    >>> from proofs.statement import check
    >>> [check(s).status for s in exact_existence_statements(((2, 2, 1),))]
    ['proved-assuming', 'proved', 'proved-assuming', 'proved-assuming']
    """
    import sympy

    from .statement import Statement

    bezout, dim_fact = BEZOUT, DIMENSION_FACT
    out = [Statement(
        id="EX.dimension-count", source=f"{RETHINK}, section 2; Harris, Lecture 12 (determinantal "
        "varieties)", title="rho = 1 is M = r(m+n-r) = mn - (m-r)(n-r); at r = 1 the normalised "
        "factors u v^T (u_1 = 1) have exactly M unknowns",
        variables=(), hypotheses=(), conclusion=sympy.true,
        certificate=Route("dimension identity (sympy)", _dimension_identity_sympy),
        smt=_dimension_identity_z3,
        text=("for all integers m, n, r: mn - (m-r)(n-r) = r(m+n-r), and m + n - 1 = r(m+n-r) at "
              "r = 1; so rho = M / (r(m+n-r)) = 1 makes the system square (as many affine "
              "conditions as the dimension of the rank-<= r variety)"),
        assumed=(dim_fact,), rests_on=(dim_fact,),
        checked="the polynomial identities, by sympy expansion and by z3 (negation unsat)",
        notes="The identities are checked; the dimension of the variety is cited (Harris, "
              "Prop. 12.2 and Example 14.4; also THEORY.md section 2).")]
    out.append(Statement(
        id="EX.degree-r1-binomial", source=DEGREE_SOURCE,
        title="at r = 1 the degree product equals C(m+n-2, m-1) for all m, n",
        variables=(), hypotheses=(), conclusion=sympy.true,
        certificate=Route("factor ratio and product", _closed_form_by_factor_ratio),
        smt=Route("induction on n", _closed_form_by_induction),
        text=("for all integers m, n >= 1: prod_{i=0}^{n-2} i!(m+i)!/((1+i)!(m-1+i)!) = "
              "C(m+n-2, m-1)"),
        checked=("for symbolic m, n: by sympy (each factor gammasimps to (m+i)/(i+1), the "
                 "product to a rising factorial whose ratio to the binomial is 1) and by an "
                 "induction on n whose base and step sympy checks; the implemented function "
                 "agrees at 144 sizes"),
        notes="Both routes are sympy (the smt slot holds the induction); no SMT solver here."))
    for m, n, r in sizes:
        d = determinantal_degree(m, n, r)
        out.append(Statement(
            id=f"EX.degree-groebner.{m}x{n}.r{r}", source=DEGREE_SOURCE,
            title=(f"{m}x{n}, r = {r}: rank <= r and M = {r * (m + n - r)} generic affine "
                   f"conditions have exactly {d} complex solutions (the formula's degree)"),
            variables=(), hypotheses=(), conclusion=sympy.true,
            certificate=DegreeByGroebner(m, n, r, seed=0, parametrise=False),
            smt=DegreeByGroebner(m, n, r, seed=1, parametrise=True),
            text=(f"at m = {m}, n = {n}, r = {r}: the degree of the variety of rank-<= {r} "
                  f"matrices is {d}, as the Giambelli-Thom-Porteous product gives"),
            assumed=(bezout,), rests_on=(bezout,),
            checked=(f"on two random integer instances (seeds 0 and 1, coefficients in "
                     f"[-{COEFF}, {COEFF}]), exact Groebner bases over Q find {d} distinct "
                     "solutions (lex, shape position, squarefree), length {d} (grevlex standard "
                     "monomials) and no solution at infinity; route 1 in all mn entries, route 2 "
                     "after solving the affine equations").replace("{d}", str(d)),
            notes=("A certified count on one instance equals deg X given Bezout for proper "
                   "sections (the length of a zero-dimensional section with nothing at infinity "
                   "is deg X; determinantal varieties are Cohen-Macaulay, Hochster-Eagon 1971). "
                   "Symmetry of the formula in m, n is checked at all m, n <= 10 in the tests.")))
    conj, generic = CONJUGATION, GENERICITY
    out.append(Statement(
        id="EX.parity-odd-degree", source=f"{DEGREE_SOURCE}; conjugate pairing (folklore)",
        title=("at rho = 1 with odd degree, generic real instances always have a real rank-<= r "
               "solution (e.g. 2x3 r=1: degree 3; 3x3 r=2: degree 3)"),
        variables=(), hypotheses=(), conclusion=sympy.true,
        certificate=Route("parity (sympy)", _parity_by_pairing), smt=_parity_by_z3,
        text=("if a real system has D = 2k + 1 solutions (counted without multiplicity, all "
              "finite) of which 2j are non-real, then R = D - 2j >= 1 of them are real"),
        assumed=(conj, generic), rests_on=(conj, generic),
        checked=("the integer parity step (2k + 1 - 2j is odd, hence >= 1 when >= 0), by sympy's "
                 "parity assumptions and by z3"),
        notes=("Odd degree at rho = 1: 2x3 and 3x2 r=1 (3), 3x3 r=2 (3), 2x2k r=1 ... "
               "(C(m+n-2, m-1) odd, Lucas' theorem). Generic instances satisfy both assumed "
               "facts; numerics/engine/homotopy.py certifies them per instance (E0).")))
    return out
