"""Config fields that carry their one default, their help and their parser.

Every experiment family declares a frozen dataclass whose fields are made with :func:`option`.
The command line is built from those fields (:mod:`lorank.experiment_cli`): the flag is
``--<field-name-with-dashes>``, the default is the field's default, shown in the help through
``show``, and the text a user types is turned into the field's value by ``parse``, which raises
:class:`~proofs.validation.InvalidArgument` naming the flag and the value. No default is written
twice.

A field's ``role`` says what it is for:

- ``"spec"``: it determines the trials and is stored in the record header;
- ``"run"``: it changes how the trials run (batch size, threads, device index), never an outcome;
- ``"analysis"``: it changes only the summary (bootstrap resamples, success thresholds); a
  summary pins the analysis settings it was made with.

This module imports neither torch nor sympy.

Examples
--------
>>> int_list("ranks", "1,2")
(1, 2)
>>> sizes("sizes", "8x8, 16X64")
((8, 8), (16, 64))
>>> float_list("rho", "0.5:1:0.25")
(0.5, 0.75, 1.0)
>>> one_int("trials", "4,5")
Traceback (most recent call last):
...
proofs.validation.InvalidArgument: --trials takes one value, got '4,5'
"""

from __future__ import annotations

import contextlib
import math
import re
from dataclasses import MISSING, field, fields
from fractions import Fraction
from typing import Any, Callable

from proofs.validation import InvalidArgument

__all__ = ["option", "option_fields", "int_list", "one_int", "nonneg_int", "float_list",
           "one_float", "positive_float", "sizes", "choice", "device", "show_list",
           "show_sizes", "at_most", "MAX_GRID_VALUES", "MAX_DIGITS", "MAX_TRIALS",
           "MAX_ITERATIONS", "MAX_THREADS", "MAX_RESTARTS", "MAX_SCALE"]

#: The most values one list option takes (a START:STOP:STEP grid of a billion values is refused
#: before it is built).
MAX_GRID_VALUES = 10_000
#: The longest number a user may type (a 10**9-digit integer would hang the parser).
MAX_DIGITS = 40
#: The most trials per cell (and bootstrap resamples): the runner lists a cell's trial indices,
#: so ``--trials 10**30`` would hang before the first trial.
MAX_TRIALS = 1_000_000
#: The most iterations, steps or restarts per trial.
MAX_ITERATIONS = 10_000_000
#: The most torch CPU threads (torch refuses more than fit in a C int, with a traceback).
MAX_THREADS = 1024
#: The largest scale of the rank sweep's inputs (noise, W0 scale, weight decay): their products
#: must stay finite in float32 (``--noise 1e299 --w0-scale 1e299`` overflowed into the SVD).
MAX_SCALE = 1e6
#: The most random starts per trial (every start of a batch is held in memory at once).
MAX_RESTARTS = 1000

ROLES = ("spec", "run", "analysis")


def option(default: Any, help: str, parse: Callable[[str, str], Any], *, role: str = "spec",
           show: Callable[[Any], str] | None = None, choices=None, group: str | None = None):
    """A dataclass field with its help, parser and role in ``metadata``.

    ``group`` names a set of mutually exclusive options (at most one may be given; the others
    then take ``None``).

    >>> from dataclasses import dataclass
    >>> @dataclass(frozen=True)
    ... class C:
    ...     trials: int = option(10, "trials per cell", one_int)
    >>> [f.name for f in option_fields(C)], option_fields(C)[0].metadata["help"]
    (['trials'], 'trials per cell')
    """
    if role not in ROLES:
        raise ValueError(f"role must be one of {ROLES}, got {role!r}")
    return field(default=default, metadata={"help": help, "parse": parse, "role": role,
                                            "show": show or _show, "choices": choices,
                                            "group": group})


def option_fields(config_type) -> list:
    """The fields of a config dataclass made with :func:`option`, in declaration order."""
    return [f for f in fields(config_type) if "parse" in f.metadata]


def _show(value) -> str:
    if value is None:
        return "none"
    if isinstance(value, (tuple, list)):
        return show_list(value)
    return str(value)


