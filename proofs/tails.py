"""Eckart-Young-Mirsky tails of a power-law spectrum, by mpmath (seed 002, THEORY.md section 3).

For singular values ``s_j = j^(-alpha)`` (``alpha > 1/2``, so that ``sum_j s_j^2`` converges),
the best rank-``r`` approximation in the Frobenius norm keeps ``s_1..s_r`` (Eckart-Young-Mirsky),
and its relative error is

    e(r) = sqrt( sum_{j > r} j^(-2 alpha) / sum_{j >= 1} j^(-2 alpha) )
         = sqrt( zeta(2 alpha, r + 1) / zeta(2 alpha) )

with Hurwitz's ``zeta(s, a) = sum_{k >= 0} (k + a)^(-s)``. For a finite spectrum ``j <= n`` the
sums stop at ``n``: ``zeta(2 alpha, r + 1) - zeta(2 alpha, n + 1)`` over
``zeta(2 alpha) - zeta(2 alpha, n + 1)``.

The two-sided bound proved in :mod:`proofs.gradient_flow` (``GF.ey-tail-general``,
``GF.ey-tail-alpha1``) is ``c_lo r^(1/2 - alpha) <= e(r) <= c_hi r^(1/2 - alpha)`` with
:func:`rate_constants`. This module only evaluates; it imports mpmath and nothing of the project
besides :mod:`proofs.validation` (no sympy, no torch), so :mod:`numerics` can read the values.

Examples
--------
One value by three routes (mpmath's Hurwitz zeta, the series summed by ``nsum``, and the
closed form ``pi^2/6 - sum_{j<=r} j^-2`` at ``alpha = 1``):

>>> import mpmath
>>> mpmath.mp.dps = 30
>>> a = relative_tail_error(1, 4)
>>> b = mpmath.sqrt(mpmath.nsum(lambda j: j**-2, [5, mpmath.inf]) / mpmath.zeta(2))
>>> c = mpmath.sqrt((mpmath.pi**2 / 6 - sum(mpmath.mpf(1) / j**2 for j in range(1, 5))) / (mpmath.pi**2 / 6))
>>> mpmath.nstr(a, 20), abs(a - b) < mpmath.mpf(10)**-25, abs(a - c) < mpmath.mpf(10)**-25
('0.36680815565501203232', True, True)
>>> mpmath.mp.dps = 15

At ``alpha = 1`` the constants are ``sqrt(3)/pi`` and ``sqrt(6)/pi``:

>>> lo, hi = rate_constants(1)
>>> round(float(lo), 6), round(float(hi), 6)
(0.551329, 0.779697)
"""

from __future__ import annotations

import numbers

import mpmath

from .validation import InvalidArgument

__all__ = ["relative_tail_error", "rate_constants", "tail_sum", "local_exponent"]


def _alpha(alpha):
    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real) or not alpha > 0.5 \
            or not mpmath.isfinite(alpha):
        raise InvalidArgument(f"alpha must be a finite number above 1/2, got {alpha!r}")
    return mpmath.mpf(alpha)


def _rank(name, value, minimum=1):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise InvalidArgument(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def tail_sum(alpha, r: int, n: int | None = None):
    """``sum_{r < j <= n} j^(-2 alpha)`` (``n = None``: to infinity), as a Hurwitz zeta value.

    Parameters
    ----------
    alpha : real, > 1/2
    r : int, >= 0
    n : int or None, > r

    Returns
    -------
    mpmath.mpf

    Examples
    --------
    >>> float(tail_sum(1, 0)) == float(mpmath.pi**2 / 6)
    True
    >>> float(tail_sum(1, 1, 3)) == 1 / 4 + 1 / 9
    True
    >>> tail_sum(0.5, 1)
    Traceback (most recent call last):
    ...
    proofs.validation.InvalidArgument: alpha must be a finite number above 1/2, got 0.5
    """
    a = _alpha(alpha)
    r = _rank("r", r, 0)
    head = mpmath.zeta(2 * a, r + 1)
    if n is None:
        return head
    n = _rank("n", n, r + 1)
    return head - mpmath.zeta(2 * a, n + 1)


def relative_tail_error(alpha, r: int, n: int | None = None):
    """The Eckart-Young-Mirsky relative error ``e(r)`` of the spectrum ``s_j = j^(-alpha)``,
    ``j = 1..n`` (``n = None``: the infinite spectrum).

    >>> abs(float(relative_tail_error(1, 1, 2)) - (1 / 4 / (1 + 1 / 4)) ** 0.5) < 1e-15
    True
    >>> relative_tail_error(1, 3, 3)
    Traceback (most recent call last):
    ...
    proofs.validation.InvalidArgument: n must be an integer >= 4, got 3
    """
    _rank("r", r)
    return mpmath.sqrt(tail_sum(alpha, r, n) / tail_sum(alpha, 0, n))


def rate_constants(alpha):
    """``(c_lo, c_hi)`` with ``c_lo r^(1/2-alpha) <= e(r) <= c_hi r^(1/2-alpha)`` for every
    ``r >= 1`` (infinite spectrum): ``c_hi = 1 / sqrt((2 alpha - 1) zeta(2 alpha))`` and
    ``c_lo = 2^(1/2 - alpha) c_hi`` (``GF.ey-tail-general``).

    >>> lo, hi = rate_constants(1.5)
    >>> all(lo * r**-1 <= relative_tail_error(1.5, r) <= hi * r**-1 for r in (1, 2, 7, 100))
    True
    """
    a = _alpha(alpha)
    hi = 1 / mpmath.sqrt((2 * a - 1) * mpmath.zeta(2 * a))
    return mpmath.power(2, mpmath.mpf(1) / 2 - a) * hi, hi


def local_exponent(alpha, r1: int, r2: int, n: int | None = None):
    """``log(e(r2)/e(r1)) / log(r2/r1)``: the exponent of ``e`` between two ranks (it tends to
    ``1/2 - alpha`` as the ranks grow, for the infinite spectrum).

    >>> round(float(local_exponent(1, 10**5, 2 * 10**5)), 4)
    -0.5
    >>> round(float(local_exponent(1, 1, 2)), 4)
    -0.3538
    """
    r1, r2 = _rank("r1", r1), _rank("r2", r2)
    if r2 == r1:
        raise InvalidArgument(f"r2 must differ from r1, got {r2!r}")
    return mpmath.log(relative_tail_error(alpha, r2, n) / relative_tail_error(alpha, r1, n)) / \
        mpmath.log(mpmath.mpf(r2) / r1)
