"""The R3 rank sweep with a rank-r0 teacher: engine properties and verdict rules on planted numbers."""

from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")

from numerics.engine import rank_sweep as rs  # noqa: E402
from numerics.verdicts import rank_sweep as vr  # noqa: E402

CFG = rs.SweepConfig(m=5, n=5, max_rank=3, teacher_ranks=(1, 2), n_train=(40,), n_test=400,
                     noise=(0.0, 0.5), seeds=3, iters=40, restarts=1, n_boot=100)


def test_teacher_has_rank_r0_unit_norm_and_scores_match():
    # Property: the teacher's scores are <G, Delta*> with rank Delta* = r0 and ||Delta*||_F = 1,
    # so Var(s) = 1: checked through the features' least-squares recovery of Delta*.
    for r0 in (1, 2, 3):
        cfg = rs.SweepConfig(m=4, n=5, n_test=10)
        G, s, *_ = rs.draw_instance(cfg, r0, 200, 0)
        D = torch.linalg.lstsq(G.reshape(200, -1), s.unsqueeze(1)).solution.reshape(4, 5)
        sv = torch.linalg.svdvals(D)
        assert int((sv > 1e-9).sum()) == r0
        assert float(torch.linalg.norm(D)) == pytest.approx(1.0, rel=1e-10)
        assert torch.allclose(sv[:r0], torch.full((r0,), 1 / math.sqrt(r0), dtype=sv.dtype))


def test_bayes_error_matches_its_monte_carlo_estimate():
    # Property: arctan(sigma)/pi is P(sign(s + sigma z) != sign(s)); the sampled rate over
    # 200000 draws lies within 5 standard errors.
    g = torch.Generator().manual_seed(1)
    s, z = torch.randn(2, 200000, generator=g, dtype=torch.float64)
    for sigma in (0.25, 0.5, 2.0):
        p = rs.bayes_error(sigma)
        rate = float(((s + sigma * z) * s <= 0).double().mean())
        assert abs(rate - p) < 5 * math.sqrt(p * (1 - p) / 200000)


def test_objective_is_nested_and_alternating_least_squares_is_monotone():
    # Property: the warm start makes the best F_r nonincreasing in r; at sigma = 0 and rank r0,
    # the spectral start agrees with at least one other start or the gradient is small.
    rows = rs.run_trials(CFG, 2, 40, 1, [0, 1])
    for row in rows:
        F = row["objective"]
        assert all(b <= a * (1 + 1e-12) for a, b in zip(F, F[1:])), F
        assert all(1 <= k <= s for k, s in zip(row["starts_agreeing"], row["starts"]))
        assert all(d <= r for r, d in enumerate(row["delta_rank"], 1))


def test_trials_do_not_depend_on_their_batch_or_order():
    together = rs.run_trials(CFG, 1, 40, 0, [2, 0])
    alone = [rs.run_trials(CFG, 1, 40, 0, [i])[0] for i in (2, 0)]
    assert together == alone


def test_noise_levels_share_the_draws():
    # Property: at sigma = 0 the labels are sign(s), so the Bayes-rule errors are 0; at
    # sigma > 0 they are not (common draws of z, different sigma).
    a = rs.run_trials(CFG, 1, 40, 0, [0])[0]
    b = rs.run_trials(CFG, 1, 40, 1, [0])[0]
    assert a["bayes_errors"] == 0 and b["bayes_errors"] > 0


def test_a_large_sample_recovers_a_rank_one_teacher():
    # Property: with N much larger than the dimension and no label noise, the rank-1 fit of a
    # rank-1 teacher beats the rank-3 fit on held-out data in every seed (the sign of a centred
    # least-squares fit is consistent for Gaussian features), and its error is small.
    cfg = rs.SweepConfig(m=4, n=4, max_rank=3, teacher_ranks=(1,), n_train=(400,), n_test=2000,
                         noise=(0.0,), seeds=3, iters=60, restarts=1)
    rows = rs.run_trials(cfg, 1, 400, 0, range(3))
    for row in rows:
        e = row["test_errors"]
        assert e[0] < e[2] and e[0] / 2000 < 0.05, e


def test_paired_one_sided_matches_the_t_formula():
    import numpy as np
    from scipy.stats import t

    x = np.array([0.01, 0.03, -0.01, 0.02, 0.04])
    d = rs.paired_one_sided(x, 0.95)
    lower = x.mean() - t.ppf(0.95, 4) * x.std(ddof=1) / math.sqrt(5)
    assert d["lower"] == pytest.approx(lower, rel=1e-12)
    assert d["positive"] is bool(lower > 0)
    assert (d["n_positive"], d["n_negative"], d["n_zero"]) == (4, 1, 0)


