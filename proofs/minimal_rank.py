"""Exact least LoRA ranks under each rank criterion of THEORY.md, by integer arithmetic.

Every function here works on Python integers and ``fractions.Fraction`` only: a threshold
such as ``r(r+1)/2 > KN`` or ``r(m+n-r) > C* KN`` is decided exactly, never in floating
point. Closed forms use :func:`math.isqrt`; each closed form is checked against the exact
predicate on its neighbours before it is returned, and the tests compare every criterion
against brute force and against sympy's solution of the inequality.

The criteria (``M = K N`` equations, an ``m x n`` matrix, ``1 <= r <= min(m, n)``):

========================  =====================================  ==========================
name                      least r such that                      source
========================  =====================================  ==========================
``sard``                  ``r (r + 1) / 2 > M``                  Jang et al. 2024, J2
``sqrt_approx``           ``r > sqrt(2 M)``                      headline of J2 ("r >= 12")
``manifold``              ``r (m + n - r) > C* M``               2026 paper, R1
``dimension_count``       ``r (m + n - r) >= M``                 necessary (THEORY.md s.2)
``linear_solve``          ``r max(m, n) >= M``                   sufficient (THEORY.md s.2)
========================  =====================================  ==========================

plus :func:`barvinok_pataki_rank`, the J1 bound: some solution has rank at most the largest
``r`` with ``r (r + 1) / 2 <= M``.

``None`` means "no rank ``r <= min(m, n)`` satisfies the criterion". The ``sard`` and
``sqrt_approx`` criteria do not involve ``m, n``; they are still capped at ``min(m, n)`` when
``m, n`` are given, since a LoRA rank above ``min(m, n)`` does not exist.

Examples
--------
Where the prescription "r >= 12" of the 2026 paper comes from (16-shot binary, two label
logits: K N = 64):

>>> least_rank_sard(64), least_rank_sqrt_approx(64)
(11, 12)
>>> least_rank_manifold(768, 768, 64, "1.35")
1
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Callable, Optional

from .claims import CLAIMED_CSTAR
from .validation import (
    InvalidArgument,
    require_positive_fraction,
    require_positive_int,
)

__all__ = [
    "Criterion",
    "CRITERIA",
    "barvinok_pataki_rank",
    "least_rank_sard",
    "least_rank_sqrt_approx",
    "least_rank_manifold",
    "least_rank_dimension_count",
    "least_rank_linear_solve",
    "least_rank",
    "least_rank_brute_force",
    "manifold_dimension",
]


def manifold_dimension(m: int, n: int, r: int) -> int:
    """Dimension ``r (m + n - r)`` of the manifold of ``m x n`` matrices of rank exactly ``r``.

    >>> manifold_dimension(768, 768, 1)
    1535
    """
    return r * (m + n - r)


def _cap(r: Optional[int], m: Optional[int], n: Optional[int]) -> Optional[int]:
    if r is None:
        return None
    if m is not None and n is not None and r > min(m, n):
        return None
    return r


def _check_dims(m, n):
    if (m is None) != (n is None):
        raise InvalidArgument(f"m and n must be given together, got m={m!r}, n={n!r}")
    if m is not None:
        require_positive_int("m", m)
        require_positive_int("n", n)


def barvinok_pataki_rank(M: int) -> int:
    """Largest ``r`` with ``r (r + 1) / 2 <= M`` (J1: a solution of at most this rank exists).

    >>> [barvinok_pataki_rank(M) for M in (1, 2, 3, 5, 6, 64)]
    [1, 1, 2, 2, 3, 10]
    """
    M = require_positive_int("M", M)
    r = (math.isqrt(8 * M + 1) - 1) // 2
    assert r * (r + 1) <= 2 * M < (r + 1) * (r + 2), "isqrt closed form violated"
    return r


def least_rank_sard(M: int, m: Optional[int] = None, n: Optional[int] = None) -> Optional[int]:
    """Least ``r`` with ``r (r + 1) / 2 > M`` (Jang et al.'s Sard-count threshold, J2).

    >>> least_rank_sard(32), least_rank_sard(64), least_rank_sard(144)
    (8, 11, 17)
    >>> least_rank_sard(64, 8, 8) is None   # rank 11 does not exist in an 8 x 8 matrix
    True
    """
    _check_dims(m, n)
    r = barvinok_pataki_rank(M) + 1
    assert r * (r + 1) > 2 * M >= (r - 1) * r
    return _cap(r, m, n)


def least_rank_sqrt_approx(M: int, m: Optional[int] = None, n: Optional[int] = None) -> Optional[int]:
    """Least ``r`` with ``r > sqrt(2 M)``, the square-root approximation of J2.

    It is never smaller than :func:`least_rank_sard` (``r^2 > 2M`` implies
    ``r (r + 1) > 2M``), and sometimes larger: at ``M = 64`` it gives 12 where J2 gives 11.

    >>> least_rank_sqrt_approx(64), least_rank_sqrt_approx(32)
    (12, 9)
    """
    _check_dims(m, n)
    M = require_positive_int("M", M)
    r = math.isqrt(2 * M) + 1
    assert r * r > 2 * M >= (r - 1) ** 2
    return _cap(r, m, n)


def _least_r_quadratic(m: int, n: int, M: int, c: Fraction, strict: bool) -> Optional[int]:
    """Least ``1 <= r <= min(m, n)`` with ``r (m + n - r) > c M`` (or ``>=`` if not strict).

    ``r (m + n - r)`` increases on ``1 <= r <= (m + n) / 2``, which contains ``[1, min(m, n)]``,
    so the set of good ``r`` is an up-set there and the least one is the smallest root bound.
    """
    p, q = c.numerator, c.denominator

    def good(r: int) -> bool:
        lhs, rhs = q * r * (m + n - r), p * M
        return lhs > rhs if strict else lhs >= rhs

    top = min(m, n)
    if not good(top):
        return None
    # q r^2 - q S r + p M < 0 between the roots (q S -+ sqrt(q^2 S^2 - 4 q p M)) / (2 q).
    S = m + n
    disc = q * q * S * S - 4 * q * p * M
    if disc < 0:  # cannot happen when good(top) holds, kept as a guard
        return None
    r = max(1, (q * S - math.isqrt(disc)) // (2 * q))
    r = min(r, top)
    while r > 1 and good(r - 1):
        r -= 1
    while not good(r):
        r += 1
    return r


def least_rank_manifold(m: int, n: int, M: int, cstar) -> Optional[int]:
    """Least ``r`` with ``r (m + n - r) > C* M`` (the manifold count of the 2026 paper, R1).

    ``cstar`` is read exactly (a string ``"1.35"`` is 27/20).

    >>> least_rank_manifold(768, 768, 64, "1.35")
    1
    >>> least_rank_manifold(8, 8, 64, "1.35") is None   # 8 x 8 has dimension 64 at most
    True
    >>> least_rank_manifold(16, 16, 64, 2)
    5
    """
    m, n, M = (require_positive_int(k, v) for k, v in (("m", m), ("n", n), ("M", M)))
    c = require_positive_fraction("cstar", cstar)
    return _least_r_quadratic(m, n, M, c, strict=True)


def least_rank_dimension_count(m: int, n: int, M: int) -> Optional[int]:
    """Least ``r`` with ``r (m + n - r) >= M``: below it, a generic system has no rank-``r``
    solution (the rank-``r`` set has dimension ``r (m + n - r)``).

    >>> least_rank_dimension_count(768, 768, 64), least_rank_dimension_count(16, 16, 64)
    (1, 3)
    """
    m, n, M = (require_positive_int(k, v) for k, v in (("m", m), ("n", n), ("M", M)))
    return _least_r_quadratic(m, n, M, Fraction(1), strict=False)


def least_rank_linear_solve(m: int, n: int, M: int) -> Optional[int]:
    """Least ``r`` with ``r max(m, n) >= M``: from there a generic system is solvable (fix a
    generic ``A``; the system is then linear in ``B`` with ``m r`` unknowns, or symmetrically).

    >>> least_rank_linear_solve(768, 768, 64), least_rank_linear_solve(16, 16, 64)
    (1, 4)
    """
    m, n, M = (require_positive_int(k, v) for k, v in (("m", m), ("n", n), ("M", M)))
    r = -(-M // max(m, n))
    return _cap(r, m, n)


@dataclass(frozen=True)
class Criterion:
    """A rank criterion: a name, the exact predicate on ``r`` and where it comes from."""

    name: str
    condition: str
    source: str
    kind: str  # "sufficient (landscape)", "necessary", "sufficient (existence)", ...
    holds: Callable[..., bool]
    least: Callable[..., Optional[int]]


def _holds_sard(r, m, n, M, cstar=None):
    return r * (r + 1) > 2 * M


def _holds_sqrt(r, m, n, M, cstar=None):
    return r * r > 2 * M


def _holds_manifold(r, m, n, M, cstar):
    c = Fraction(cstar)
    return c.denominator * r * (m + n - r) > c.numerator * M


def _holds_dimension(r, m, n, M, cstar=None):
    return r * (m + n - r) >= M


def _holds_linear(r, m, n, M, cstar=None):
    return r * max(m, n) >= M


CRITERIA: dict[str, Criterion] = {
    c.name: c
    for c in (
        Criterion("sard", "r(r+1)/2 > KN", "Jang, Lee, Ryu (ICML 2024), J2", "sufficient: no spurious local minima",
                  _holds_sard, lambda m, n, M, cstar=None: least_rank_sard(M, m, n)),
        Criterion("sqrt_approx", "r > sqrt(2 KN)", "approximation of J2 behind 'r >= 12'", "sufficient (approximate J2)",
                  _holds_sqrt, lambda m, n, M, cstar=None: least_rank_sqrt_approx(M, m, n)),
        Criterion("manifold", "r(m+n-r) > C* KN", "Rethinking the Rank Threshold (2026), R1", "claimed sufficient",
                  _holds_manifold, lambda m, n, M, cstar: least_rank_manifold(m, n, M, cstar)),
        Criterion("dimension_count", "r(m+n-r) >= KN", "dimension count (THEORY.md s.2)", "necessary for generic existence",
                  _holds_dimension, lambda m, n, M, cstar=None: least_rank_dimension_count(m, n, M)),
        Criterion("linear_solve", "r max(m,n) >= KN", "linear solve in B (THEORY.md s.2)", "sufficient for generic existence",
                  _holds_linear, lambda m, n, M, cstar=None: least_rank_linear_solve(m, n, M)),
    )
}


def least_rank(criterion: str, m: int, n: int, M: int, cstar=CLAIMED_CSTAR.value) -> Optional[int]:
    """Least rank under the named criterion (see :data:`CRITERIA`).

    ``cstar`` defaults to the paper's claimed value, :data:`proofs.claims.CLAIMED_CSTAR`.

    >>> {name: least_rank(name, 768, 768, 64) for name in CRITERIA}
    {'sard': 11, 'sqrt_approx': 12, 'manifold': 1, 'dimension_count': 1, 'linear_solve': 1}
    """
    if criterion not in CRITERIA:
        raise InvalidArgument(f"criterion must be one of {sorted(CRITERIA)}, got {criterion!r}")
    if criterion == "manifold":
        return CRITERIA[criterion].least(m, n, M, cstar)
    return CRITERIA[criterion].least(m, n, M)


def least_rank_brute_force(criterion: str, m: int, n: int, M: int,
                           cstar=CLAIMED_CSTAR.value) -> Optional[int]:
    """The same answer as :func:`least_rank`, by trying ``r = 1, ..., min(m, n)`` in turn.

    >>> least_rank_brute_force("sard", 768, 768, 64)
    11
    """
    if criterion not in CRITERIA:
        raise InvalidArgument(f"criterion must be one of {sorted(CRITERIA)}, got {criterion!r}")
    m, n, M = (require_positive_int(k, v) for k, v in (("m", m), ("n", n), ("M", M)))
    c = require_positive_fraction("cstar", cstar)
    holds = CRITERIA[criterion].holds
    return next((r for r in range(1, min(m, n) + 1) if holds(r, m, n, M, c)), None)
