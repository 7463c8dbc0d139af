"""Seed 001 (Jang, Lee, Ryu): the statements of proofs.jang, the engine of numerics.engine.jang
(ADMM against cvxpy, the Barvinok-Pataki reduction, FISTA, gradient descent and the exact
Hessian, against exact facts) and the verdict rules of numerics.verdicts.jang.

The family's contract (resume, batches, shards, spec round trip, command line) is covered by
tests/test_experiment_contract.py, its bad inputs by tests/test_bad_inputs_experiments.py."""

from __future__ import annotations

import copy
import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from proofs import jang as jp
from proofs.minimal_rank import barvinok_pataki_rank

from strategies import st_system

torch = pytest.importorskip("torch")

from numerics.engine import jang as eng  # noqa: E402
from numerics.verdicts import jang as verd  # noqa: E402

STATEMENTS = jp.jang_statements()
F64 = torch.float64
TINY = eng.JangSettings(sizes=((4, 4),), examples=(3, 6), trials=3, sdp_trials=0, admm_iters=400,
                        land_m=3, land_n=3, land_examples=2, land_ranks=(1, 2), land_trials=2,
                        starts=3, gd_iters=400, prox_iters=400)


def _system(m, n, M, seed, S=1):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(S, M, m, n, generator=g, dtype=F64), torch.randn(S, M, generator=g, dtype=F64))


# --- proofs -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def verdicts(checked_verdicts):
    """This module's statements as the session's ``check_all`` decided them."""
    ids = {s.id for s in STATEMENTS}
    found = {v.id: v for v in checked_verdicts if v.id in ids}
    assert set(found) == ids
    return found


def test_every_statement_is_proved_by_both_routes_given_its_named_lemma(verdicts):
    # Property: both routes answer True; each statement names the linear-algebra fact it rests
    # on (so the status is proved-assuming, never a silent "proved").
    for sid, v in verdicts.items():
        assert [r.answer for r in v.routes] == [True, True], sid
        assert v.status == "proved-assuming" and v.statement.rests_on, sid
        assert set(v.statement.rests_on) <= set(v.statement.assumed)


@settings(max_examples=60, deadline=None)
@given(R=st.integers(1, 200), M=st.integers(1, 20000))
def test_the_count_matches_the_closed_form(R, M):
    # Property: J1.extreme-point-count with k = 0 (an extreme point) admits exactly the ranks
    # R <= r0 = barvinok_pataki_rank(M) (proofs.minimal_rank, integer arithmetic), so the
    # reduction, run while R(R+1)/2 > M, stops exactly at the ranks R <= r0.
    dim = R * (R + 1) // 2
    assert (dim <= M) == (R <= barvinok_pataki_rank(M))


def test_the_count_is_not_vacuous():
    # Property: dropping the extreme-point hypothesis makes the count false (a search finds a
    # point), so the certificate uses it.
    from proofs.routes import search_counterexample

    s = dataclasses.replace(STATEMENTS[0], hypotheses=STATEMENTS[0].hypotheses[:1], rests_on=())
    point = search_counterexample(s)
    assert point is not None and point["R"] * (point["R"] + 1) / 2 > point["M"]


# --- engine: route (c), the reduction ----------------------------------------------------------

@settings(max_examples=12, deadline=None)
@given(system=st_system())
def test_the_reduction_keeps_the_constraints_and_reaches_the_bound(system):
    # Property: from the (full-rank) minimum-Frobenius solution, the reduction ends at a lift of
    # rank R with R(R+1)/2 <= M, Delta of rank <= R, the constraints kept to rounding and tr X
    # never raised; it takes at least min(m, n) - r0 steps when it starts above r0.
    m, n, M, seed = system
    G, y = _system(m, n, M, seed, S=2)
    aff = eng._Affine(G, y)
    start = aff.least_norm()
    out = eng.reduce_to_extreme(G, y, start)
    r0 = barvinok_pataki_rank(M)
    for i, R in enumerate(out["R"]):
        assert R * (R + 1) // 2 <= M and R <= r0
        assert int(eng.numerical_rank(out["Delta"][i:i + 1])[0]) <= R
    assert float(aff.residual(out["Delta"]).max()) < 1e-10
    start_trace = eng._nuclear(start)
    assert bool((out["trace"] <= start_trace * (1 + 1e-10)).all())
    assert bool((eng._nuclear(out["Delta"]) <= out["trace"] * (1 + 1e-12)).all())
    full = int(eng.numerical_rank(start).min())
    if full > r0:
        assert min(out["steps"]) >= 1


