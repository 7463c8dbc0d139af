"""Input checks shared by every public entry point.

Every check raises :class:`InvalidArgument`, a ``ValueError`` whose message names the argument
and the value, so the command line can print it as one line and exit with status 2.

Examples
--------
>>> require_positive_int("m", 768)
768
>>> require_positive_int("m", 0)
Traceback (most recent call last):
...
proofs.validation.InvalidArgument: m must be a positive integer, got 0
"""

from __future__ import annotations

import math
import numbers
from fractions import Fraction

__all__ = [
    "InvalidArgument",
    "require_positive_int",
    "require_rank",
    "require_positive_fraction",
]


class InvalidArgument(ValueError):
    """A bad argument; the message names the argument and the value."""


def require_positive_int(name: str, value) -> int:
    """Return ``value`` as an ``int`` if it is a positive integer, else raise.

    Integral floats such as ``3.0`` are refused: a dimension is an integer, and a float that
    happens to be integral usually means a computation went wrong upstream.

    >>> require_positive_int("N", 32)
    32
    >>> require_positive_int("N", 2.5)
    Traceback (most recent call last):
    ...
    proofs.validation.InvalidArgument: N must be a positive integer, got 2.5
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise InvalidArgument(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def require_rank(name: str, r, m: int, n: int) -> int:
    """Check ``1 <= r <= min(m, n)`` and return ``r``.

    >>> require_rank("r", 4, 8, 16)
    4
    >>> require_rank("r", 9, 8, 16)
    Traceback (most recent call last):
    ...
    proofs.validation.InvalidArgument: r must satisfy 1 <= r <= min(m, n) = 8, got 9
    """
    r = require_positive_int(name, r)
    if r > min(m, n):
        raise InvalidArgument(f"{name} must satisfy 1 <= {name} <= min(m, n) = {min(m, n)}, got {r}")
    return r


def require_positive_fraction(name: str, value) -> Fraction:
    """Return ``value`` as an exact positive ``Fraction``.

    Strings are read exactly (``"1.35"`` is 27/20, not the nearest double), so thresholds that
    involve a constant such as C* stay in exact arithmetic.

    >>> require_positive_fraction("cstar", "1.35")
    Fraction(27, 20)
    >>> require_positive_fraction("cstar", 0)
    Traceback (most recent call last):
    ...
    proofs.validation.InvalidArgument: cstar must be a positive number, got 0
    """
    try:
        if isinstance(value, bool):
            raise TypeError
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError
        exact = Fraction(str(value)) if isinstance(value, (str, float)) else Fraction(value)
    except (TypeError, ValueError, ZeroDivisionError):
        raise InvalidArgument(f"{name} must be a positive number, got {value!r}") from None
    if exact <= 0:
        raise InvalidArgument(f"{name} must be a positive number, got {value!r}")
    return exact
