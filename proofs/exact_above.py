"""Exact side of existence just above the dimension count (issue 16, item 5).

The decision of :mod:`numerics.engine.homotopy_critical` excludes real solutions of rank below
``r`` by a dimension count: ``M`` generic affine conditions miss the variety of rank-``<= r-1``
matrices (dimension ``(r-1)(m+n-r+1)``) when ``M`` exceeds that dimension. With ``M =
r(m+n-r) - d`` this holds exactly for ``d <= m + n - 2r``; the statement below checks that
inequality for all integers (sympy and z3), so every cell the family accepts with ``d`` in
that range is covered. (The family also checks ``M > (r-1)(m+n-r+1)`` per cell.)

>>> [s.id for s in exact_above_statements()]
['EXA.lower-rank-excluded']
>>> from proofs.statement import check
>>> check(exact_above_statements()[0]).status
'proved'
"""

from __future__ import annotations

from .exact_existence import Route

__all__ = ["exact_above_statements", "lower_rank_margin"]

SOURCE = ("issue 16 item 5 (exact existence just above rho = 1); the dimension of the variety of "
          "m x n matrices of rank <= k is k(m+n-k) (Harris, Algebraic Geometry, Prop. 12.2)")


def lower_rank_margin(m: int, n: int, r: int, d: int) -> int:
    """``M - (r-1)(m+n-r+1)`` for ``M = r(m+n-r) - d``; it equals ``m + n - 2r + 1 - d``.

    >>> lower_rank_margin(3, 3, 2, 1), lower_rank_margin(2, 5, 1, 1)
    (2, 5)
    """
    return r * (m + n - r) - d - (r - 1) * (m + n - r + 1)


def _by_sympy() -> tuple:
    import sympy

    m, n, r, d = sympy.symbols("m n r d", integer=True)
    margin = r * (m + n - r) - d - (r - 1) * (m + n - r + 1)
    if sympy.expand(margin - (m + n - 2 * r + 1 - d)) == 0:
        return True, ("expand(r(m+n-r) - d - (r-1)(m+n-r+1)) = m + n - 2r + 1 - d, which is >= 1 "
                      "for d <= m + n - 2r")
    return None, "identity failed"


def _by_z3(statement=None, timeout_s=None) -> tuple:
    import z3

    m, n, r, d = z3.Ints("m n r d")
    s = z3.Solver()
    s.add(r >= 1, m >= r, n >= r, d >= 1, d <= m + n - 2 * r,
          r * (m + n - r) - d <= (r - 1) * (m + n - r + 1))
    res = s.check()
    if res == z3.unsat:
        return True, "z3: the negation is unsat over the integers", None
    return None, f"z3 answered {res}", None


def exact_above_statements() -> list:
    """The ledger statements of the exact-above family."""
    import sympy

    from .statement import Statement

    return [Statement(
        id="EXA.lower-rank-excluded", source=SOURCE,
        title=("M = r(m+n-r) - d conditions exceed the dimension (r-1)(m+n-r+1) of the "
               "rank-<= r-1 matrices whenever 1 <= d <= m + n - 2r"),
        variables=(), hypotheses=(), conclusion=sympy.true,
        certificate=Route("margin identity (sympy)", _by_sympy),
        smt=_by_z3,
        text=("for all integers 1 <= r <= min(m, n) and 1 <= d <= m + n - 2r: r(m+n-r) - d > "
              "(r-1)(m+n-r+1); so generic affine conditions at a deficit d in that range have no "
              "solution of rank below r (the exclusion the exact-above decision rests on)"),
        checked="the inequality for symbolic integers, by sympy expansion and by z3 (negation unsat)",
        notes=("Only the inequality is checked; that generic conditions then miss the lower-rank "
               "variety is the dimension count of E0-ABOVE's assumptions."))]
