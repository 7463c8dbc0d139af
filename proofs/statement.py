"""A theorem as an object, its verdict, and :func:`check`.

A :class:`Statement` carries symbols with sympy assumptions (the domain of each variable),
hypotheses and a conclusion (sympy relationals), the paper and result it comes from, whether
it is expected to hold, and the certificate the sympy route checks. :func:`check` runs the
two independent routes of :mod:`proofs.routes` and returns a :class:`Verdict`:

* ``"proved"`` only when *both* routes answer ``True``;
* ``"refuted"`` when a route answers ``False`` with a counterexample that is re-verified by
  exact substitution (sympy ``Rational`` arithmetic): it satisfies the domain and the
  hypotheses and violates the conclusion;
* ``"open"`` otherwise. ``None`` ("cannot be decided") is never a pass.

Examples
--------
>>> from sympy import Symbol
>>> from proofs.routes import SlackCertificate
>>> r = Symbol("r", integer=True, positive=True)
>>> a = Symbol("a", integer=True, nonnegative=True)
>>> s = Statement(id="demo.square", source="none", title="r^2 >= r",
...               variables=(r,), hypotheses=(), conclusion=r**2 >= r, expected=True,
...               certificate=SlackCertificate(substitution=((r, 1 + a),)))
>>> str(s)
'for all integer r >= 1: r^2 >= r'
>>> check(s).status
'proved'
"""

from __future__ import annotations

import re
import time
from fractions import Fraction
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import sympy
from sympy import Symbol

from . import routes
from .results import RouteResult

__all__ = ["Statement", "RouteResult", "Verdict", "check", "STATUSES"]

#: The statuses a pure proof can end in (the ledger adds "supported"/"contradicted" for
#: verdicts that rest on records; those come from elsewhere).
STATUSES = ("proved", "refuted", "open")


def _pretty(expr) -> str:
    """Compact human text for a sympy expression: ``**`` as ``^``, no ``*`` before ``(``.

    >>> from sympy import Symbol, Eq
    >>> r, m = Symbol("r"), Symbol("m")
    >>> _pretty(Eq(r * (m - r), 2 * m, evaluate=False))
    'r(m - r) = 2m'
    """
    if isinstance(expr, sympy.Equality):
        return f"{_pretty(expr.lhs)} = {_pretty(expr.rhs)}"
    if isinstance(expr, sympy.And):
        return " and ".join(_pretty(a) for a in expr.args)
    text = sympy.sstr(expr)
    text = text.replace("**", "^")
    text = re.sub(r"(?<=[0-9A-Za-z_)])\*(?=\()", "", text)   # r*(m + n) -> r(m + n)
    text = re.sub(r"(?<![A-Za-z_0-9.])(\d+)\*(?=[A-Za-z(])", r"\1", text)  # 2*M -> 2M
    text = text.replace("*", " ")
    text = text.replace(" & ", " and ")
    return text


def _domain_words(variables) -> list[str]:
    groups: dict[tuple, list[str]] = {}
    for v in variables:
        noun = "integer" if v.is_integer else "real"
        bound = (" >= 1" if v.is_integer and v.is_positive else " > 0" if v.is_positive
                 else " >= 0" if v.is_nonnegative else "")
        groups.setdefault((noun, bound), []).append(v.name)
    return [f"{noun}{'s' if len(names) > 1 else ''} {', '.join(names)}{bound}"
            for (noun, bound), names in groups.items()]


def _pinned_values(statement: "Statement") -> Optional[dict]:
    """If every variable is fixed by an ``Eq(var, number)`` hypothesis, the values."""
    values = {}
    for h in statement.hypotheses:
        if isinstance(h, sympy.Equality) and h.lhs in statement.variables and h.rhs.is_number:
            values[h.lhs] = h.rhs
    if statement.variables and set(values) == set(statement.variables) \
            and len(statement.hypotheses) == len(values):
        return values
    return None


