"""Seed 004 (learnable rank): the gated LoRA layer (prox step, pruning, wrapping any model), the
probe, the verdict rules on synthetic summaries and the committed record. The bad inputs of
``lorank learnable-rank`` are rows of ``tests/test_bad_inputs_experiments.py``; resume, sharding
and batched == unbatched are rows of ``tests/test_experiment_contract.py``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from numerics.engine import learnable_rank as engine
from numerics.engine.gated_lora import (GatedLoRALinear, learned_rank_report, prox_all, prune_all,
                                        soft_threshold, wrap_linear_layers)
from numerics.verdicts import learnable_rank as verdicts

RESULTS = Path(__file__).resolve().parent.parent / "results"


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(-10, 10, allow_nan=False), min_size=1, max_size=12), st.floats(0, 5))
def test_soft_threshold_is_the_prox_of_l1(values, tau):
    # Property: soft-thresholding minimises 1/2 (u - g)^2 + tau |u| coordinatewise: compare
    # with the closed form by cases, and check it is no worse than nearby points.
    g = torch.tensor(values, dtype=torch.float64)
    u = soft_threshold(g, tau)
    for gi, ui in zip(values, u.tolist()):
        expected = gi - tau if gi > tau else gi + tau if gi < -tau else 0.0
        assert ui == pytest.approx(expected, abs=1e-12)
        obj = lambda v: 0.5 * (v - gi) ** 2 + tau * abs(v)  # noqa: E731
        for dv in (-1e-3, 1e-3):
            assert obj(ui) <= obj(ui + dv) + 1e-12


def test_prox_step_counts_dead_steps_and_prune_removes_only_dead_components():
    layer = GatedLoRALinear(torch.nn.Linear(5, 4, dtype=torch.float64), r=4)
    with torch.no_grad():
        layer.gate.copy_(torch.tensor([1.0, 0.05, -0.05, 0.0]))
    assert layer.prox_step(0.1) == 3 and layer.learned_rank == 1
    assert layer.dead_steps.tolist() == [0, 1, 1, 1]
    with torch.no_grad():
        layer.gate[1] = 0.5          # revived: its count restarts
    layer.prox_step(0.0)
    assert layer.dead_steps.tolist() == [0, 0, 2, 2]
    assert layer.prune(patience=3) == 0                 # not dead long enough
    assert layer.prune(patience=2) == 2
    assert layer.gate.tolist() == pytest.approx([0.9, 0.5]) and tuple(layer.lora_A.shape) == (2, 5)
    with pytest.raises(ValueError, match="patience"):
        layer.prune(patience=0)
    with pytest.raises(ValueError, match="tau"):
        layer.prox_step(-1.0)


def test_pruning_keeps_function_values_exactly():
    # Property: with dyadic (exactly representable) parameters every sum is exact, so pruning a
    # zero-gated component leaves the outputs bitwise equal.
    torch.manual_seed(0)
    lin = torch.nn.Linear(6, 5, dtype=torch.float64)
    with torch.no_grad():
        lin.weight.copy_(torch.randint(-4, 5, (5, 6)).double() / 4)
        lin.bias.copy_(torch.randint(-4, 5, (5,)).double() / 8)
    layer = GatedLoRALinear(lin, r=4, lora_alpha=4.0)
    with torch.no_grad():
        layer.lora_A.copy_(torch.randint(-3, 4, (4, 6)).double() / 2)
        layer.lora_B.copy_(torch.randint(-3, 4, (5, 4)).double() / 4)
        layer.gate.copy_(torch.tensor([0.5, 0.0, -1.0, 0.0], dtype=torch.float64))
    layer.prox_step(0.0)
    x = torch.randint(-4, 5, (7, 6)).double() / 2
    before, delta_before = layer(x), layer.delta_weight()
    assert layer.prune(patience=1) == 2 and layer.learned_rank == 2
    assert torch.equal(layer(x), before) and torch.equal(layer.delta_weight(), delta_before)


def test_pruning_keeps_random_function_values_to_rounding():
    g = torch.Generator().manual_seed(1)
    layer = GatedLoRALinear(torch.nn.Linear(8, 6, dtype=torch.float64), r=6, generator=g)
    with torch.no_grad():
        layer.lora_B.copy_(torch.randn(6, 6, generator=g, dtype=torch.float64))
        layer.gate.copy_(torch.tensor([1.0, 0.0, 0.3, 0.0, 0.0, -2.0], dtype=torch.float64))
    layer.prox_step(0.0)
    x = torch.randn(10, 8, generator=g, dtype=torch.float64)
    before = layer(x)
    layer.prune(1)
    assert torch.allclose(layer(x), before, rtol=0, atol=1e-13)


def test_module_trains_on_a_small_sequential_and_reports_per_layer():
    # Property: on any nn.Module the chosen layers are wrapped, the base weights stay frozen,
    # a few optimiser steps with prox and prune run, and the report lists each layer.
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3))
    base = [net[0].weight.detach().clone(), net[2].weight.detach().clone()]
    x0 = torch.randn(4, 6)
    out0 = net(x0).detach()
    layers = wrap_linear_layers(net, r=4, lora_alpha=4.0)
    assert sorted(layers) == ["0", "2"]
    assert torch.equal(net(x0), out0)          # B = 0: wrapping changes nothing yet
    params = [p for p in net.parameters() if p.requires_grad]
    gated = {id(p) for m in layers.values() for p in (m.lora_A, m.lora_B, m.gate)}
    assert {id(p) for p in params} == gated          # only A, B and g train
    x, y = torch.randn(32, 6), torch.randint(0, 3, (32,))
    opt = torch.optim.SGD(params, lr=0.1)
    loss0 = torch.nn.functional.cross_entropy(net(x), y).item()
    for _ in range(30):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(net(x), y).backward()
        opt.step()
        prox_all(net, 0.005)
    assert torch.nn.functional.cross_entropy(net(x), y).item() < loss0
    assert torch.equal(net[0].base.weight, base[0]) and torch.equal(net[2].base.weight, base[1])
    prune_all(net, patience=1)
    report = learned_rank_report(net)
    assert [row["layer"] for row in report] == ["0", "2"]
    assert all(0 <= row["learned_rank"] == row["components"] <= 4 for row in report)
    with pytest.raises(ValueError, match="not torch.nn.Linear"):
        wrap_linear_layers(net, names=["1"])
    with pytest.raises(ValueError, match="no module"):
        wrap_linear_layers(net, names=["7"])


def test_probe_batched_equals_unbatched():
    cfg = engine.ProbeConfig(classes=(3,), n=6, m=6, per_class=6, rank=4, lams=(0.1,), steps=40,
                             prune_every=10, patience=5, trials=3)
    together = engine.probe_trials(cfg, 3, 0, [0, 1, 2])
    alone = [engine.probe_trials(cfg, 3, 0, [i])[0] for i in range(3)]
    assert together == alone


def test_probe_under_gd_keeps_the_structural_rank():
    # Property: with plain gradient steps B starts at 0 and moves in the fixed range of the
    # gradients, so rank(Delta) <= 1 (one logit) and <= C - 1 (softmax), whatever the gates.
    cfg = engine.ProbeConfig(classes=(2, 4), n=8, m=8, per_class=6, rank=6, lams=(0.0,), steps=60,
                             prune_every=20, patience=5, trials=2)
    for C in (2, 4):
        for row in engine.probe_trials(cfg, C, 0, [0, 1]):
            assert row["delta_rank"] <= engine.structural_rank(C)
            assert row["learned_rank"] == 6          # lambda = 0 prunes nothing


# --- verdict rules on synthetic summaries --------------------------------------------------

def _task(C, lam, mean, lo, hi, acc=1.0, finite=4, above=0, change=0.0):
    return {"classes": C, "logits": 1 if C == 2 else C, "lam": lam,
            "band": list(engine.theory_band(C)), "structural_rank": engine.structural_rank(C),
            "trials": 4, "learned_rank": {"mean": mean, "lo": lo, "hi": hi, "n": 4},
            "learned_rank_counts": {"1": 4}, "delta_rank_max": 1, "delta_rank_counts": {"1": 4},
            "delta_above_learned": above, "train_acc": {"mean": acc, "lo": acc, "hi": acc, "n": 4},
            "train_acc_min": acc, "test_acc": {"mean": acc, "lo": acc, "hi": acc, "n": 4},
            "prune_change_max": change, "finite": finite, "history_median": []}


def _summary(tasks):
    return {"sizes": {"n": 8, "m": 8, "per_class": 6, "rank": 6, "classes": [2, 3]},
            "solver": {"lr": 0.5, "wd": 1e-3, "gate_lr": 0.1, "steps": 10, "patience": 2,
                       "prune_every": 5, "optimizer": "gd"},
            "seeds": {"global_seed": 0, "trials": 4}, "tasks": tasks}


def _statuses(tasks):
    return {v["claim"]: v["status"] for v in verdicts.claim_verdicts(_summary(tasks))}


@pytest.mark.parametrize("C, mean, lo, hi, status", [
    (2, 1.0, 1.0, 1.0, "supported"), (2, 1.3, 0.9, 1.7, "open"), (2, 4.0, 3.5, 4.5, "contradicted"),
    (5, 4.2, 3.8, 4.6, "supported"), (5, 5.4, 5.1, 5.6, "open"), (5, 2.0, 1.5, 2.5, "contradicted"),
])
def test_band_rule_reaches_each_status(C, mean, lo, hi, status):
    # Property: binary reads [1, 1], C classes [C - 1, C], each widened by 1/2.
    tag = "binary" if C == 2 else f"C{C}"
    assert _statuses([_task(C, 0.1, mean, lo, hi)])[f"learned-rank.{tag}.lam-0.1"] == status


def test_a_task_that_does_not_fit_is_not_judged():
    s = _statuses([_task(2, 0.1, 1.0, 1.0, 1.0, acc=0.8)])
    assert s["learned-rank.binary.lam-0.1"] == "open" and s["probe-fits"] == "contradicted"
    s = _statuses([_task(2, 0.1, 1.0, 1.0, 1.0, finite=3)])
    assert s["learned-rank.binary.lam-0.1"] == "open" and s["probe-fits"] == "contradicted"


def test_method_checks_reach_both_statuses():
    ok = _statuses([_task(3, 0.1, 2.0, 2.0, 2.0)])
    assert ok["probe-fits"] == ok["pruning-exact"] == ok["learned-rank-counts"] == "supported"
    assert _statuses([_task(3, 0.1, 2.0, 2.0, 2.0, change=1e-6)])["pruning-exact"] == "contradicted"
    assert _statuses([_task(3, 0.1, 2.0, 2.0, 2.0, above=1)])["learned-rank-counts"] == "contradicted"


# --- the committed record -------------------------------------------------------------------

def test_ledger_reads_the_committed_record():
    # Property: the ledger's entries are re-derived from the committed summary, and the stored
    # verdicts are what summarising the committed record gives now.
    from numerics.experiments import runner
    from numerics.experiments.learnable_rank import FAMILY
    from numerics.experiments.records import read_record

    run = RESULTS / "learnable-rank" / "cpu-default"
    stored = json.loads((run / "summary.json").read_text())
    ids = {e["id"]: e for e in verdicts.ledger_entries(RESULTS)}
    for v in stored["verdicts"]:
        assert ids[f"LR.{v['claim']}.cpu-default"]["status"] == v["status"]
    assert stored["complete"] and stored["units_found"] == stored["units_expected"]
    paths = runner.records_in(run)
    config = FAMILY.from_spec(read_record(paths[0]).spec)
    again = FAMILY.summarise(config, runner.load(FAMILY, config, paths))
    assert again["verdicts"] == stored["verdicts"]


def test_a_task_whose_gates_never_closed_is_not_judged():
    # Property: where no seed pruned a single component (every seed kept the initial rank, 6
    # here), the count of live gates measures the start, not the task: the entry is open
    # whatever the band says, and says why.
    never = _task(2, 0.01, 6.0, 6.0, 6.0)
    never["learned_rank_counts"] = {"6": 4}
    out = {v["claim"]: v for v in verdicts.claim_verdicts(_summary([never]))}
    entry = out["learned-rank.binary.lam-0.01"]
    assert entry["status"] == "open" and "did not engage" in entry["text"]
    once = _task(2, 0.01, 5.75, 5.2, 6.3)
    once["learned_rank_counts"] = {"6": 3, "5": 1}
    assert {v["claim"]: v for v in verdicts.claim_verdicts(_summary([once]))}[
        "learned-rank.binary.lam-0.01"]["status"] == "contradicted"
