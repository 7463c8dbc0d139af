"""Hypothesis strategies shared by the tests (all ``st_``-prefixed), with their bounds.

The bounds are named constants so that a failing example can be read against them.
"""

from __future__ import annotations

import math
from fractions import Fraction

import sympy
from hypothesis import strategies as st
from sympy import Equality, Rational

#: Largest matrix dimension m, n drawn (larger than any rank threshold reached with MAX_KN).
MAX_DIM = 96
#: Dimensions are drawn from 1..SMALL_DIM half of the time, so that edge cases (r = min(m, n),
#: "no rank suffices") are hit often.
SMALL_DIM = 8
#: Largest equation count M = K N drawn.
MAX_KN = 4096
#: C* is drawn as a fraction in [MIN_CSTAR, MAX_CSTAR] with denominator <= MAX_CSTAR_DEN.
MIN_CSTAR, MAX_CSTAR, MAX_CSTAR_DEN = Fraction(1, 20), Fraction(8), 20
#: Integer variables of statements are drawn from 1..MAX_INT (or 1..SMALL_INT).
MAX_INT, SMALL_INT = 2000, 12
#: Gradient-flow instances: largest side and example count (float64 torch, milliseconds each).
MAX_FLOW_DIM, MAX_FLOW_EXAMPLES = 6, 8
#: Power-law exponents alpha of the tails are drawn from [MIN_ALPHA, MAX_ALPHA].
MIN_ALPHA, MAX_ALPHA = 0.55, 3.0


def _int(lo: int, small: int, big: int):
    return st.one_of(st.integers(lo, small), st.integers(lo, big))


@st.composite
def st_dims(draw, max_dim: int = MAX_DIM):
    """``(m, n)``, each in ``1..max_dim``, small half of the time."""
    return draw(_int(1, SMALL_DIM, max_dim)), draw(_int(1, SMALL_DIM, max_dim))


@st.composite
def st_rank(draw, m: int, n: int):
    """A LoRA rank ``1 <= r <= min(m, n)``."""
    return draw(st.integers(1, min(m, n)))


@st.composite
def st_kn(draw, max_kn: int = MAX_KN):
    """An equation count ``M = K N >= 1``."""
    return draw(st.one_of(st.integers(1, 64), st.integers(1, max_kn)))


@st.composite
def st_cstar(draw):
    """An exact positive C* as a ``Fraction``."""
    return draw(st.fractions(min_value=MIN_CSTAR, max_value=MAX_CSTAR,
                             max_denominator=MAX_CSTAR_DEN))


@st.composite
def st_problem(draw):
    """``(m, n, M, cstar)`` for the least-rank criteria."""
    m, n = draw(st_dims())
    return m, n, draw(st_kn()), draw(st_cstar())


def _st_exact_fraction(lo: Fraction):
    return st.one_of(*(st.fractions(min_value=lo, max_value=Fraction(hi), max_denominator=MAX_CSTAR_DEN)
                       for hi in (1, 8)))


#: Integer slacks and offsets: ``0..3`` half of the time, else ``0..MAX_INT``.
ST_INT_SLACK = _int(0, 3, MAX_INT)
#: Real slacks and offsets: an exact fraction in ``[0, 1]`` or ``[0, 8]``.
ST_REAL_SLACK = _st_exact_fraction(Fraction(0))
#: A fraction of a bound, in ``[0, 1]`` (``v = u * bound`` for a nonnegative ``v <= bound``).
ST_UNIT_FRACTION = st.fractions(min_value=0, max_value=1, max_denominator=MAX_CSTAR_DEN)
#: Integer and real values of a variable drawn in its domain (no certificate).
ST_POSITIVE_INT, ST_NONNEGATIVE_INT = _int(1, SMALL_INT, MAX_INT), _int(0, SMALL_INT, MAX_INT)
ST_REAL = _st_exact_fraction(Fraction(1, MAX_CSTAR_DEN))

_KINDS = {sympy.LessThan: "le", sympy.StrictLessThan: "lt", sympy.GreaterThan: "ge",
          sympy.StrictGreaterThan: "gt"}
_FLIPPED = {"le": "ge", "lt": "gt", "ge": "le", "gt": "lt"}


