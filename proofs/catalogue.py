"""The catalogue of statements: every theorem module's statements in ledger order, and the
functions that walk them (:func:`all_statements`, :func:`statement_by_id`, :func:`check_all`).

It sits above the theorem modules (they never import it), so there is no cycle.

Examples
--------
>>> statement_by_id("J2.sqrt-converse").expected
False
"""

from __future__ import annotations

from .exact_above import exact_above_statements
from .exact_existence import exact_existence_statements
from .exact_rank import exact_rank_statements
from .gradient_flow import gradient_flow_statements
from .jang import jang_statements
from .pl import pl_statements
from .rademacher import rademacher_statements
from .rank_conditions import instance_statements, rank_condition_statements
from .stable_rank import stable_rank_statements
from .statement import Statement, check
from .structured import structured_statements

__all__ = ["all_statements", "statement_by_id", "check_all"]


def all_statements() -> list:
    """Every statement of the ledger's proof part, in ledger order (built fresh each call).

    >>> ids = [s.id for s in all_statements()]
    >>> len(ids) == len(set(ids)), "R3.least-rank" in ids
    (True, True)
    """
    return (rank_condition_statements() + instance_statements() + structured_statements()
            + pl_statements() + exact_rank_statements() + rademacher_statements()
            + gradient_flow_statements() + jang_statements() + exact_existence_statements()
            + stable_rank_statements() + exact_above_statements())


def statement_by_id(sid: str) -> Statement:
    """The statement with this id, among all statements of :mod:`proofs`.

    >>> statement_by_id("J2.sqrt-converse").expected
    False
    >>> statement_by_id("no.such")
    Traceback (most recent call last):
    ...
    KeyError: 'no.such'
    """
    for st in all_statements():
        if st.id == sid:
            return st
    raise KeyError(sid)


def check_all(timeout_s: float | None = None) -> list:
    """Check every statement by both routes; nothing is cached between calls.

    Parameters
    ----------
    timeout_s : float, optional
        SMT time limit per statement (default :data:`proofs.routes.SMT_TIMEOUT_S`).

    Returns
    -------
    list of Verdict

    Examples
    --------
    Every statement of the catalogue, by both routes (a few seconds; the test suite asserts that
    each verdict is the expected one):

    >>> sorted({s.expected for s in all_statements()})  # refuted readings are expected False
    [False, True]
    """
    return [check(s, timeout_s) for s in all_statements()]
