"""Seed 003 (stable rank): the statements on random and near-degenerate matrices, the numerical
``sr`` against exact arithmetic, the verdict rules on synthetic summaries, and the committed
record read by the ledger. The bad inputs of ``lorank stable-rank`` are rows of
``tests/test_bad_inputs_experiments.py``; resume, sharding and batched == unbatched are rows of
``tests/test_experiment_contract.py``."""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path

import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from numerics.engine import stable_rank as engine
from numerics.verdicts import stable_rank as verdicts
from proofs.stable_rank import exact_stable_rank
from tests.strategies import st_int_matrix, st_spectrum_matrix

RESULTS = Path(__file__).resolve().parent.parent / "results"
#: Relative slack of the float64 bounds (the SVD's rounding is about 1e-15 of s_1).
TOL = 1e-10


def _haar(n, g):
    q, r = torch.linalg.qr(torch.randn(n, n, generator=g, dtype=torch.float64))
    return q * torch.sign(torch.diagonal(r))


def _matrix(m, n, s, seed):
    g = torch.Generator().manual_seed(seed)
    U, V = _haar(m, g)[:, : len(s)], _haar(n, g)[:, : len(s)]
    return (U * torch.tensor(s, dtype=torch.float64)) @ V.T


@settings(max_examples=60, deadline=None)
@given(st_spectrum_matrix())
def test_bounds_on_random_and_near_degenerate_matrices(case):
    # Property (SR.bounds): 1 <= sr(M) <= rank(M) = k, and sr equals sum s_j^2 / s_1^2 of the
    # spectrum the matrix was built from.
    m, n, s, seed = case
    M = _matrix(m, n, s, seed)
    sr = float(engine.stable_rank(M[None])[0])
    exact = sum(v * v for v in s) / max(s) ** 2
    assert 1 - TOL <= sr <= len(s) * (1 + TOL)
    assert sr == pytest.approx(exact, rel=1e-12)


@settings(max_examples=40, deadline=None)
@given(st_spectrum_matrix(), st.floats(1e-3, 1e3), st.booleans())
def test_scale_invariance(case, c, negative):
    # Property (SR.scale-invariant): sr(cM) = sr(M) for c != 0 (float64 rounding only).
    M = _matrix(*case)
    c = -c if negative else c
    a, b = engine.stable_rank(torch.stack([M, c * M])).tolist()
    assert b == pytest.approx(a, rel=1e-12)


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 8), st.integers(1, 8), st.integers(1, 4), st.integers(0, 2**32 - 1),
       st.floats(0, 8))
def test_product_of_factors_has_stable_rank_at_most_r(m, n, r, seed, decades):
    # Property (SR.product-rank): sr(BA) <= r for B m x r, A r x n, also when one factor's
    # column is tiny (near-degenerate product).
    g = torch.Generator().manual_seed(seed)
    B = torch.randn(m, r, generator=g, dtype=torch.float64)
    A = torch.randn(r, n, generator=g, dtype=torch.float64)
    B[:, -1] *= 10.0 ** -decades
    sr = float(engine.stable_rank((B @ A)[None])[0])
    assert 1 - TOL <= sr <= r * (1 + TOL)
    assert sr <= min(m, n, r) * (1 + TOL)


@settings(max_examples=25, deadline=None)
@given(st_int_matrix())
def test_float64_sr_equals_exact_arithmetic(rows):
    # Property: the float64 sr agrees with sympy's exact value (trace over the largest root of
    # the characteristic polynomial of M^T M) on small integer matrices.
    exact = float(exact_stable_rank(rows))
    sr = float(engine.stable_rank(torch.tensor(rows, dtype=torch.float64)[None])[0])
    assert sr == pytest.approx(exact, rel=1e-12)


def test_exact_values_and_zero_matrix():
    # Reference values: identity (all singular values equal) and rank one.
    assert exact_stable_rank([[1, 0, 0], [0, 1, 0], [0, 0, 1]]) == 3
    assert exact_stable_rank([[1, 2], [2, 4]]) == 1
    assert math.isnan(float(engine.stable_rank(torch.zeros(1, 3, 3, dtype=torch.float64))[0]))


def test_probe_batched_equals_unbatched_and_is_shared_across_ranks():
    # Property: a trial does not depend on its batch, and every rank/scaling of a trial index
    # sees the same task (same W0 and teacher).
    cfg = engine.ProbeConfig(d=4, ranks=(1, 2, 4), examples=20, steps=30, trials=3)
    together = engine.probe_trials(cfg, 2, 2, [0, 1, 2])
    alone = [engine.probe_trials(cfg, 2, 2, [i])[0] for i in range(3)]
    for x, y in zip(together, alone):
        assert x.keys() == y.keys()
        for k in x:
            assert x[k] == pytest.approx(y[k], rel=1e-12, abs=1e-15), k
    other = engine.probe_trials(cfg, 1, 4, [1])[0]
    assert other["sr_w0"] == together[1]["sr_w0"] and other["sr_teacher"] == together[1]["sr_teacher"]
    assert all(1 - TOL <= x["sr_delta"] <= 2 * (1 + TOL) for x in together)


