"""Tests of the batched instances and solvers of the C* capacity engine (CPU, small sizes).

Each property is stated in a comment, then asserted. Sizes are tiny so the file runs in a few
seconds; heavier checks are marked ``slow``, GPU checks ``cuda``.
"""

from __future__ import annotations

import math

import pytest
import torch

from numerics.engine.capacity import auto_batch_size, check_cell, run_trials, torch_threads
from numerics.engine.instances import (
    GaussianFeatures,
    sample_instances,
)
from numerics.engine.seeding import trial_seed
from numerics.engine.solvers import (
    CERTIFY_RTOL,
    LMConfig,
    certify,
    levenberg_marquardt,
    lora_recipe,
    random_starts,
    recipe_init,
)
from proofs.validation import InvalidArgument

F64 = torch.float64
SEED = 20260


@pytest.fixture(autouse=True)
def _one_torch_thread():
    # The engine runs one intra-op thread per process on CPU (numerics.engine.capacity.torch_threads);
    # tests that call the solvers directly do the same.
    with torch_threads(1):
        yield


def rho(m, n, r, M):
    return r * (m + n - r) / M


def successes(outcomes, restarts=None):
    """Count of trials certified within the first ``restarts`` starts (all starts if None)."""
    k = math.inf if restarts is None else restarts
    return sum(o["first_success"] is not None and o["first_success"] < k for o in outcomes)


# ----------------------------------------------------------------------------- instances

@pytest.mark.parametrize("features,K", [("gaussian", None), ("structured", 3)])
def test_instance_same_seed_alone_or_batched(features, K):
    # An instance depends only on its seed: sampled alone or inside a batch it is bit-identical.
    seeds = [trial_seed(SEED, "t", i) for i in range(5)]
    op, y = sample_instances(seeds, 4, 5, 6, features=features, K=K)
    for t in (0, 3):
        op1, y1 = sample_instances([seeds[t]], 4, 5, 6, features=features, K=K)
        assert torch.equal(op1.dense()[0], op.dense()[t])
        assert torch.equal(y1[0], y[t])


def test_float32_instance_is_rounded_float64_instance():
    # A float32 instance is the float64 instance of the same seed rounded to float32.
    op64, y64 = sample_instances([1, 2], 3, 4, 5)
    op32, y32 = sample_instances([1, 2], 3, 4, 5, dtype="float32")
    assert torch.equal(op32.dense(), op64.dense().float())
    assert torch.equal(y32, y64.float())


