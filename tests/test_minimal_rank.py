"""Exact least ranks: closed forms against brute force and against sympy's solution of the
inequality; "no rank suffices"; bad input."""

from __future__ import annotations

from fractions import Fraction

import pytest
import sympy
from hypothesis import given
from sympy import Interval, Rational, S
from sympy.solvers.inequalities import solve_poly_inequality

from proofs import (CRITERIA, barvinok_pataki_rank, least_rank, least_rank_brute_force,
                    least_rank_dimension_count, least_rank_linear_solve, least_rank_manifold,
                    least_rank_sard, least_rank_sqrt_approx, manifold_dimension)
from proofs.validation import InvalidArgument, require_rank

from strategies import st_kn, st_problem

x = sympy.Symbol("x", real=True)


def _inequality(criterion: str, m: int, n: int, M: int, cstar: Fraction):
    """``(polynomial in x, relation)`` for ``criterion``, with integer coefficients."""
    p, q = cstar.numerator, cstar.denominator
    return {
        "sard": (x * (x + 1) - 2 * M, ">"),
        "sqrt_approx": (x**2 - 2 * M, ">"),
        "manifold": (q * x * (m + n - x) - p * M, ">"),
        "dimension_count": (x * (m + n - x) - M, ">="),
        "linear_solve": (x * max(m, n) - M, ">="),
    }[criterion]


def _least_integer(solution_set, top: int):
    """Least integer of ``solution_set`` in ``[1, top]``, exactly (None if there is none)."""
    best = None
    pieces = solution_set.args if isinstance(solution_set, sympy.Union) else (solution_set,)
    for piece in pieces:
        part = piece.intersect(Interval(1, top))
        if part is S.EmptySet:
            continue
        if isinstance(part, sympy.FiniteSet):
            ints = [int(e) for e in part if e.is_integer]
            if ints:
                best = min(ints) if best is None else min(best, *ints)
            continue
        cand = sympy.ceiling(part.inf)
        if part.left_open and cand == part.inf:
            cand += 1
        if cand <= top and part.contains(cand) is sympy.true:
            best = cand if best is None else min(best, cand)
    return None if best is None else int(best)


def sympy_least_rank(criterion, m, n, M, cstar, solver="poly"):
    """The least rank from sympy's solution set of the criterion's inequality over the reals."""
    expr, rel = _inequality(criterion, m, n, M, cstar)
    if solver == "poly":
        intervals = solve_poly_inequality(sympy.Poly(expr, x), rel)
        solution = sympy.Union(*intervals)
    else:
        relation = {">": expr > 0, ">=": expr >= 0}[rel]
        solution = sympy.solve_univariate_inequality(relation, x, relational=False)
    return _least_integer(solution, min(m, n))


# --- cross-checks ----------------------------------------------------------------------

@given(st_problem())
def test_each_criterion_agrees_with_brute_force_and_sympy(problem):
    # Property: closed form == brute force == least integer of sympy's solution set.
    m, n, M, cstar = problem
    for name in CRITERIA:
        exact = least_rank(name, m, n, M, cstar)
        assert exact == least_rank_brute_force(name, m, n, M, cstar)
        assert exact == sympy_least_rank(name, m, n, M, cstar)
        if exact is not None:
            # it satisfies the criterion and the rank below does not
            assert CRITERIA[name].holds(exact, m, n, M, cstar)
            assert exact == 1 or not CRITERIA[name].holds(exact - 1, m, n, M, cstar)


@given(st_problem())
def test_orderings_between_criteria(problem):
    m, n, M, cstar = problem
    sard, sqrt_ = least_rank_sard(M, m, n), least_rank_sqrt_approx(M, m, n)
    necessary, sufficient = least_rank_dimension_count(m, n, M), least_rank_linear_solve(m, n, M)
    # The square-root approximation is conservative (J2.sqrt-conservative).
    if sqrt_ is not None:
        assert sard is not None and sard <= sqrt_
    # Sufficient implies necessary (LS.sufficient-implies-necessary).
    if sufficient is not None:
        assert necessary is not None and necessary <= sufficient
    # With C* >= 1, R1 implies the necessary count (DC.consistent-when-cstar-ge-1).
    manifold = least_rank_manifold(m, n, M, cstar)
    if cstar >= 1 and manifold is not None:
        assert necessary is not None and necessary <= manifold


@given(st_kn())
def test_barvinok_pataki_closed_form(M):
    # J1.closed-form: r0(r0+1)/2 <= M < (r0+1)(r0+2)/2, and J2's threshold is r0 + 1.
    r0 = barvinok_pataki_rank(M)
    assert r0 * (r0 + 1) <= 2 * M < (r0 + 1) * (r0 + 2)
    assert least_rank_sard(M) == r0 + 1