def _bounds(statement, defined) -> list:
    """The inequality hypotheses that are linear in some variable ``v``, written
    ``c v + rest REL 0``, as ``(hypothesis, v, c, rest, REL)``, in an order where a bound comes
    after the bounds on the variables it uses (the given order where that is impossible).

    ``v`` is, in order of preference, one that no earlier hypothesis bounds, alone on one
    side, real rather than integer, with a constant coefficient; then the first in statement
    order.
    """
    found, taken = [], set()
    for h in statement.hypotheses:
        kind = _KINDS.get(type(h))
        if kind is None:
            continue
        gap = sympy.expand(h.lhs - h.rhs)
        linear = []
        for v in statement.variables:
            if v in defined or v not in gap.free_symbols:
                continue
            poly = sympy.Poly(gap, v)
            if poly.degree() != 1:
                continue
            c, rest = poly.all_coeffs()
            alone = h.lhs == v or h.rhs == v
            linear.append((v in taken, not alone, bool(v.is_integer), not c.is_number, v, c, rest))
        if linear:
            *_, v, c, rest = min(linear, key=lambda x: x[:4])
            found.append((h, v, c, rest, kind))
            taken.add(v)
    ordered, pending = [], list(found)
    while pending:
        ready = [b for b in pending if not any(
            o[1] in (b[2].free_symbols | b[3].free_symbols) for o in pending if o is not b)]
        nxt = ready[0] if ready else pending[0]
        ordered.append(nxt)
        pending.remove(nxt)
    return ordered


def _plan(statement) -> tuple:
    """What :func:`st_point` needs of a statement, worked out once per statement object."""
    plan = _PLANS.get(id(statement))
    if plan is not None and plan[0] is statement:
        return plan[1]
    defined = {h.lhs: h.rhs for h in statement.hypotheses
               if isinstance(h, Equality) and h.lhs in statement.variables}
    # other equalities (``c^2 src x = c^2 F``): solved for one real variable, in which they are
    # linear and on which nothing defined so far depends, where the solution is unique (else the
    # point is left to ``assume``)
    for h in statement.hypotheses:
        if not isinstance(h, Equality) or h.lhs in statement.variables:
            continue
        used = set().union(*(e.free_symbols for e in defined.values())) if defined else set()
        for v in statement.variables:
            if v in defined or v.is_integer or v in used or v not in h.free_symbols:
                continue
            if sympy.degree(sympy.expand(h.lhs - h.rhs), v) != 1:  # linear in v only
                continue
            solutions = sympy.solve(h, v)
            if len(solutions) == 1 and v not in solutions[0].free_symbols:
                defined[v] = solutions[0]
                break
    cert = statement.certificate
    cert = cert[0] if isinstance(cert, tuple) else cert
    sub = {v: sympy.sympify(e) for v, e in (getattr(cert, "substitution", ()) or ())}
    slacks = []  # (slack, strategy) in the order they are drawn
    for v, expr in sub.items():
        for sl in sorted(expr.free_symbols, key=lambda x: x.name):
            if sl not in {s for s, _ in slacks}:
                # a positive real variable that is its slack is drawn positive (its domain)
                slacks.append((sl, ST_INT_SLACK if v.is_integer
                               else ST_REAL if expr == sl and v.is_positive else ST_REAL_SLACK))
    result = (defined, sub, slacks, _bounds(statement, defined),
              {v.name: v for v in statement.variables})
    _PLANS[id(statement)] = (statement, result)
    return result


_PLANS: dict = {}


def _exact(draw, strategy):
    f = Fraction(draw(strategy))
    return Rational(f.numerator, f.denominator)


@st.composite
def st_point(draw, statement):
    """Exact values (``sympy.Rational``) for a polynomial statement's variables.

    If the statement has a slack certificate, the point is drawn on the slack side (small
    slacks half the time; a positive real variable that is a slack itself drawn positive) and
    mapped through the substitution, so that order hypotheses such as ``r <= min(m, n)`` hold
    by construction; otherwise each variable is drawn in its domain. A variable fixed by a
    hypothesis ``Eq(v, expr)`` (or by another equality, solved for one real variable) is then
    computed from the others, and the closed-form variables
    ``s``, ``r0`` from ``M`` (``s = isqrt(8M+1)``, ``r0 = (s-1)//2``).

    An inequality hypothesis that the point violates and that is linear in a variable ``v``
    (``c v + rest >= 0`` or ``<= 0``, strict or not; :func:`_bounds`) is then met by moving
    ``v`` to its bound ``e = -rest / c`` at the other values: to ``u e`` with ``u`` in
    ``[0, 1]`` for a real ``v >= 0`` below a bound ``e >= 0``, else to ``e`` minus or plus a
    drawn slack (small half the time; rounded into range for an integer ``v``), the bounds on
    the variables of ``e`` first; the fixed and closed-form variables are computed again.
    Without this, points that meet product hypotheses such as ``t <= nuc op`` are rare and
    most draws are thrown away (R2.pl-linear-rate drew about 1000 points for 40 valid ones).

    The test still filters with ``assume``; the property is checked exactly, so how points
    are drawn cannot make a false statement pass.
    """
    defined, sub, slacks, bounds, by_name = _plan(statement)
    values = {}
    if sub:
        slack_values = {sl: _exact(draw, strategy) for sl, strategy in slacks}
        values = {v: expr.xreplace(slack_values) for v, expr in sub.items()}
    else:
        for v in statement.variables:
            if v.is_integer:
                values[v] = Rational(draw(ST_POSITIVE_INT if v.is_positive else ST_NONNEGATIVE_INT))
            else:
                values[v] = _exact(draw, ST_REAL)
    _derive(values, defined, by_name)
    if bounds:
        for h, v, c, rest, kind in bounds:
            if h.xreplace(values) is sympy.true:
                continue
            c, rest = c.xreplace(values), rest.xreplace(values)
            if not (c.is_Rational and rest.is_Rational) or c == 0:
                continue
            bound = -rest / c
            below = (kind in ("le", "lt")) == (c > 0)   # v <= bound (or <), else v >= bound
            if below and not v.is_integer and v.is_nonnegative and bound >= 0:
                values[v] = bound * _exact(draw, ST_UNIT_FRACTION)
            else:
                slack = _exact(draw, ST_INT_SLACK if v.is_integer else ST_REAL_SLACK)
                values[v] = bound - slack if below else bound + slack
                if v.is_integer:
                    values[v] = sympy.floor(values[v]) if below else sympy.ceiling(values[v])
        _derive(values, defined, by_name)
    return values


