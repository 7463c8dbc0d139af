"""The two independent routes by which a :class:`~proofs.statement.Statement` is checked.

Route 1, ``sympy-certificate``
    The statement supplies a certificate; this module checks every part of it itself.
    For a polynomial inequality ``g >= 0`` (or ``g > 0``) under hypotheses ``h_i``, a
    :class:`SlackCertificate` gives

    (a) a *slack substitution* ``x = sigma(s)``: each variable an affine expression (integer
        coefficients for integer variables) in new slack symbols ``s_j``;
    (b) polynomial *multipliers* ``lambda_i`` for hypotheses, and optionally a positive
        *scale* ``mu``.

    The checker verifies:

    (i) coverage: ``sigma`` is invertible; the inverse ``s = tau(x)`` is integer-affine where
        the variables are integers; and each ``tau_j(x)`` is a nonnegative constant plus a
        nonnegative combination of the (affine) hypothesis gaps, found by solving the small
        linear identity exactly. So every ``x`` satisfying the hypotheses is ``sigma(s)`` for
        some ``s >= 0``.
    (ii) after substitution every multiplier of an inequality hypothesis is a polynomial with
         nonnegative coefficients (an equation hypothesis may take any polynomial), and the
         scale has nonnegative coefficients and a positive constant term;
    (iii) the remainder ``R = mu g - sum_i lambda_i h_i``, expanded in the slacks, has all
          coefficients ``>= 0``. Then ``mu g >= R >= 0`` on the whole feasible set.
          For a strict conclusion additionally: ``R`` has a positive constant term, or some
          strict hypothesis (``h_i > 0``) has a multiplier with a positive constant term.

    Strict hypotheses over the integers are first strengthened: if every variable of
    ``h > 0`` is an integer and ``d h`` has integer coefficients, then ``h >= 1/d``. This is
    valid knowledge on the integer points, so it is sound to use. The conclusion is never
    strengthened (that would only make it harder).

    The route answers True when every check passes and None ("not proven") otherwise, never
    False from a certificate. False comes only from :func:`search_counterexample`, a bounded
    exhaustive search whose hit is re-verified exactly by :func:`verify_counterexample`.

Route 2, ``z3-smt``
    Variables are encoded as z3 ``Int`` (``Real`` for real symbols); the domain, the
    hypotheses and the *negated* conclusion are asserted. ``unsat`` -> True, ``sat`` -> False
    with the model as counterexample (re-verified exactly), ``unknown``/timeout -> None.
    Nonlinear integer arithmetic is undecidable, so when the integer encoding answers
    unknown the route tries the *real relaxation* (every variable ``Real``, integrality kept
    only through the strengthened strict hypotheses and the integer lower bounds), decided
    by z3's complete nlsat procedure for ``QF_NRA``. Its ``unsat`` proves the integer
    statement too, because the integer points satisfying the hypotheses are among the real
    points satisfying the strengthened hypotheses; the ``detail`` says which encoding
    answered.

Examples
--------
>>> from sympy import Symbol
>>> r = Symbol("r", integer=True, positive=True)
>>> M = Symbol("M", integer=True, positive=True)
>>> normal_form(r * (r + 1) / 2 > M)
Constraint(gap=-M + r**2/2 + r/2 - 1/2, kind='ge', label='r*(r + 1)/2 > M')
"""

from __future__ import annotations

import itertools
import math
import time
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Optional

import sympy
from sympy import Rational, S, Symbol
from sympy.core.relational import (Equality, GreaterThan, LessThan, Relational,
                                   StrictGreaterThan, StrictLessThan)

from .results import RouteResult

__all__ = [
    "SMT_TIMEOUT_S",
    "SEARCH_BUDGET",
    "Constraint",
    "SlackCertificate",
    "IdentityCertificate",
    "GroundCertificate",
    "normal_form",
    "domain_constraints",
    "search_counterexample",
    "verify_counterexample",
    "sympy_route",
    "z3_route",
]

#: Default SMT time limit per statement, seconds (the integer attempt and the real
#: relaxation share it).
SMT_TIMEOUT_S = 10.0
#: Number of points the bounded counterexample search visits at most.
SEARCH_BUDGET = 20_000

SYMPY_ROUTE = "sympy-certificate"
Z3_ROUTE = "z3-smt"