@pytest.mark.parametrize("features,K", [("gaussian", None), ("structured", 2)])
def test_operator_agrees_with_dense_features(features, K):
    # apply, adjoint, right and left agree with the explicit dense G_i (structured features
    # never materialise G except in dense()); float64 round-off only.
    T, m, n, M, r = 3, 5, 4, 6, 2
    op, _ = sample_instances([7, 8, 9], m, n, M, features=features, K=K)
    G = op.dense()
    g = torch.Generator().manual_seed(0)
    D = torch.randn(T, m, n, generator=g, dtype=F64)
    R = torch.randn(T, M, generator=g, dtype=F64)
    A = torch.randn(T, r, n, generator=g, dtype=F64)
    B = torch.randn(T, m, r, generator=g, dtype=F64)
    tol = dict(rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(op.apply(D), torch.einsum("tkmn,tmn->tk", G, D), **tol)
    torch.testing.assert_close(op.adjoint(R), torch.einsum("tkmn,tk->tmn", G, R), **tol)
    torch.testing.assert_close(op.right(A), torch.einsum("tkmn,trn->tkmr", G, A), **tol)
    torch.testing.assert_close(op.left(B), torch.einsum("tmr,tkmn->tkrn", B, G), **tol)
    # subset picks trials; to(float32) then back rounds the stored data (G, or a and x).
    assert torch.equal(op.subset([2, 0]).dense(), G[[2, 0]])
    assert torch.equal(op.subset(torch.tensor([False, True, False])).dense(), G[1:2])
    back = op.to(torch.float32).to(F64)
    if features == "gaussian":
        assert torch.equal(back.dense(), G.float().double())
    else:
        assert torch.equal(back.a, op.a.float().double()) and torch.equal(back.x, op.x.float().double())


def test_structured_equals_dense_gaussian_operator_on_same_G():
    # The structured operator and a dense operator built from its G give the same solver run.
    op_s, y = sample_instances([3, 4], 4, 4, 6, features="structured", K=2)
    op_d = GaussianFeatures(op_s.dense().transpose(1, 2))
    starts = random_starts([11, 12], 4, 4, 1)
    res_s = levenberg_marquardt(op_s, y, 1, starts)
    res_d = levenberg_marquardt(op_d, y, 1, starts)
    assert res_s.success.tolist() == res_d.success.tolist()


# ----------------------------------------------------------------------------- LM: theorems

@pytest.mark.parametrize("m,n,r,M", [(6, 6, 1, 14), (5, 7, 2, 21), (6, 6, 2, 24)])
def test_no_success_below_dimension_count(m, n, r, M):
    # rho = r (m + n - r) / M < 1: the rank-r set's image has dimension < M, so a generic
    # instance has no rank-r solution and no trial may be certified (THEORY.md, section 2).
    assert rho(m, n, r, M) < 1
    out = run_trials("lm", (m, n, r, M), range(24), global_seed=SEED, restarts=2)
    assert successes(out) == 0
    assert all(o["best_rel_residual"] > 1e-6 for o in out)


@pytest.mark.parametrize("m,n,r,M", [(6, 6, 2, 12), (4, 8, 1, 8), (6, 6, 1, 6), (3, 9, 2, 18)])
def test_success_when_linear_in_one_factor(m, n, r, M):
    # r max(m, n) >= M: with A generic, calA(B A) = y is a consistent linear system in B, so
    # every trial is solvable, and the solver certifies every one with its first start (E2 = 1).
    assert r * max(m, n) >= M
    out = run_trials("lm", (m, n, r, M), range(24), global_seed=SEED, restarts=1)
    assert successes(out, restarts=1) == 24
    assert all(o["restart_success"] == [True] for o in out)


def test_certified_success_really_interpolates_with_rank_r():
    # A certified success is an interpolant: the float64 residual of Delta = B A, computed here
    # from the dense features by a separate route, is <= 1e-10 ||y||, and rank(Delta) <= r
    # (singular values beyond r vanish to round-off relative to the largest).
    m, n, r, M = 6, 5, 2, 16
    seeds = list(range(10))
    op, y = sample_instances(seeds, m, n, M)
    res = levenberg_marquardt(op, y, r, random_starts([s + 100 for s in seeds], m, n, r))
    assert bool(res.success.any())
    delta = res.B @ res.A
    resid = torch.einsum("tkmn,tmn->tk", op.dense(), delta) - y
    rel = resid.norm(dim=1) / y.norm(dim=1)
    ok = res.success
    assert bool((rel[ok] <= CERTIFY_RTOL).all())
    torch.testing.assert_close(rel, res.rel_residual, rtol=0, atol=1e-13)
    sv = torch.linalg.svdvals(delta[ok])
    assert bool((sv[:, r:] <= 1e-12 * sv[:, :1]).all())
    assert bool((torch.linalg.matrix_rank(delta[ok]) <= r).all())
    # a failure is not certified
    assert bool((res.rel_residual[~ok] > CERTIFY_RTOL).all())


def test_certify_uses_float64():
    # certify casts float32 inputs to float64 exactly and returns float64.
    op, y = sample_instances([0], 3, 3, 2, dtype="float32")
    B, A = torch.zeros(1, 3, 1), torch.zeros(1, 1, 3)
    rel = certify(op, y, B, A)
    assert rel.dtype == F64 and rel.item() == 1.0


# ----------------------------------------------------------------------------- determinism

def test_batched_equals_unbatched():
    # Outcomes do not depend on batching: at rho = 1 (where trials succeed and fail, and
    # restarts matter) batch sizes 1, 5 and 40 give identical restart outcomes and iteration
    # counts; residuals agree to 1e-13 absolute (certified ones are round-off sized) and 1e-10
    # relative (failed ones), far below any threshold used downstream.
    cell = (6, 6, 2, 20)
    assert rho(*cell) == 1
    trials = list(range(12))
    runs = [run_trials("lm", cell, trials, global_seed=SEED, restarts=3, batch_size=b)
            for b in (1, 5, 40)]
    assert 0 < successes(runs[0], 1) < len(trials)
    for other in runs[1:]:
        for a, b in zip(runs[0], other):
            for key in ("trial", "seed", "restart_success", "first_success", "iterations", "nonfinite"):
                assert a[key] == b[key]
            assert math.isclose(a["best_rel_residual"], b["best_rel_residual"], rel_tol=1e-10,
                                abs_tol=1e-13)


@pytest.mark.parametrize("features", ["gaussian", "structured"])
@pytest.mark.parametrize("mask_seed", range(6))
def test_compaction_keeps_exactly_the_active_instances(features, mask_seed):
    # compact_ returns each active trial once, and row j of the result is the instance of row
    # keep[j] of the operator before compaction (whatever the in-place moves did).
    kw = {"K": 2} if features == "structured" else {}
    M = 4 if features == "structured" else 5
    op, _ = sample_instances(list(range(9)), m=3, n=4, M=M, features=features, **kw)
    before = op.dense().clone()
    active = torch.rand(9, generator=torch.Generator().manual_seed(mask_seed)) < 0.5
    active[mask_seed] = True
    small, keep = op.compact_(active)
    assert sorted(keep.tolist()) == active.nonzero().flatten().tolist()
    assert torch.equal(small.dense(), before[keep])


def test_solver_leaves_the_callers_instances_untouched():
    # The solver compacts its batch in place only in storage it copied itself: the caller's
    # operator holds the same features after the solve.
    op, y = sample_instances(list(range(12)), m=6, n=6, M=20)
    before = op.dense().clone()
    levenberg_marquardt(op, y, 2, random_starts(list(range(100, 112)), 6, 6, 2))
    assert torch.equal(op.dense(), before)


def test_predrawn_first_starts_give_the_same_outcomes():
    # Passing the first starts drawn beforehand (as the benchmark does, to time the draw apart)
    # changes nothing: same outcomes and iteration counts as drawing them inside.
    from numerics.engine.solvers import lm_restarts

    op, y = sample_instances(list(range(6)), m=5, n=5, M=15)
    seeds = [[200 + t, 300 + t] for t in range(6)]
    inside = lm_restarts(op, y, 2, seeds)
    first = random_starts([s[0] for s in seeds], 5, 5, 2)
    outside = lm_restarts(op, y, 2, seeds, first_starts=first)
    for key in ("restart_success", "first_success", "iterations"):
        assert inside[key] == outside[key]
    with pytest.raises(InvalidArgument, match="B must have shape"):
        lm_restarts(op, y, 2, seeds, first_starts=(first[0][:3], first[1][:3]))


def test_split_trials_equal_one_call():
    # Splitting the trial indices over calls (as ranks would) gives the same outcomes.
    cell = (5, 5, 1, 9)
    whole = run_trials("lm", cell, range(10), global_seed=SEED, restarts=2)
    parts = run_trials("lm", cell, [7, 8, 9], global_seed=SEED, restarts=2) + \
        run_trials("lm", cell, range(7), global_seed=SEED, restarts=2)
    by_trial = {o["trial"]: o for o in parts}
    for o in whole:
        assert o["first_success"] == by_trial[o["trial"]]["first_success"]
        assert o["iterations"] == by_trial[o["trial"]]["iterations"]


def test_same_seed_same_counts():
    # The same global seed gives the same counts (and outcomes); another seed other instances.
    cell = (6, 6, 1, 11)
    a = run_trials("lm", cell, range(16), global_seed=5, restarts=2)
    b = run_trials("lm", cell, range(16), global_seed=5, restarts=2)
    c = run_trials("lm", cell, range(16), global_seed=6, restarts=2)
    assert a == b
    assert [o["seed"] for o in a] != [o["seed"] for o in c]
    rec_a = run_trials("recipe", cell, range(4), global_seed=5, budgets=[10, 50])
    rec_b = run_trials("recipe", cell, range(4), global_seed=5, budgets=[10, 50])
    assert rec_a == rec_b


@pytest.mark.parametrize("cell", [(6, 6, 2, 24), (6, 6, 2, 14), (5, 7, 1, 7)])
def test_float32_path_same_certified_outcomes(cell):
    # Iterating in float32 (then float64 polishing and certification) gives the same certified
    # outcome per trial as float64, on cells away from the transition (rho = 0.83, 1.43, 1.57).
    kw = dict(global_seed=SEED, restarts=1)
    o64 = run_trials("lm", cell, range(16), dtype="float64", **kw)
    o32 = run_trials("lm", cell, range(16), dtype="float32", **kw)
    assert [o["restart_success"] for o in o32] == [o["restart_success"] for o in o64]
    for o in o32:
        if o["first_success"] is not None:
            assert o["best_rel_residual"] <= CERTIFY_RTOL


def test_outcome_schema_is_json():
    # Outcomes are JSON-serialisable dicts with the documented keys.
    import json

    lm = run_trials("lm", (4, 4, 1, 5), [3], global_seed=0, restarts=2)[0]
    assert set(lm) == {"trial", "seed", "restart_success", "first_success", "best_rel_residual",
                       "iterations", "nonfinite"}
    rec = run_trials("recipe", (4, 4, 1, 5), [3], global_seed=0, budgets=[1, 5])[0]
    assert set(rec) == {"trial", "seed", "rel_residual_at", "nonfinite"}
    assert json.loads(json.dumps([lm, rec], allow_nan=False)) == [lm, rec]


# ----------------------------------------------------------------------------- recipe

def test_recipe_residuals_nonincreasing_over_budgets():
    # On an easy well-posed cell (rho = 2.2), the recipe's recorded residual does not increase
    # with the budget (the 1/L step is a descent step), starts at 1 (B = 0), and gets small.
    cell = (6, 6, 2, 9)
    budgets = [0, 10, 100, 1000, 3000]
    out = run_trials("recipe", cell, range(12), global_seed=SEED, budgets=budgets)
    for o in out:
        vals = [o["rel_residual_at"][str(b)] for b in budgets]
        assert vals[0] == pytest.approx(1.0, abs=1e-15)
        assert all(b <= a * (1 + 1e-12) for a, b in zip(vals, vals[1:]))
        assert not o["nonfinite"]
    assert sum(o["rel_residual_at"]["3000"] <= 1e-6 for o in out) >= 10


def test_recipe_batched_equals_unbatched():
    # The recipe's residuals do not depend on the batch (tolerance as for LM).
    cell = (5, 5, 1, 6)
    a = run_trials("recipe", cell, range(6), global_seed=1, budgets=[10, 200], batch_size=1)
    b = run_trials("recipe", cell, range(6), global_seed=1, budgets=[10, 200], batch_size=6)
    for x, z in zip(a, b):
        for k in ("10", "200"):
            assert math.isclose(x["rel_residual_at"][k], z["rel_residual_at"][k], rel_tol=1e-10,
                                abs_tol=1e-13)


def test_recipe_first_step_moves_only_B():
    # With B = 0 the gradient in A vanishes: after one step A is unchanged (checked through
    # the residual: one step equals the closed form with A fixed).
    op, y = sample_instances([4], 4, 4, 5)
    A0 = recipe_init([9], 4, 1)
    res = lora_recipe(op, y, 1, [0, 1], A0=A0)
    assert res.rel_residual_at[0, 1] < res.rel_residual_at[0, 0] == 1.0


# ----------------------------------------------------------------------------- bad input

@pytest.mark.parametrize("kwargs,message", [
    (dict(estimand="E9"), "estimand must be one of"),
    (dict(cell=(4, 4, 5, 3)), "r must satisfy"),
    (dict(cell=(4, 0, 1, 3)), "n must be a positive integer, got 0"),
    (dict(features="relu"), "features must be 'gaussian' or 'structured', got 'relu'"),
    (dict(features="structured", K=None), "K must be given"),
    (dict(dtype="float16"), "dtype must be float32 or float64, got 'float16'"),
    (dict(restarts=0), "restarts must be a positive integer, got 0"),
    (dict(trial_indices=[-1]), "trial_indices must hold non-negative integers, got -1"),
    (dict(batch_size=0), "batch_size must be a positive integer, got 0"),
    (dict(estimand="recipe", budgets=[10, 5]), "budgets must be strictly increasing"),
])
def test_bad_input_names_argument_and_value(kwargs, message):
    # Bad input raises InvalidArgument whose message names the argument and the value.
    args = dict(estimand="lm", cell=(4, 4, 1, 3), trial_indices=[0], global_seed=0)
    args.update(kwargs)
    estimand, cell, trials = args.pop("estimand"), args.pop("cell"), args.pop("trial_indices")
    with pytest.raises(InvalidArgument, match=message.replace("(", r"\(").replace(")", r"\)")):
        run_trials(estimand, cell, trials, **args)


def test_config_checks():
    # Solver settings are checked when built.
    with pytest.raises(InvalidArgument, match="lam_down"):
        LMConfig(lam_down=2.0)
    with pytest.raises(InvalidArgument, match="stall_window must be a positive integer, got 0"):
        LMConfig(stall_window=0)


def test_auto_batch_size_is_bounded():
    # The automatic batch size is at least 1 and at most the CPU cap.
    assert 1 <= auto_batch_size((64, 64, 2, 187)) <= 1024
    assert check_cell((2, 2, 1, 1)) == (2, 2, 1, 1)


# ----------------------------------------------------------------------------- heavier / GPU

@pytest.mark.slow
def test_transition_sits_near_rho_one_at_16x16():
    # (slow) At 16 x 16, r = 2: E1 with 4 restarts succeeds for every trial at rho >= 1.2 and
    # for none at rho <= 0.9 (a sanity check of the engine, not an estimate of C*).
    for M, expect in ((50, 1.0), (67, 0.0)):
        out = run_trials("lm", (16, 16, 2, M), range(100), global_seed=SEED, restarts=4)
        assert successes(out) / 100 == expect


@pytest.mark.slow
def test_structured_rank_of_targets_decides_existence():
    # (slow) Structured features with K <= m, N <= n: an interpolant of rank r exists iff
    # rank(Y) = min(K, N) <= r (THEORY.md R3); with K = 2, N = 3: rank 2 succeeds, rank 1 fails.
    cell2 = (6, 6, 2, 6)
    cell1 = (6, 6, 1, 6)
    ok = run_trials("lm", cell2, range(20), global_seed=SEED, features="structured", K=2, restarts=3)
    no = run_trials("lm", cell1, range(20), global_seed=SEED, features="structured", K=2, restarts=3)
    assert successes(ok) == 20 and successes(no) == 0


@pytest.mark.cuda
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_cuda_matches_cpu_on_cpu_drawn_instances(dtype):
    # On a GPU, with instances and starts drawn on the CPU, the certified outcomes equal the
    # CPU's (the arithmetic differs only by round-off).
    cell = (8, 8, 2, 20)
    kw = dict(global_seed=SEED, restarts=2, dtype=dtype, sample_device="cpu")
    cpu = run_trials("lm", cell, range(32), device="cpu", **kw)
    gpu = run_trials("lm", cell, range(32), device="cuda", **kw)
    assert [o["first_success"] for o in gpu] == [o["first_success"] for o in cpu]


def test_graph_rows_must_be_a_non_negative_integer():
    # The CUDA-graph threshold is refused unless it is an integer >= 0 (0 switches graphs off).
    with pytest.raises(InvalidArgument, match="graph_rows must be a non-negative integer, got -1"):
        LMConfig(graph_rows=-1)
    assert LMConfig(graph_rows=0).graph_rows == 0


@pytest.mark.cuda
@pytest.mark.parametrize("graph_rows", [256, 16])
def test_cuda_graph_replays_match_eager_iterations(graph_rows):
    # On a GPU, replaying the small-batch iterations from captured CUDA graphs (from 256 or from
    # 16 active trials on, with recaptures as the batch shrinks) gives every trial the outcome,
    # iteration count and (to round-off) residual of eager iteration, at rho = 1 where trials
    # stop at many different iterations; the trace shows that replays did happen.
    from numerics.engine.solvers import trace_iterations

    cell = (16, 16, 2, 60)
    assert rho(*cell) == 1
    kw = dict(global_seed=SEED, restarts=2, device="cuda", batch_size=128)
    eager = run_trials("lm", cell, range(128), lm_config=LMConfig(graph_rows=0, graph_bytes=0), **kw)
    with trace_iterations() as events:
        graphed = run_trials("lm", cell, range(128),
                             lm_config=LMConfig(graph_rows=graph_rows, graph_bytes=0), **kw)
    assert 0 < successes(eager, 1) < 128
    assert sum(e["graph"] for e in events) > 10
    for a, b in zip(eager, graphed):
        assert (a["first_success"], a["iterations"]) == (b["first_success"], b["iterations"])
        assert math.isclose(a["best_rel_residual"], b["best_rel_residual"], rel_tol=1e-10,
                            abs_tol=1e-13)


def test_graph_floor_pads_only_while_the_padding_fits_graph_bytes():
    # Property: a replayed batch is padded up to 16 rows only while 16 trials' features fit in
    # graph_bytes; otherwise to the largest power of two that fits (at least 1), and never
    # below the active trials (a power of two at least n_active).
    from numerics.engine.solvers import _GRAPH_MIN_ROWS, _graph_floor, _graph_size

    for row_bytes, graph_bytes in [(1, 1 << 28), (1 << 20, 1 << 28), (139 << 20, 1 << 28),
                                   (3 << 24, 1 << 28), (1 << 30, 1 << 28), (1 << 28, 1 << 28)]:
        floor = _graph_floor(row_bytes, graph_bytes)
        assert 1 <= floor <= _GRAPH_MIN_ROWS and floor & (floor - 1) == 0
        assert floor == 1 or floor * row_bytes <= graph_bytes
        assert floor == _GRAPH_MIN_ROWS or 2 * floor * row_bytes > graph_bytes
        for n_active in (1, 2, 3, 5, 17, 64):
            size = _graph_size(n_active, floor)
            assert size >= max(n_active, floor) and size & (size - 1) == 0 and size < 2 * max(n_active, floor)


@pytest.mark.cuda
def test_cuda_graph_replays_on_unpadded_batches_match_eager():
    # On a GPU, with graph_bytes so small that the replay floor is one row (no padding), the
    # replayed tail gives every trial the outcome and iteration count of eager iteration.
    from numerics.engine.solvers import trace_iterations

    cell = (16, 16, 2, 60)
    kw = dict(global_seed=SEED, restarts=2, device="cuda", batch_size=128)
    eager = run_trials("lm", cell, range(128), lm_config=LMConfig(graph_rows=0, graph_bytes=0), **kw)
    with trace_iterations() as events:
        graphed = run_trials("lm", cell, range(128),
                             lm_config=LMConfig(graph_rows=0, graph_bytes=16 * 16 * 60 * 8 * 3), **kw)
    assert sum(e["graph"] for e in events) > 10
    assert min(e["rows"] for e in events if e["graph"]) < 16  # replays below the old floor
    for a, b in zip(eager, graphed):
        assert (a["first_success"], a["iterations"]) == (b["first_success"], b["iterations"])
        assert math.isclose(a["best_rel_residual"], b["best_rel_residual"], rel_tol=1e-10,
                            abs_tol=1e-13)


@pytest.mark.cuda
def test_failed_graph_capture_falls_back_to_eager(monkeypatch):
    # Where a CUDA graph cannot be captured (an op that refuses capture, say), the solve warns and
    # goes on eagerly, with the outcomes of a solve that never tried.
    def refuse(self, *args, **kwargs):
        raise RuntimeError("capture refused (test)")

    cell = (16, 16, 2, 60)
    kw = dict(global_seed=SEED, restarts=1, device="cuda", batch_size=64)
    eager = run_trials("lm", cell, range(64), lm_config=LMConfig(graph_rows=0, graph_bytes=0), **kw)
    monkeypatch.setattr(torch.cuda.CUDAGraph, "capture_begin", refuse)
    with pytest.warns(RuntimeWarning, match="CUDA graph capture failed"):
        tried = run_trials("lm", cell, range(64), lm_config=LMConfig(graph_rows=64), **kw)
    assert [(o["first_success"], o["iterations"]) for o in tried] == \
        [(o["first_success"], o["iterations"]) for o in eager]


# ------------------------------------------------- restart schedules, graphs by bytes, systems

def _same_restart_outcomes(a, b):
    """Every decision equal; residuals to round-off (1e-13 absolute: certified ones are
    round-off sized; 1e-10 relative: failed ones), as in test_batched_equals_unbatched."""
    for x, y in zip(a, b):
        for key in ("trial", "seed", "restart_success", "first_success", "iterations", "nonfinite"):
            assert x[key] == y[key], key
        assert math.isclose(x["best_rel_residual"], y["best_rel_residual"], rel_tol=1e-10,
                            abs_tol=1e-13)


@pytest.mark.parametrize("cell", [(6, 6, 2, 20), (6, 6, 1, 11), (5, 7, 1, 12)])
def test_concurrent_restarts_give_the_sequential_outcomes(cell):
    # All starts of all trials in one batch (cut at each trial's first success) record what
    # running restart k only for the trials still uncertified records: the same restart
    # outcomes, first success and iteration sums, at and around rho = 1.
    kw = dict(global_seed=SEED, restarts=4)
    seq = run_trials("lm", cell, range(16), lm_config=LMConfig(restart_schedule="sequential"), **kw)
    con = run_trials("lm", cell, range(16), lm_config=LMConfig(restart_schedule="concurrent"), **kw)
    assert any(len(o["restart_success"]) > 1 for o in seq)  # some trials needed a restart
    _same_restart_outcomes(seq, con)


def test_concurrent_restarts_take_predrawn_first_starts():
    # The benchmark's pre-drawn first starts go to restart 0 of the concurrent batch too.
    from numerics.engine.solvers import lm_restarts

    op, y = sample_instances(list(range(6)), m=5, n=5, M=15)
    seeds = [[200 + t, 300 + t, 400 + t] for t in range(6)]
    cfg = LMConfig(restart_schedule="concurrent")
    first = random_starts([s[0] for s in seeds], 5, 5, 2)
    a = lm_restarts(op, y, 2, seeds, cfg)
    b = lm_restarts(op, y, 2, seeds, cfg, first_starts=first)
    for key in ("restart_success", "first_success", "iterations"):
        assert a[key] == b[key]


def test_new_solver_settings_are_checked():
    # The schedule is one of three names; the byte and size thresholds are integers >= 0.
    with pytest.raises(InvalidArgument, match="restart_schedule must be one of auto, sequential, "
                                              "concurrent, got 'parallel'"):
        LMConfig(restart_schedule="parallel")
    for name in ("fused_max_size", "concurrent_bytes", "graph_bytes"):
        with pytest.raises(InvalidArgument, match=f"{name} must be a non-negative integer, got -1"):
            LMConfig(**{name: -1})
        with pytest.raises(InvalidArgument, match=f"{name} must be a non-negative integer, got 1.5"):
            LMConfig(**{name: 1.5})


def test_auto_schedule_is_sequential_on_the_cpu_and_bounded_by_bytes():
    # 'auto' runs restarts concurrently only on CUDA and only when the replicated features fit
    # in concurrent_bytes; one start is never "concurrent".
    from numerics.engine.solvers import concurrent_restarts, feature_bytes_per_trial

    op, _ = sample_instances([0, 1, 2], m=4, n=5, M=6)
    assert feature_bytes_per_trial(op) == 6 * 4 * 5 * 8
    seeds = [[1, 2, 3]] * 3
    assert not concurrent_restarts(op, seeds, LMConfig())
    assert not concurrent_restarts(op, [[1]] * 3, LMConfig(restart_schedule="concurrent"))
    assert concurrent_restarts(op, seeds, LMConfig(restart_schedule="concurrent"))


@pytest.mark.cuda
def test_cuda_concurrent_restarts_and_byte_graphs_match_the_baseline():
    # On a GPU the default engine (restarts concurrent, CUDA graphs for batches whose features
    # are small) gives every trial the certified outcome of the lorank 0.5 library path (restarts
    # one after the other, graphs only under 64 rows), at rho = 1 and just below it: the same
    # restart outcomes, and for every certified trial the same iterations and residual (to
    # round-off). A trial that ends uncertified may stop at another iteration: cuBLAS picks its
    # kernels by batch shape, so the last bits differ, and the stall test on a plateau (loss down
    # by less than 0.1% over 30 iterations) can fire one iteration apart
    # (results/bench/sweep-40-cells-v2-h200.json: 23 of 7,800 trials, all uncertified).
    from numerics.engine.solvers import trace_iterations

    baseline = LMConfig(system="library", restart_schedule="sequential", graph_bytes=0)
    for cell in [(16, 16, 2, 60), (16, 16, 2, 63)]:
        kw = dict(global_seed=SEED, restarts=4, device="cuda", batch_size=200)
        old = run_trials("lm", cell, range(200), lm_config=baseline, **kw)
        with trace_iterations() as events:
            new = run_trials("lm", cell, range(200), lm_config=LMConfig(system="library"), **kw)
        assert events[0]["rows"] == 800  # one batch of every start
        assert sum(e["graph"] for e in events) > 0.5 * len(events)
        for x, y in zip(old, new):
            for key in ("trial", "seed", "restart_success", "first_success", "nonfinite"):
                assert x[key] == y[key], key
            if x["first_success"] is not None:
                assert x["iterations"] == y["iterations"]
                assert math.isclose(x["best_rel_residual"], y["best_rel_residual"],
                                    rel_tol=1e-10, abs_tol=1e-13)


# ------------------------------------------------------------- recipe: host looks and graphs

def _recipe_one_trial(op, y, r, budgets, A0, cfg):
    """The recipe as specified, one trial at a time, every step eager: ``B = 0``, ``A = A0``;
    at each step the residual, the budget's certified value, the stop tests, then the step
    (the gradients by the engine's formulas, checked against autograd elsewhere)."""
    from numerics.engine.solvers import (certify, feature_opnorm, lm_residual, lora_grad_A,
                                         lora_grad_B, spectral_norm2)

    stop = cfg.stop_rtol if cfg.stop_rtol is not None else 1e-12
    s = feature_opnorm(op, y, cfg.power_iters)
    B, A = torch.zeros((1, op.m, r), dtype=F64), A0.clone()
    out, nonfinite, k = [math.nan] * len(budgets), False, 0
    for t in range(budgets[-1] + 1):
        Rn = op.right_native(A)
        R = lm_residual(Rn, B, y)
        rel = float(R.norm() / y.norm())
        if t == budgets[k]:
            out[k] = float(certify(op, y, B, A))
            k += 1
        if not math.isfinite(rel):
            nonfinite = True
            break
        if rel <= stop:  # frozen: its certified value goes to every later budget
            value = float(certify(op, y, B, A))
            out[k:] = [value] * (len(budgets) - k)
            break
        if k == len(budgets):
            break
        grad_B, grad_A = lora_grad_B(Rn, R), lora_grad_A(op.left_native(B), R)
        curv = s * s * (spectral_norm2(A) + spectral_norm2(B)) + s * R.norm(dim=1)
        eta = (cfg.c / curv).view(-1, 1, 1)
        B, A = B - eta * grad_B, A - eta * grad_A
    return out, nonfinite


@pytest.mark.parametrize("cell,budgets,stop", [((6, 6, 2, 12), [0, 10, 100], None),
                                               ((8, 8, 2, 12), [30, 300, 1000], 1e-4),
                                               ((5, 7, 1, 5), [0, 3, 30, 300], 1e-4)])
def test_recipe_equals_the_one_trial_specification(cell, budgets, stop):
    # The batched recipe (device-side stop masks, frozen trials, compaction at the host's looks)
    # records for every trial what the plain one-trial loop records: the same budgets reached,
    # the same stops and non-finite flags, residuals to round-off.
    from numerics.engine.solvers import RecipeConfig

    m, n, r, M = cell
    T = 10
    op, y = sample_instances(list(range(T)), m=m, n=n, M=M)
    A0 = recipe_init(list(range(50, 50 + T)), n, r)
    cfg = RecipeConfig(stop_rtol=stop)
    res = lora_recipe(op, y, r, budgets, cfg, A0=A0)
    froze = 0
    for t in range(T):
        ref, bad = _recipe_one_trial(op.subset(torch.tensor([t])), y[t:t + 1], r, budgets,
                                     A0[t:t + 1], cfg)
        got = res.rel_residual_at[t].tolist()
        assert bool(res.nonfinite[t]) == bad
        for a, b in zip(got, ref):
            assert math.isnan(a) == math.isnan(b)
            if not math.isnan(a):
                assert math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-13)
        froze += ref[-1] <= (stop or 1e-12)
    if stop is not None:
        assert froze > 0  # the carry of a frozen trial was exercised