def show_list(values) -> str:
    """``(1, 2)`` -> ``"1,2"`` (the text that parses back to the value).

    >>> show_list((0.5, 1.0))
    '0.5,1.0'
    """
    return ",".join(str(v) for v in values)


def show_sizes(values) -> str:
    """``((8, 8), (16, 64))`` -> ``"8x8,16x64"``.

    >>> show_sizes(((8, 8), (4, 16)))
    '8x8,4x16'
    """
    return ",".join(f"{m}x{n}" for m, n in values)


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _check_text(name: str, text) -> str:
    text = str(text).strip()
    if len(text) > MAX_GRID_VALUES * (MAX_DIGITS + 1):
        raise InvalidArgument(f"{_flag(name)} is too long ({len(text)} characters)")
    return text


def _int_token(name: str, token: str, minimum: int, whole: str) -> int:
    where = "" if token == whole else f" in {whole!r}"
    if not re.fullmatch(r"\+?\d+", token):
        kind = "a positive" if minimum >= 1 else "a non-negative"
        raise InvalidArgument(f"{_flag(name)} must be {kind} integer, got {token!r}{where}")
    if len(token.lstrip("+")) > MAX_DIGITS:
        raise InvalidArgument(f"{_flag(name)} has more than {MAX_DIGITS} digits, got "
                              f"{token[:12]}...{where}")
    value = int(token)
    if value < minimum:
        kind = "a positive" if minimum >= 1 else "a non-negative"
        raise InvalidArgument(f"{_flag(name)} must be {kind} integer, got {token!r}{where}")
    return value


def int_list(name: str, text: str, minimum: int = 1) -> tuple[int, ...]:
    """A comma list of positive integers (no repeats).

    >>> int_list("ranks", "0")
    Traceback (most recent call last):
    ...
    proofs.validation.InvalidArgument: --ranks must be a positive integer, got '0'
    >>> int_list("ranks", "1,1")
    Traceback (most recent call last):
    ...
    proofs.validation.InvalidArgument: --ranks must not repeat a value, got '1,1'
    """
    text = _check_text(name, text)
    parts = [p.strip() for p in text.split(",")]
    if not text or any(not p for p in parts):
        raise InvalidArgument(f"{_flag(name)} must be a comma list of positive integers, got {text!r}")
    if len(parts) > MAX_GRID_VALUES:
        raise InvalidArgument(f"{_flag(name)} has {len(parts)} values, more than {MAX_GRID_VALUES}")
    values = tuple(_int_token(name, p, minimum, text) for p in parts)
    if len(set(values)) != len(values):
        raise InvalidArgument(f"{_flag(name)} must not repeat a value, got {text!r}")
    return values


def one_int(name: str, text: str, minimum: int = 1) -> int:
    """One integer at least ``minimum``; a list is refused.

    >>> one_int("seed", "0", minimum=0)
    0
    """
    text = _check_text(name, text)
    if "," in text:
        raise InvalidArgument(f"{_flag(name)} takes one value, got {text!r}")
    return _int_token(name, text, minimum, text)


def nonneg_int(name: str, text: str) -> int:
    """One non-negative integer.

    >>> nonneg_int("seed", "x")
    Traceback (most recent call last):
    ...
    proofs.validation.InvalidArgument: --seed must be a non-negative integer, got 'x'
    """
    return one_int(name, text, minimum=0)


def at_most(maximum, parse: Callable[[str, str], Any] = None) -> Callable[[str, str], Any]:
    """The parser ``parse`` (default :func:`one_int`), refusing any value above ``maximum``.

    >>> at_most(MAX_TRIALS)("trials", "1000000000000000000000000000000")
    Traceback (most recent call last):
    ...
    proofs.validation.InvalidArgument: --trials must be at most 1000000, got '1000000000000000000000000000000'
    >>> at_most(100, int_list)("budgets", "10,30")
    (10, 30)
    >>> at_most(MAX_SCALE, one_float)("noise", "1e299")
    Traceback (most recent call last):
    ...
    proofs.validation.InvalidArgument: --noise must be at most 1e+06, got '1e299'
    """
    parse = parse or one_int

    def checked(name: str, text: str):
        value = parse(name, text)
        if any(v > maximum for v in (value if isinstance(value, tuple) else (value,))):
            shown = maximum if isinstance(maximum, int) else f"{maximum:g}"
            raise InvalidArgument(f"{_flag(name)} must be at most {shown}, got {str(text).strip()!r}")
        return value

    checked.maximum = maximum
    return checked


