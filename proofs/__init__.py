"""Exact, symbolic side of lorank: theorems as objects, two proof routes, least ranks.

Everything here is exact and light (sympy, mpmath, z3, integers and fractions); nothing
imports torch or :mod:`numerics`. The public API is re-exported here.

Examples
--------
>>> verdicts = check_all()
>>> all(v.as_expected for v in verdicts)
True
>>> least_rank_sard(64), least_rank_sqrt_approx(64), least_rank_manifold(768, 768, 64, "1.35")
(11, 12, 1)
"""

from __future__ import annotations

from .minimal_rank import (CRITERIA, Criterion, barvinok_pataki_rank, least_rank,
                           least_rank_brute_force, least_rank_dimension_count,
                           least_rank_linear_solve, least_rank_manifold, least_rank_sard,
                           least_rank_sqrt_approx, manifold_dimension)
from .rank_conditions import instance_statements, rank_condition_statements, statement_by_id
from .routes import (SMT_TIMEOUT_S, GroundCertificate, IdentityCertificate, SlackCertificate,
                     search_counterexample, sympy_route, verify_counterexample, z3_route)
from .statement import RouteResult, Statement, Verdict, check
from .structured import MatrixCertificate, structured_statements
from .pl import (LemmaCertificate, SquareStepCertificate, StrictSlackCertificate,
                 explicit_gradient_check, lora_gradient, pl_statements)
from .rademacher import rademacher_statements
from .validation import InvalidArgument

__all__ = [
    # theorems
    "Statement", "RouteResult", "Verdict", "check", "check_all", "all_statements",
    "statement_by_id", "rank_condition_statements", "instance_statements",
    "structured_statements", "pl_statements", "rademacher_statements",
    "lora_gradient", "explicit_gradient_check",
    # routes and certificates
    "SlackCertificate", "IdentityCertificate", "GroundCertificate", "MatrixCertificate",
    "StrictSlackCertificate", "SquareStepCertificate", "LemmaCertificate",
    "sympy_route", "z3_route", "search_counterexample", "verify_counterexample",
    "SMT_TIMEOUT_S",
    # least ranks
    "CRITERIA", "Criterion", "least_rank", "least_rank_brute_force", "least_rank_sard",
    "least_rank_sqrt_approx", "least_rank_manifold", "least_rank_dimension_count",
    "least_rank_linear_solve", "barvinok_pataki_rank", "manifold_dimension",
    # input checks
    "InvalidArgument",
]


def all_statements() -> list:
    """Every statement of the ledger's proof part, in ledger order (built fresh each call).

    >>> ids = [s.id for s in all_statements()]
    >>> len(ids) == len(set(ids)), "R3.least-rank" in ids
    (True, True)
    """
    return (rank_condition_statements() + instance_statements() + structured_statements()
            + pl_statements() + rademacher_statements())


def check_all(timeout_s: float | None = None) -> list:
    """Check every statement by both routes; nothing is cached between calls.

    Parameters
    ----------
    timeout_s : float, optional
        SMT time limit per statement (default :data:`SMT_TIMEOUT_S`).

    Returns
    -------
    list of Verdict

    Examples
    --------
    >>> sorted({v.status for v in check_all()})
    ['proved', 'refuted']
    """
    return [check(s, timeout_s) for s in all_statements()]