def test_recipe_graph_steps_is_checked():
    from numerics.engine.solvers import RecipeConfig

    with pytest.raises(InvalidArgument, match="graph_steps must be a non-negative integer, got -2"):
        RecipeConfig(graph_steps=-2)
    assert RecipeConfig(graph_steps=0).graph_steps == 0


@pytest.mark.cuda
def test_cuda_recipe_graph_replays_match_eager_steps(monkeypatch):
    # On a GPU, replaying captured steps with a look at the batch every 32 steps records what
    # stepping eagerly with a look after every step records: the same NaN pattern and flags,
    # residuals to round-off; and captures did happen.
    from numerics.engine import solvers
    from numerics.engine.solvers import RecipeConfig

    captures = []
    real = solvers._capture_recipe
    monkeypatch.setattr(solvers, "_capture_recipe",
                        lambda *a: captures.append(1) or real(*a))
    cell, budgets = (16, 16, 2, 40), [0, 100, 1000]
    op, y = sample_instances(list(range(64)), m=16, n=16, M=40, device="cuda")
    A0 = recipe_init(list(range(64)), 16, 2, device="cuda")
    eager = lora_recipe(op, y, 2, budgets, RecipeConfig(graph_steps=0, stop_rtol=1e-8), A0=A0)
    graphed = lora_recipe(op, y, 2, budgets, RecipeConfig(graph_steps=32, stop_rtol=1e-8), A0=A0)
    assert captures
    assert torch.equal(eager.nonfinite, graphed.nonfinite)
    x, z = eager.rel_residual_at.cpu(), graphed.rel_residual_at.cpu()
    assert torch.equal(torch.isnan(x), torch.isnan(z))
    assert torch.allclose(x.nan_to_num(0), z.nan_to_num(0), rtol=1e-9, atol=1e-13)


def test_engine_gradients_equal_autograd():
    # lora_grad_B and lora_grad_A, read off the two passes, are the gradients of
    # 1/2 ||calA(B A) - y||^2 that autograd computes from the dense features.
    from numerics.engine.solvers import lm_residual, lora_grad_A, lora_grad_B

    op, y = sample_instances([0, 1, 2], m=5, n=4, M=7)
    B = torch.randn(3, 5, 2, dtype=F64, generator=torch.Generator().manual_seed(1)).requires_grad_()
    A = torch.randn(3, 2, 4, dtype=F64, generator=torch.Generator().manual_seed(2)).requires_grad_()
    loss = 0.5 * ((torch.einsum("tkmn,tmn->tk", op.dense(), B @ A) - y) ** 2).sum()
    gB, gA = torch.autograd.grad(loss, (B, A))
    with torch.no_grad():
        Rn = op.right_native(A)
        R = lm_residual(Rn, B, y)
        assert torch.allclose(lora_grad_B(Rn, R), gB, rtol=1e-12, atol=1e-12)
        assert torch.allclose(lora_grad_A(op.left_native(B), R), gA, rtol=1e-12, atol=1e-12)
