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
    "MethodFailure",
    "require_positive_int",
    "require_rank",
    "require_positive_fraction",
    "require_positive_float",
    "require_nonneg_int",
    "MAX_EXACT_DIGITS",
    "MAX_DECIMAL_EXPONENT",
    "shown",
]


class InvalidArgument(ValueError):
    """A bad argument; the message names the argument and the value."""


class MethodFailure(RuntimeError):
    """A check of lorank's own method failed (for example more distinct certified zeros than
    the count they are checked against): the computation stops rather than report a result it
    cannot stand behind; the message says which check and where. The CLI reports it in one
    line with exit status 1; a run's finished trials stay in its record."""


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
        raise InvalidArgument(f"{name} must be a positive integer, got {shown(value)}")
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


#: Bounds on an exact number read from text: at most this many significant digits ...
MAX_EXACT_DIGITS = 100
#: ... and a decimal exponent (of the leading digit) within +-this. Anything accepted then
#: converts to a finite, normal float, and reading it can never hang (``"1e999999999"`` would
#: otherwise build a billion-digit integer).
MAX_DECIMAL_EXPONENT = 300


def shown(value, limit: int = 60) -> str:
    """``repr(value)``, cut to ``limit`` characters for a one-line message.

    >>> shown("1.35"), shown("9" * 100, 12)
    ("'1.35'", "'9999999999...' (102 characters)")
    """
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit - 1]}...' ({len(text)} characters)"


def _exact_from_text(name: str, text: str) -> Fraction:
    """Read a decimal (``"1.35"``, ``"2e-3"``) or a ratio (``"27/20"``) exactly, bounded.

    The size checks run on the parsed digits and exponent, before any big integer is built.
    """
    from decimal import Decimal, InvalidOperation

    bad = InvalidArgument(f"{name} must be a positive number, got {shown(text)}")
    parts = text.strip().split("/")
    if len(parts) > 2 or not text.strip():
        raise bad
    if len(parts) == 2:
        if not all(part.strip().isdigit() and part.strip().isascii() for part in parts):
            raise bad
        digits = [len(part.strip().lstrip("0")) for part in parts]
        if max(digits) > MAX_EXACT_DIGITS:
            raise InvalidArgument(f"{name} must be a ratio of integers of at most {MAX_EXACT_DIGITS} digits "
                                  f"each, got {shown(text)}")
        num, den = (int(part) for part in parts)
        if den == 0:
            raise bad
        return Fraction(num, den)
    if not text.isascii() or "_" in text:
        raise bad
    try:
        d = Decimal(text)
    except InvalidOperation:
        raise bad from None
    if not d.is_finite():
        raise bad
    if d.is_zero():
        return Fraction(0)
    sign, digits, _ = d.as_tuple()
    significant = len("".join(map(str, digits)).strip("0")) or 1
    if significant > MAX_EXACT_DIGITS or abs(d.adjusted()) > MAX_DECIMAL_EXPONENT:
        raise InvalidArgument(f"{name} must be a number of at most {MAX_EXACT_DIGITS} significant digits with a "
                              f"decimal exponent in [-{MAX_DECIMAL_EXPONENT}, {MAX_DECIMAL_EXPONENT}], "
                              f"got {shown(text)}")
    return Fraction(d)


def require_positive_fraction(name: str, value) -> Fraction:
    """Return ``value`` as an exact positive ``Fraction``.

    Strings are read exactly (``"1.35"`` is 27/20, not the nearest double), so thresholds that
    involve a constant such as C* stay in exact arithmetic. Sizes are bounded
    (:data:`MAX_EXACT_DIGITS` significant digits, decimal exponent within
    :data:`MAX_DECIMAL_EXPONENT`), so a value such as ``"1e999999999"`` is refused at once
    instead of being expanded.

    >>> require_positive_fraction("cstar", "1.35"), require_positive_fraction("cstar", "27/20")
    (Fraction(27, 20), Fraction(27, 20))
    >>> require_positive_fraction("cstar", 0)
    Traceback (most recent call last):
    ...
    proofs.validation.InvalidArgument: cstar must be a positive number, got 0
    >>> require_positive_fraction("--cstar", "1e999999999")
    Traceback (most recent call last):
    ...
    proofs.validation.InvalidArgument: --cstar must be a number of at most 100 significant digits with a decimal exponent in [-300, 300], got '1e999999999'
    """
    bad = InvalidArgument(f"{name} must be a positive number, got {shown(value)}")
    if isinstance(value, bool):
        raise bad
    if isinstance(value, str):
        exact = _exact_from_text(name, value)
    elif isinstance(value, float) or (isinstance(value, numbers.Real)
                                      and not isinstance(value, numbers.Rational)):
        value = float(value)                   # numpy floats too; exact value of the double
        if not math.isfinite(value):
            raise bad
        exact = _exact_from_text(name, repr(value))
    elif type(value).__name__ == "Decimal":
        exact = _exact_from_text(name, str(value))
    elif isinstance(value, numbers.Rational):
        exact = Fraction(int(value.numerator), int(value.denominator))
        limit = MAX_EXACT_DIGITS + MAX_DECIMAL_EXPONENT
        if max(abs(exact.numerator), exact.denominator).bit_length() > limit * 3.33:
            raise InvalidArgument(f"{name} must have numerator and denominator of at most about {limit} digits, "
                                  f"got {shown(value)}")
    else:
        raise bad
    if exact <= 0:
        raise bad
    return exact


def require_positive_float(name: str, value, *, upper=None) -> float:
    """``value`` as a float if it is a finite number above 0 (and below ``upper``), else raise.

    >>> require_positive_float("lam_down", 1.5, upper=1)
    Traceback (most recent call last):
    ...
    proofs.validation.InvalidArgument: lam_down must be a positive finite number and below 1, got 1.5
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or \
            not math.isfinite(float(value)) or value <= 0 or (upper is not None and value >= upper):
        bound = f" and below {upper}" if upper is not None else ""
        raise InvalidArgument(f"{name} must be a positive finite number{bound}, got {value!r}")
    return float(value)


def require_nonneg_int(name: str, value) -> int:
    """``value`` as an ``int`` if it is an integer at least 0, else raise.

    >>> require_nonneg_int("seed", -1)
    Traceback (most recent call last):
    ...
    proofs.validation.InvalidArgument: seed must be a non-negative integer, got -1
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise InvalidArgument(f"{name} must be a non-negative integer, got {value!r}")
    return int(value)