def test_bootstrap_argmin_is_the_unique_minimiser_when_it_is_clear_and_spreads_when_tied():
    clear = rs.bootstrap_argmin([[5, 1, 9]] * 10, 100, 0)
    assert clear["r_star"] == 2 and clear["interval"] == [2, 2] and clear["share"]["2"] == 1.0
    noisy = rs.bootstrap_argmin([[1, 2], [2, 1], [1, 2], [2, 1]], 400, 0)
    assert noisy["interval"] == [1, 2] and 0 < noisy["share"]["1"] < 1


def _t(pos):
    return {"positive": pos, "mean": 0.01 if pos else 0.0, "lower": 0.001 if pos else -0.01}


def _planted(r0, R, up=(), down=(), beats=(), beats_one=(), vs_one=()):
    """A setting with planted test outcomes: ``up`` the ranks r != r0 with err(r) > err(r0)
    shown, ``beats`` those with err(r) < err(r0) shown; ``vs_one``/``beats_one`` the same
    against rank 1."""
    return {"r0": r0, "n_train": 60, "noise": 0.5,
            "variance_side": {str(r): _t(r in up) for r in range(r0 + 1, R + 1)},
            "bias_side": {str(r): _t(r in up) for r in range(1, r0)},
            "beats_teacher_rank": {str(r): _t(r in beats) for r in range(1, R + 1) if r != r0},
            "vs_rank_one": {str(r): _t(r in vs_one) for r in range(2, R + 1)},
            "beats_rank_one": {str(r): _t(r in beats_one) for r in range(2, R + 1)}}


@pytest.mark.parametrize("est, claim, status", [
    # rank one beats every larger rank: supported; one rank not shown: open
    (_planted(1, 3, up=(2, 3), vs_one=(2, 3)), "rank-one-optimal", "supported"),
    (_planted(1, 3, up=(2,), vs_one=(2,)), "rank-one-optimal", "open"),
    # a teacher of rank 2 makes rank 2 better than rank 1: contradicted
    (_planted(2, 3, up=(1, 3), beats_one=(2,)), "rank-one-optimal", "contradicted"),
    # variance side: every r > r0 rises
    (_planted(2, 4, up=(3, 4)), "variance-side", "supported"),
    (_planted(2, 4, up=(3,)), "variance-side", "open"),
    (_planted(2, 4, up=(3,), beats=(4,)), "variance-side", "contradicted"),
    # a rank below r0 beating r0 contradicts "tracks" but not the variance side
    (_planted(2, 4, up=(3, 4), beats=(1,)), "variance-side", "supported"),
    (_planted(2, 4, up=(3, 4), beats=(1,)), "optimal-rank-tracks-teacher", "contradicted"),
    (_planted(2, 4, up=(1, 3, 4)), "optimal-rank-tracks-teacher", "supported"),
    (_planted(2, 4, up=(3, 4)), "optimal-rank-tracks-teacher", "open"),
])
def test_verdict_rules_on_planted_numbers(est, claim, status):
    assert vr.setting_status(claim, est)[0] == status


def test_ledger_entries_from_a_summary(tmp_path):
    # Property: one entry per teacher rank for the paper's claim and one per heuristic, each
    # with a valid status, and the run status is supported only if every setting is.
    import json

    from numerics.experiments.protocol import family_named

    fam = family_named("rank-sweep")
    cfg = fam.config(m=4, n=4, max_rank=3, teacher_ranks=(1, 2), n_train=(30,), n_test=40,
                     noise=(0.5,), trials=3, iters=10, restarts=1, bootstrap=20)
    outcomes = {c: fam.run_batch(cfg, c, range(3)) for c in fam.cells(cfg)}
    summary = fam.summarise(cfg, outcomes)
    folder = tmp_path / "rank-sweep" / "tiny"
    folder.mkdir(parents=True)
    (folder / "summary.json").write_text(json.dumps(summary))
    entries = vr.ledger_entries(tmp_path)
    ids = sorted(e["id"] for e in entries)
    assert ids == sorted(["R3.rank-sweep.rank-one-optimal.r0-1.tiny", "R3.rank-sweep.rank-one-optimal.r0-2.tiny",
                          "R3.rank-sweep.variance-side.tiny", "R3.rank-sweep.optimal-rank-tracks-teacher.tiny"])
    for e in entries:
        per = [x["status"] for x in e["per_setting"]]
        assert e["status"] == vr._run_status(per)
        assert e["expected"] is None
    assert "rank-sweep" in fam.render(summary)
