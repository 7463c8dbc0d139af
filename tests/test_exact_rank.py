"""Exact rank of the LoRA Jacobian over prime fields and Z (proofs/exact_rank.py): agreement
with float rank, full rank at the dimension count for every committed PL* size, the gauge bound
one feature beyond it, a degenerate instance, and the ledger statements."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

from proofs import exact_rank
from proofs.catalogue import all_statements
from proofs.exact_rank import (BAREISS_MAX_COLUMNS, PL_RECORD_SIZES, PRIME, SECOND_PRIME,
                               GenericRankCertificate, IndependentRankCheck, bareiss_rank,
                               certify_generic_rank, exact_rank_statements, integer_instance,
                               is_prime, jacobian, jacobian_by_differences, rank_mod_p,
                               statement_id)
from proofs.statement import check

RESULTS = Path(__file__).resolve().parent.parent / "results"
#: Largest sides and rank drawn in the property tests (small: Bareiss and float rank are cheap).
MAX_SIDE, MAX_RANK = 5, 3


@st.composite
def st_integer_matrix(draw):
    rows = draw(st.integers(1, 8))
    cols = draw(st.integers(1, 8))
    low_rank = draw(st.booleans())
    if low_rank:   # a product of integer factors, so that rank deficiency actually occurs
        k = draw(st.integers(0, min(rows, cols)))
        P = np.array(draw(st.lists(st.integers(-3, 3), min_size=rows * k, max_size=rows * k)),
                     dtype=np.int64).reshape(rows, k)
        Q = np.array(draw(st.lists(st.integers(-3, 3), min_size=k * cols, max_size=k * cols)),
                     dtype=np.int64).reshape(k, cols)
        return P @ Q
    values = draw(st.lists(st.integers(-5, 5), min_size=rows * cols, max_size=rows * cols))
    return np.array(values, dtype=np.int64).reshape(rows, cols)


@st.composite
def st_size(draw):
    m = draw(st.integers(1, MAX_SIDE))
    n = draw(st.integers(1, MAX_SIDE))
    r = draw(st.integers(1, min(m, n, MAX_RANK)))
    return m, n, r


def test_primes_are_prime():
    # The field of each route is a field only if its modulus is prime; compare with sympy.
    for p in (PRIME, SECOND_PRIME, 2, 3, 97, 2**31 - 3, 561, 3_215_031_749):
        assert is_prime(p) is bool(sympy.isprime(p))


@settings(max_examples=150, deadline=None)
@given(st_integer_matrix())
def test_exact_ranks_agree_with_float_rank(matrix):
    # Small integer matrices with entries <= 5 and side <= 8: the float SVD rank is exact
    # (singular values are either 0 up to rounding or far from it), so all three ranks agree.
    expected = int(np.linalg.matrix_rank(matrix.astype(float)))
    assert rank_mod_p(matrix, PRIME) == expected
    assert rank_mod_p(matrix, SECOND_PRIME) == expected
    assert bareiss_rank(matrix) == expected


@settings(max_examples=40, deadline=None)
@given(st_size(), st.integers(0, 2**16))
def test_jacobian_instances_agree_with_float_rank(size, seed):
    # On random Jacobian instances (any M, below and above r(m+n-r)) the exact ranks agree
    # with numpy's float rank, and the two constructions of J are the same matrix.
    m, n, r = size
    M = r * (m + n - r) + seed % 3 - 1 or 1
    G, B, A = integer_instance(m, n, r, M, seed)
    J = jacobian(G, B, A)
    assert J.shape == (M, r * (m + n))
    assert (jacobian_by_differences(G, B, A) == J).all()
    expected = int(np.linalg.matrix_rank(J.astype(float)))
    assert rank_mod_p(J) == bareiss_rank(J) == expected
    assert expected <= r * (m + n - r)   # the gauge bound (R2.gauge-kernel, R2.rank-J)


def test_rank_mod_p_sees_the_characteristic():
    # 2 * identity has rank 2 over Q and rank 0 over F_2: the elimination really works mod p.
    assert rank_mod_p(2 * np.eye(2, dtype=np.int64), 2) == 0
    assert rank_mod_p(np.array([[PRIME, 1], [0, PRIME]]), PRIME) == 1
    assert bareiss_rank(np.array([[PRIME, 1], [0, PRIME]])) == 2


@pytest.mark.parametrize("bad", [4, 1, 2**31 + 11])
def test_rank_mod_p_refuses_bad_moduli(bad):
    with pytest.raises(ValueError, match="p must be a prime below 2"):
        rank_mod_p(np.eye(2, dtype=np.int64), bad)


def test_recorded_sizes_match_the_committed_pl_records():
    # PL_RECORD_SIZES lists the (m, n, r) of the committed PL* summaries, no more, no less.
    found = set()
    for summary in sorted(RESULTS.glob("pl/*/summary.json")):
        found |= {(g["m"], g["n"], g["r"]) for g in json.loads(summary.read_text())["groups"]}
    assert found == set(PL_RECORD_SIZES)


@pytest.mark.parametrize("size", PL_RECORD_SIZES, ids=lambda s: f"{s[0]}x{s[1]}r{s[2]}")
def test_full_rank_at_the_dimension_count_and_bound_one_beyond(size):
    # Route 1 and route 2 instances: rank J = M at M = r(m+n-r); with one feature more the
    # rank stays r(m+n-r) (the gauge bound, attained and not exceeded).
    m, n, r = size
    d = r * (m + n - r)
    route2 = IndependentRankCheck(m, n, r)
    for cert in (certify_generic_rank(m, n, r),
                 certify_generic_rank(m, n, r, p=route2.p, seed=route2.seed,
                                      construction="differences")):
        assert (cert.M, cert.rank, cert.rank_plus_one) == (d, d, d)
        assert cert.full is True
        assert cert.verify() is True
    assert route2.p == (0 if r * (m + n) <= BAREISS_MAX_COLUMNS else SECOND_PRIME)


def test_rank_at_every_smaller_M_is_M():
    # Step (c) of the argument, checked directly at one size: prefixes of a full-row-rank J
    # have full row rank.
    m, n, r = 8, 8, 2
    G, B, A = integer_instance(m, n, r, r * (m + n - r), seed=0)
    J = jacobian(G, B, A)
    assert [rank_mod_p(J[:k]) for k in range(1, J.shape[0] + 1)] == list(range(1, J.shape[0] + 1))


def test_degenerate_instances_have_lower_rank():
    # A = 0: the B-block G_i A^T vanishes and rank J <= r n < M. B = 0: rank J <= r m (the LoRA
    # start, R2.lora-start-rank).
    m, n, r = 6, 5, 2
    d = r * (m + n - r)
    G, B, A = integer_instance(m, n, r, d, seed=0)
    for B_, A_, bound in ((B, 0 * A, r * n), (0 * B, A, r * m)):
        J = jacobian(G, B_, A_)
        assert rank_mod_p(J) == bareiss_rank(J) == bound < d


def test_a_degenerate_certificate_is_not_a_proof():
    # A certificate whose instance is rank-deficient (r = 1 with A = 0 forced by a patched
    # instance) answers None, and the statement is open, never proved.
    st_ = exact_rank_statements(((4, 4, 1),))[0]

    def zero_a(m, n, r, M, seed):
        G, B, A = integer_instance(m, n, r, M, seed)
        return G, B, 0 * A

    mp = pytest.MonkeyPatch()
    try:
        mp.setattr(exact_rank, "integer_instance", zero_a)
        ok, why = GenericRankCertificate(4, 4, 1).verify(st_)
        answer, _, _ = IndependentRankCheck(4, 4, 1)(st_, 10.0)
        verdict = check(st_)
    finally:
        mp.undo()
    assert ok is None and "not full row rank" in why
    assert answer is None
    assert verdict.status == "open"


def test_a_certificate_with_a_wrong_M_or_composite_modulus_is_rejected():
    cert = certify_generic_rank(4, 4, 1)
    assert exact_rank._judge(dataclasses.replace(cert, p=PRIME - 1))[0] is None
    below = certify_generic_rank(4, 4, 1, M=6)
    assert below.full is True and exact_rank._judge(below)[0] is None   # M < r(m+n-r): not the claim
    assert dataclasses.replace(cert, rank=cert.rank - 1).verify() is False


@pytest.fixture(scope="module")
def verdicts(checked_verdicts):
    """This module's statements as the session's ``check_all`` decided them (conftest
    ``checked_verdicts``: each checked once a session by both routes)."""
    ids = {s.id for s in exact_rank_statements()}
    found = {v.id: v for v in checked_verdicts if v.id in ids}
    assert set(found) == ids  # every statement here is one of the catalogue's
    return found


def test_statements_are_registered_one_per_size():
    ids = [s.id for s in all_statements()]
    assert [i for i in ids if i.startswith("R2.pl-star-generic.")] == \
        [statement_id(*s) for s in PL_RECORD_SIZES]


@pytest.mark.parametrize("size", PL_RECORD_SIZES, ids=lambda s: f"{s[0]}x{s[1]}r{s[2]}")
def test_statements_are_proved_by_both_routes(verdicts, size):
    v = verdicts[statement_id(*size)]
    assert v.status == "proved"
    assert [res.answer for res in v.routes] == [True, True]
    assert f"p = {PRIME}" in v.routes[0].detail
    assert ("Bareiss" in v.routes[1].detail) or (f"p = {SECOND_PRIME}" in v.routes[1].detail)
    assert "Zariski" in v.statement.notes


def test_the_whole_set_is_fast():
    # lorank check runs these every call: all sizes together within 2 s of CPU time on one core.
    # Measured as this process's CPU time, not wall time: the test run executes notebooks and
    # other processes in the background, and their load must not decide this test.
    import time

    start = time.process_time()
    checked = [check(s) for s in exact_rank_statements()]
    assert all(v.status == "proved" for v in checked)
    assert time.process_time() - start < 2.0


@pytest.mark.parametrize("run", ["cpu-default", "h100"])
def test_measured_positivity_entry_names_the_proof_and_the_float_events(run):
    # The Monte Carlo entry says which statements prove positivity at its sizes, and lists
    # every trial called zero where positivity is expected, with its ratio, as a float event.
    from numerics.verdicts import pl as pl_verdicts

    summary = json.loads((RESULTS / "pl" / run / "summary.json").read_text())
    entry = next(e for e in pl_verdicts.ledger_entries(RESULTS)
                 if e["id"] == f"R2.pl-star.positivity.{run}")
    for g in summary["groups"]:
        assert statement_id(g["m"], g["n"], g["r"]) in entry["statement"]
    events = [(g, c) for g in summary["groups"] for c in g["cells"]
              if c["random"]["expected_positive"] and c["random"]["positive"] < c["random"]["trials"]]
    for g, c in events:
        assert f"{g['m']}x{g['n']} r={g['r']} rho={c['rho']:.3g} (M = {c['M']})" in entry["statement"]
        assert f"{c['random']['max_by_max_called_zero']:.2g}" in entry["statement"]
    assert ("not evidence against the proved statement" in entry["statement"]) is bool(events)