def _derive(values, defined, by_name):
    """Set the closed-form variables ``s``, ``r0`` and those fixed by ``Eq`` hypotheses."""
    if "s" in by_name and "M" in by_name:
        s = math.isqrt(8 * int(values[by_name["M"]]) + 1)
        values[by_name["s"]] = Rational(s)
        if "r0" in by_name:
            values[by_name["r0"]] = Rational((s - 1) // 2)
    for v, expr in defined.items():
        values[v] = expr.xreplace(values)


@st.composite
def st_flow_instance(draw, max_dim: int = MAX_FLOW_DIM):
    """``(m, n, r, M, seed)`` for a small gradient-flow instance: ``1 <= r <= min(m, n)``."""
    m, n = draw(st.integers(1, max_dim)), draw(st.integers(1, max_dim))
    return (m, n, draw(st_rank(m, n)), draw(st.integers(1, MAX_FLOW_EXAMPLES)),
            draw(st.integers(0, 2**32 - 1)))


@st.composite
def st_alpha(draw):
    """A power-law exponent ``alpha`` of ``s_j = j^-alpha`` (above 1/2), as a float."""
    return draw(st.floats(MIN_ALPHA, MAX_ALPHA, allow_nan=False))


#: Jang systems calA(Delta) = y: largest side (float64 torch, milliseconds each).
MAX_SYSTEM_DIM = 5


@st.composite
def st_system(draw, max_dim: int = MAX_SYSTEM_DIM):
    """``(m, n, M, seed)`` for a small consistent system: ``1 <= M < m n`` equations."""
    m, n = draw(st.integers(2, max_dim)), draw(st.integers(2, max_dim))
    return m, n, draw(st.integers(1, m * n - 1)), draw(st.integers(0, 2**32 - 1))

#: Stable-rank matrices: largest side, and the largest decade spread of the singular values
#: (near-degenerate matrices have s_k / s_1 down to 10^-MAX_DECADES).
MAX_SR_DIM, MAX_DECADES = 8, 6


@st.composite
def st_spectrum_matrix(draw, max_dim: int = MAX_SR_DIM):
    """``(m, n, s, seed)``: sides, ``k = len(s) <= min(m, n)`` positive singular values and a
    seed for the Haar singular vectors; a third of the spectra are clustered (all equal up to
    1e-9), a third spread over up to MAX_DECADES decades (near-degenerate), a third plain."""
    m, n = draw(st.integers(1, max_dim)), draw(st.integers(1, max_dim))
    k = draw(st.integers(1, min(m, n)))
    kind = draw(st.sampled_from(("clustered", "spread", "plain")))
    if kind == "clustered":
        s = [1.0 + draw(st.floats(0, 1e-9)) for _ in range(k)]
    elif kind == "spread":
        s = [10.0 ** -draw(st.floats(0, MAX_DECADES)) for _ in range(k)]
    else:
        s = [draw(st.floats(0.1, 10.0)) for _ in range(k)]
    return m, n, s, draw(st.integers(0, 2**32 - 1))


@st.composite
def st_int_matrix(draw, max_dim: int = 3, bound: int = 5):
    """A small nonzero integer matrix (rows as lists), for exact stable ranks."""
    m, n = draw(st.integers(1, max_dim)), draw(st.integers(1, max_dim))
    rows = [[draw(st.integers(-bound, bound)) for _ in range(n)] for _ in range(m)]
    if all(v == 0 for row in rows for v in row):
        rows[0][0] = 1
    return rows