# --------------------------------------------------------------------------------------
# Normal forms
# --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Constraint:
    """``gap >= 0`` (kind ``ge``), ``gap > 0`` (``gt``) or ``gap == 0`` (``eq``).

    >>> Constraint(Symbol("x") - 1, "ge", "x >= 1").kind
    'ge'
    """

    gap: Any
    kind: str
    label: str


def _denominator_lcm(expr, symbols) -> Optional[int]:
    """lcm of the coefficient denominators of a polynomial with rational coefficients."""
    symbols = sorted(symbols, key=lambda s: s.name)
    try:
        coeffs = sympy.Poly(expr, *symbols).coeffs() if symbols else [sympy.nsimplify(expr)]
    except sympy.PolynomialError:
        return None
    den = 1
    for c in coeffs:
        if not c.is_Rational:
            return None
        den = math.lcm(den, int(c.q))
    return den


def _all_integer(symbols) -> bool:
    return all(s.is_integer for s in symbols)


def normal_form(rel, strengthen: bool = True) -> Constraint:
    """The :class:`Constraint` of a relational; strict integer inequalities are strengthened.

    Parameters
    ----------
    rel : sympy Relational
    strengthen : bool
        If True and every free symbol is an integer, ``h > 0`` becomes ``h - 1/d >= 0``
        where ``d`` clears the denominators of ``h``.

    Examples
    --------
    >>> from sympy import Symbol
    >>> m, n = Symbol("m", integer=True), Symbol("n", integer=True)
    >>> normal_form(m < n)
    Constraint(gap=-m + n - 1, kind='ge', label='m < n')
    >>> normal_form(m < n, strengthen=False).kind
    'gt'
    """
    if isinstance(rel, (GreaterThan, StrictGreaterThan)):
        gap = rel.lhs - rel.rhs
    elif isinstance(rel, (LessThan, StrictLessThan)):
        gap = rel.rhs - rel.lhs
    elif isinstance(rel, Equality):
        return Constraint(sympy.expand(rel.lhs - rel.rhs), "eq", sympy.sstr(rel))
    else:
        raise TypeError(f"not an (in)equality: {rel!r}")
    gap = sympy.expand(gap)
    strict = isinstance(rel, (StrictGreaterThan, StrictLessThan))
    if strict and strengthen and _all_integer(gap.free_symbols):
        den = _denominator_lcm(gap, gap.free_symbols)
        if den is not None:
            return Constraint(gap - Rational(1, den), "ge", sympy.sstr(rel))
    return Constraint(gap, "gt" if strict else "ge", sympy.sstr(rel))


def domain_constraints(variables) -> list:
    """``(symbol, Constraint)`` pairs for the sign assumptions of the symbols.

    A positive integer gives ``x - 1 >= 0``; a positive real ``x > 0``; a nonnegative symbol
    ``x >= 0``.

    >>> from sympy import Symbol
    >>> [c.gap for _, c in domain_constraints([Symbol("r", integer=True, positive=True)])]
    [r - 1]
    """
    out = []
    for v in variables:
        if v.is_integer and v.is_positive:
            out.append((v, Constraint(v - 1, "ge", f"{v} >= 1")))
        elif v.is_positive:
            out.append((v, Constraint(v, "gt", f"{v} > 0")))
        elif v.is_nonnegative:
            out.append((v, Constraint(v, "ge", f"{v} >= 0")))
    return out


def hypothesis_constraints(statement, strengthen=True) -> list:
    return domain_constraints(statement.variables) + [
        (h, normal_form(h, strengthen)) for h in statement.hypotheses]


def _conjuncts(expr) -> list:
    if isinstance(expr, sympy.And):
        return list(expr.args)
    if isinstance(expr, Relational):
        return [expr]
    raise TypeError(f"conclusion must be a relational or an And of relationals, got {expr!r}")


def _poly(expr, symbols):
    return sympy.Poly(sympy.expand(expr), *symbols) if symbols else None


def _nonneg_coefficients(expr, symbols) -> bool:
    expr = sympy.expand(expr)
    if not symbols:
        return expr.is_Rational and expr >= 0
    try:
        p = sympy.Poly(expr, *symbols)
    except sympy.PolynomialError:
        return False
    return all(c.is_Rational and c >= 0 for c in p.coeffs())


def _constant_term(expr, symbols):
    expr = sympy.expand(expr)
    return expr.subs({s: 0 for s in symbols})