# Literal cases, solved with sympy.solve_univariate_inequality (the general solver), which
# is slower than solve_poly_inequality used in the property test above.
LITERAL = [
    # (criterion, m, n, M, cstar, least rank): THEORY.md section 6 and the "r >= 12" story
    ("sard", 768, 768, 32, "1.35", 8),
    ("sard", 768, 768, 64, "1.35", 11),
    ("sqrt_approx", 768, 768, 64, "1.35", 12),
    ("sard", 768, 768, 144, "1.35", 17),
    ("sqrt_approx", 768, 768, 144, "1.35", 17),
    ("manifold", 768, 768, 64, "1.35", 1),
    ("manifold", 16, 16, 64, "2", 5),
    ("dimension_count", 16, 16, 64, "1", 3),
    ("linear_solve", 16, 16, 64, "1", 4),
    ("manifold", 8, 8, 64, "1.35", None),
]


@pytest.mark.parametrize("criterion, m, n, M, cstar, expected", LITERAL)
def test_literal_cases_three_ways(criterion, m, n, M, cstar, expected):
    c = Fraction(cstar)
    assert least_rank(criterion, m, n, M, cstar) == expected
    assert least_rank_brute_force(criterion, m, n, M, cstar) == expected
    assert sympy_least_rank(criterion, m, n, M, c, solver="univariate") == expected


# --- no rank suffices ------------------------------------------------------------------

@pytest.mark.parametrize("criterion, m, n, M, cstar", [
    ("sard", 8, 8, 64, "1.35"),            # needs r = 11 > 8
    ("sqrt_approx", 8, 8, 64, "1.35"),
    ("manifold", 8, 8, 64, "1.35"),        # 8 x 8 has dimension 64 < 1.35 * 64
    ("dimension_count", 2, 2, 5, "1"),     # r(m+n-r) <= 4 < 5
    ("linear_solve", 2, 2, 5, "1"),        # needs r = 3 > 2
    ("dimension_count", 1, 1, 2, "1"),
])
def test_no_rank_suffices(criterion, m, n, M, cstar):
    assert least_rank(criterion, m, n, M, cstar) is None
    assert least_rank_brute_force(criterion, m, n, M, cstar) is None
    assert sympy_least_rank(criterion, m, n, M, Fraction(cstar)) is None


def test_manifold_dimension():
    assert manifold_dimension(768, 768, 1) == 1535


# --- bad input -------------------------------------------------------------------------

@pytest.mark.parametrize("name, kwargs", [
    ("m", dict(m=0, n=8, M=4)),
    ("m", dict(m=-3, n=8, M=4)),
    ("n", dict(m=8, n=2.5, M=4)),
    ("n", dict(m=8, n="8", M=4)),
    ("M", dict(m=8, n=8, M=0)),
    ("M", dict(m=8, n=8, M=True)),
    ("M", dict(m=8, n=8, M=None)),
])
@pytest.mark.parametrize("criterion", sorted(CRITERIA))
def test_bad_dimensions_name_the_argument(criterion, name, kwargs):
    with pytest.raises(InvalidArgument, match=rf"^{name} must"):
        least_rank(criterion, kwargs["m"], kwargs["n"], kwargs["M"])
    with pytest.raises(InvalidArgument, match=rf"^{name} must"):
        least_rank_brute_force(criterion, kwargs["m"], kwargs["n"], kwargs["M"])


@pytest.mark.parametrize("cstar", [0, -1, "-1.35", "abc", None, float("nan"), True])
def test_bad_cstar_names_the_argument(cstar):
    with pytest.raises(InvalidArgument, match=r"^cstar must be a positive number"):
        least_rank_manifold(768, 768, 64, cstar)
    with pytest.raises(InvalidArgument, match=r"^cstar must"):
        least_rank("manifold", 768, 768, 64, cstar)


def test_bad_rank_and_criterion():
    with pytest.raises(InvalidArgument, match=r"^r must satisfy 1 <= r <= min\(m, n\) = 8, got 9"):
        require_rank("r", 9, 8, 16)
    with pytest.raises(InvalidArgument, match=r"^r must be a positive integer"):
        require_rank("r", 0, 8, 16)
    with pytest.raises(InvalidArgument, match=r"^criterion must be one of"):
        least_rank("nope", 8, 8, 4)


def test_exact_cstar_string_is_not_a_double():
    # "1.35" is 27/20 exactly: at r(m+n-r) = 27 and M = 20 the strict inequality fails.
    # m = n = 14, r = 1 gives r(m+n-r) = 27; 27 > 1.35 * 20 = 27 is false.
    assert least_rank_manifold(14, 14, 20, "1.35") == 2
    assert least_rank_manifold(14, 14, 20, Rational(27, 20)) == 2
