"""The cross-entropy recipe engine (numerics.engine.xent) and its verdict rule
(numerics.verdicts.xent)."""

from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")

from numerics.engine.instances import GaussianFeatures
from numerics.engine.separability import sample_separability_instances
from numerics.engine.solvers import recipe_init
from numerics.engine.xent import logistic_loss_and_grad, run_trials, xent_recipe
from numerics.estimation.estimate import wilson_interval
from numerics.verdicts.xent import LEVEL, status_of_cells


def test_gradient_matches_autograd():
    # Property: the hand-written gradient of the mean logistic loss equals autograd's.
    op, s = sample_separability_instances([3, 4], m=3, n=4, N=7)
    gen = torch.Generator().manual_seed(1)
    B = torch.randn(2, 3, 2, generator=gen, dtype=torch.float64, requires_grad=True)
    A = torch.randn(2, 2, 4, generator=gen, dtype=torch.float64, requires_grad=True)
    G = op.dense()                                          # (T, M, m, n)
    z = s * torch.einsum("tkij,tij->tk", G, B @ A)
    torch.nn.functional.softplus(-z).mean(dim=1).sum().backward()
    loss, gB, gA, _ = logistic_loss_and_grad(op, s, B.detach(), A.detach())
    assert torch.allclose(gB, B.grad, rtol=1e-12, atol=1e-14)
    assert torch.allclose(gA, A.grad, rtol=1e-12, atol=1e-14)
    assert torch.allclose(loss, torch.nn.functional.softplus(-z.detach()).mean(dim=1))


def test_trivially_separable_planted_instance_is_certified():
    # Property: one feature direction decides every label (N = 4 on 2 x 2, labels = sign of the
    # (0, 0) entry, which a rank-1 update e_0 e_0^T separates); the recipe separates it, with a
    # float64 margin, and its loss falls.
    G = torch.zeros(1, 2, 4, 2, dtype=torch.float64)       # layout (T, m, M, n)
    vals = torch.tensor([1.0, -2.0, 0.5, -1.5], dtype=torch.float64)
    G[0, 0, :, 0] = vals
    G[0, 1, :, 1] = torch.tensor([0.3, 0.3, -0.2, 0.1], dtype=torch.float64)
    op = GaussianFeatures(G)
    s = torch.sign(vals).view(1, 4)
    A0 = torch.tensor([[[1.0, 0.5]]], dtype=torch.float64)
    res = xent_recipe(op, s, 1, [0, 200], A0=A0)
    assert res.success_at.tolist() == [[False, True]]
    assert float(res.margin_at[0, 1]) > 1e-3
    assert float(res.loss_at[0, 1]) < float(res.loss_at[0, 0]) == pytest.approx(math.log(2))


def test_uncertified_instances_are_flagged():
    # Property: random labels at rho far below E4's transition (N = 60 on 3 x 3, r = 1) are not
    # certified separable; the trial says so (and the summary excludes it).
    out = run_trials((3, 3, 1, 60), [0, 1, 2], labels="random-separable", budgets=(20,),
                     restarts=1, max_iters=30)
    assert [o["separator_certified"] for o in out] == [False, False, False]
    assert all(o["separator_margin"] is None for o in out)


def test_summary_excludes_uncertified_trials():
    from numerics.experiments.xent import FAMILY, summarise_xent

    cfg = FAMILY.config(sizes=((3, 3),), ranks=(1,), rho=None, kn=(60, 4), trials=3,
                        labels="random-separable", budgets=(20,), restarts=1, max_iters=30)
    outcomes = {tuple(c): FAMILY.run_batch(cfg, c, [0, 1, 2]) for c in FAMILY.cells(cfg)}
    summary = summarise_xent(FAMILY, cfg, outcomes)
    big = next(c for c in summary["cells"] if c["N"] == 60)
    assert big["separator_certified"] == 0 and big["excluded"] == 3
    assert big["budgets"]["20"]["certified"] == 0 and big["budgets"]["20"]["rate"] is None
    small = next(c for c in summary["cells"] if c["N"] == 4)
    assert small["separator_certified"] == 3


def test_planted_labels_are_separable_at_large_n():
    # Property: planted labels are certified separable far beyond r(m+n-r) (rho = 7 / 200).
    out = run_trials((4, 4, 1, 200), [0, 1], labels="planted", budgets=(1,))
    assert all(o["separator_certified"] and o["separator_margin"] > 0 for o in out)


def _cell(k, n, rho=0.5, before=None):
    """A cell with ``k`` of ``n`` separated at T = 100 and ``before`` (default ``k``) at T = 10."""
    def at(j):
        lo, hi = wilson_interval(j, n) if n else (None, None)
        return {"successes": j, "certified": n, "wilson95": [lo, hi]}
    return {"m": 8, "n": 8, "r": 1, "rho": rho,
            "budgets": {"10": at(k if before is None else before), "100": at(k)}}


@pytest.mark.parametrize("cells, expected", [
    ([_cell(80, 80), _cell(200, 200)], "supported"),     # lower bounds 0.954, 0.981
    ([_cell(20, 20)], "open"),                             # 20/20: lower bound 0.84
    ([_cell(80, 80), _cell(60, 80)], "contradicted"),     # 60/80: upper bound 0.83, stuck since T = 10
    ([_cell(80, 80), _cell(60, 80, before=30)], "open"),  # 60/80 but still rising: not refuted
    ([_cell(80, 80), _cell(60, 80, before=61)], "contradicted"),  # fewer than before: stuck
    ([_cell(79, 80)], "open"),
    ([_cell(0, 0)], "open"),                               # nothing certified: nothing tested
    ([_cell(80, 80), _cell(0, 0)], "supported"),           # the untestable cell is skipped
])
def test_verdict_rule_on_planted_counts(cells, expected):
    # Property: supported iff every tested cell's Wilson lower bound reaches the level;
    # contradicted only where a cell's upper bound is below it and the rate has stopped rising
    # since the budget before; a cell still rising leaves the verdict open.
    status, detail = status_of_cells(cells, 100, 10)
    assert status == expected
    assert str(LEVEL) in detail


def test_a_single_budget_never_contradicts():
    # Property: with one budget nothing shows the rate has stopped rising, so no refutation.
    assert status_of_cells([_cell(60, 80)], 100)[0] == "open"


def test_bad_teacher_rank_is_refused():
    from numerics.experiments.xent import FAMILY
    from proofs.validation import InvalidArgument

    with pytest.raises(InvalidArgument, match="--teacher-rank 2"):
        FAMILY.config(ranks=(1, 2), teacher_rank=2)