def _number(name: str, token: str, whole: str) -> Fraction:
    where = "" if token == whole else f" in {whole!r}"
    if len(token) > MAX_DIGITS or not re.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d{1,3})?", token):
        raise InvalidArgument(f"{_flag(name)} must hold numbers such as 0.5 or 1e-3, got {token!r}{where}")
    value = Fraction(token)
    if value != 0 and not (1e-300 < abs(value) < 1e300):
        raise InvalidArgument(f"{_flag(name)} value {token!r}{where} is out of range")
    return value


def float_list(name: str, text: str, lower: str | None = "positive") -> tuple[float, ...]:
    """A comma list, or ``START:STOP:STEP`` (STOP included up to rounding), of finite numbers,
    at most :data:`MAX_GRID_VALUES` of them; ``lower`` is ``"positive"``, ``"non-negative"`` or
    ``None``. Repeats are refused.

    >>> float_list("noise", "0,2", lower="non-negative")
    (0.0, 2.0)
    >>> float_list("rho", "1,-1")
    Traceback (most recent call last):
    ...
    proofs.validation.InvalidArgument: --rho values must be positive numbers, got -1.0 in '1,-1'
    >>> float_list("rho", "0.5:2:1e-9")
    Traceback (most recent call last):
    ...
    proofs.validation.InvalidArgument: --rho grid '0.5:2:1e-9' has 1500000001 values, more than 10000
    """
    text = _check_text(name, text)
    if ":" in text:
        parts = text.split(":")
        if len(parts) != 3:
            raise InvalidArgument(f"{_flag(name)} must be a comma list or START:STOP:STEP, got {text!r}")
        a, b, c = (_number(name, p.strip(), text) for p in parts)
        if c <= 0 or b < a:
            raise InvalidArgument(f"{_flag(name)} grid needs STEP > 0 and STOP >= START, got {text!r}")
        count = math.floor((b - a) / c) + 1
        if count > MAX_GRID_VALUES:
            raise InvalidArgument(f"{_flag(name)} grid {text!r} has {count} values, more than "
                                  f"{MAX_GRID_VALUES}")
        values = [float(a + k * c) for k in range(count)]
    else:
        parts = [p.strip() for p in text.split(",")]
        if not text or any(not p for p in parts):
            raise InvalidArgument(f"{_flag(name)} must be a comma list or START:STOP:STEP of "
                                  f"numbers, got {text!r}")
        if len(parts) > MAX_GRID_VALUES:
            raise InvalidArgument(f"{_flag(name)} has {len(parts)} values, more than {MAX_GRID_VALUES}")
        values = [float(_number(name, p, text)) for p in parts]
    too_low = {"positive": lambda v: v <= 0, "non-negative": lambda v: v < 0,
               None: lambda v: False}[lower]
    bad = [v for v in values if too_low(v)]
    if bad:
        kind = f"{lower} numbers" if lower else "finite numbers"
        raise InvalidArgument(f"{_flag(name)} values must be {kind}, got {bad[0]!r} in {text!r}")
    if len(set(values)) != len(values):
        raise InvalidArgument(f"{_flag(name)} must not repeat a value, got {text!r}")
    return tuple(values)


def one_float(name: str, text: str, lower: str | None = "positive") -> float:
    """One finite number (``lower`` as for :func:`float_list`); a list is refused.

    >>> one_float("margin", "1e-8")
    1e-08
    >>> one_float("gd-c", "0.5,1")
    Traceback (most recent call last):
    ...
    proofs.validation.InvalidArgument: --gd-c takes one value, got '0.5,1'
    """
    text = _check_text(name, text)
    if "," in text or ":" in text:
        raise InvalidArgument(f"{_flag(name)} takes one value, got {text!r}")
    return float_list(name, text, lower)[0]