# --------------------------------------------------------------------------------------
# Certificates (route 1)
# --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SlackCertificate:
    """Slack substitution plus Positivstellensatz-lite multipliers for one inequality.

    Parameters
    ----------
    substitution : tuple of (Symbol, Expr)
        Every variable of the statement as an affine expression in new slack symbols.
    multipliers : tuple of (key, Expr)
        ``key`` is a hypothesis relational of the statement, or a variable (its sign
        assumption); the polynomial is in the statement's variables.
    scale : Expr
        A polynomial positive on the slack orthant multiplying the conclusion's gap.
    part : Relational or None
        The conjunct of an ``And`` conclusion this certificate proves; None: the conclusion.

    Examples
    --------
    ``r (m + n - r) >= r (r + 1) / 2`` for ``1 <= r <= min(m, n)``: substitute
    ``r = 1 + a, m = 1 + a + b, n = 1 + a + c``; the remainder is
    ``(1 + a)(a/2 + b + c)``, all coefficients nonnegative.

    >>> from proofs import statement_by_id
    >>> cert = statement_by_id("R1.comparison").certificate
    >>> cert.substitution
    ((r, a + 1), (m, a + b + 1), (n, a + c + 1))
    >>> cert.verify(statement_by_id("R1.comparison"))[1].split("; ")[-1]
    'remainder a**2/2 + a*b + a*c + a/2 + b + c >= 0 coefficientwise'
    """

    substitution: tuple
    multipliers: tuple = ()
    scale: Any = 1
    part: Any = None

    def verify(self, statement) -> tuple:
        """``(True, detail)`` if every check passes, else ``(None, reason)``.

        >>> from sympy import Symbol
        >>> r = Symbol("r", integer=True, positive=True); a = Symbol("a", nonnegative=True)
        >>> from proofs.statement import Statement
        >>> s = Statement("t", "-", "-", (r,), (), r**2 >= r)
        >>> SlackCertificate(((r, 1 + a),)).verify(s)[0]
        True
        >>> SlackCertificate(((r, a),)).verify(s)   # r = a leaves a**2 - a: rejected
        (None, 'remainder a**2 - a has a negative coefficient')
        """
        goals = _conjuncts(statement.conclusion)
        if self.part is not None:
            goals = [g for g in goals if g == self.part]
            if not goals:
                return None, f"certificate part {self.part} is not a conjunct of the conclusion"
        details = []
        for goal in goals:
            ok, why = _verify_slack(self, statement, goal)
            if ok is not True:
                return None, why
            details.append(why)
        return True, "; ".join(details)


def invert_affine(sub: dict, variables, slacks):
    """Solve ``x = sigma(s)`` for ``s``; None if ``sigma`` is not an affine bijection."""
    J = sympy.Matrix([[sympy.diff(sub[v], s) for s in slacks] for v in variables])
    if not all(e.is_Rational for e in J) or J.det() == 0:
        return None
    c = sympy.Matrix([sub[v].subs({s: 0 for s in slacks}) for v in variables])
    tau = J.inv() * (sympy.Matrix(variables) - c)
    return {s: sympy.expand(t) for s, t in zip(slacks, tau)}


def cover_by_constraints(target, constraints, variables):
    """Write the affine ``target`` as ``c0 + sum mu_i gap_i`` (``mu_i >= 0`` for
    inequalities, ``c0 >= 0``) over the affine constraints, or return None."""
    affine = []
    for key, c in constraints:
        p = _poly(c.gap, variables)
        if p is not None and p.total_degree() <= 1:
            affine.append((key, c))
    rows = list(variables)

    def coeffs(e):
        e = sympy.expand(e)
        return [e.coeff(v) for v in rows], e.subs({v: 0 for v in rows})

    t_lin, t_const = coeffs(target)
    b = sympy.Matrix(t_lin)
    for k in range(0, len(rows) + 1):
        for subset in itertools.combinations(affine, k):
            if k == 0:
                if any(x != 0 for x in t_lin):
                    continue
                mus = []
            else:
                cols = [coeffs(c.gap)[0] for _, c in subset]
                A = sympy.Matrix(cols).T
                try:
                    sol, params = A.gauss_jordan_solve(b)
                except ValueError:
                    continue
                sol = sol.subs({p: 0 for p in params})
                mus = list(sol)
            if any(mu < 0 for mu, (_, c) in zip(mus, subset) if c.kind != "eq"):
                continue
            c0 = t_const - sum(mu * coeffs(c.gap)[1] for mu, (_, c) in zip(mus, subset))
            if c0 < 0:
                continue
            if sympy.expand(target - c0 - sum(mu * c.gap for mu, (_, c) in zip(mus, subset))) != 0:
                continue
            return c0, [(mu, c) for mu, (_, c) in zip(mus, subset) if mu != 0]
    return None