@dataclass(frozen=True)
class Statement:
    """A claim with its domain, hypotheses, conclusion, provenance and certificate.

    ``__post_init__`` checks the fields and raises ``ValueError`` naming the field.

    >>> from proofs import statement_by_id
    >>> s = statement_by_id("J2.sqrt-conservative")
    >>> s.source, s.expected
    ('Jang, Lee, Ryu (ICML 2024), J2; approximation r > sqrt(2KN)', True)
    >>> str(s)
    'for all integers r, M >= 1 with r^2 > 2M: r(r + 1)/2 > M'
    """

    id: str
    """Short slug, e.g. ``"R1.weaker-than-J2"``."""
    source: str
    """Paper and result, e.g. ``"Jang, Lee, Ryu (ICML 2024), J2"``."""
    title: str
    """One line in words."""
    variables: tuple
    """sympy Symbols; their assumptions (integer, positive, ...) are the domain."""
    hypotheses: tuple
    """sympy relationals that must hold (besides the domain)."""
    conclusion: Any
    """A sympy relational, or an ``And`` of relationals."""
    expected: bool = True
    """True if the statement should hold; False for statements recorded because they fail."""
    certificate: Any = None
    """What the sympy route checks (see :mod:`proofs.routes`); None: search only."""
    notes: str = ""
    """What is cited rather than checked, encodings, WLOG reductions."""
    witness: Optional[dict] = None
    """A known counterexample (for expected-False statements), tried first and re-verified."""
    smt: Optional[Callable] = field(default=None, compare=False)
    """A custom SMT encoding ``smt(statement, timeout_s) -> (answer, detail, counterexample)``;
    None: the polynomial encoding of :func:`proofs.routes.z3_route`."""
    text: Optional[str] = None
    """Human text for statements that are not polynomial (the structured result); None:
    generated from the symbols."""

    def __post_init__(self):
        if not self.id or not isinstance(self.id, str):
            raise ValueError(f"id must be a non-empty string, got {self.id!r}")
        for name in ("variables", "hypotheses"):
            if not isinstance(getattr(self, name), tuple):
                raise ValueError(f"{name} must be a tuple, got {getattr(self, name)!r}")
        for v in self.variables:
            if not isinstance(v, Symbol) or v.is_real is not True:
                raise ValueError(f"variables must be real or integer sympy Symbols, got {v!r}")
        if self.text is None:
            used = set().union(*(sympy.sympify(h).free_symbols for h in self.hypotheses),
                               sympy.sympify(self.conclusion).free_symbols)
            if not used <= set(self.variables):
                raise ValueError(f"hypotheses/conclusion use undeclared symbols {sorted(map(str, used - set(self.variables)))}")

    def __str__(self) -> str:
        if self.text is not None:
            return self.text
        pinned = _pinned_values(self)
        if pinned is not None:
            where = ", ".join(f"{v.name} = {_pretty(val)}" for v, val in pinned.items())
            return f"at {where}: {_pretty(self.conclusion)}"
        head = "for all " + "; ".join(_domain_words(self.variables)) if self.variables else "it holds"
        hyps = " and ".join(_pretty(h) for h in self.hypotheses)
        return f"{head}{' with ' + hyps if hyps else ''}: {_pretty(self.conclusion)}"


@dataclass(frozen=True)
class Verdict:
    """The outcome of :func:`check` for one statement.

    >>> from proofs import statement_by_id
    >>> v = check(statement_by_id("MONO.step"))
    >>> v.id, v.status, [r.answer for r in v.routes]
    ('MONO.step', 'proved', [True, True])
    """

    statement: Statement
    status: str
    routes: tuple
    counterexample: Optional[dict]
    seconds: float

    @property
    def id(self) -> str:
        """The statement id.

        >>> from proofs import statement_by_id
        >>> check(statement_by_id("R1.identity")).id
        'R1.identity'
        """
        return self.statement.id

    @property
    def as_expected(self) -> bool:
        """``proved`` for an expected-True statement, ``refuted`` for an expected-False one.

        >>> from proofs import all_statements
        >>> check(all_statements()[0]).as_expected
        True
        """
        return self.status == ("proved" if self.statement.expected else "refuted")

    def to_entry(self) -> dict:
        """JSON-able ledger entry.

        >>> from proofs import statement_by_id
        >>> entry = check(statement_by_id("R1.identity")).to_entry()
        >>> sorted(entry)
        ['counterexample', 'evidence', 'expected', 'id', 'routes', 'seconds', 'source', 'statement', 'status', 'title']
        >>> entry["status"], [r["answer"] for r in entry["routes"]]
        ('proved', [True, True])
        """
        cex = None
        if self.counterexample is not None:
            cex = {k: _jsonable(v) for k, v in self.counterexample.items()}
        return {
            "id": self.statement.id,
            "source": self.statement.source,
            "title": self.statement.title,
            "statement": str(self.statement),
            "status": self.status,
            "routes": [r.to_dict() for r in self.routes],
            "evidence": None,
            "expected": self.statement.expected,
            "seconds": round(self.seconds, 4),
            "counterexample": cex,
        }


def _jsonable(value):
    value = Fraction(value)
    return int(value) if value.denominator == 1 else str(value)  # exact rational as "p/q"


def check(statement: Statement, timeout_s: Optional[float] = None) -> Verdict:
    """Run both routes on ``statement`` and combine them into a :class:`Verdict`.

    Parameters
    ----------
    statement : Statement
    timeout_s : float, optional
        SMT time limit for this statement (default :data:`proofs.routes.SMT_TIMEOUT_S`).

    Returns
    -------
    Verdict
        ``proved`` iff both routes answer True; ``refuted`` iff a route answers False with a
        counterexample that re-verifies exactly; ``open`` otherwise.

    Examples
    --------
    >>> from proofs import statement_by_id
    >>> v = check(statement_by_id("J2.sqrt-converse"))
    >>> v.status, v.statement.expected, v.counterexample
    ('refuted', False, {'r': 11, 'M': 64})
    """
    start = time.perf_counter()
    results = (routes.sympy_route(statement), routes.z3_route(statement, timeout_s))
    counterexample = None
    for res in results:
        if res.answer is False and res.counterexample is not None \
                and routes.verify_counterexample(statement, res.counterexample):
            counterexample = res.counterexample
            break
    if counterexample is not None:
        status = "refuted"
    elif all(res.answer is True for res in results):
        status = "proved"
    else:
        status = "open"
    return Verdict(statement, status, results, counterexample, time.perf_counter() - start)
