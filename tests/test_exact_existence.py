"""Exact existence at rho = 1 (issue 16): the degree, its Groebner route, the parity statement,
and the homotopy estimand E0 (numerics/engine/homotopy.py) against the exact side."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from proofs import InvalidArgument, check
from proofs.exact_existence import (GROEBNER_SIZES, degree_r1_closed_form, determinantal_degree,
                                    dimension_count, exact_existence_statements, groebner_count)

# --- the degree formula ------------------------------------------------------------------

# Known values: Harris, Algebraic Geometry, Example 19.10 (and its r = 1 case, the Segre
# variety P^(m-1) x P^(n-1) of degree C(m+n-2, m-1)); the 3x3 r=2 value is the degree of the
# determinant, a cubic; 4x4 r=2 is 20 (Harris, Example 19.10, the Grassmannian-like count).
KNOWN = [((2, 2, 1), 2), ((2, 3, 1), 3), ((3, 2, 1), 3), ((3, 3, 1), 6), ((3, 3, 2), 3),
         ((4, 4, 3), 4), ((4, 4, 2), 20), ((8, 8, 1), 3432), ((5, 5, 5), 1), ((1, 7, 1), 1)]


@pytest.mark.parametrize("size, degree", KNOWN)
def test_known_degrees(size, degree):
    assert determinantal_degree(*size) == degree


def test_determinant_has_degree_n():
    # rank <= n-1 in n x n is the hypersurface det = 0, of degree n.
    for k in range(1, 12):
        assert determinantal_degree(k, k, k - 1 if k > 1 else 1) == (k if k > 1 else 1)


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 14), st.integers(1, 14), st.data())
def test_symmetric_and_r1_binomial(m, n, data):
    # Property: deg is symmetric in (m, n) and equals C(m+n-2, m-1) at r = 1.
    r = data.draw(st.integers(1, min(m, n)))
    assert determinantal_degree(m, n, r) == determinantal_degree(n, m, r)
    assert determinantal_degree(m, n, 1) == degree_r1_closed_form(m, n) == math.comb(m + n - 2, m - 1)
    assert dimension_count(m, n, r) == m * n - (m - r) * (n - r)


@pytest.mark.parametrize("call, name, value", [
    (lambda: determinantal_degree(0, 2, 1), "m", "0"),
    (lambda: determinantal_degree(2, -1, 1), "n", "-1"),
    (lambda: determinantal_degree(2, 3, 3), "r", "3"),
    (lambda: determinantal_degree(2.0, 3, 1), "m", "2.0"),
    (lambda: degree_r1_closed_form(3, 0), "n", "0"),
    (lambda: dimension_count(3, 3, 0), "r", "0"),
    (lambda: groebner_count(2, 2, 1, seed=-2), "seed", "-2"),
])
def test_bad_inputs_name_argument_and_value(call, name, value):
    with pytest.raises(InvalidArgument) as info:
        call()
    assert info.value.args[0].startswith(name) and value in info.value.args[0]


# --- the Groebner route ------------------------------------------------------------------

@pytest.mark.parametrize("size", [(2, 2, 1), (2, 3, 1), (3, 3, 2)])
@pytest.mark.parametrize("parametrise", [False, True])
def test_groebner_count_equals_formula(size, parametrise):
    c = groebner_count(*size, seed=7, parametrise=parametrise)
    assert c.none_at_infinity is True
    assert c.distinct == c.length == determinantal_degree(*size)
    assert c.degree_certified == determinantal_degree(*size)


@pytest.mark.slow
@pytest.mark.parametrize("size", [(3, 3, 1), (2, 4, 1), (4, 2, 1)])
def test_groebner_count_equals_formula_larger(size):
    c = groebner_count(*size, seed=11, parametrise=True)
    assert c.degree_certified == determinantal_degree(*size)


def test_double_root_is_not_counted_as_distinct():
    # A non-radical ideal (x^2): length 2, but no distinct count and no certified degree.
    import sympy

    from proofs.exact_existence import _shape_position_count, _standard_monomial_count

    x = sympy.Symbol("x")
    assert _shape_position_count(sympy.groebner([x**2], x, order="lex"), (x,)) is None
    assert _standard_monomial_count(sympy.groebner([x**2], x, order="grevlex"), (x,)) == 2
    y = sympy.Symbol("y")
    assert _standard_monomial_count(sympy.groebner([x * y], x, y, order="grevlex"), (x, y)) is None


# --- the statements ----------------------------------------------------------------------

def test_statements_have_expected_status():
    verdicts = {v.id: v for v in map(check, exact_existence_statements(((2, 3, 1), (3, 3, 2))))}
    assert verdicts["EX.degree-r1-binomial"].status == "proved"
    for sid in ("EX.dimension-count", "EX.degree-groebner.2x3.r1", "EX.degree-groebner.3x3.r2",
                "EX.parity-odd-degree"):
        assert verdicts[sid].status == "proved-assuming"
        assert all(r.answer is True for r in verdicts[sid].routes)
    ids = [s.id for s in exact_existence_statements()]
    assert [i for i in ids if i.startswith("EX.degree-groebner.")] == [
        f"EX.degree-groebner.{m}x{n}.r{r}" for m, n, r in GROEBNER_SIZES]