def _verify_slack(cert: SlackCertificate, statement, goal) -> tuple:
    variables = list(statement.variables)
    sub = dict(cert.substitution)
    if set(sub) != set(variables):
        return None, "the substitution must give every variable exactly once"
    slacks = sorted(set().union(*(sympy.sympify(e).free_symbols for e in sub.values())),
                    key=lambda s: s.name)
    if set(slacks) & set(variables) or len(slacks) != len(variables):
        return None, "slack symbols must be new and as many as the variables"
    # (i) affine, integer where integer, invertible, integer-affine inverse, coverage.
    for v in variables:
        p = _poly(sub[v], slacks)
        if p.total_degree() > 1 or not all(c.is_Rational for c in p.coeffs()):
            return None, f"{v} = {sub[v]} is not affine in the slacks"
        if v.is_integer and not all(c.is_Integer for c in p.coeffs()):
            return None, f"{v} = {sub[v]} has non-integer coefficients"
    tau = invert_affine(sub, variables, slacks)
    if tau is None:
        return None, "the slack substitution is not invertible"
    for v in variables:
        if sympy.expand(sub[v].subs(tau) - v) != 0:
            return None, "the inverse substitution does not reproduce the variables"
    hyps = hypothesis_constraints(statement)
    coverage = []
    for s in slacks:
        t = tau[s]
        if _all_integer(t.free_symbols):
            p = _poly(t, variables)
            if not all(c.is_Integer for c in p.coeffs()):
                return None, f"slack {s} = {t} is not integer-affine in integer variables"
        cover = cover_by_constraints(t, hyps, variables)
        if cover is None:
            return None, f"slack {s} = {t} is not shown >= 0 by the affine hypotheses"
        c0, combo = cover
        coverage.append(f"{s} = {t}")
    # (ii) multipliers and scale.
    sig = lambda e: sympy.expand(sympy.sympify(e).subs(sub, simultaneous=True))  # noqa: E731
    keyed = {}
    for key, c in hyps:
        keyed.setdefault(key, c)
    total = S.Zero
    strict_witness = False
    for key, lam in cert.multipliers:
        if key not in keyed:
            return None, f"multiplier for {key}, which is not a hypothesis or a variable"
        lam = sympy.sympify(lam)
        if not lam.free_symbols <= set(variables):
            return None, f"multiplier {lam} uses symbols outside the statement"
        c = keyed[key]
        lam_s = sig(lam)
        if c.kind != "eq" and not _nonneg_coefficients(lam_s, slacks):
            return None, f"multiplier {lam} of {c.label} has a negative coefficient in the slacks"
        if _poly(lam_s, slacks) is None and not lam_s.is_Rational:
            return None, f"multiplier {lam} is not a polynomial"
        if c.kind == "gt" and _constant_term(lam_s, slacks) > 0:
            strict_witness = True
        total += lam_s * sig(c.gap)
    scale_s = sig(cert.scale)
    if not _nonneg_coefficients(scale_s, slacks) or not _constant_term(scale_s, slacks) > 0:
        return None, f"scale {cert.scale} is not positive on the slack orthant"
    # (iii) remainder.
    goal_c = normal_form(goal, strengthen=False)
    if goal_c.kind == "eq":
        return None, "an equation conclusion needs an IdentityCertificate"
    remainder = sympy.expand(scale_s * sig(goal_c.gap) - total)
    if not _nonneg_coefficients(remainder, slacks):
        return None, f"remainder {remainder} has a negative coefficient"
    const = _constant_term(remainder, slacks)
    if goal_c.kind == "gt" and not (const > 0 or strict_witness):
        return None, f"strict conclusion but remainder {remainder} may vanish"
    strict = ("" if goal_c.kind == "ge" else
              f", strict by constant {const}" if const > 0 else ", strict by a strict hypothesis")
    sub_text = ", ".join(f"{v}={sub[v]}" for v in variables)
    return True, (f"[{goal_c.label}] slacks {sub_text} (each >= 0 under the hypotheses); "
                  f"remainder {remainder} >= 0 coefficientwise{strict}")


