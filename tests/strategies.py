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


@st.composite
def st_point(draw, statement):
    """Exact values (``sympy.Rational``) for a polynomial statement's variables.

    If the statement has a slack certificate, the point is drawn on the slack side (small
    slacks half the time) and mapped through the substitution, so that order hypotheses such
    as ``r <= min(m, n)`` hold by construction; otherwise each variable is drawn in its
    domain. A variable fixed by a hypothesis ``Eq(v, expr)`` is then computed from the
    others, and the closed-form variables ``s``, ``r0`` from ``M`` (``s = isqrt(8M+1)``,
    ``r0 = (s-1)//2``). The test still filters with ``assume``; the property is checked
    exactly, so how points are drawn cannot make a false statement pass.
    """
    defined = {h.lhs: h.rhs for h in statement.hypotheses
               if isinstance(h, Equality) and h.lhs in statement.variables}
    by_name = {v.name: v for v in statement.variables}
    cert = statement.certificate
    cert = cert[0] if isinstance(cert, tuple) else cert
    sub = dict(getattr(cert, "substitution", ()) or ())
    values = {}
    if sub:
        slack_values = {}
        for v, expr in sub.items():
            for sl in sorted(sympy.sympify(expr).free_symbols, key=lambda x: x.name):
                if sl in slack_values:
                    continue
                if v.is_integer:
                    slack_values[sl] = Rational(draw(_int(0, 3, MAX_INT)))
                else:
                    f = draw(_st_exact_fraction(Fraction(0)))
                    slack_values[sl] = Rational(f.numerator, f.denominator)
        values = {v: sympy.sympify(expr).subs(slack_values) for v, expr in sub.items()}
    else:
        for v in statement.variables:
            if v.is_integer:
                values[v] = Rational(draw(_int(1 if v.is_positive else 0, SMALL_INT, MAX_INT)))
            else:
                f = draw(_st_exact_fraction(Fraction(1, MAX_CSTAR_DEN)))
                values[v] = Rational(f.numerator, f.denominator)
    if "s" in by_name and "M" in by_name:
        s = math.isqrt(8 * int(values[by_name["M"]]) + 1)
        values[by_name["s"]] = Rational(s)
        if "r0" in by_name:
            values[by_name["r0"]] = Rational((s - 1) // 2)
    for v, expr in defined.items():
        values[v] = expr.subs(values)
    return values


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