# --- verdict rules on synthetic summaries --------------------------------------------------

def _summary(slopes=(0.2, 0.2), sr_max=1.5, decreased=True, finite=True):
    def rank(r):
        iv = {"mean": 1.0, "lo": 0.9, "hi": 1.1, "n": 3}
        return {"r": r, "trials": 3, "sr_delta": iv, "sr_w": iv, "train_end": iv, "test_rel": iv,
                "rank_delta_max": r, "sr_delta_max": sr_max if r > 1 else 1.0,
                "sr_delta_min": 1.0, "sr_w_max": 2.0, "sr_w_min": 1.2,
                "decreased": 3 if decreased else 1, "finite": 3 if finite else 2}

    scalings = []
    for name, idx, sl in (("alpha/r", 1, slopes[0]), ("alpha/sqrt(r)", 2, slopes[1])):
        scalings.append({"scaling": name, "index": idx, "per_rank": [rank(r) for r in (1, 2, 4)],
                         "slope": {"mean": sl, "lo": sl - 0.05, "hi": sl + 0.05, "n": 3},
                         "slope_range": [sl - 0.1, sl + 0.1], "slope_ranks": [2, 4],
                         "spearman_srw_test": 0.1})
    iv = {"mean": 2.0, "lo": 1.9, "hi": 2.1, "n": 3}
    return {"sizes": {"d": 4, "N": 20, "ranks": [1, 2, 4]},
            "solver": {"lr": 0.1, "steps": 10, "alpha": 2.0, "noise": 0.1},
            "seeds": {"global_seed": 0, "trials": 3},
            "references": {"sr_w0": iv, "sr_teacher": iv}, "scalings": scalings}


def _status(summary, claim):
    return {v["claim"]: v["status"] for v in verdicts.claim_verdicts(summary)}[claim]


@pytest.mark.parametrize("slope, status", [(0.2, "supported"), (0.7, "open"), (1.0, "contradicted")])
def test_slope_rule_reaches_each_status(slope, status):
    # Property: the fixed rule gives each status (below 1/2 with its interval: supported; above
    # 0.9: contradicted; between: open).
    s = _summary(slopes=(slope, 0.2))
    assert _status(s, "sr-slower-than-r.alpha-over-r") == status
    assert _status(s, "sr-slower-than-r.alpha-over-sqrt-r") == "supported"


def test_diverged_trials_leave_the_claim_open_and_fail_the_method_check():
    s = _summary(finite=False)
    assert _status(s, "sr-slower-than-r.alpha-over-r") == "open"
    assert _status(s, "probe-trains") == "contradicted"


def test_method_checks_reach_both_statuses():
    assert _status(_summary(), "sr-bounds") == "supported"
    assert _status(_summary(sr_max=7.0), "sr-bounds") == "contradicted"   # sr(Delta) > r
    assert _status(_summary(), "probe-trains") == "supported"
    assert _status(_summary(decreased=False), "probe-trains") == "contradicted"


def test_threshold_claim_is_untestable_with_a_reason():
    v = next(v for v in verdicts.claim_verdicts(_summary()) if v["claim"] == "sr-threshold-accuracy")
    assert v["status"] == "untestable" and v["kind"] == "paper claim"
    assert "W0" in v["text"] and "threshold" in v["text"]


def test_no_interval_is_open():
    s = _summary()
    s["scalings"][0]["slope"] = {"mean": 0.1, "lo": None, "hi": None, "n": 1}
    assert _status(s, "sr-slower-than-r.alpha-over-r") == "open"


def test_figure_is_written(tmp_path):
    cfg = engine.ProbeConfig(d=3, ranks=(1, 2, 3), examples=12, steps=10, trials=2)
    out = {(sc, r): engine.probe_trials(cfg, sc, r, [0, 1]) for sc in (1, 2) for r in (1, 2, 3)}
    paths = engine.save_figures(engine.summarise(cfg, out), tmp_path / "sr")
    assert [p.suffix for p in paths] == [".png", ".pdf"] and all(p.stat().st_size > 1000 for p in paths)


# --- the committed record -------------------------------------------------------------------

def test_ledger_reads_the_committed_record():
    # Property: the ledger's entries are re-derived from the committed summary, and the stored
    # verdicts are what summarising the committed record gives now.
    from numerics.experiments import runner
    from numerics.experiments.records import read_record
    from numerics.experiments.stable_rank import FAMILY

    run = RESULTS / "stable-rank" / "cpu-default"
    stored = json.loads((run / "summary.json").read_text())
    ids = {e["id"]: e for e in verdicts.ledger_entries(RESULTS)}
    for v in stored["verdicts"]:
        assert ids[f"SR.{v['claim']}.cpu-default"]["status"] == v["status"]
    assert stored["complete"] and stored["units_found"] == stored["units_expected"]
    paths = runner.records_in(run)
    config = FAMILY.from_spec(read_record(paths[0]).spec)
    again = FAMILY.summarise(config, runner.load(FAMILY, config, paths))
    assert again["verdicts"] == stored["verdicts"]