@dataclass(frozen=True)
class IdentityCertificate:
    """The conclusion is an equation ``lhs = rhs`` that holds as a polynomial identity.

    >>> from sympy import Symbol, Eq
    >>> from proofs.statement import Statement
    >>> r, m = Symbol("r", integer=True), Symbol("m", integer=True)
    >>> s = Statement("t", "-", "-", (r, m), (), Eq(r*m - r**2, r*(m - r), evaluate=False))
    >>> IdentityCertificate().verify(s)[0]
    True
    """

    def verify(self, statement) -> tuple:
        """``(True, detail)`` if ``expand(lhs - rhs) == 0`` and ``simplify`` agrees, else
        ``(None, reason)``.

        >>> from sympy import Symbol, Eq
        >>> from proofs.statement import Statement
        >>> r = Symbol("r", integer=True)
        >>> IdentityCertificate().verify(Statement("t", "-", "-", (r,), (), Eq(r**2, r, evaluate=False)))
        (None, 'lhs - rhs = r**2 - r is not identically 0')
        """
        goal = statement.conclusion
        if not isinstance(goal, Equality):
            return None, "IdentityCertificate needs an equation"
        diff = goal.lhs - goal.rhs
        if sympy.expand(diff) == 0 and sympy.simplify(diff) == 0:
            return True, "expand(lhs - rhs) = 0 and simplify(lhs - rhs) = 0"
        return None, f"lhs - rhs = {sympy.expand(diff)} is not identically 0"


@dataclass(frozen=True)
class GroundCertificate:
    """Every variable is pinned by an ``Eq(var, number)`` hypothesis: evaluate exactly.

    >>> from sympy import Symbol, Eq
    >>> from proofs.statement import Statement
    >>> r = Symbol("r", integer=True, positive=True)
    >>> s = Statement("t", "-", "-", (r,), (Eq(r, 8),), r * (r + 1) / 2 > 32)
    >>> GroundCertificate().verify(s)
    (True, 'exact evaluation at r = 8: 36 > 32')
    """

    def verify(self, statement) -> tuple:
        """``(True, detail)`` if the conclusion evaluates to sympy ``true`` at the point,
        else ``(None, reason)``.

        >>> from proofs import statement_by_id
        >>> GroundCertificate().verify(statement_by_id("R1.instance-768"))
        (True, 'exact evaluation at r = 1, m = 768, n = 768, C = 27/20, K = 2, N = 32: 1535 > 432/5')
        """
        values = {}
        for h in statement.hypotheses:
            if isinstance(h, Equality) and h.lhs in statement.variables and h.rhs.is_number:
                values[h.lhs] = h.rhs
        if set(values) != set(statement.variables):
            return None, "not every variable is pinned to a number"
        parts = []
        for goal in _conjuncts(statement.conclusion):
            lhs, rhs = goal.lhs.subs(values), goal.rhs.subs(values)
            if goal.subs(values) is not sympy.true:
                return None, f"{goal} is not true at the point"
            parts.append(f"{lhs} {goal.rel_op} {rhs}")
        where = ", ".join(f"{k} = {v}" for k, v in values.items())
        return True, f"exact evaluation at {where}: " + ", ".join(parts)


# --------------------------------------------------------------------------------------
# Counterexamples: exact verification and bounded search
# --------------------------------------------------------------------------------------

def _in_domain(v: Symbol, value: Fraction) -> bool:
    if v.is_integer and value.denominator != 1:
        return False
    if v.is_positive and not value > 0:
        return False
    if v.is_nonnegative and not value >= 0:
        return False
    return True


def verify_counterexample(statement, point: dict) -> bool:
    """True iff ``point`` (variable name -> number) is in the domain, satisfies every
    hypothesis and violates the conclusion, by exact substitution of sympy Rationals.

    >>> from proofs import statement_by_id
    >>> s = statement_by_id("J2.sqrt-converse")
    >>> verify_counterexample(s, {"r": 11, "M": 64}), verify_counterexample(s, {"r": 12, "M": 64})
    (True, False)
    """
    try:
        exact = {v: Fraction(point[v.name]) for v in statement.variables}
    except (KeyError, TypeError, ValueError):
        return False
    if not all(_in_domain(v, x) for v, x in exact.items()):
        return False
    values = {v: Rational(x.numerator, x.denominator) for v, x in exact.items()}
    try:
        if not all(sympy.sympify(h).subs(values) is sympy.true for h in statement.hypotheses):
            return False
        return sympy.sympify(statement.conclusion).subs(values) is sympy.false
    except (TypeError, AttributeError):
        return False


