"""A theorem as an object, its verdict, and :func:`check`.

A :class:`Statement` carries symbols with sympy assumptions (the domain of each variable),
hypotheses and a conclusion (sympy relationals), the paper and result it comes from, whether
it is expected to hold, and the certificate the sympy route checks. :func:`check` runs the
two independent routes of :mod:`proofs.routes` and returns a :class:`Verdict`:

* ``"proved"`` only when *both* routes answer ``True`` and the statement names no lemma in
  :attr:`Statement.rests_on`;
* ``"proved-assuming"`` when both routes answer ``True`` but both take a named lemma
  (:attr:`Statement.rests_on`) that neither checks: proved *given* that lemma, which is not
  the same as proved by two independent routes;
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

__all__ = ["Statement", "RouteResult", "Verdict", "check", "machine_checked", "STATUSES"]

#: The statuses a pure proof can end in (the ledger adds "supported"/"contradicted" for
#: verdicts that rest on records; those come from elsewhere). ``proved-assuming``: both routes
#: answer True, but both rest on the lemmas named in :attr:`Statement.rests_on`.
STATUSES = ("proved", "proved-assuming", "refuted", "open")


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
    assumed: tuple = ()
    """Facts taken without machine checking (cited lemmas, definitions read into the encoding),
    each a short phrase, e.g. ``"rank(PQ) <= min(rank P, rank Q)"``."""
    rests_on: tuple = ()
    """The lemmas of :attr:`assumed` that *both* routes take and that the claim (its title) needs
    without stating them as premises; non-empty makes a double True ``proved-assuming``."""
    checked: str = ""
    """One sentence: what exactly the two routes check, when the generic sentence of
    :func:`machine_checked` is not precise enough; empty: the generic sentence."""
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
        for name in ("assumed", "rests_on"):
            value = getattr(self, name)
            if not isinstance(value, tuple) or not all(isinstance(a, str) and a for a in value):
                raise ValueError(f"{name} must be a tuple of non-empty strings, got {value!r}")
        missing = [lemma for lemma in self.rests_on if lemma not in self.assumed]
        if missing:
            raise ValueError(f"rests_on names lemmas that are not in assumed: {missing!r}")
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
        """``proved`` (or ``proved-assuming``: proved given the lemmas the statement names) for an
        expected-True statement, ``refuted`` for an expected-False one.

        >>> from proofs import all_statements, statement_by_id
        >>> check(all_statements()[0]).as_expected
        True
        >>> v = check(statement_by_id("R3.least-rank"))
        >>> v.status, v.as_expected
        ('proved-assuming', True)
        """
        if self.statement.expected:
            return self.status in ("proved", "proved-assuming")
        return self.status == "refuted"

    def to_entry(self) -> dict:
        """JSON-able ledger entry.

        >>> from proofs import statement_by_id
        >>> entry = check(statement_by_id("R1.identity")).to_entry()
        >>> sorted(entry)  # doctest: +NORMALIZE_WHITESPACE
        ['assumed', 'counterexample', 'evidence', 'expected', 'id', 'machine_checked', 'notes',
         'routes', 'seconds', 'source', 'statement', 'status', 'title']
        >>> entry["status"], [r["answer"] for r in entry["routes"]]
        ('proved', [True, True])
        >>> entry["machine_checked"]
        'the polynomial identity, by sympy expansion and by z3'
        >>> entry["assumed"]
        ['the m x n matrices of rank exactly r form a manifold of dimension r(m+n) - r^2']
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
            "notes": self.statement.notes,
            "machine_checked": machine_checked(self),
            "assumed": list(self.statement.assumed),
        }


_CERTIFICATE_WORDS = {"GroundCertificate": "exact evaluation in sympy",
                      "IdentityCertificate": "sympy expansion",
                      "MatrixCertificate": "sympy matrix algebra",
                      "LoraMatrixCertificate": "sympy matrix algebra"}


def _certificate_words(certificate) -> str:
    """How the sympy route checks a certificate, in a few words (by class name, so that the
    certificate types of the theorem modules need not be imported here).

    >>> from proofs import statement_by_id
    >>> _certificate_words(statement_by_id("R2.logistic-derivative-bound").certificate)
    "a sympy certificate with the sympy lemma 'logistic derivative'"
    """
    parts = certificate if isinstance(certificate, tuple) else (certificate,)
    words = []
    for part in parts:
        lemmas = [name for name, _ in getattr(part, "lemmas", ())]
        core = getattr(part, "core", part)
        text = _CERTIFICATE_WORDS.get(type(core).__name__, "a sympy certificate")
        if lemmas:
            text += (" with the sympy lemma" + ("s " if len(lemmas) > 1 else " ")
                     + ", ".join(repr(name) for name in lemmas))
        if text not in words:
            words.append(text)
    return " and ".join(words)


def machine_checked(verdict: "Verdict") -> str:
    """One sentence: what exactly the machine checked for this verdict.

    The statement's own :attr:`Statement.checked` sentence when it has one (and both routes
    answered True); otherwise a sentence built from the status and the certificate.

    >>> from proofs import statement_by_id
    >>> machine_checked(check(statement_by_id("R1.comparison")))
    'the implication for all integers as printed, by a sympy certificate and by z3'
    >>> machine_checked(check(statement_by_id("J2.sqrt-converse")))
    'a counterexample r = 11, M = 64, re-verified by exact substitution'
    """
    st = verdict.statement
    if verdict.status == "refuted":
        point = ", ".join(f"{k} = {_jsonable(v)}" for k, v in verdict.counterexample.items())
        return f"a counterexample {point}, re-verified by exact substitution"
    if verdict.status not in ("proved", "proved-assuming"):
        answers = ", ".join(f"{r.name} {'unknown' if r.answer is None else r.answer}"
                            for r in verdict.routes)
        return f"nothing conclusive: {answers}"
    if st.checked:
        return st.checked
    how = "a sympy route" if st.certificate is None else _certificate_words(st.certificate)
    if how == "sympy expansion":
        return "the polynomial identity, by sympy expansion and by z3"
    if how == "exact evaluation in sympy":
        return "the relations at the pinned values, by exact evaluation in sympy and by z3"
    if how.startswith("sympy matrix algebra"):
        return ("the matrix identity for symbolic sizes, by " + how
                + " and by z3 over an axiomatised matrix algebra")
    kinds = {"integer" if v.is_integer else "real" for v in st.variables}
    domain = {frozenset({"integer"}): "integers", frozenset({"real"}): "reals"}.get(
        frozenset(kinds), "integers and reals")
    return f"the implication for all {domain} as printed, by {how} and by z3"


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
        ``proved`` iff both routes answer True (``proved-assuming`` if the statement names
        lemmas in ``rests_on``); ``refuted`` iff a route answers False with a
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
        status = "proved-assuming" if statement.rests_on else "proved"
    else:
        status = "open"
    return Verdict(statement, status, results, counterexample, time.perf_counter() - start)