def test_the_value_keeping_reduction_turns_the_optimum_into_an_optimal_extreme_point():
    # Property: from the projected ADMM optimum the reduction keeps the value (to its
    # certificate) and ends within the bound.
    G, y = _system(5, 5, 4, 3, S=2)
    admm = eng.min_nuclear_admm(G, y, 1500)
    out = eng.reduce_to_extreme(G, y, admm["X"], keep_value=True)
    assert all(R * (R + 1) // 2 <= 4 for R in out["R"])
    value = eng._nuclear(out["Delta"])
    assert bool(((value - admm["lower"]) / admm["lower"] < 1e-8).all())


# --- engine: route (b) against route (a) -------------------------------------------------------

def test_admm_is_certified_and_its_bounds_bracket_the_value():
    # Property: the dual lower bound never exceeds the feasible upper bound (weak duality), and
    # after enough iterations they meet.
    G, y = _system(4, 5, 6, 11, S=3)
    out = eng.min_nuclear_admm(G, y, 1500)
    assert bool((out["lower"] <= out["upper"] * (1 + 1e-12)).all())
    assert float(((out["upper"] - out["lower"]) / out["upper"]).max()) < 1e-8


@pytest.mark.parametrize("m, n, M, seed", [(3, 3, 2, 0), (4, 3, 5, 1)])
def test_admm_agrees_with_the_sdp(m, n, M, seed):
    # Property: the SDP route (cvxpy + Clarabel) and ADMM give the same value (relative 1e-7:
    # Clarabel's tolerance 1e-11, ADMM certified to 1e-10) and the same numerical rank.
    pytest.importorskip("cvxpy", reason="the SDP route needs the optional extra: pip install 'lorank[sdp]'")
    G, y = _system(m, n, M, seed)
    admm = eng.min_nuclear_admm(G, y, 2000)
    sdp = eng.sdp_min_nuclear(G[0].numpy(), y[0].numpy())
    assert sdp["value"] == pytest.approx(float(admm["upper"][0]), rel=1e-7)
    Dz = torch.as_tensor(sdp["Delta"], dtype=F64)[None]
    assert int(eng.numerical_rank(Dz, eng.SOLVER_RANK_TOL)[0]) == int(admm["rank"][0])


def test_without_cvxpy_the_sdp_trials_are_refused_with_exit_2(monkeypatch, capsys, tmp_path):
    # Property: a light install asked for SDP trials exits 2 naming --sdp-trials and the extra;
    # --sdp-trials 0 is the torch-only route.
    from lorank.cli import main

    monkeypatch.setattr(eng, "sdp_available", lambda: False)
    monkeypatch.chdir(tmp_path)
    assert main(["jang", "--sdp-trials", "1", "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert "--sdp-trials 1" in err and "lorank[sdp]" in err and "Traceback" not in err
    assert not (tmp_path / "x").exists()


# --- engine: the convex problem and the LoRA landscape -----------------------------------------

def test_fista_reaches_singular_value_thresholding_when_calA_is_the_identity():
    # Property: with calA = vec (||calA||_op = 1) the optimum is SVT_lambda(Y), value
    # 1/2 sum min(s, lam)^2 + lam sum (s - lam)_+, and the dual bound meets it.
    g = torch.Generator().manual_seed(5)
    Y = torch.randn(3, 4, generator=g, dtype=F64)
    G = torch.eye(12, dtype=F64).reshape(1, 12, 3, 4)
    lam = torch.tensor([0.7], dtype=F64)
    out = eng.convex_optimum(G, Y.reshape(1, 12), lam, 300)
    s = torch.linalg.svdvals(Y)
    exact = float(0.5 * (torch.clamp(s, max=0.7) ** 2).sum() + 0.7 * torch.clamp(s - 0.7, min=0).sum())
    assert float(out["upper"][0]) == pytest.approx(exact, rel=1e-12)
    assert float(out["lower"][0]) == pytest.approx(exact, rel=1e-12)
    assert int(out["rank"][0]) == int((s > 0.7).sum())


def test_the_origin_is_a_saddle_with_the_exact_negative_curvature():
    # Property: at B = 0, A = 0 the Hessian is [[lam I, -C], [-C^T, lam I]] with C from
    # calA^* y, whose least eigenvalue is lam - ||calA^* y||_op (< 0 below lambda_max).
    G, y = _system(3, 4, 5, 2)
    lam = torch.tensor([0.1], dtype=F64)
    B, A = torch.zeros(1, 1, 3, 2, dtype=F64), torch.zeros(1, 1, 2, 4, dtype=F64)
    H = eng.lora_hessian(G, y, lam, B, A)
    top = torch.linalg.matrix_norm(torch.einsum("sm,smij->sij", y, G), ord=2)
    assert float(torch.linalg.eigvalsh(H)[0, 0, 0]) == pytest.approx(float(0.1 - top[0]), rel=1e-12)


def test_lora_never_goes_below_the_convex_lower_bound():
    # Property (J2.weight-decay-bound): every GD end value is at least the certified convex
    # lower bound, at every rank; above the threshold they meet within the tolerance.
    rows = {r: eng.land_trials(TINY, r, [0, 1]) for r in (1, 2)}
    for r, rs in rows.items():
        for row in rs:
            assert min(row["value"]) >= row["conv_lower"] * (1 - 1e-12)
    above = [row for row in rows[2]]   # M = 2: r = 2 gives 3 > 2
    assert all(min(row["value"]) <= row["conv_lower"] * (1 + 1e-4) for row in above)


def test_batched_equals_unbatched():
    # Property: a trial's outcome does not depend on its batch (every decision equal, numbers to
    # 1e-9 relative: batched products may round their last bits differently).
    many = eng.exist_trials(TINY, 4, 4, 3, [0, 1, 2])
    one = [eng.exist_trials(TINY, 4, 4, 3, [t])[0] for t in (0, 1, 2)]
    for a, b in zip(many, one):
        for key in a:
            if isinstance(a[key], float):
                assert a[key] == pytest.approx(b[key], rel=1e-9, abs=1e-13), key
            else:
                assert a[key] == b[key], key
    many = eng.land_trials(TINY, 2, [0, 1])
    one = [eng.land_trials(TINY, 2, [t])[0] for t in (0, 1)]
    for a, b in zip(many, one):
        assert a["rank_end"] == b["rank_end"] and a["conv_rank"] == b["conv_rank"]
        assert a["value"] == pytest.approx(b["value"], rel=1e-9)


@pytest.mark.cuda
def test_cuda_equals_cpu():
    # Property: the CUDA route gives the CPU numbers (same generators on the CPU, float64).
    gpu = dataclasses.replace(TINY, device="cuda")
    a, b = eng.exist_trials(TINY, 4, 4, 6, [0, 1]), eng.exist_trials(gpu, 4, 4, 6, [0, 1])
    for x, z in zip(a, b):
        assert x["red_lsq_R"] == z["red_lsq_R"] and x["admm_rank"] == z["admm_rank"]
        assert x["admm_upper"] == pytest.approx(z["admm_upper"], rel=1e-8)
    a, b = eng.land_trials(TINY, 2, [0]), eng.land_trials(gpu, 2, [0])
    assert a[0]["value"] == pytest.approx(b[0]["value"], rel=1e-8)


# --- verdicts ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def summary():
    out = {("exist", 4, 4, M): eng.exist_trials(TINY, 4, 4, M, range(3)) for M in (3, 6)}
    out.update({("land", r): eng.land_trials(TINY, r, range(2)) for r in (1, 2)})
    return eng.summarise(TINY, out)


def _status(s, claim):
    return {v["claim"]: v["status"] for v in verd.claim_verdicts(s)}[claim]


def test_every_claim_has_a_kind_and_the_tiny_run_is_complete(summary):
    kinds = {v["claim"]: v["kind"] for v in summary["verdicts"]}
    assert kinds["existence"] == kinds["landscape-above"] == "paper claim"
    assert kinds["landscape-below"] == kinds["min-nuclear-rank"] == "scope"
    assert kinds["routes-agree"] == kinds["landscape-budget"] == "method check"
    assert summary["complete"] and _status(summary, "existence") == "supported"
    assert _status(summary, "routes-agree") == "open"   # no SDP trial


def test_landscape_above_reaches_each_status(summary):
    s = copy.deepcopy(summary)
    above = [e for e in s["land"] if e["above"]]
    assert above
    for e in above:
        e["classes"] = dict(optimal=200, spurious=0, saddle=0, budget=0, **{"rank-limited": 0})
        e["starts"] = 200
        e["conv_gap_max"] = 0.0
    assert _status(s, "landscape-above") == "supported"
    above[0]["classes"].update(optimal=190, budget=10)
    assert _status(s, "landscape-above") == "open"        # budget lowers the fraction only
    above[0]["classes"].update(optimal=199, budget=0, spurious=1)
    assert _status(s, "landscape-above") == "contradicted"


def test_landscape_below_is_supported_or_open_never_contradicted(summary):
    s = copy.deepcopy(summary)
    below = [e for e in s["land"] if not e["above"]]
    for e in below:
        e["classes"]["spurious"] = 0
    assert _status(s, "landscape-below") == "open"
    below[0]["classes"]["spurious"] = 1
    assert _status(s, "landscape-below") == "supported"


def test_exist_method_checks_reach_each_status(summary):
    s = copy.deepcopy(summary)
    for e in s["exist"]:
        e["admm_gap_max"] = 0.0
        e["admm_certified"] = e["trials"]
        e["admm_certified_over"] = 0
    assert _status(s, "admm-certified") == "supported" and _status(s, "min-nuclear-rank") == "supported"
    s["exist"][0]["admm_certified_over"] = 1
    assert _status(s, "min-nuclear-rank") == "contradicted"
    for e in s["exist"]:
        e["admm_certified"] = 0
    assert _status(s, "min-nuclear-rank") == "open"
    s["exist"][0]["admm_gap_max"] = 1.0
    assert _status(s, "admm-certified") == "contradicted"
    s["exist"][0]["red_lsq_residual_max"] = 1e-3
    assert _status(s, "reduction-feasible") == "contradicted" and _status(s, "existence") == "open"
    e = s["exist"][0]
    e.update(sdp_trials=2, sdp_value_diff_max=1e-9, sdp_rank_agree=2, sdp_status=["optimal"],
             sdp_residual_max=1e-12, sdp_ranks=[1, 1])
    assert _status(s, "routes-agree") == "supported"
    e["sdp_rank_agree"] = 1
    assert _status(s, "routes-agree") == "contradicted"


def test_budget_check_reaches_each_status(summary):
    s = copy.deepcopy(summary)
    for e in s["land"]:
        e["classes"]["budget"] = 0
        e["conv_gap_max"] = 0.0
    assert _status(s, "landscape-budget") == "supported"
    s["land"][0]["classes"]["budget"] = s["land"][0]["starts"]
    assert _status(s, "landscape-budget") == "contradicted"


def test_the_committed_cpu_default_gives_the_ledger_its_entries():
    # Property: results/jang/cpu-default is read into J.* entries with known kinds and statuses.
    from pathlib import Path

    results = Path(__file__).resolve().parent.parent / "results"
    entries = verd.ledger_entries(results)
    ids = {e["id"] for e in entries}
    assert "J.existence.cpu-default" in ids and "J.landscape-above.cpu-default" in ids
    assert all(e["status"] in ("supported", "contradicted", "open") for e in entries)