def _rationals_by_height(limit: int, nonnegative: bool, signed: bool) -> list:
    out = [Fraction(0)] if (nonnegative or signed) else []
    seen = set(out)
    h = 1
    while len(out) < limit:
        for q in range(1, h + 1):
            for p in (h,) if q < h else range(1, h + 1):
                f = Fraction(p, q)
                for x in ((f, -f) if signed else (f,)):
                    if x not in seen:
                        seen.add(x)
                        out.append(x)
        h += 1
    return out[:limit]


def _values_for(v: Symbol, length: int) -> list:
    if v.is_integer:
        start = 1 if v.is_positive else 0
        if v.is_nonnegative:
            return list(range(start, start + length))
        return [0] + [s * k for k in range(1, length) for s in (1, -1)][: length - 1]
    return _rationals_by_height(length, bool(v.is_nonnegative) and not v.is_positive,
                                not v.is_nonnegative)


def _compile(rel, variables):
    """A Python predicate on exact numbers for a relational (integer coefficients only)."""
    gap = sympy.expand(rel.lhs - rel.rhs)
    den = _denominator_lcm(gap, gap.free_symbols) if gap.free_symbols else gap.q
    if den is None or not all(v.name.isidentifier() for v in variables):
        vals = lambda *xs: rel.subs({v: Rational(x.numerator, x.denominator)  # noqa: E731
                                     for v, x in zip(variables, map(Fraction, xs))}) is sympy.true
        return vals
    body = sympy.sstr(sympy.expand(den * gap))
    op = {">=": ">=", ">": ">", "<=": "<=", "<": "<", "==": "==", "!=": "!="}[rel.rel_op]
    args = ", ".join(v.name for v in variables)
    return eval(f"lambda {args}: ({body}) {op} 0", {})  # noqa: S307 - our own printed polynomial


def search_counterexample(statement, budget: int = SEARCH_BUDGET) -> Optional[dict]:
    """Bounded exhaustive search for a counterexample, smallest points first.

    Integer variables run over their first values (``1, 2, ...`` for positive ones), real
    variables over the rationals ordered by height (``1, 2, 1/2, 3, 3/2, 2/3, 1/3, ...``);
    at most ``budget`` points. A known ``statement.witness`` is tried first. Every hit is
    re-verified by :func:`verify_counterexample` before it is returned.

    Returns
    -------
    dict or None
        variable name -> int or Fraction, or None if no counterexample was found (which
        proves nothing).

    Examples
    --------
    >>> from proofs import statement_by_id
    >>> search_counterexample(statement_by_id("R1.comparison-unrestricted"))
    {'r': 2, 'm': 1, 'n': 1}
    >>> search_counterexample(statement_by_id("R1.comparison")) is None
    True
    """
    if statement.witness is not None and verify_counterexample(statement, statement.witness):
        return dict(statement.witness)
    variables = list(statement.variables)
    try:
        goals = _conjuncts(statement.conclusion)
        hyps = [_compile(h, variables) for h in statement.hypotheses]
        concl = [_compile(g, variables) for g in goals]
    except (TypeError, AttributeError):
        return None
    k = len(variables)
    if k == 0:
        return None
    length = max(2, int(round(budget ** (1.0 / k))))
    while length ** k > budget and length > 2:
        length -= 1
    axes = [_values_for(v, length) for v in variables]
    for idx in sorted(itertools.product(range(length), repeat=k), key=lambda t: (max(t), sum(t))):
        x = [axes[i][j] for i, j in enumerate(idx)]
        if all(h(*x) for h in hyps) and not all(g(*x) for g in concl):
            point = {v.name: (int(val) if Fraction(val).denominator == 1 else Fraction(val))
                     for v, val in zip(variables, x)}
            if verify_counterexample(statement, point):
                return point
    return None


# --------------------------------------------------------------------------------------
# Route 1
# --------------------------------------------------------------------------------------

