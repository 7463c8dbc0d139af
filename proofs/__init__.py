"""Exact, symbolic side of lorank: theorems as objects, two proof routes, least ranks.

Everything here is exact and light (sympy, mpmath, z3, integers and fractions); nothing
imports torch or :mod:`numerics`. The public API is re-exported here *lazily* (PEP 562): a
name is imported from its module on first use, so ``import proofs.validation`` or
``import proofs.claims`` (the leaf modules of exceptions, input checks and claimed
constants) loads no sympy.

Examples
--------
>>> from proofs import check, statement_by_id, least_rank_sard, least_rank_sqrt_approx, least_rank_manifold
>>> verdict = check(statement_by_id("J1.closed-form"))  # check_all() checks every statement
>>> verdict.status, verdict.as_expected
('proved', True)
>>> least_rank_sard(64), least_rank_sqrt_approx(64), least_rank_manifold(768, 768, 64, "1.35")
(11, 12, 1)
"""

from __future__ import annotations

import importlib

#: public name -> submodule that defines it (imported on first access).
_EXPORTS = {
    # theorems
    "Statement": "statement", "RouteResult": "results", "Verdict": "statement", "check": "statement",
    "check_all": "catalogue", "all_statements": "catalogue", "statement_by_id": "catalogue",
    "rank_condition_statements": "rank_conditions", "instance_statements": "rank_conditions",
    "structured_statements": "structured", "pl_statements": "pl", "rademacher_statements": "rademacher",
    "lora_gradient": "pl", "explicit_gradient_check": "pl",
    "gradient_flow_statements": "gradient_flow", "flow_velocity": "gradient_flow",
    "relative_tail_error": "tails", "rate_constants": "tails",
    "jang_statements": "jang",
    "stable_rank_statements": "stable_rank", "exact_stable_rank": "stable_rank",
    # routes and certificates
    "SlackCertificate": "routes", "IdentityCertificate": "routes", "GroundCertificate": "routes",
    "MatrixCertificate": "structured", "StrictSlackCertificate": "pl", "SquareStepCertificate": "pl",
    "LemmaCertificate": "pl", "sympy_route": "routes", "z3_route": "routes",
    "search_counterexample": "routes", "verify_counterexample": "routes", "SMT_TIMEOUT_S": "routes",
    # least ranks
    "CRITERIA": "minimal_rank", "Criterion": "minimal_rank", "least_rank": "minimal_rank",
    "least_rank_brute_force": "minimal_rank", "least_rank_sard": "minimal_rank",
    "least_rank_sqrt_approx": "minimal_rank", "least_rank_manifold": "minimal_rank",
    "least_rank_dimension_count": "minimal_rank", "least_rank_linear_solve": "minimal_rank",
    "barvinok_pataki_rank": "minimal_rank", "manifold_dimension": "minimal_rank",
    # exact existence at rho = 1 (issue 16)
    "exact_existence_statements": "exact_existence", "determinantal_degree": "exact_existence",
    "degree_r1_closed_form": "exact_existence", "dimension_count": "exact_existence",
    "groebner_count": "exact_existence",
    # exact existence just above rho = 1 (issue 16 item 5)
    "exact_above_statements": "exact_above", "lower_rank_margin": "exact_above",
    # input checks
    "InvalidArgument": "validation",
    # claimed constants
    "CLAIMED_CSTAR": "claims", "COVER_RHO": "claims",
}

__all__ = list(_EXPORTS)


def __getattr__(name: str):
    """Import a public name from its submodule on first access (PEP 562).

    >>> import proofs
    >>> proofs.InvalidArgument is importlib.import_module("proofs.validation").InvalidArgument
    True
    >>> proofs.no_such_name
    Traceback (most recent call last):
    ...
    AttributeError: module 'proofs' has no attribute 'no_such_name'
    """
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value   # cache: the next access is a plain attribute
    return value


def __dir__():
    return sorted(set(globals()) | set(_EXPORTS))
