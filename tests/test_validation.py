"""Input checks of :mod:`proofs.validation`: exact numbers are read exactly and their size is
bounded before any big integer is built."""

from __future__ import annotations

import math
import time
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from proofs.validation import (MAX_DECIMAL_EXPONENT, MAX_EXACT_DIGITS, InvalidArgument,
                               require_positive_fraction, require_positive_int)


@given(st.integers(1, 10**30), st.integers(1, 10**30))
def test_ratio_text_is_exact(p, q):
    # Property: "p/q" is read as the exact fraction p/q.
    assert require_positive_fraction("c", f"{p}/{q}") == Fraction(p, q)


@given(st.integers(1, 10**40), st.integers(-MAX_DECIMAL_EXPONENT + 45, MAX_DECIMAL_EXPONENT - 45))
def test_decimal_text_is_exact_and_float_finite(mantissa, exponent):
    # Property: within the bounds, "<digits>e<exp>" is read exactly (as Fraction would) and
    # converts to a finite float.
    text = f"{mantissa}e{exponent}"
    value = require_positive_fraction("c", text)
    assert value == Fraction(text) and math.isfinite(float(value))


@pytest.mark.parametrize("text", ["1e999999999", "1e-999999999", "9" * (MAX_EXACT_DIGITS + 1),
                                  "1" * 5000 + "/3", f"1e{MAX_DECIMAL_EXPONENT + 1}",
                                  f"1e-{MAX_DECIMAL_EXPONENT + 1}"])
def test_oversized_numbers_are_refused_at_once(text):
    start = time.perf_counter()
    with pytest.raises(InvalidArgument, match="--cstar"):
        require_positive_fraction("--cstar", text)
    assert time.perf_counter() - start < 0.5


@pytest.mark.parametrize("text", [f"1e{MAX_DECIMAL_EXPONENT}", f"1e-{MAX_DECIMAL_EXPONENT}",
                                  "9" * MAX_EXACT_DIGITS, "0." + "0" * 50 + "1"])
def test_numbers_at_the_bounds_are_accepted(text):
    assert require_positive_fraction("c", text) == Fraction(text)


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "", " ", "1/0", "0/3", "-1", "1,5", "1_5",
                                   "0x10", "١", True, None, [1], float("nan"), float("inf"), 0, -2.5])
def test_not_positive_numbers_are_refused(value):
    with pytest.raises(InvalidArgument, match="must be a positive number"):
        require_positive_fraction("c", value)


def test_long_values_are_cut_in_messages():
    with pytest.raises(InvalidArgument) as info:
        require_positive_int("--m", "1" * 5000)
    assert len(str(info.value)) < 200 and "5002 characters" in str(info.value)