def sympy_route(statement) -> RouteResult:
    """Check the statement's certificate; if there is none or it fails, search for a
    counterexample. True only from a fully checked certificate, False only with an exactly
    re-verified counterexample, else None.

    >>> from proofs import statement_by_id
    >>> sympy_route(statement_by_id("R1.comparison")).answer
    True
    >>> res = sympy_route(statement_by_id("R1.comparison-unrestricted"))
    >>> res.answer, res.counterexample
    (False, {'r': 2, 'm': 1, 'n': 1})
    """
    start = time.perf_counter()
    cert = statement.certificate
    answer, detail = None, "no certificate"
    if cert is not None:
        certs = cert if isinstance(cert, tuple) else (cert,)
        try:
            if isinstance(cert, tuple):
                covered = {c.part for c in certs}
                missing = [g for g in _conjuncts(statement.conclusion) if g not in covered]
                if missing:
                    raise ValueError(f"no certificate for conjunct {missing[0]}")
            results = [c.verify(statement) for c in certs]
            if all(a is True for a, _ in results):
                answer, detail = True, "; ".join(d for _, d in results)
            else:
                detail = "certificate rejected: " + next(d for a, d in results if a is not True)
        except (ValueError, TypeError, sympy.PolynomialError) as exc:
            detail = f"certificate rejected: {exc}"
    counterexample = None
    if answer is not True:
        counterexample = search_counterexample(statement)
        if counterexample is not None:
            answer = False
            detail += f"; bounded search found counterexample {counterexample} (verified exactly)"
        else:
            detail += "; bounded search found no counterexample (not a proof)"
    return RouteResult(SYMPY_ROUTE, answer, detail, time.perf_counter() - start, counterexample)


# --------------------------------------------------------------------------------------
# Route 2
# --------------------------------------------------------------------------------------

def _z3_term(expr, env):
    import z3

    if expr.is_Symbol:
        return env[expr]
    if expr.is_Integer:
        return z3.IntVal(int(expr))
    if expr.is_Rational:
        return z3.RealVal(f"{expr.p}/{expr.q}")
    if expr.is_Add:
        terms = [_z3_term(a, env) for a in expr.args]
        return z3.Sum(terms)
    if expr.is_Mul:
        out = None
        for a in expr.args:
            t = _z3_term(a, env)
            out = t if out is None else out * t
        return out
    if expr.is_Pow and expr.exp.is_Integer and expr.exp >= 1:
        base = _z3_term(expr.base, env)
        out = base
        for _ in range(int(expr.exp) - 1):
            out = out * base
        return out
    raise TypeError(f"cannot encode {expr!r} for z3")


def _has_fraction(expr) -> bool:
    return any(a.is_Rational and not a.is_Integer for a in sympy.preorder_traversal(expr))


def _z3_rel(rel, env):
    """Encode a relational with integer coefficients: ``d lhs op d rhs`` as written (so z3,
    not sympy, does the algebra), or ``d (lhs - rhs)`` expanded if fractions remain nested."""
    gap = sympy.expand(rel.lhs - rel.rhs)
    den = _denominator_lcm(gap, gap.free_symbols) if gap.free_symbols else gap.q
    if den is None:
        raise TypeError(f"cannot encode {rel!r} for z3")
    lhs, rhs = den * rel.lhs, den * rel.rhs
    if _has_fraction(lhs) or _has_fraction(rhs):
        lhs, rhs = sympy.expand(den * gap), S.Zero
    x, y = _z3_term(lhs, env), _z3_term(rhs, env)
    return {">=": x >= y, ">": x > y, "<=": x <= y, "<": x < y, "==": x == y, "!=": x != y}[rel.rel_op]


def _z3_constraint(c: Constraint, env):
    gap = sympy.expand(c.gap)
    den = _denominator_lcm(gap, gap.free_symbols) if gap.free_symbols else gap.q
    t = _z3_term(sympy.expand(den * gap), env)
    return {"ge": t >= 0, "gt": t > 0, "eq": t == 0}[c.kind]


def _z3_bool(expr, env):
    import z3

    if expr is sympy.true:
        return z3.BoolVal(True)
    if expr is sympy.false:
        return z3.BoolVal(False)
    if isinstance(expr, Relational):
        return _z3_rel(expr, env)
    if isinstance(expr, sympy.And):
        return z3.And(*[_z3_bool(a, env) for a in expr.args])
    if isinstance(expr, sympy.Or):
        return z3.Or(*[_z3_bool(a, env) for a in expr.args])
    if isinstance(expr, sympy.Not):
        return z3.Not(_z3_bool(expr.args[0], env))
    if isinstance(expr, sympy.Implies):
        return z3.Implies(_z3_bool(expr.args[0], env), _z3_bool(expr.args[1], env))
    if isinstance(expr, sympy.Equivalent):
        return z3.And(*[_z3_bool(a, env) == _z3_bool(expr.args[0], env) for a in expr.args[1:]])
    raise TypeError(f"cannot encode {expr!r} for z3")


def _z3_domain(v, var):
    if v.is_integer and v.is_positive:
        return var >= 1
    if v.is_positive:
        return var > 0
    if v.is_nonnegative:
        return var >= 0
    return None