def positive_float(name: str, text: str) -> float:
    """One positive finite number.

    >>> positive_float("tol", "0")
    Traceback (most recent call last):
    ...
    proofs.validation.InvalidArgument: --tol values must be positive numbers, got 0.0 in '0'
    """
    return one_float(name, text, "positive")


def sizes(name: str, text: str) -> tuple[tuple[int, int], ...]:
    """Matrix sizes ``MxN`` as a comma list (no repeats).

    >>> sizes("sizes", "-8x8")
    Traceback (most recent call last):
    ...
    proofs.validation.InvalidArgument: --sizes entries must look like MxN with positive integers (e.g. 16x64), got '-8x8'
    """
    text = _check_text(name, text)
    parts = [p.strip() for p in text.split(",")]
    if not text or any(not p for p in parts):
        raise InvalidArgument(f"{_flag(name)} must be a list such as 8x8,16x64, got {text!r}")
    out = []
    for p in parts:
        match = re.fullmatch(r"(\d{1,9})[xX](\d{1,9})", p)
        if not match or min(int(g) for g in match.groups()) < 1:
            raise InvalidArgument(f"{_flag(name)} entries must look like MxN with positive "
                                  f"integers (e.g. 16x64), got {p!r}")
        out.append(tuple(int(g) for g in match.groups()))
    if len(set(out)) != len(out):
        raise InvalidArgument(f"{_flag(name)} must not repeat a size, got {text!r}")
    return tuple(out)


def choice(*allowed: str) -> Callable[[str, str], str]:
    """A parser accepting one of ``allowed``.

    >>> choice("float32", "float64")("dtype", "float16")
    Traceback (most recent call last):
    ...
    proofs.validation.InvalidArgument: --dtype must be one of float32, float64, got 'float16'
    """
    def parse(name: str, text: str) -> str:
        t = str(text).strip()
        if t not in allowed:
            raise InvalidArgument(f"{_flag(name)} must be one of {', '.join(allowed)}, got {text!r}")
        return t

    parse.choices = allowed
    return parse


def device(name: str, text: str) -> str:
    """``cpu``, ``cuda`` or ``cuda:k`` (whether a GPU is there is checked when the run starts).

    >>> device("device", "tpu")
    Traceback (most recent call last):
    ...
    proofs.validation.InvalidArgument: --device must be cpu, cuda or cuda:k, got 'tpu'
    """
    t = str(text).strip()
    if not re.fullmatch(r"cpu|cuda(:\d{1,3})?", t):
        raise InvalidArgument(f"{_flag(name)} must be cpu, cuda or cuda:k, got {text!r}")
    return t


#: The engine's names of settings that have a flag, for the engine's own messages.
ENGINE_NAMES = {"rho_grid": "--rho", "kn_values": "--kn", "m_values": "--kn",
                "trials_per_cell": "--trials"}


@contextlib.contextmanager
def flag_names():
    """Re-raise the engine's :class:`InvalidArgument` with its setting names as the flags
    (``rho_grid`` -> ``--rho``), so a message names what the user typed.

    >>> with flag_names():
    ...     raise InvalidArgument("rho_grid value 100.0 gives M = 0 equations")
    Traceback (most recent call last):
    ...
    proofs.validation.InvalidArgument: --rho value 100.0 gives M = 0 equations
    """
    try:
        yield
    except InvalidArgument as error:
        text = str(error)
        renamed = re.sub(r"\b(" + "|".join(ENGINE_NAMES) + r")\b",
                         lambda m: ENGINE_NAMES[m.group(1)], text)
        if renamed == text:
            raise
        raise InvalidArgument(renamed) from None


def defaults(config_type) -> dict:
    """``{field name: default}`` of a config dataclass (every field has one)."""
    out = {}
    for f in fields(config_type):
        if f.default is not MISSING:
            out[f.name] = f.default
        elif f.default_factory is not MISSING:  # pragma: no cover - configs use plain defaults
            out[f.name] = f.default_factory()
    return out