def _z3_value(val) -> list:
    """Exact candidates for a z3 model value (several for an algebraic number)."""
    import z3

    if z3.is_int_value(val):
        return [Fraction(val.as_long())]
    if z3.is_rational_value(val):
        return [Fraction(val.numerator_as_long(), val.denominator_as_long())]
    if z3.is_algebraic_value(val):
        approx = Fraction(val.approx(30).as_decimal(40).rstrip("?"))
        return [approx.limit_denominator(d) for d in (10, 1000, 10**6)] + [approx]
    return []


def _z3_counterexample(statement, model, env) -> Optional[dict]:
    cands = []
    for v in statement.variables:
        c = _z3_value(model.eval(env[v], model_completion=True))
        if not c:
            return None
        cands.append(c)
    for combo in itertools.product(*cands):
        point = {v.name: (int(x) if x.denominator == 1 else x) for v, x in zip(statement.variables, combo)}
        if verify_counterexample(statement, point):
            return point
    return None


def _z3_attempt(statement, relax: bool, timeout_s: float):
    import z3

    if relax:
        env = {v: z3.Real(v.name) for v in statement.variables}
        solver = z3.SolverFor("QF_NRA")
        facts = [_z3_constraint(c, env) for _, c in hypothesis_constraints(statement, strengthen=True)]
    else:
        env = {v: (z3.Int(v.name) if v.is_integer else z3.Real(v.name)) for v in statement.variables}
        solver = z3.Solver()
        facts = [d for d in (_z3_domain(v, env[v]) for v in statement.variables) if d is not None]
        facts += [_z3_bool(h, env) for h in statement.hypotheses]
    solver.set("timeout", max(1, int(timeout_s * 1000)))
    for f in facts:
        solver.add(f)
    solver.add(z3.Not(_z3_bool(statement.conclusion, env)))
    result = solver.check()
    model = solver.model() if result == z3.sat else None
    return str(result), model, env, solver.reason_unknown() if result == z3.unknown else ""


def z3_route(statement, timeout_s: Optional[float] = None) -> RouteResult:
    """Decide the statement with z3: unsat of hypotheses and negated conclusion.

    Integer sorts first; if that is unknown, the real relaxation (nlsat), whose unsat also
    proves the integer statement. A sat model is a counterexample only after exact
    re-verification.

    >>> from proofs import statement_by_id
    >>> z3_route(statement_by_id("R1.comparison")).answer
    True
    >>> z3_route(statement_by_id("J2.sqrt-converse")).answer
    False
    """
    import z3

    timeout_s = SMT_TIMEOUT_S if timeout_s is None else timeout_s
    start = time.perf_counter()
    if statement.smt is not None:
        answer, detail, cex = statement.smt(statement, timeout_s)
        return RouteResult(Z3_ROUTE, answer, detail, time.perf_counter() - start, cex)
    try:
        has_int = any(v.is_integer for v in statement.variables)
        attempts = [("integer", False)] + ([("real relaxation", True)] if has_int else [])
        notes = []
        for i, (name, relax) in enumerate(attempts):
            left = timeout_s - (time.perf_counter() - start)
            share = left if i == len(attempts) - 1 else min(left, max(1.0, timeout_s * 0.3))
            result, model, env, why = _z3_attempt(statement, relax, share)
            if result == "unsat":
                how = ("Int/Real sorts" if not relax else
                       "real relaxation (nlsat, QF_NRA) with integer-strengthened strict "
                       "hypotheses; the integer statement follows since Z is inside R")
                notes.append(f"{name}: unsat")
                return RouteResult(Z3_ROUTE, True, f"z3 {z3.get_version_string()}: negation unsat, {how}"
                                   + (f" (after {'; '.join(notes[:-1])})" if len(notes) > 1 else ""),
                                   time.perf_counter() - start)
            if result == "sat":
                cex = _z3_counterexample(statement, model, env)
                if cex is not None:
                    return RouteResult(Z3_ROUTE, False, f"z3 {name} encoding: sat, model {cex} "
                                       "re-verified exactly", time.perf_counter() - start, cex)
                notes.append(f"{name}: sat but the model is not an exact counterexample")
            else:
                notes.append(f"{name}: unknown ({why or 'timeout'})")
        return RouteResult(Z3_ROUTE, None, "; ".join(notes), time.perf_counter() - start)
    except TypeError as exc:
        return RouteResult(Z3_ROUTE, None, f"not encodable: {exc}", time.perf_counter() - start)
